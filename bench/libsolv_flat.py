"""The fleet as ONE libsolv pool, for the side-by-side benchmark (bench/test_libsolv.py).

``solve_update_all(fleet, catalog)`` plans ``update -r`` with libsolv (PyPI
``solv``, the optional extra ``libsolv``) instead of zonesolve. Every image
gets its own namespace: a package version of ``stem`` that image ``web001``
could install becomes a solvable named ``web001:stem``, and that image's
dependencies point at ``web001:...`` (parent dependencies at ``global:...``).
Installed packages go to the system repository (``pool.installed``); the
jobs are SOLVER_UPDATE | SOLVER_SOLVABLE_ALL, plus SOLVER_FAVOR of the
installed packages of native zones, which ``update -r`` only syncs (below).

Versions (``evr``): libsolv compares rpm-style ``version-release`` with
rpmvercmp. An IPS version ``release[,build][-branch][:timestamp]`` becomes

    version = release (dotted integers, as written)
    release = "0" if there is no branch, else "1." + branch
              + "^" + the 14 digits of the timestamp, if there is one

e.g. ``0.5.11,5.11-151046.1:20230501T000000Z`` -> ``0.5.11-1.151046.1^20230501000000``.
rpmvercmp compares dotted integers numerically and a longer sequence after an
equal prefix as newer (IPS DotSequence order); the leading ``0``/``1`` puts
"no branch" below every branch; ``^`` sorts above the end of the string but
below any further ``.N`` component, so a timestamp only breaks ties between
equal branches (absent timestamp lowest). The build release is dropped (IPS
ignores it). A dependency's version is written the same way, except that a
bare release (no branch, no timestamp) gets no release part: rpm matching
then ignores the release, which is exactly IPS's "``>= 1.2`` accepts any
``1.2-*``" and "``< 1.2`` rejects every ``1.2-*``". ``check_evr_order`` and
``check_dep_matching`` verify both claims against ``resolver.fmri`` on any
sample of versions (bench/test_libsolv.py runs them on a catalog).

What each dependency becomes (after the image's variant/facet filter,
``VarcetFilter.allows``; a dependency naming a stem the image has no
solvable for becomes a dependency on nothing, as in IPS):

- require T@v        -> Requires ``img:T >= evr(v)`` (unversioned: ``img:T``)
- require-any A B    -> Requires ``(img:A >= a or img:B >= b)``, a rich (boolean)
                        dependency; a libsolv built without complex
                        dependencies gets the first alternative only
                        (``FlatResult.rich_deps`` says which)
- incorporate T@v    -> Conflicts with the image's versions of T that do not
                        match v at its precision: ``img:T < first match`` and
                        ``img:T > last match`` plus ``img:T = x`` for any
                        non-matching x between them (exact, usually 2 conflicts);
                        no matching version: Conflicts ``img:T``
- exclude T@v        -> Conflicts ``img:T >= evr(v)`` (unversioned: ``img:T``)
- optional T@v       -> Conflicts ``img:T < evr(v)`` (unversioned: nothing)
- group T            -> Recommends ``img:T``, unless the image avoids T
                        (SOLVER_FLAG_ADD_ALREADY_RECOMMENDED is on, so a missing,
                        not avoided group target is installed as pkg(5) does)
- group-any A B      -> Recommends ``(img:A or img:B)`` over the stems not avoided
                        (without complex dependencies: dropped unless one remains)
- conditional T@v predicate=Q@w
                     -> Requires ``(img:T >= evr(v) if img:Q >= evr(w))``; without
                        complex dependencies: dropped
- parent (linked zones: lipkg, sparse, pkgsrc)
    self             -> Requires ``global:<own stem> = <own evr>`` (exact version,
                        timestamp included)
    T@v              -> Requires ``global:T >= evr(v)``
- origin T@v         -> no dependency: the image's versions P whose origin
                        target is installed below v are left out of the pool
                        (pkg(5) trims them before solving, too)
- obsolete versions  -> a "tombstone" solvable ``img:T!obsolete`` that provides
                        only its own name and Obsoletes ``img:T < evr``: libsolv
                        can update an installed T to it (= removing T, as IPS
                        update does), but it satisfies no require, require-any
                        or conditional and triggers no conditional
- renamed versions   -> ordinary solvables (they require their successors);
                        after the solve, renamed packages that nothing else in
                        the image's result needs are dropped from it, as pkg(5)'s
                        post-processing does (in Python, counted in solve_s)
- frozen packages    -> versions that do not match the freeze are left out
- publishers         -> only publishers configured in the image; vendor =
                        publisher and vendor change off (as a sticky publisher)

Approximations (where this is not IPS, beyond libsolv's own policy):
- Only the images ``update -r`` plans: the global zone and linked zones
  (updated) and native zones (synced: only what the zone rules and
  dependencies force moves). ipkg zones are independent images that
  ``update -r`` does not reach: left out. The sync is emulated: update-all
  covers native zones too, but their installed versions are favoured
  (SOLVER_FAVOR), so libsolv keeps them unless something needs another.
  Excluding them from the update job instead (SOLVER_UPDATE of the updated
  images' installed packages, SOLVER_SOLVABLE_ONE_OF) is exact but puts
  libsolv in targeted-update mode, which solved 5 to 8 times slower at the
  large preset (27 s against 5 s for its first 48 images); both gave
  zonesolve's plan package for package at small and medium.
- Pool contents: per image, the versions of every stem reachable from its
  installed packages over require, require-any, conditional, group and
  group-any (zonesolve's and pkg(5)'s candidate closure). Nothing outside it
  can be installed by an update (only those dependencies pull packages in),
  so this changes the pool's size, not the answer. ``closure=False`` puts
  every visible version in instead.
- Native (Solaris 10) zones: an ALLZONES package in the zone Requires
  ``global:T = its evr``; the converse (the global zone's ALLZONES packages
  must be in every native zone) is not encoded.
- Obsolete versions are ignored by incorporate, exclude and optional
  conflicts and do not satisfy group dependencies (IPS counts them there);
  group-any's "prefer non-obsolete stems" is not modelled.
- No implicit downgrades at all (SOLVER_FLAG_ALLOW_DOWNGRADE off): IPS
  update-all may downgrade what a newer incorporation asks for.
- Publisher ranks (a higher-ranked publisher hides a lower one's versions of
  a stem), non-sticky publishers, explicit-install, --reject and
  variant-mismatched installed packages are not modelled.
- "Newest possible" is libsolv's policy (best update per installed package,
  recommends where possible), not pkg(5)'s optimisation; the solve is one
  joint solve of all images (zones may hold the global zone back, as in
  zonesolve's joint mode, but libsolv decides the order greedily).
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import solv

from resolver.catalog import Catalog
from resolver.fmri import DEPEND_SELF, Fmri, Version
from resolver.model import CLOSURE_TYPES, Brand, Dependency, DepType, Fleet, Image, Package
from resolver.patterns import StemIndex, parse_pattern
from resolver.varcet import VarcetFilter

__all__ = [
    "FlatResult",
    "check_dep_matching",
    "check_evr_order",
    "dep_evr",
    "evr",
    "rich_deps_supported",
    "solve_update_all",
]

_GE = solv.REL_GT | solv.REL_EQ
_OBSOLETE = "!obsolete"


# ---------------------------------------------------------------------------
# Versions


def _tail(version: Version) -> str:
    tail = "0" if version.branch is None else "1." + ".".join(map(str, version.branch))
    if version.timestamp is not None:
        ts = version.timestamp  # YYYYMMDDTHHMMSSZ
        tail += "^" + ts[:8] + ts[9:15]
    return tail


def evr(version: Version) -> str:
    """The evr of a package version (always with a release part)."""
    return ".".join(map(str, version.release)) + "-" + _tail(version)


def dep_evr(version: Version) -> str:
    """The evr of a dependency's version: a bare release has no release part."""
    if version.branch is None and version.timestamp is None:
        return ".".join(map(str, version.release))
    return evr(version)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def check_evr_order(versions: Sequence[Version]) -> list[str]:
    """Pairs whose libsolv order (``evr``) differs from IPS order; empty if none."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    repo = pool.add_repo("order")
    solvables = []
    for v in versions:
        s = repo.add_solvable()
        s.name, s.evr, s.arch = "x", evr(v), "noarch"
        solvables.append(s)
    bad = []
    for i, a in enumerate(versions):
        for j in range(i + 1, len(versions)):
            b = versions[j]
            want = (a.key > b.key) - (a.key < b.key)
            got = _sign(solvables[i].evrcmp(solvables[j]))
            if got != want:
                bad.append(f"{a} vs {b}: IPS {want}, libsolv {got} ({evr(a)} vs {evr(b)})")
    pool.free()
    return bad


def check_dep_matching(packages: Sequence[Version], wanted: Sequence[Version]) -> list[str]:
    """Where ``x >= dep_evr(w)`` / ``x < dep_evr(w)`` differ from IPS ``x >= w`` / ``x < w``."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    repo = pool.add_repo("match")
    name = pool.str2id("x")
    solvables = []
    for v in packages:
        s = repo.add_solvable()
        s.name, s.evr, s.arch = "x", evr(v), "noarch"
        s.add_deparray(solv.SOLVABLE_PROVIDES, pool.rel2id(name, pool.str2id(evr(v)), solv.REL_EQ))
        solvables.append(s)
    bad = []
    for w in wanted:
        ge = pool.Dep("x").Rel(_GE, pool.Dep(dep_evr(w)))
        lt = pool.Dep("x").Rel(solv.REL_LT, pool.Dep(dep_evr(w)))
        for v, s in zip(packages, solvables, strict=True):
            want = v.key >= w.key
            if s.matchesdep(solv.SOLVABLE_PROVIDES, ge) != want:
                bad.append(f"{v} >= {w}: IPS {want}, libsolv {not want} ({evr(v)} >= {dep_evr(w)})")
            if s.matchesdep(solv.SOLVABLE_PROVIDES, lt) != (not want):
                bad.append(f"{v} < {w}: IPS {not want}, libsolv {want} ({evr(v)} < {dep_evr(w)})")
    pool.free()
    return bad


