"""The planning problem of one image: which package versions may be chosen.

For an image and what the operation asks of it (a ``Request``), this computes
the candidate versions of every stem the plan could touch (the closure of the
installed and requested packages over require, require-any, conditional,
group and group-any dependencies), and for every version the image can see
but may not choose, the reason (``excluded``): publisher rules, package
variants, --reject, the requested versions, maintained incorporations,
freezes, upgrade paths (origin) and explicit-install packages.
Versions older than the installed one are never candidates unless an
incorporation allows the downgrade (ips-semantics 7.4).

Everything here is a static fact about one image; the rules that relate
versions to each other are clauses (``resolver.encode``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from resolver.catalog import Catalog
from resolver.errors import InputError
from resolver.fmri import DEPEND_SELF, Version
from resolver.model import CLOSURE_TYPES, Dependency, DepType, Image, Package
from resolver.patterns import StemIndex, parse_pattern
from resolver.varcet import VarcetFilter


@dataclass
class Request:
    """What one operation asks of one image."""

    kind: str  # install | update | uninstall | sync
    proposed: dict[str, list[Package]] = field(default_factory=dict)
    update_all: bool = False
    remove: frozenset[str] = frozenset()
    reject: frozenset[str] = frozenset()
    #: stem -> the pattern the user typed for it (for messages)
    proposed_by: dict[str, str] = field(default_factory=dict)

    @property
    def relax_all(self) -> bool:
        """update-all and sync relax every incorporation (no maintained ones)."""
        return self.update_all or self.kind == "sync"


def at_least(pkg: Package, version: Version | None) -> bool:
    """pkg's version is ``version`` or newer (release, branch, timestamp)."""
    assert pkg.fmri.version is not None
    return version is None or pkg.fmri.version.key >= version.key


