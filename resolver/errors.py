"""The error hierarchy. Every error a user can meet is one of these.

Each carries a ``kind`` (the JSON ``errors[].kind``), a message a person reads,
and where it applies: ``location`` (file:line:col) for input errors, ``image``
for planning errors. A no-solution error carries its explanation as data; the
text is rendered from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    """Where in an input something is: a file, and a line and column if known."""

    path: str
    line: int | None = None
    column: int | None = None
    context: str | None = None  # e.g. "[[image]] #2 'web1', key 'brand'"

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        if self.context:
            text += f": {self.context}"
        return text


@dataclass(frozen=True, slots=True)
class Fact:
    """One step of an explanation: the rule, the image it holds in, the
    package it comes from, and the sentence resolver.explain made of them.

    - ``rule``: a ``resolver.reasons.Rule`` value (``require``,
      ``incorporate``, ``freeze``, ``version-lock``, ``parent``, ``zone``, ...);
    - ``package``: the FMRI of the package the rule belongs to (the package
      with the dependency, the incorporation, the frozen or installed one);
    - ``dependency``: the dependency action, ``TYPE FMRI`` (``require lib@2.0``);
    - ``versions``: the package versions the step is about (those it
      excludes, or requires), full FMRIs, oldest first;
    - ``zones``: for a zone's rule seen from the global zone, the zones;
    - ``setting``: the configuration named (a freeze pattern, a facet, a
      publisher, a variant), as the admin would type it.
    """

    rule: str
    text: str
    image: str | None = None
    package: str | None = None
    dependency: str | None = None
    versions: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    setting: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "text": self.text,
            "image": self.image,
            "package": self.package,
            "dependency": self.dependency,
            "versions": list(self.versions),
            "zones": list(self.zones),
            "setting": self.setting,
        }


@dataclass(frozen=True, slots=True)
class Fix:
    """An action that lifts an explanation's cause, checked before it is
    offered: ``command`` is the pkg(1) command line, run in ``image``;
    ``action`` names the kind (``unfreeze``, ``change-facet``, ``name``,
    ``update-parent``, ``uninstall``, ``reject``, ``update-all``, ...)."""

    action: str
    command: str
    image: str | None
    text: str

    def to_json(self) -> dict[str, object]:
        return {"action": self.action, "command": self.command, "image": self.image, "text": self.text}


class ZonesolveError(Exception):
    """Base class. ``kind`` names the error class in JSON output."""

    kind = "error"

    def __init__(self, message: str, *, image: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.image = image

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle by state, not by constructor arguments (subclasses take
        different ones): errors travel back from worker processes."""
        return (_restore, (type(self), self.args, self.__dict__))

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "image": self.image}


def _restore(cls: type[ZonesolveError], args: tuple[object, ...], state: dict[str, object]) -> ZonesolveError:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class FmriError(ValueError):
    """A malformed FMRI, version or pattern (no location: callers add it)."""


class InputError(ZonesolveError):
    """Invalid input: a manifest, fleet file, catalog source or pattern."""

    kind = "input"

    def __init__(self, message: str, location: Location | None = None, **kw: str | None) -> None:
        full = f"{location}: {message}" if location else message
        super().__init__(full, image=kw.get("image"))
        self.location = location
        self.reason = message


class InputErrors(InputError):
    """Several input errors found in one pass (lint reports them all)."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("\n".join(e.message for e in errors))
        self.errors = errors


class UsageError(ZonesolveError):
    """The command line is wrong (exit 2)."""

    kind = "usage"


class MatchError(ZonesolveError):
    """A user pattern matches nothing, several stems, or only rejected stems."""

    kind = "no-match"


class PublisherConfigError(ZonesolveError):
    """A linked zone's publishers do not start with the global zone's."""

    kind = "publisher-config"


class NotAllowedError(ZonesolveError):
    """The operation is forbidden by a zone rule (e.g. SVR4 ALLZONES with -G)."""

    kind = "not-allowed"


class NoSolution(ZonesolveError):
    """No plan satisfies every rule; ``facts`` explain why, root cause first;
    ``fixes`` lift the cause (each checked); ``zones`` are the zones that
    block (joint mode)."""

    kind = "no-solution"

    def __init__(
        self,
        message: str,
        facts: list[Fact],
        *,
        image: str | None = None,
        fixes: tuple[Fix, ...] = (),
        zones: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, image=image)
        self.facts = facts
        self.fixes = fixes
        self.zones = zones

    def to_json(self) -> dict[str, object]:
        out = super().to_json()
        out["explanation"] = [f.to_json() for f in self.facts]
        out["fixes"] = [f.to_json() for f in self.fixes]
        out["zones"] = list(self.zones)
        return out


class Diverged(ZonesolveError):
    """audit: a linked zone no longer meets its parent dependencies."""

    kind = "diverged"


class SolveTimeout(ZonesolveError):
    kind = "timeout"


class InternalError(ZonesolveError):
    """A bug in zonesolve (e.g. the verifier rejected a plan). Never hidden."""

    kind = "internal"


@dataclass
class ErrorList:
    """Collects input errors so that lint can report every one of them."""

    errors: list[InputError] = field(default_factory=list)

    def add(self, message: str, location: Location | None = None) -> None:
        self.errors.append(InputError(message, location))

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InputErrors(self.errors)