_RICH: bool | None = None


def rich_deps_supported() -> bool:
    """Does this libsolv solve boolean (rich) dependencies? Probed once:
    ``p`` requires ``(a or b)`` with only ``b`` available must install ``b``."""
    global _RICH
    if _RICH is None:
        pool = solv.Pool()
        pool.setdisttype(solv.Pool.DISTTYPE_RPM)
        pool.setarch("x86_64")
        repo = pool.add_repo("probe")
        for name in ("p", "b"):
            s = repo.add_solvable()
            s.name, s.evr, s.arch = name, "1-0", "noarch"
            s.add_deparray(solv.SOLVABLE_PROVIDES, pool.rel2id(s.nameid, s.evrid, solv.REL_EQ))
            if name == "p":
                s.add_deparray(
                    solv.SOLVABLE_REQUIRES, pool.rel2id(pool.str2id("a"), pool.str2id("b"), solv.REL_OR)
                )
        pool.createwhatprovides()
        job = pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE_NAME, pool.str2id("p"))
        solver = pool.Solver()
        problems = solver.solve([job])
        new = {s.name for s in solver.transaction().newsolvables()} if not problems else set()
        _RICH = new == {"p", "b"}
        pool.free()
    return _RICH


# ---------------------------------------------------------------------------
# Results