class ImageProblem:
    """Candidates and exclusions for one image under one request."""

    def __init__(
        self,
        image: Image,
        catalog: Catalog,
        request: Request,
        index: StemIndex,
        parent_installed: Mapping[str, Package] | None = None,
        seed_stems: frozenset[str] = frozenset(),
    ) -> None:
        self.image = image
        self.catalog = catalog
        self.request = request
        self.filter = VarcetFilter.for_image(image)
        self.parent_installed = parent_installed or {}
        self.installed = self._load_installed()
        self.removals = self._removals()
        self.freezes = self._freezes(index)
        self.avoid = frozenset(s for p in image.avoid for s in index.lookup(parse_pattern(p)))
        self.candidates: dict[str, list[Package]] = {}
        self.excluded: dict[str, list[tuple[Package, str]]] = {}
        self.notes: dict[str, str] = {}
        self._deps: dict[int, tuple[Dependency, ...]] = {}
        self._downgrades: dict[str, set[int]] = {}
        self.maintained = self._maintained_incorporations()
        self._close(seed_stems)

    # -- inputs -------------------------------------------------------------

    def _load_installed(self) -> dict[str, Package]:
        installed: dict[str, Package] = {}
        for fmri in self.image.installed:
            pkg = self.catalog.get(fmri)
            if pkg is None:
                raise InputError(
                    f"image '{self.image.name}': installed package {fmri} is not in any "
                    "source (its manifest is needed to plan)",
                    self.image.where,
                )
            installed[pkg.stem] = pkg
        return installed

    def _removals(self) -> frozenset[str]:
        out = set(self.request.remove) | (self.request.reject & self.installed.keys())
        out |= {s for s, p in self.installed.items() if self.filter.package_mismatch(p)}
        return frozenset(out)

    def _freezes(self, index: StemIndex) -> dict[str, tuple[Version, str]]:
        freezes: dict[str, tuple[Version, str]] = {}
        for text in self.image.frozen:
            pattern = parse_pattern(text)
            for stem in index.lookup(pattern):
                if pattern.version is not None:
                    version = pattern.version.as_version()
                    if version is None:
                        raise InputError(f"freeze {text!r}: wildcards are not allowed in a freeze")
                elif stem in self.installed:
                    version = self.installed[stem].fmri.version
                    assert version is not None
                else:
                    continue  # pkg freeze of an uninstalled stem needs a version
                freezes[stem] = (version, text)
        return freezes

    def deps(self, pkg: Package) -> tuple[Dependency, ...]:
        """pkg's dependencies that apply to this image (variant and facet tags)."""
        key = id(pkg)
        got = self._deps.get(key)
        if got is None:
            got = tuple(d for d in pkg.depends if self.filter.allows(d.tags))
            self._deps[key] = got
        return got

    # -- publishers ----------------------------------------------------------

    def _visible(self, stem: str) -> tuple[list[Package], list[tuple[Package, str]]]:
        """Versions of ``stem`` the publisher rules allow, and those they do not."""
        versions = self.catalog.versions(stem)
        inst = self.installed.get(stem)
        allowed = self._allowed_publishers(stem, versions, inst)
        keep: list[Package] = []
        out: list[tuple[Package, str]] = []
        for pkg in versions:
            if pkg is inst:
                keep.append(pkg)
            elif pkg.publisher not in allowed[0]:
                out.append((pkg, allowed[1].format(pub=pkg.publisher)))
            elif inst is not None and pkg.fmri.version == inst.fmri.version:
                continue  # the same version from another publisher
            else:
                keep.append(pkg)
        return keep, out

    def _allowed_publishers(
        self, stem: str, versions: list[Package] | tuple[Package, ...], inst: Package | None
    ) -> tuple[set[str], str]:
        pubs = {p.name: p for p in self.image.publishers}
        if inst is not None and inst.publisher in pubs and pubs[inst.publisher].sticky:
            return {inst.publisher}, (
                f"{stem} is installed from sticky publisher '{inst.publisher}'; "
                "'{pub}' may not replace it"
            )
        proposed = self.request.proposed.get(stem)
        if proposed:
            ranks = sorted({self.image.publisher_rank(p.publisher) for p in proposed})
            best = {p.publisher for p in proposed if self.image.publisher_rank(p.publisher) == ranks[0]}
            return best, "the request chose another publisher than '{pub}'"
        offered = sorted({self.image.publisher_rank(p.publisher) for p in versions})
        if not offered or offered[0] >= 1000:
            return set(), "publisher '{pub}' is not configured in image " + self.image.name
        best = {p.publisher for p in versions if self.image.publisher_rank(p.publisher) == offered[0]}
        return best, "a higher-ranked publisher than '{pub}' offers it"

    # -- exclusions ----------------------------------------------------------

    def _why_excluded(self, pkg: Package) -> str | None:
        stem = pkg.stem
        if stem in self.request.reject:
            return "rejected by --reject"
        if stem in self.request.remove:
            return "the request uninstalls it"
        mismatch = self.filter.package_mismatch(pkg)
        if mismatch:
            return mismatch
        proposed = self.request.proposed.get(stem)
        if proposed is not None and all(p is not pkg for p in proposed):
            return "not a version the request names"
        for why in (self._maintained_reason(pkg), self._freeze_reason(pkg), self._origin_reason(pkg)):
            if why:
                return why
        if pkg.explicit_install and not self._explicitly_allowed(pkg):
            return "can only be installed if requested by name (pkg.depend.explicit-install)"
        return None

    def _older_than_installed(self, pkg: Package) -> bool:
        inst = self.installed.get(pkg.stem)
        if inst is None or pkg.stem in self.removals or id(pkg) in self._downgrades.get(pkg.stem, ()):
            return False
        assert pkg.fmri.version is not None and inst.fmri.version is not None
        if pkg.fmri.version >= inst.fmri.version:
            return False
        proposed = self.request.proposed.get(pkg.stem)
        return not (proposed and all(at_most_older(p, inst) for p in proposed))

    def _freeze_reason(self, pkg: Package) -> str | None:
        frozen = self.freezes.get(pkg.stem)
        if frozen and not pkg.fmri.version.matches(frozen[0]):  # type: ignore[union-attr]
            return f"excluded by a freeze on {frozen[1]}"
        return None

    def _origin_reason(self, pkg: Package) -> str | None:
        for dep in self.deps(pkg):
            if dep.type is not DepType.ORIGIN or dep.fmri.version is None:
                continue
            inst = self.installed.get(dep.fmri.stem)
            if inst is not None and not at_least(inst, dep.fmri.version):
                return (
                    f"upgrade path: {dep.fmri.short()} or newer must be installed first "
                    f"({inst.fmri.short()} is installed)"
                )
        return None

    def _explicitly_allowed(self, pkg: Package) -> bool:
        stem = pkg.stem
        if stem in self.request.proposed or stem in self.installed:
            return True
        self_synced = any(
            d.type is DepType.PARENT and d.fmri.stem == DEPEND_SELF for d in self.deps(pkg)
        )
        return self_synced and stem in self.parent_installed

    # -- maintained incorporations (ips-semantics 7.3) ------------------------

    def _maintained_incorporations(self) -> dict[str, Package]:
        if self.request.relax_all:
            return {}
        live = {s: p for s, p in self.installed.items() if s not in self.removals}
        relaxed = {
            s
            for s, versions in self.request.proposed.items()
            if not (s in live and versions == [live[s]])
        }
        holds = {s: p.install_hold for s, p in live.items() if p.install_hold}
        relaxed_holds = {holds[s] for s in relaxed if s in holds}
        relaxed_holds |= {h for h in holds.values() if any(h.startswith(r + ".") for r in relaxed_holds)}
        held = {s for s, h in holds.items() if h not in relaxed_holds and s not in relaxed}
        held |= self._implicitly_held(live, held, relaxed)
        versioned = {
            d.fmri.stem
            for p in live.values()
            for d in self.deps(p)
            if d.fmri.version is not None and d.type is not DepType.PARENT
        }
        incorps = {s for s, p in live.items() if any(d.type is DepType.INCORPORATE for d in self.deps(p))}
        return {s: live[s] for s in sorted(incorps - (versioned - held) - relaxed)}

    def _implicitly_held(self, live: dict[str, Package], held: set[str], relaxed: set[str]) -> set[str]:
        """Incorporations without a hold of their own, incorporated by a held one."""
        out: set[str] = set()
        todo = list(held)
        while todo:
            for dep in self.deps(live[todo.pop()]):
                stem = dep.fmri.stem
                if dep.type is DepType.INCORPORATE and stem in live and stem not in held | out | relaxed:
                    if not live[stem].install_hold and live[stem].is_incorporation:
                        out.add(stem)
                        todo.append(stem)
        return out

    def _maintained_reason(self, pkg: Package) -> str | None:
        stem = pkg.stem
        inc = self.maintained.get(stem)
        if inc is not None and pkg is not inc:
            return (
                f"installed incorporation {inc.fmri.short()} stays at its version "
                "(name it on the command line to move it)"
            )
        assert pkg.fmri.version is not None
        for inc in self.maintained.values():
            for dep in self.deps(inc):
                if (
                    dep.type is DepType.INCORPORATE
                    and dep.fmri.stem == stem
                    and dep.fmri.version is not None
                    and not pkg.fmri.version.matches(dep.fmri.version)
                ):
                    return f"excluded by installed incorporation {inc.fmri.short()}"
        return None

    # -- the closure -----------------------------------------------------------

    def _close(self, seed: frozenset[str]) -> None:
        todo = sorted(
            ({s for s in self.installed if s not in self.removals} | set(self.request.proposed) | seed)
            - self.request.reject
        )
        seen = set(todo)
        while todo:
            stem = todo.pop()
            for pkg in self._compute_candidates(stem):
                for target in self._closure_targets(pkg):
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
                for stem2, pkgs in self._incorporation_downgrades(pkg):
                    fresh = {id(p) for p in pkgs} - self._downgrades.setdefault(stem2, set())
                    if fresh:
                        self._downgrades[stem2] |= fresh
                        seen.add(stem2)
                        todo.append(stem2)

    def _compute_candidates(self, stem: str) -> list[Package]:
        """(Re)compute the candidates of ``stem``; returns the new ones."""
        visible, excluded = self._visible(stem)
        keep: list[Package] = []
        older = 0
        for pkg in visible:
            if self._older_than_installed(pkg):
                older += 1
                continue
            why = self._why_excluded(pkg)
            if why is None:
                keep.append(pkg)
            else:
                excluded.append((pkg, why))
        if older:
            inst = self.installed[stem]
            self.notes[stem] = (
                f"{inst.fmri.short()} is installed; older versions are not considered "
                "(no implicit downgrades)"
            )
        before = {id(p) for p in self.candidates.get(stem, ())}
        self.candidates[stem] = keep
        if excluded:
            self.excluded[stem] = excluded
        return [p for p in keep if id(p) not in before]

    def _closure_targets(self, pkg: Package) -> list[str]:
        out: list[str] = []
        for dep in self.deps(pkg):
            if dep.type in CLOSURE_TYPES:
                out.extend(f.stem for f in dep.fmris)
        return out

    def _incorporation_downgrades(self, pkg: Package) -> list[tuple[str, list[Package]]]:
        """Versions older than installed that this incorporation allows (7.4):
        for every candidate in update-all and sync, else for requested versions
        and, recursively, for downgrades they allow (nested incorporations)."""
        nested = id(pkg) in self._downgrades.get(pkg.stem, ())
        if not (self.request.relax_all or pkg.stem in self.request.proposed or nested):
            return []
        out = []
        for dep in self.deps(pkg):
            if dep.type is not DepType.INCORPORATE or dep.fmri.version is None:
                continue
            inst = self.installed.get(dep.fmri.stem)
            want = dep.fmri.version
            if inst is None or inst.fmri.version.matches(want):  # type: ignore[union-attr]
                continue
            older = [
                p
                for p in self.catalog.versions(dep.fmri.stem)
                if p.publisher == pkg.publisher
                and p.fmri.version.matches(want)  # type: ignore[union-attr]
                and p.fmri.version < inst.fmri.version  # type: ignore[operator]
                and _hold_allows(p, pkg)
            ]
            if older:
                out.append((dep.fmri.stem, older))
        return out

    # -- queries -----------------------------------------------------------------

    def versions_at_least(self, stem: str, version: Version | None, obsolete_ok: bool) -> list[Package]:
        return [
            p
            for p in self.candidates.get(stem, ())
            if at_least(p, version) and (obsolete_ok or not p.obsolete)
        ]

    def rank_order(self, stem: str) -> list[Package]:
        """Candidates from least to most preferred: older first; at equal
        versions the better-ranked publisher is preferred."""
        return sorted(
            self.candidates.get(stem, ()),
            key=lambda p: (p.fmri.version.key, -self.image.publisher_rank(p.publisher)),  # type: ignore[union-attr]
        )


def at_most_older(proposed: Package, installed: Package) -> bool:
    """The user asked only for versions older than the installed one."""
    return proposed.fmri.version < installed.fmri.version  # type: ignore[operator]


def _hold_allows(candidate: Package, incorporation: Package) -> bool:
    hold = candidate.install_hold
    mine = incorporation.install_hold
    return hold is None or (mine is not None and hold.startswith(mine))

