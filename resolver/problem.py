"""The planning problem: which package versions images may choose, and why not.

Images of one *class* (same parent, brand, publishers, variants and facets)
see the catalog alike, so they share a ``SharedProblem``: the candidate
versions of every stem any of them could touch (the closure of their
installed and requested packages over require, require-any, conditional,
group and group-any dependencies), with dependencies filtered by the class's
variants and facets. One formula encodes it once for all of them.

What differs between the images of a class is an ``ImageProblem``: the
installed set, the request, freezes and avoids, and from them the versions
this image may not choose, each with its reason (a ``Reason``: the rule and
what it comes from; resolver.explain words it): publisher rules, --reject,
the requested versions, maintained incorporations, freezes, upgrade paths
(origin), explicit-install packages, and versions older than the installed
one unless an incorporation allows the downgrade (ips-semantics 7.4). These
become assumptions on the shared formula (resolver.encode.assume).

Installed packages stay installed, except those the request removes and
those on the avoid list (``may_go``): pkg(5) gives an avoided stem no
"stays installed" clause (pkg_solver ``__generate_operation_clauses``), so it
stays only while a remaining package requires it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from resolver.catalog import Catalog
from resolver.errors import InputError
from resolver.fmri import DEPEND_SELF, Version
from resolver.model import CLOSURE_TYPES, Brand, Dependency, DepType, Image, Package
from resolver.patterns import StemIndex, parse_pattern
from resolver.reasons import PublisherWhy, Reason, Rule, version_lock_facet
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
    #: retry of an out-of-sync zone: installed packages' parent deps are not checked
    lax_parent: bool = False

    @property
    def relax_all(self) -> bool:
        """update-all and sync relax every incorporation (no maintained ones)."""
        return self.update_all or self.kind == "sync"


def at_least(pkg: Package, version: Version | None) -> bool:
    """pkg's version is ``version`` or newer (release, branch, timestamp)."""
    return version is None or pkg.fmri.version.key >= version.key  # type: ignore[union-attr]


def class_key(image: Image) -> tuple[object, ...]:
    """Images with equal keys see the catalog alike and share one formula
    (lipkg, sparse and pkgsrc zones solve alike: only "linked" counts)."""
    native = image.brand is Brand.NATIVE
    return (image.parent, native, image.linked, image.publishers, image.variants, image.facets)


