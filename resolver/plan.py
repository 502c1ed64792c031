"""Plans: what changes in each image, and the result of one command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from resolver.errors import Fact, Fix, ZonesolveError
from resolver.fmri import Fmri
from resolver.model import Operation


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A package left below its newest version, and the rule that holds it:
    ``because`` in one line, ``facts`` the explanation (binding rule first),
    ``fixes`` that would let it move, ``zones`` the zones that hold it back
    (a global-zone package in joint mode)."""

    stem: str
    installed: Fmri  # the version in the plan
    newest: Fmri  # the newest version the image could see
    because: str
    facts: tuple[Fact, ...] = ()
    fixes: tuple[Fix, ...] = ()
    zones: tuple[str, ...] = ()

    @property
    def rule(self) -> str | None:
        """The binding rule (the first fact's)."""
        return self.facts[0].rule if self.facts else None

    def to_json(self) -> dict[str, object]:
        return {
            "stem": self.stem,
            "installed": str(self.installed),
            "newest": str(self.newest),
            "because": self.because,
            "explanation": [f.to_json() for f in self.facts],
            "fixes": [f.to_json() for f in self.fixes],
            "zones": list(self.zones),
        }


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """One image: installed packages before and after, by stem."""

    name: str
    before: Mapping[str, Fmri]
    after: Mapping[str, Fmri]
    held_back: tuple[HeldBack, ...] = ()
    #: SVR4 HOLLOW packages only registered (not delivered) in this zone.
    registered: frozenset[str] = frozenset()
    #: why zonesolve did not plan this image (a zone brand without packages), else None
    skipped: str | None = None
    #: Does the plan update or remove a package with a reboot-needed action?
    #: None: unknown (resolver.bootenv)
    reboot_needed: bool | None = False

    @property
    def added(self) -> list[Fmri]:
        return sorted((f for s, f in self.after.items() if s not in self.before), key=str)

    @property
    def removed(self) -> list[Fmri]:
        return sorted((f for s, f in self.before.items() if s not in self.after), key=str)

    @property
    def changed(self) -> list[tuple[Fmri, Fmri]]:
        pairs = [
            (old, self.after[s]) for s, old in self.before.items() if s in self.after and self.after[s] != old
        ]
        return sorted(pairs, key=lambda p: str(p[0]))

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def signature(self) -> tuple[object, ...]:
        """Equal for images whose changes are the same (text output groups them)."""
        return (
            tuple(map(str, self.added)),
            tuple((str(a), str(b)) for a, b in self.changed),
            tuple(map(str, self.removed)),
        )


class Outcome(StrEnum):
    OK = "ok"
    NOTHING = "nothing-to-do"
    FAIL = "fail"


@dataclass
class Result:
    """The answer to one command: a plan for every image, or errors."""

    operation: Operation
    outcome: Outcome
    images: dict[str, ImagePlan] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    errors: list[ZonesolveError] = field(default_factory=list)
    stats: dict[str, object] = field(default_factory=dict)
    #: audit only: image name -> "synced" | "diverged" (linked zones)
    audit: dict[str, str] = field(default_factory=dict)
    #: audit only: image name -> the parent dependencies that are not met
    audit_details: dict[str, list[str]] = field(default_factory=dict)