@dataclass
class FlatResult:
    """One libsolv run over the flattened fleet."""

    solvables: int  # in the pool, both repositories (libsolv's two reserved ones excluded)
    images: int  # images in the pool
    build_s: float  # filling the pool, createwhatprovides included
    solve_s: float  # solver setup, solve, reading the result back, renamed-package elision
    problems: int
    changed: int  # (image, stem) pairs added, removed or at another version
    rich_deps: bool
    #: image -> stem -> evr after the plan (None: not installed); only changed stems
    changes: dict[str, dict[str, str | None]] = field(default_factory=dict)
    problem_texts: list[str] = field(default_factory=list)

    @property
    def changed_images(self) -> frozenset[str]:
        return frozenset(name for name, stems in self.changes.items() if stems)


# ---------------------------------------------------------------------------
# Building the pool


class _View:
    """One image: what it has installed and which versions it may see."""

    def __init__(
        self, image: Image, catalog: Catalog, index: StemIndex, installed: dict[str, Package]
    ) -> None:
        self.image = image
        self.name = image.name
        self.filter = VarcetFilter.for_image(image)
        self.publishers = {p.name for p in image.publishers}
        self.installed = installed
        self.catalog = catalog
        self.avoid = {s for text in image.avoid for s in index.lookup(parse_pattern(text))}
        self.freezes: dict[str, Version] = {}
        for text in image.frozen:
            pattern = parse_pattern(text)
            for stem in index.lookup(pattern):
                want = pattern.version.as_version() if pattern.version is not None else None
                if want is None and stem in installed:
                    want = installed[stem].fmri.version
                if want is not None:
                    self.freezes[stem] = want
        self.versions: dict[str, list[Package]] = {}
        self._deps: dict[int, tuple[Dependency, ...]] = {}
        self._signatures: dict[str, tuple[int, ...]] = {}

    def signature(self, stem: str) -> tuple[int, ...]:
        """Identifies this image's list of versions of ``stem`` (equal lists, equal signatures)."""
        got = self._signatures.get(stem)
        if got is None:
            got = self._signatures[stem] = tuple(map(id, self.versions[stem]))
        return got

    def deps(self, pkg: Package) -> tuple[Dependency, ...]:
        got = self._deps.get(id(pkg))
        if got is None:
            allows = self.filter.allows
            got = self._deps[id(pkg)] = tuple(d for d in pkg.depends if allows(d.tags))
        return got

    def _usable(self, pkg: Package) -> bool:
        if pkg.publisher not in self.publishers or self.filter.package_mismatch(pkg) is not None:
            return False
        frozen = self.freezes.get(pkg.stem)
        if frozen is not None and not _version(pkg).matches(frozen):
            return False
        for dep in self.deps(pkg):
            if dep.type is DepType.ORIGIN and dep.fmri.version is not None:
                inst = self.installed.get(dep.fmri.stem)
                if inst is not None and _version(inst).key < dep.fmri.version.key:
                    return False
        return True

    def visible(self, stem: str) -> list[Package]:
        out = [p for p in self.catalog.versions(stem) if self._usable(p)]
        inst = self.installed.get(stem)
        if inst is not None and all(p is not inst for p in out):
            out.append(inst)
            out.sort(key=lambda p: _version(p).key)
        return out

    def fill(self, closure: bool) -> None:
        """``versions``: the closure of the installed stems (or every stem)."""
        if not closure:
            for stem in self.catalog.stems():
                versions = self.visible(stem)
                if versions:
                    self.versions[stem] = versions
            for stem in self.installed:
                self.versions.setdefault(stem, self.visible(stem))
            return
        todo = sorted(self.installed)
        seen = set(todo)
        while todo:
            stem = todo.pop()
            versions = self.versions[stem] = self.visible(stem)
            for pkg in versions:
                for dep in self.deps(pkg):
                    if dep.type in CLOSURE_TYPES:
                        for f in dep.fmris:
                            if f.stem not in seen:
                                seen.add(f.stem)
                                todo.append(f.stem)