class SharedProblem:
    """Candidates of one class of images: filtered once, encoded once."""

    def __init__(self, catalog: Catalog, image: Image) -> None:
        self.catalog = catalog
        self.image = image  # the first member: the class's view of the catalog
        self.filter = VarcetFilter.for_image(image)
        self.linked = image.linked
        #: packages whose parent dependencies are not encoded (out-of-sync retry)
        self.lax_parent: set[int] = set()
        self.candidates: dict[str, list[Package]] = {}
        self._deps: dict[int, tuple[Dependency, ...]] = {}
        self._alternatives: dict[int, tuple[str, ...]] | None = None
        self._needs: dict[int, frozenset[str]] = {}
        self._synced: dict[int, bool] = {}
        self._ranks = {p.name: i for i, p in enumerate(image.publishers)}
        self._incorporations: dict[str, list[Package]] | None = None
        self._matching: dict[tuple[str, Version], list[Package]] = {}
        self._depth: dict[str, int] = {}
        self._newest: dict[str, Package | None] = {}
        self._incorporating_index: dict[str, list[tuple[Package, Version]]] | None = None
        self._downgrade_sources: dict[int, list[Package]] = {}

    def deps(self, pkg: Package) -> tuple[Dependency, ...]:
        """pkg's dependencies that apply to this class (variant and facet tags)."""
        key = id(pkg)
        got = self._deps.get(key)
        if got is None:
            got = tuple(d for d in pkg.depends if self.filter.allows(d.tags))
            self._deps[key] = got
        return got

    def needs(self, pkg: Package) -> frozenset[str]:
        """Stems pkg's require, require-any, conditional, group and group-any
        dependencies name: what keeps a renamed package installed (memoised)."""
        got = self._needs.get(id(pkg))
        if got is None:
            got = self._needs[id(pkg)] = frozenset(
                f.stem for d in self.deps(pkg) if d.type in CLOSURE_TYPES for f in d.fmris
            )
        return got

    def self_synced(self, pkg: Package) -> bool:
        """pkg has a self parent dependency that applies to this class (memoised:
        every zone asks about its installed packages)."""
        got = self._synced.get(id(pkg))
        if got is None:
            got = self._synced[id(pkg)] = any(
                d.type is DepType.PARENT and d.fmri.stem == DEPEND_SELF for d in self.deps(pkg)
            )
        return got

    def alternatives(self) -> dict[int, tuple[str, ...]]:
        """For candidates with require-any or group-any dependencies (by id):
        the stems those name. Computed once, after the closure."""
        if self._alternatives is None:
            self._alternatives = {}
            for versions in self.candidates.values():
                for pkg in versions:
                    stems = tuple(
                        f.stem
                        for d in self.deps(pkg)
                        if d.type in (DepType.REQUIRE_ANY, DepType.GROUP_ANY)
                        for f in d.fmris
                    )
                    if stems:
                        self._alternatives[id(pkg)] = stems
        return self._alternatives

    def rank(self, publisher: str) -> int:
        return self._ranks.get(publisher, 1000)

    def visible(self, stem: str) -> list[Package]:
        """Versions from configured publishers that the class's variants allow."""
        return [
            p
            for p in self.catalog.versions(stem)
            if p.publisher in self._ranks and not self.filter.package_mismatch(p)
        ]

    def close(self, seeds: Iterable[str], extra: Iterable[Package] = ()) -> None:
        """Add ``seeds`` and everything their candidates' dependencies reach.
        ``extra`` are packages the class must consider although not visible
        (installed from a publisher that is no longer configured)."""
        extras: dict[str, list[Package]] = {}
        for pkg in extra:
            extras.setdefault(pkg.stem, []).append(pkg)
        todo = sorted(set(seeds) | set(extras))
        seen = set(self.candidates) | set(todo)
        while todo:
            stem = todo.pop()
            versions = self.visible(stem)
            for pkg in extras.get(stem, ()):
                if all(p is not pkg for p in versions):
                    versions.append(pkg)
            versions.sort(key=lambda p: (p.fmri.version.key, -self.rank(p.publisher)))  # type: ignore[union-attr]
            self.candidates[stem] = versions
            for pkg in versions:
                for dep in self.deps(pkg):
                    if dep.type in CLOSURE_TYPES:
                        for f in dep.fmris:
                            if f.stem not in seen:
                                seen.add(f.stem)
                                todo.append(f.stem)

    def drop_unreachable(self, members: Sequence[ImageProblem]) -> None:
        """Drop versions older than every member's installed one, for stems all
        members have installed and none may downgrade: no member can choose
        them, so they need no clauses (the global zone, a class of one, keeps
        only what it could move to)."""
        for stem, versions in self.candidates.items():
            floors = []
            for p in members:
                inst = p.installed.get(stem)
                if inst is None or stem in p.removals or p.downgrades.get(stem) or stem in p.request.proposed:
                    break
                floors.append(inst.fmri.version.key)  # type: ignore[union-attr]
            else:
                low = min(floors)
                self.candidates[stem] = [v for v in versions if v.fmri.version.key >= low]  # type: ignore[union-attr]

    def newest_live(self, stem: str) -> Package | None:
        """The newest non-obsolete version the class can see (held-back reports)."""
        if stem not in self._newest:
            live = [p for p in self.visible(stem) if not p.obsolete]
            self._newest[stem] = max(live, key=lambda p: p.fmri.version.key, default=None)  # type: ignore[union-attr]
        return self._newest[stem]

    def incorporations(self) -> dict[str, list[Package]]:
        """Candidates that incorporate something, by stem (computed once)."""
        if self._incorporations is None:
            self._incorporations = {}
            for stem, versions in self.candidates.items():
                incs = [p for p in versions if any(d.type is DepType.INCORPORATE for d in self.deps(p))]
                if incs:
                    self._incorporations[stem] = incs
        return self._incorporations

    def downgrade_sources(self, inst: Package) -> list[Package]:
        """Class incorporations that would allow a version of ``inst``'s stem
        older than ``inst`` (ips-semantics 7.4), the newest per incorporation
        stem (if that one is older than an image's installed one, so are the
        rest); memoised per installed package. Most images of a class can
        have none of them, and then need no closure."""
        got = self._downgrade_sources.get(id(inst))
        if got is None:
            newest: dict[str, Package] = {}
            for inc, want in self._incorporating().get(inst.stem, ()):
                if not inst.fmri.version.matches(want) and any(  # type: ignore[union-attr]
                    p.publisher == inc.publisher
                    and p.fmri.version < inst.fmri.version  # type: ignore[operator]
                    and _hold_allows(p, inc)
                    for p in self.matching(inst.stem, want)
                ):
                    have = newest.get(inc.stem)
                    if have is None or have.fmri.version < inc.fmri.version:  # type: ignore[operator]
                        newest[inc.stem] = inc
            got = self._downgrade_sources[id(inst)] = list(newest.values())
        return got

    def _incorporating(self) -> dict[str, list[tuple[Package, Version]]]:
        """Per stem, the class incorporations that incorporate it, at which version."""
        if self._incorporating_index is None:
            index: dict[str, list[tuple[Package, Version]]] = {}
            for incs in self.incorporations().values():
                for inc in incs:
                    for dep in self.deps(inc):
                        if dep.type is DepType.INCORPORATE and dep.fmri.version is not None:
                            index.setdefault(dep.fmri.stem, []).append((inc, dep.fmri.version))
            self._incorporating_index = index
        return self._incorporating_index

    def matching(self, stem: str, want: Version) -> list[Package]:
        """Catalog versions of ``stem`` matching ``want`` at its precision (memoised)."""
        key = (stem, want)
        got = self._matching.get(key)
        if got is None:
            got = [p for p in self.catalog.versions(stem) if p.fmri.version.matches(want)]  # type: ignore[union-attr]
            self._matching[key] = got
        return got

    def incorporation_depth(self, stem: str) -> int:
        """0 for a plain package; 1 + the deepest incorporation it incorporates."""
        depth = self._depth.get(stem)
        if depth is None:
            self._depth[stem] = 0  # cycle guard
            inner = {
                d.fmri.stem
                for p in self.candidates.get(stem, ())
                for d in self.deps(p)
                if d.type is DepType.INCORPORATE
            }
            depth = 1 + max((self.incorporation_depth(s) for s in inner), default=-1) if inner else 0
            self._depth[stem] = depth
        return depth

    def at_least(self, stem: str, version: Version | None, obsolete_ok: bool) -> list[Package]:
        return [
            p
            for p in self.candidates.get(stem, ())
            if at_least(p, version) and (obsolete_ok or not p.obsolete)
        ]