class _Builder:
    """Fills one pool: names, evrs and dependencies as libsolv ids."""

    def __init__(self, pool: solv.Pool, catalog: Catalog, rich: bool) -> None:
        self.pool = pool
        self.catalog = catalog
        self.rich = rich
        self.str2id = pool.str2id
        self.rel2id = pool.rel2id
        self._names: dict[tuple[str, str], int] = {}
        self._evrs: dict[Version, int] = {}
        self._dep_evrs: dict[Version, int] = {}
        self._vendors: dict[str, int] = {}
        #: solvable id - first id -> (image, package)
        self.packages: list[tuple[str, Package]] = []
        self.first_id: int | None = None
        self._rels: dict[int, int] = {}
        self._incorp: dict[tuple[str, str, Version], list[int]] = {}
        #: (stem, wanted version, the image's versions of stem) -> (flags, version) conflicts
        self._incorp_shape: dict[tuple[str, Version, tuple[int, ...]], list[tuple[int, Version | None]]] = {}

    def spread_evrs(self, solvables: int) -> None:
        """Give every version string an id first, spread out with padding strings.

        libsolv hashes a relation ``name op evr`` as ``name + 7 * evr + 13 * op``
        over string ids, which it numbers densely in creation order. Here a few
        tens of thousands of version strings meet millions of relations (one
        namespace per image; a kernel package's 20 versions alone appear in
        ~500 images x 250 stems), so the hashes crowd into a small part of the
        table and lookups walk long probe chains: pool_rel2id grew from under
        1 us to 6-40 us a call as relations reached millions, and the build
        went quadratic. Version strings get ids in a shuffled order, spaced so
        that ``7 * evr`` spans about twice as many slots as there will be
        relations (about 3 a solvable); a synthetic test with 9 million
        relations stayed at 0.7 us a call. It costs one padding string per
        slot, about one per solvable."""
        versions: set[Version] = set()
        wanted: set[Version] = set()
        for pkg in self.catalog:
            versions.add(_version(pkg))
            for dep in pkg.depends:
                wanted.update(f.version for f in dep.fmris if f.version is not None)
                if dep.predicate is not None and dep.predicate.version is not None:
                    wanted.add(dep.predicate.version)
        texts = [(self._evrs, v, evr(v)) for v in versions] + [
            (self._dep_evrs, v, dep_evr(v)) for v in wanted
        ]
        texts.sort(key=lambda t: t[2])
        random.Random(0).shuffle(texts)  # popular versions must not sit next to each other
        spacing = max(0, -(-2 * 3 * solvables // (7 * len(texts))) - 1)
        str2id = self.str2id
        pad = 0
        for memo, version, text in texts:
            memo[version] = str2id(text)
            for _ in range(spacing):
                # long and varied: libsolv's string hash is weak for short, similar strings
                str2id(f"{(pad * 2654435761) & 0xFFFFFFFF:08x}#{pad}")
                pad += 1

    def rel(self, a: int, b: int, flags: int) -> int:
        """``pool.rel2id``, memoised (the binding's call costs more than a dict lookup)."""
        key = (a << 40) | (b << 8) | flags  # ids and flags are far below 2**32 and 2**8
        got = self._rels.get(key)
        if got is None:
            got = self._rels[key] = self.rel2id(a, b, flags)
        return got

    def name(self, image: str, stem: str) -> int:
        key = (image, stem)
        got = self._names.get(key)
        if got is None:
            got = self._names[key] = self.str2id(f"{image}:{stem}")
        return got

    def evr(self, version: Version) -> int:
        got = self._evrs.get(version)
        if got is None:
            got = self._evrs[version] = self.str2id(evr(version))
        return got

    def dep_evr(self, version: Version) -> int:
        got = self._dep_evrs.get(version)
        if got is None:
            got = self._dep_evrs[version] = self.str2id(dep_evr(version))
        return got

    def target(self, image: str, fmri: Fmri, flags: int = _GE) -> int:
        """``image:stem [flags evr]`` (the name alone when unversioned)."""
        name = self.name(image, fmri.stem)
        return name if fmri.version is None else self.rel(name, self.dep_evr(fmri.version), flags)

    def any_of(self, ids: list[int]) -> int:
        dep = ids[0]
        for other in ids[1:]:
            dep = self.rel(dep, other, solv.REL_OR)
        return dep

    # -- dependencies of one package in one image ------------------------------------------

    def deps(self, view: _View, pkg: Package, parent: str | None) -> list[tuple[int, int]]:
        """(keyname, dependency id) pairs for ``pkg`` in ``view``'s image."""
        img = view.name
        out: list[tuple[int, int]] = []
        requires, conflicts = solv.SOLVABLE_REQUIRES, solv.SOLVABLE_CONFLICTS
        for dep in view.deps(pkg):
            kind = dep.type
            if kind is DepType.REQUIRE:
                out.append((requires, self.target(img, dep.fmri)))
            elif kind is DepType.REQUIRE_ANY:
                alternatives = [self.target(img, f) for f in dep.fmris]
                out.append((requires, self.any_of(alternatives) if self.rich else alternatives[0]))
            elif kind is DepType.INCORPORATE:
                if dep.fmri.version is not None:
                    pins = self._incorporate(view, dep.fmri.stem, dep.fmri.version)
                    out.extend((conflicts, c) for c in pins)
            elif kind is DepType.EXCLUDE:
                out.append((conflicts, self.target(img, dep.fmri)))
            elif kind is DepType.OPTIONAL:
                if dep.fmri.version is not None:
                    out.append((conflicts, self.target(img, dep.fmri, solv.REL_LT)))
            elif kind is DepType.GROUP or kind is DepType.GROUP_ANY:
                stems = [f.stem for f in dep.fmris if f.stem not in view.avoid]
                if stems and (self.rich or len(stems) == 1):
                    out.append((solv.SOLVABLE_RECOMMENDS, self.any_of([self.name(img, s) for s in stems])))
            elif kind is DepType.CONDITIONAL:
                if self.rich and dep.predicate is not None:
                    cond = self.rel(
                        self.target(img, dep.fmri), self.target(img, dep.predicate), solv.REL_COND
                    )
                    out.append((requires, cond))
            elif kind is DepType.PARENT and parent is not None and view.image.linked:
                if dep.fmri.stem == DEPEND_SELF:
                    out.append((requires, self.exactly(parent, pkg)))
                else:
                    out.append((requires, self.target(parent, dep.fmri)))
            # origin: applied when choosing the versions (_View._usable)
        if parent is not None and view.image.brand is Brand.NATIVE and pkg.svr4 and pkg.svr4.allzones:
            out.append((requires, self.exactly(parent, pkg)))
        return out

    def exactly(self, image: str, pkg: Package) -> int:
        """``image:stem = evr``: that image has exactly this version."""
        return self.rel(self.name(image, pkg.stem), self.evr(_version(pkg)), solv.REL_EQ)

    def _incorporate(self, view: _View, stem: str, want: Version) -> list[int]:
        """Conflicts ruling out the image's versions of ``stem`` that do not match ``want``."""
        key = (view.name, stem, want)
        got = self._incorp.get(key)
        if got is None:
            versions = view.versions.get(stem)
            if not versions:
                got = []
            else:
                name = self.name(view.name, stem)
                got = [
                    name if v is None else self.rel(name, self.evr(v), flags)
                    for flags, v in self._incorporate_shape(stem, want, versions, view.signature(stem))
                ]
            self._incorp[key] = got
        return got

    def _incorporate_shape(
        self, stem: str, want: Version, versions: list[Package], signature: tuple[int, ...]
    ) -> list[tuple[int, Version | None]]:
        """The conflicts as (flags, version); (0, None) is "any version". Images
        with the same versions of ``stem`` share the answer."""
        key = (stem, want, signature)
        got = self._incorp_shape.get(key)
        if got is None:
            hits = [i for i, p in enumerate(versions) if _version(p).matches(want)]
            if not hits:
                got = [(0, None)]
            else:
                first, last = hits[0], hits[-1]
                got = []
                if first > 0:
                    got.append((solv.REL_LT, _version(versions[first])))
                if last < len(versions) - 1:
                    got.append((solv.REL_GT, _version(versions[last])))
                hit = set(hits)
                got.extend((solv.REL_EQ, _version(versions[i])) for i in range(first, last) if i not in hit)
            self._incorp_shape[key] = got
        return got

    # -- solvables ----------------------------------------------------------------------

    def vendor(self, publisher: str) -> int:
        got = self._vendors.get(publisher)
        if got is None:
            got = self._vendors[publisher] = self.str2id(publisher)
        return got

    def add(self, repo: solv.Repo, view: _View, pkg: Package, deps: Iterable[tuple[int, int]]) -> int:
        """Add ``pkg`` as a solvable of ``view``'s image; returns its id."""
        version = _version(pkg)
        s = repo.add_solvable()
        evr_id = self.evr(version)
        add = s.add_deparray
        if pkg.obsolete:
            name = self.str2id(f"{view.name}:{pkg.stem}{_OBSOLETE}")
            s.nameid, s.evrid = name, evr_id
            add(solv.SOLVABLE_OBSOLETES, self.rel(self.name(view.name, pkg.stem), evr_id, solv.REL_LT))
        else:
            name = self.name(view.name, pkg.stem)
            s.nameid, s.evrid = name, evr_id
            for key, dep in deps:
                add(key, dep)
        s.arch = "noarch"
        s.vendorid = self.vendor(pkg.publisher)
        add(solv.SOLVABLE_PROVIDES, self.rel(name, evr_id, solv.REL_EQ))
        sid: int = s.id
        if self.first_id is None:
            self.first_id = sid
        assert sid == self.first_id + len(self.packages)  # libsolv numbers solvables consecutively
        self.packages.append((view.name, pkg))
        return sid

    def package(self, sid: int) -> tuple[str, Package]:
        """The image and package of solvable ``sid``."""
        assert self.first_id is not None
        return self.packages[sid - self.first_id]


def _version(pkg: Package) -> Version:
    version = pkg.fmri.version
    assert version is not None  # catalog packages always have one
    return version


def _planned_images(fleet: Fleet) -> tuple[list[Image], set[str]]:
    """Images in the pool (global zone first) and the names of those ``update -r`` updates."""
    gz = fleet.global_zone
    images = [gz]
    updated = {gz.name}
    for zone in fleet.children(gz.name):
        if zone.linked:
            images.append(zone)
            updated.add(zone.name)
        elif zone.brand is Brand.NATIVE:
            images.append(zone)
    return images, updated


def _elide_renames(view: _View, live: dict[str, Package]) -> dict[str, Package]:
    """pkg(5)'s last step (ips-semantics 6.1): drop renamed packages that no
    other package of the plan needs (transitively), as zonesolve does."""
    if not any(p.renamed for p in live.values()):
        return live
    needed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for stem, pkg in live.items():
            if pkg.renamed and stem not in needed:
                continue
            for dep in view.deps(pkg):
                if dep.type in CLOSURE_TYPES:
                    for f in dep.fmris:
                        if f.stem not in needed and f.stem in live and live[f.stem].renamed:
                            needed.add(f.stem)
                            changed = True
    return {s: p for s, p in live.items() if not p.renamed or s in needed}


# ---------------------------------------------------------------------------
# The entry point


def solve_update_all(
    fleet: Fleet,
    catalog: Catalog,
    *,
    closure: bool = True,
    native_sync: bool = True,
    spread: bool = True,
    problem_texts: int = 5,
) -> FlatResult:
    """``update -r`` of the whole fleet as one libsolv problem (see the module docstring).

    ``native_sync=False`` updates native zones instead of syncing them (no
    SOLVER_FAVOR); ``closure=False`` adds every visible version of every stem.
    The cyclic garbage collector is off while this runs: building creates
    millions of small objects and no cycles. ``spread=False`` turns off the
    evr id spreading (``_Builder.spread_evrs``) that keeps libsolv's relation
    hash table usable at this size.
    """
    rich = rich_deps_supported()
    images, updated = _planned_images(fleet)
    index = StemIndex(catalog.stems())

    collecting = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: GC passes made the build superlinear
    t0 = time.perf_counter()
    pool = solv.Pool()
    try:
        pool.setdisttype(solv.Pool.DISTTYPE_RPM)
        pool.setarch("x86_64")
        system = pool.add_repo("@System")
        available = pool.add_repo("available")
        builder = _Builder(pool, catalog, rich)
        before: dict[str, dict[str, str]] = {}
        synced_ids: list[int] = []  # installed in images that are synced, not updated
        views: dict[str, _View] = {}
        gz_name = fleet.global_zone.name
        for image in images:
            installed = catalog.installed(image.installed)
            before[image.name] = {s: evr(_version(p)) for s, p in installed.items()}
            view = views[image.name] = _View(image, catalog, index, installed)
            view.fill(closure)
        if spread:
            builder.spread_evrs(sum(len(v) for view in views.values() for v in view.versions.values()))
        for image in images:
            view = views[image.name]
            parent = None if image.is_global else gz_name
            update = image.name in updated
            for stem, versions in view.versions.items():
                inst = view.installed.get(stem)
                for pkg in versions:
                    deps = () if pkg.obsolete else builder.deps(view, pkg, parent)
                    builder.add(available, view, pkg, deps)
                    if pkg is inst:
                        solvable = builder.add(system, view, pkg, deps)
                        if not update:
                            synced_ids.append(solvable)
        pool.installed = system
        pool.createwhatprovides()
        solvables = system.nsolvables + available.nsolvables
        build_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        solver = pool.Solver()
        flags = solv.Solver
        solver.set_flag(flags.SOLVER_FLAG_ALLOW_DOWNGRADE, 0)
        solver.set_flag(flags.SOLVER_FLAG_ALLOW_UNINSTALL, 0)
        solver.set_flag(flags.SOLVER_FLAG_ALLOW_VENDORCHANGE, 0)
        solver.set_flag(flags.SOLVER_FLAG_ALLOW_ARCHCHANGE, 0)
        solver.set_flag(flags.SOLVER_FLAG_ALLOW_NAMECHANGE, 1)  # tombstones replace obsolete stems
        solver.set_flag(flags.SOLVER_FLAG_ADD_ALREADY_RECOMMENDED, 1)  # group: installed unless avoided
        jobs = [pool.Job(solv.Job.SOLVER_UPDATE | solv.Job.SOLVER_SOLVABLE_ALL, 0)]
        if native_sync and synced_ids:
            # sync: keep the installed version unless something needs another
            ids = pool.towhatprovides(synced_ids)
            jobs.append(pool.Job(solv.Job.SOLVER_FAVOR | solv.Job.SOLVER_SOLVABLE_ONE_OF, ids))
        problems = solver.solve(jobs)
        changes: dict[str, dict[str, str | None]] = {name: {} for name in before}
        if not problems:
            final: dict[str, dict[str, Package]] = {name: {} for name in before}
            trans = solver.transaction()
            for s in (*trans.keptsolvables(), *trans.newsolvables()):
                image_name, pkg = builder.package(s.id)
                if not pkg.obsolete:
                    final[image_name][pkg.stem] = pkg
            for name, was in before.items():
                now = {s: evr(_version(p)) for s, p in _elide_renames(views[name], final[name]).items()}
                for stem in was.keys() | now.keys():
                    if was.get(stem) != now.get(stem):
                        changes[name][stem] = now.get(stem)
        solve_s = time.perf_counter() - t1
        texts = [str(p.findproblemrule().info().problemstr()) for p in problems[:problem_texts]]
        return FlatResult(
            solvables=solvables,
            images=len(images),
            build_s=build_s,
            solve_s=solve_s,
            problems=len(problems),
            changed=sum(len(c) for c in changes.values()),
            rich_deps=rich,
            changes=changes,
            problem_texts=texts,
        )
    finally:
        pool.free()
        if collecting:
            gc.enable()