class ImageProblem:
    """One image under one request: what it has, and what it may not choose."""

    def __init__(
        self,
        shared: SharedProblem,
        image: Image,
        request: Request,
        index: StemIndex,
        parent_candidates: Mapping[str, Sequence[Package]] | None = None,
        seed_stems: frozenset[str] = frozenset(),
    ) -> None:
        self.shared = shared
        self.catalog = shared.catalog
        self.image = image
        self.request = request
        self.filter = shared.filter
        #: what the parent may have after its plan: the global zone's class
        #: candidates, or (an operation run in the zone) its installed packages
        self.parent_candidates = parent_candidates or {}
        self.installed = self._load_installed()
        self.removals = self._removals()
        self.freezes = self._freezes(index)
        # installing a stem by name takes it off the avoid list (pkg(5))
        avoided = {s for p in image.avoid for s in index.lookup(parse_pattern(p))}
        self.avoid = frozenset(avoided - request.proposed.keys())
        #: installed stems with no "stays installed" rule: avoided ones
        self.may_go = frozenset(s for s in self.installed if s in self.avoid and s not in self.removals)
        self.maintained = self._maintained_incorporations()
        self.seeds = (
            {s for s in self.installed if s not in self.removals} | set(request.proposed) | seed_stems
        ) - request.reject
        self.downgrades: dict[str, set[int]] = {}
        self._excluded: dict[str, list[tuple[Package, str]]] | None = None
        self._pins: dict[str, list[tuple[Package, Dependency]]] | None = None

    def deps(self, pkg: Package) -> tuple[Dependency, ...]:
        return self.shared.deps(pkg)

    def extra_packages(self) -> list[Package]:
        """Installed packages the class view does not show (unconfigured publisher)."""
        return [p for s, p in self.installed.items() if s not in self.removals]

    # -- inputs -----------------------------------------------------------------

    def _load_installed(self) -> dict[str, Package]:
        return installed_packages(self.image, self.catalog)

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

    # -- maintained incorporations (ips-semantics 7.3) ------------------------------

    def _maintained_incorporations(self) -> dict[str, Package]:
        if self.request.relax_all:
            return {}
        live = {s: p for s, p in self.installed.items() if s not in self.removals}
        relaxed = {
            s
            for s, versions in self.request.proposed.items()
            if not (s in live and len(versions) == 1 and versions[0] is live[s])
        }
        relaxed |= self._synced_relaxed(live)
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

    def _synced_relaxed(self, live: dict[str, Package]) -> set[str]:
        """A linked zone's installed packages that must follow the parent and
        may not match it: pkg(5) relaxes them as if named on the command line
        (``__installed_unsatisfied_parent_deps``), on the first attempt only
        (not the retry that ignores installed packages' parent dependencies),
        so that they can move to the parent's version with the request.

        pkg(5) compares with the parent's packages after the parent's plan.
        That plan is not known here (joint mode tries many), so a package is
        relaxed unless the parent certainly has exactly its FMRI: the parent's
        candidates for the stem are that one package (an operation run in the
        zone: the parent's installed packages, exactly pkg(5)'s rule). Relaxing
        a package the parent keeps changes nothing for it (its parent
        dependency holds it at the parent's version); only incorporations
        under its install-hold are freed with it. The same choice in joint and
        parent-first mode, so joint is never more constrained."""
        if not self.image.linked or self.request.lax_parent:
            return set()
        out = set()
        for stem, pkg in live.items():
            if self.self_synced(pkg):
                theirs = self.parent_candidates.get(stem, ())
                if not (len(theirs) == 1 and theirs[0].fmri == pkg.fmri):
                    out.add(stem)
        return out

    def self_synced(self, pkg: Package) -> bool:
        """pkg has an active self parent dependency here (it must match the parent)."""
        return self.shared.self_synced(pkg)

    def _implicitly_held(self, live: dict[str, Package], held: set[str], relaxed: set[str]) -> set[str]:
        """Incorporations without a hold of their own, incorporated by a held one."""
        out: set[str] = set()
        todo = list(held)
        while todo:
            for dep in self.deps(live[todo.pop()]):
                stem = dep.fmri.stem
                fresh = stem in live and stem not in held | out | relaxed
                if fresh and dep.type is DepType.INCORPORATE and self._holdless_incorporation(live[stem]):
                    out.add(stem)
                    todo.append(stem)
        return out

    # -- downgrades (ips-semantics 7.4) ----------------------------------------------

    def compute_downgrades(self) -> None:
        """Versions older than installed that an incorporation allows: for every
        incorporation this image could install in update-all and sync, else for
        requested versions; recursively for the downgrades they allow
        (nested incorporations)."""
        if self.request.relax_all:
            if not any(
                not self.older_than_installed(inc)
                for p in self.installed.values()
                for inc in self.shared.downgrade_sources(p)
            ):
                return  # no incorporation this image could have would allow one
            sources = self._possible_incorporations()
        else:
            sources = [p for versions in self.request.proposed.values() for p in versions]
        seen: set[int] = set()
        while sources:
            inc = sources.pop()
            if id(inc) in seen:
                continue
            seen.add(id(inc))
            for dep in self.deps(inc):
                if dep.type is DepType.INCORPORATE and dep.fmri.version is not None:
                    self._allow(dep.fmri.stem, inc, dep.fmri.version, sources)

    def _possible_incorporations(self) -> list[Package]:
        """Incorporations among this image's possible versions: its installed
        stems at their version or newer, and what their require, require-any,
        conditional, group and group-any dependencies reach (ips-semantics 7.2
        step 2); not every incorporation the class could see."""
        incorporations = {id(p) for versions in self.shared.incorporations().values() for p in versions}
        todo = sorted(self.seeds)
        seen = set(todo)
        out: list[Package] = []
        while todo:
            for pkg in self.shared.candidates.get(todo.pop(), ()):
                if self.older_than_installed(pkg):
                    continue
                if id(pkg) in incorporations:
                    out.append(pkg)
                for dep in self.deps(pkg):
                    if dep.type in CLOSURE_TYPES:
                        fresh = [f.stem for f in dep.fmris if f.stem not in seen]
                        seen.update(fresh)
                        todo.extend(fresh)
        return out

    def _allow(self, stem: str, inc: Package, want: Version, sources: list[Package]) -> None:
        inst = self.installed.get(stem)
        if inst is None or inst.fmri.version.matches(want):  # type: ignore[union-attr]
            return
        for p in self.shared.matching(stem, want):
            if (
                p.publisher == inc.publisher
                and p.fmri.version < inst.fmri.version  # type: ignore[operator]
                and _hold_allows(p, inc)
                and id(p) not in self.downgrades.get(stem, ())
            ):
                self.downgrades.setdefault(stem, set()).add(id(p))
                if p.is_incorporation:
                    sources.append(p)

    # -- exclusions --------------------------------------------------------------------

    def older_than_installed(self, pkg: Package) -> bool:
        """Never a candidate: older than installed, no downgrade allowed or asked."""
        inst = self.installed.get(pkg.stem)
        if inst is None or pkg.stem in self.removals or id(pkg) in self.downgrades.get(pkg.stem, ()):
            return False
        if pkg.fmri.version >= inst.fmri.version:  # type: ignore[operator]
            return False
        proposed = self.request.proposed.get(pkg.stem)
        return not (proposed and all(p.fmri.version < inst.fmri.version for p in proposed))  # type: ignore[operator]

    def why_excluded(self, pkg: Package, late: bool = True) -> Reason | None:
        """Why this image may not choose ``pkg`` (a class candidate), or None.
        ``late=False`` leaves out the checks pkg(5) makes after its closure
        (upgrade path, explicit-install), which decide group dependencies."""
        stem = pkg.stem
        if stem in self.request.reject:
            return Reason(Rule.REJECT)
        if stem in self.request.remove:
            return Reason(Rule.UNINSTALL)
        why = self.publisher_reason(pkg)
        if why:
            return why
        proposed = self.request.proposed.get(stem)
        if proposed is not None and all(p is not pkg for p in proposed):
            return Reason(Rule.REQUEST_VERSION, setting=self.request.proposed_by.get(stem, stem))
        for why in (self._maintained_reason(pkg), self._freeze_reason(pkg)):
            if why:
                return why
        return self.late_reason(pkg) if late else None

    def late_reason(self, pkg: Package) -> Reason | None:
        """The checks pkg(5) makes after its closure: origin, explicit-install."""
        why = self._origin_reason(pkg)
        if why:
            return why
        if pkg.explicit_install and not self.explicitly_allowed(pkg):
            return Reason(Rule.EXPLICIT_INSTALL)
        return None

    def publisher_reason(self, pkg: Package) -> Reason | None:
        """The publisher rules (ips-semantics 6.2), or None if pkg's publisher may serve it."""
        stem = pkg.stem
        inst = self.installed.get(stem)
        if pkg is inst:
            return None
        if inst is not None and pkg.fmri.version == inst.fmri.version:
            return Reason(Rule.PUBLISHER, by=inst, setting=inst.publisher, publisher="installed")
        allowed, rule, why = self.allowed_publishers(stem)
        if pkg.publisher in allowed:
            return None
        return Reason(rule, by=inst if rule is Rule.STICKY else None, setting=_names(allowed), publisher=why)

    def allowed_publishers(self, stem: str) -> tuple[set[str], Rule, PublisherWhy | None]:
        """The publishers that may serve ``stem`` here, and the rule that says so."""
        inst = self.installed.get(stem)
        pubs = {p.name: p for p in self.image.publishers}
        named = self.request.proposed_by.get(stem)
        if named is not None and parse_pattern(named).publisher is not None:
            return {parse_pattern(named).publisher or ""}, Rule.PUBLISHER, "named"
        if inst is not None and inst.publisher in pubs and pubs[inst.publisher].sticky:
            return {inst.publisher}, Rule.STICKY, None
        proposed = self.request.proposed.get(stem)
        if proposed:
            best_rank = min(self.shared.rank(p.publisher) for p in proposed)
            best = {p.publisher for p in proposed if self.shared.rank(p.publisher) == best_rank}
            return best, Rule.PUBLISHER, "chosen"
        return self.default_publishers(stem), Rule.PUBLISHER, "ranked"

    def default_publishers(self, stem: str) -> set[str]:
        offered = [self.shared.rank(p.publisher) for p in self.shared.visible(stem)]
        if not offered:
            return set()
        best = min(offered)
        return {p.publisher for p in self.shared.visible(stem) if self.shared.rank(p.publisher) == best}

    def _freeze_reason(self, pkg: Package) -> Reason | None:
        frozen = self.freezes.get(pkg.stem)
        if frozen and not pkg.fmri.version.matches(frozen[0]):  # type: ignore[union-attr]
            return Reason(Rule.FREEZE, by=self.installed.get(pkg.stem), setting=frozen[1])
        return None

    def _origin_reason(self, pkg: Package) -> Reason | None:
        for dep in self.deps(pkg):
            if dep.type is not DepType.ORIGIN or dep.fmri.version is None:
                continue
            inst = self.installed.get(dep.fmri.stem)
            if inst is not None and not at_least(inst, dep.fmri.version):
                return Reason(Rule.ORIGIN, by=inst, dep=dep)
        return None

    def explicitly_allowed(self, pkg: Package) -> bool:
        """pkg.depend.explicit-install: requested, installed, or (in a linked
        zone) a package that must match the parent and whose stem the parent
        will have. pkg(5) reads the parent's package list after its plan; here
        the parent's candidates stand for it, because the parent dependency
        clause already demands the exact FMRI in the parent's plan (joint and
        parent-first mode alike)."""
        stem = pkg.stem
        if stem in self.request.proposed or stem in self.installed:
            return True
        return self.image.linked and stem in self.parent_candidates and self.self_synced(pkg)

    @staticmethod
    def _holdless_incorporation(pkg: Package) -> bool:
        return pkg.install_hold is None and pkg.is_incorporation

    def _maintained_reason(self, pkg: Package) -> Reason | None:
        stem = pkg.stem
        inc = self.maintained.get(stem)
        if inc is not None and pkg is not inc:
            return Reason(Rule.INCORPORATION_KEPT, by=inc)
        for inc, dep in self._maintained_pins().get(stem, ()):
            if not pkg.fmri.version.matches(dep.fmri.version):  # type: ignore[union-attr,arg-type]
                facet = version_lock_facet(dep)
                rule = Rule.VERSION_LOCK if facet else Rule.INCORPORATE
                return Reason(rule, by=inc, dep=dep, setting=facet)
        return None

    def _maintained_pins(self) -> dict[str, list[tuple[Package, Dependency]]]:
        """Per stem, the maintained incorporations that incorporate it, and their dependency."""
        if self._pins is None:
            self._pins = {}
            for inc in self.maintained.values():
                for dep in self.deps(inc):
                    if dep.type is DepType.INCORPORATE and dep.fmri.version is not None:
                        self._pins.setdefault(dep.fmri.stem, []).append((inc, dep))
        return self._pins

    # -- views for explanations and reports (computed on demand) ----------------------

    def excluded(self, stem: str) -> list[tuple[Package, Reason]]:
        """Versions of ``stem`` this image sees but may not choose, with the reason."""
        return [(p, why) for p in self.catalog.versions(stem) if (why := self.reason_any(p)) is not None]

    def reason_any(self, pkg: Package) -> Reason | None:
        """Why this image may not choose ``pkg``, any version the catalog has
        (not only the class's candidates): its variants, an unconfigured
        publisher, an implicit downgrade, or ``why_excluded``."""
        mismatch = self.filter.variant_mismatch(pkg)
        if mismatch:
            name, values, have = mismatch
            return Reason(Rule.VARIANT, setting=f"{name}={have}", values=values)
        if pkg.publisher not in {p.name for p in self.image.publishers} and pkg is not self.installed.get(
            pkg.stem
        ):
            return Reason(Rule.PUBLISHER, setting=pkg.publisher, publisher="unconfigured")
        if self.older_than_installed(pkg):
            return Reason(Rule.NO_DOWNGRADE, by=self.installed[pkg.stem])
        return self.why_excluded(pkg)


def _names(publishers: set[str]) -> str:
    return ", ".join(sorted(publishers))


def installed_packages(image: Image, catalog: Catalog, purpose: str = "plan") -> dict[str, Package]:
    """An image's installed packages by stem; an InputError names the first
    one no source holds (planning, auditing and attaching read its manifest)."""
    installed: dict[str, Package] = {}
    for fmri in image.installed:
        pkg = catalog.get(fmri)
        if pkg is None:
            raise InputError(
                f"image '{image.name}': installed package {fmri} is not in any "
                f"source (its manifest is needed to {purpose})",
                image.where,
            )
        installed[pkg.stem] = pkg
    return installed


def _hold_allows(candidate: Package, incorporation: Package) -> bool:
    hold = candidate.install_hold
    mine = incorporation.install_hold
    return hold is None or (mine is not None and hold.startswith(mine))
