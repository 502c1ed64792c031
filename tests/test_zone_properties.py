"""Property tests on random small fleets: a global zone and 1-3 zones.

Catalogs are small (at most 12 package versions over at most 5 stems, one
publisher ``test``, versions 1.0 / 1.1 / 2.0 with branch 0). Some stems are
*synced*: every version carries ``depend type=parent
fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal``
(kernel-like, ips-semantics 8.3). Versions also carry require, incorporate
(only on later stems: no incorporation cycles), exclude, optional and non-self
parent dependencies (``depend type=parent fmri=pkg:/X@V
variant.opensolaris.zone=nonglobal``).

Installed sets are consistent to start with: they are enumerated, image by
image, from the sets in which every require / incorporate / exclude /
optional dependency is met and (in linked zones: lipkg, sparse) every parent
dependency is met by the global zone's packages; ``audit`` must agree that
every zone is synced. Zones have the global zone's publishers and brand
lipkg, sparse or ipkg; a linked zone sometimes freezes a synced package at
its installed version, or has an incorporation of a synced stem installed,
so that it cannot follow the global zone's newest version.

Operations run in the global zone: ``update`` (with and without ``-r``) and
``install STEM``, each jointly (the default) and ``--parent-first``.

1. every plan, joint or parent-first, passes the verifier (api.plan raises
   InternalError otherwise), fails only with no-solution, and leaves every
   linked zone synced (``audit`` on the planned installed sets);
2. when ``--parent-first`` finds a plan, the joint plan finds one too, and
   the global zone's requested packages (update-all: every installed stem)
   are, as a vector in the solver's priority order (incorporations first,
   outermost first, then by name; versions compared by ``version.key``),
   lexicographically at least as new as parent-first's; parent-first's
   global-zone plan is the global zone's plan on its own (ips-semantics 8.5:
   the parent is planned without looking at its children);
3. when ``--parent-first`` fails because a zone cannot follow (no-solution
   in a zone) but the joint plan succeeds, the difference is explained: the
   joint global-zone plan differs from the global zone's plan on its own
   (P); its requested vector is at most P's; and every requested stem that
   ends older than in P is reported held back in the global zone. (The
   stronger "something requested is held back" is not a property: the joint
   plan may differ from P only in packages that were not requested, e.g. a
   dependency added at an older version that a frozen zone can follow; then
   the requested vector equals P's and nothing requested is held back. That
   case is asserted as "the difference lies in unrequested stems".)
4. two zones identical in everything but their name get identical plans.

Properties 2-4 skip cases whose plan the verifier rejects (InternalError):
those are property 1's failures. Solver bugs found are explicit ``@example``
cases with what was wrong next to them (SYNC_DOWNGRADE_WITHOUT_INCORPORATION
fails property 1 until resolver/ is fixed).

Everything runs with ``derandomize=True``; a failure message holds the
manifests, fleet and command (``describe``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

from resolver import api
from resolver.catalog import Catalog
from resolver.errors import InternalError, NoSolution
from resolver.fmri import DEPEND_SELF, parse_fmri
from resolver.manifest import parse_package
from resolver.model import Brand, Dependency, DepType, Fleet, Image, Operation, Package, Publisher, Verb
from resolver.patterns import StemIndex
from resolver.plan import Outcome, Result
from resolver.requests import build_requests
from resolver.solve import FleetSolver

STEMS = ("a", "b", "c", "d", "e")
VERSIONS = ("1.0", "1.1", "2.0")
DEP_VERSIONS = (None, "1", "1.0", "1.1", "2.0")
PARENT_VERSIONS = ("1.0", "1.1", "2.0")
MAX_VERSIONS = 12
DEP_TYPES = ("require", "require", "incorporate", "incorporate", "exclude", "optional", "parent")
SELF = "parent-self"
PUBLISHERS = (Publisher("test"),)
GZ = "global"
ZONE_BRANDS = (Brand.LIPKG, Brand.LIPKG, Brand.SPARSE, Brand.IPKG)

PROPERTY = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One package version. ``depends``: "TYPE stem[@version]", or SELF."""

    stem: str
    version: str
    depends: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [f"set name=pkg.fmri value=pkg://test/{self.stem}@{self.version},5.11-0"]
        for dep in self.depends:
            if dep == SELF:
                lines.append(
                    "depend type=parent fmri=feature/package/dependency/self "
                    "variant.opensolaris.zone=nonglobal"
                )
                continue
            kind, target = dep.split()
            tag = " variant.opensolaris.zone=nonglobal" if kind == "parent" else ""
            lines.append(f"depend type={kind} fmri=pkg:/{target}{tag}")
        return "\n".join(lines) + "\n"


Installed = tuple[tuple[str, str], ...]  # (stem, version)


@dataclass(frozen=True)
class Zone:
    name: str
    brand: Brand
    installed: Installed
    frozen: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    specs: tuple[Spec, ...]
    gz: Installed
    zones: tuple[Zone, ...]
    verb: Verb
    args: tuple[str, ...] = ()
    recursive: bool = False

    def catalog(self) -> Catalog:
        return Catalog(packages(self.specs))

    def fleet(self, with_zones: bool = True) -> Fleet:
        images = [Image(GZ, PUBLISHERS, installed=fmris(self.gz))]
        if with_zones:
            for z in self.zones:
                images.append(
                    Image(z.name, PUBLISHERS, GZ, z.brand, installed=fmris(z.installed), frozen=z.frozen)
                )
        return Fleet("<zone-property>", tuple(images))

    def op(self, parent_first: bool = False) -> Operation:
        return Operation(self.verb, self.args, recursive=self.recursive, parent_first=parent_first)


def fmris(installed: Installed) -> tuple[Any, ...]:
    return tuple(parse_fmri(f"pkg://test/{s}@{v},5.11-0") for s, v in installed)


@lru_cache(maxsize=4096)
def packages(specs: tuple[Spec, ...]) -> tuple[Package, ...]:
    return tuple(parse_package(s.text(), f"<{s.stem}@{s.version}>", "test") for s in specs)


def show(installed: Installed) -> str:
    return ", ".join(f"{s}@{v}" for s, v in installed) or "-"


def describe(case: Case) -> str:
    """A reproducer a person can read: manifests, fleet, command."""
    lines = ["", "# manifests"]
    for s in case.specs:
        lines += ["  " + line for line in s.text().splitlines()]
    lines.append(f"# global zone: {show(case.gz)}")
    for z in case.zones:
        frozen = f"  frozen={list(z.frozen)}" if z.frozen else ""
        lines.append(f"# zone {z.name} ({z.brand}): {show(z.installed)}{frozen}")
    flag = " -r" if case.recursive else ""
    lines.append(f"# command: {case.verb}{flag} {' '.join(case.args)}".rstrip())
    return "\n".join(lines)


# -- consistency of an installed set (independent of the solver) ---------------------------------


def image_ok(pkgs: Mapping[str, Package], parent: Mapping[str, Package] | None) -> bool:
    """Every dependency of the generated kinds is met; parent dependencies
    only in a linked zone (``parent`` given)."""
    for pkg in pkgs.values():
        for dep in pkg.depends:
            if dep.type is DepType.PARENT:
                if parent is not None and not parent_met(pkg, dep, parent):
                    return False
            elif not dep_met(dep, pkgs.get(dep.fmri.stem)):
                return False
    return True


def parent_met(pkg: Package, dep: Dependency, parent: Mapping[str, Package]) -> bool:
    """ips-semantics 5: self means the parent has this exact FMRI, otherwise
    the parent has the target at the version or newer."""
    if dep.fmri.stem == DEPEND_SELF:
        theirs = parent.get(pkg.stem)
        return theirs is not None and theirs.fmri == pkg.fmri
    theirs = parent.get(dep.fmri.stem)
    want = dep.fmri.version
    return theirs is not None and (want is None or theirs.fmri.version.key >= want.key)  # type: ignore[union-attr]


def dep_met(dep: Dependency, have: Package | None) -> bool:
    """require: target at the version or newer; incorporate: if installed, at
    the version (at its precision); exclude: if installed, older; optional: if
    installed, at the version or newer (ips-semantics 5)."""
    want = dep.fmri.version
    version = have.fmri.version if have is not None else None
    if dep.type is DepType.REQUIRE:
        return version is not None and (want is None or version.key >= want.key)
    if version is None or (want is None and dep.type is not DepType.EXCLUDE):
        return True
    if dep.type is DepType.INCORPORATE:
        return version.matches(want)  # type: ignore[arg-type]
    if dep.type is DepType.EXCLUDE:
        return want is not None and version.key < want.key
    if dep.type is DepType.OPTIONAL:
        return version.key >= want.key  # type: ignore[union-attr]
    raise AssertionError(dep.type)


def consistent_sets(specs: tuple[Spec, ...], parent: Installed | None) -> list[Installed]:
    """Every installed set (at most one version per stem) that ``image_ok`` accepts."""
    return list(_consistent_sets(specs, parent))


@lru_cache(maxsize=4096)
def _consistent_sets(specs: tuple[Spec, ...], parent: Installed | None) -> tuple[Installed, ...]:
    pkgs = packages(specs)
    by_key = {(s.stem, s.version): p for s, p in zip(specs, pkgs, strict=True)}
    stems = sorted({s.stem for s in specs})
    options = [[None, *(s.version for s in specs if s.stem == stem)] for stem in stems]
    parent_pkgs = {s: by_key[s, v] for s, v in parent} if parent is not None else None
    out = []
    for combo in itertools.product(*options):
        chosen = tuple((s, v) for s, v in zip(stems, combo, strict=True) if v is not None)
        if image_ok({s: by_key[s, v] for s, v in chosen}, parent_pkgs):
            out.append(chosen)
    return tuple(out)


# -- strategies ------------------------------------------------------------------------------------


def dep_text(draw: st.DrawFn, stem: str, stems: Sequence[str]) -> str | None:
    others = [s for s in stems if s != stem]
    if not others:
        return None
    kind = draw(st.sampled_from(DEP_TYPES))
    if kind == "incorporate":
        later = [s for s in others if s > stem]
        if not later:
            return None
        target = draw(st.sampled_from(later))
        return f"incorporate {target}@{draw(st.sampled_from(VERSIONS))}"
    target = draw(st.sampled_from(others))
    if kind == "parent":
        return f"parent {target}@{draw(st.sampled_from(PARENT_VERSIONS))}"
    version = draw(st.sampled_from(DEP_VERSIONS))
    if kind == "exclude" and version is None:
        version = "2.0"
    return f"{kind} {target}" + (f"@{version}" if version else "")


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[Spec, ...]:
    """2-5 stems, 1-3 versions each (at most 12); some stems synced."""
    n = draw(st.sampled_from((2, 3, 3, 4, 4, 5)))
    stems = STEMS[:n]
    synced = {s for s in stems if draw(st.integers(0, 2)) > 0} or {stems[0]}
    specs: list[Spec] = []
    for i, stem in enumerate(stems):
        room = MAX_VERSIONS - len(specs) - (n - i - 1)
        versions = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=min(3, room), unique=True))
        for version in sorted(versions):
            deps = [dep_text(draw, stem, stems) for _ in range(draw(st.sampled_from((0, 0, 1, 1, 2))))]
            head = (SELF,) if stem in synced else ()
            specs.append(Spec(stem, version, head + tuple(sorted({d for d in deps if d}))))
    return tuple(specs)


@st.composite
def zone_of(draw: st.DrawFn, specs: tuple[Spec, ...], gz: Installed, name: str, brand: Brand) -> Zone:
    parent = gz if brand.linked else None
    options = consistent_sets(specs, parent)
    # prefer sets with synced packages: they are what ties a zone to the global zone
    synced_stems = {s.stem for s in specs if SELF in s.depends}
    tied = [o for o in options if any(s in synced_stems for s, _ in o)]
    prefer_tied = draw(st.booleans())
    installed = draw(st.sampled_from(tied if tied and prefer_tied else options))
    frozen: tuple[str, ...] = ()
    mine = [(s, v) for s, v in installed if s in synced_stems]
    if brand.linked and mine and draw(st.integers(0, 2)) == 0:
        stem, version = draw(st.sampled_from(mine))
        frozen = (f"{stem}@{version}",)
    return Zone(name, brand, installed, frozen)


@st.composite
def cases(draw: st.DrawFn, identical_pair: bool = False) -> Case:
    specs = draw(catalogs())
    gz_options = [o for o in consistent_sets(specs, None) if o] or [()]
    gz = draw(st.sampled_from(gz_options))
    zones: list[Zone] = []
    if identical_pair:
        twin = draw(zone_of(specs, gz, "z1", Brand.LIPKG))
        zones.append(twin)
        if draw(st.booleans()):
            brand = draw(st.sampled_from(ZONE_BRANDS))
            zones.append(draw(zone_of(specs, gz, "z2", brand)))
        zones.append(replace(twin, name="z3"))
    else:
        n = draw(st.integers(1, 3))
        brands = draw(st.lists(st.sampled_from(ZONE_BRANDS), min_size=n, max_size=n))
        if n == 3 and draw(st.booleans()):
            brands = [Brand.LIPKG, Brand.SPARSE, Brand.IPKG]  # one of each
        for i, brand in enumerate(brands):
            zones.append(draw(zone_of(specs, gz, f"z{i + 1}", brand)))
    stems = sorted({s.stem for s in specs})
    if draw(st.integers(0, 2)) == 0:
        return Case(specs, gz, tuple(zones), Verb.INSTALL, (draw(st.sampled_from(stems)),))
    return Case(specs, gz, tuple(zones), Verb.UPDATE, (), draw(st.booleans()))


# -- helpers ----------------------------------------------------------------------------------------


def run(case: Case, parent_first: bool = False, with_zones: bool = True, explain: bool = False) -> Result:
    return api.plan(case.fleet(with_zones), case.catalog(), case.op(parent_first), explain=explain)


def plan_of(case: Case, parent_first: bool = False, with_zones: bool = True, explain: bool = False) -> Result:
    """``run`` for properties 2-4: a plan the verifier rejects is property 1's
    failure (and reported there), not evidence for or against these."""
    try:
        return run(case, parent_first, with_zones, explain)
    except InternalError:
        reject()


def no_solution_in_zone(result: Result) -> bool:
    return result.outcome is Outcome.FAIL and any(
        isinstance(e, NoSolution) and e.image not in (None, GZ) for e in result.errors
    )


def priority(case: Case) -> list[str]:
    """The global zone's requested stems in the solver's own priority order
    (resolver/image_solver.py ``_priority``: incorporations first, outermost
    first, then by name)."""
    fleet, catalog, op = case.fleet(), case.catalog(), case.op()
    index = StemIndex(catalog.stems())
    requests = build_requests(fleet, catalog, index, op)
    gz_run = FleetSolver(fleet, catalog, index, op, requests).prepare(fleet.global_zone).gz_run
    return gz_run._priority(gz_run.requested())


def vector(after: Mapping[str, Any], order: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """Version keys in ``order``; an absent stem ranks below every version."""
    return tuple((1, after[s].version.key) if s in after else (0,) for s in order)


def assert_synced(case: Case, result: Result) -> None:
    """``audit`` on the planned installed sets: every linked zone synced."""
    catalog = case.catalog()
    fleet = case.fleet()
    planned = tuple(replace(i, installed=tuple(result.images[i.name].after.values())) for i in fleet.images)
    audit = api.plan(replace(fleet, images=planned), catalog, Operation(Verb.AUDIT))
    assert audit.outcome is Outcome.OK, f"{audit.errors}{describe(case)}"


def assert_consistent_start(case: Case) -> None:
    """The generator's notion of "synced" agrees with ``audit``."""
    audit = api.plan(case.fleet(), case.catalog(), Operation(Verb.AUDIT))
    assert audit.outcome is Outcome.OK, f"{audit.errors}{describe(case)}"
    linked = {z.name for z in case.zones if z.brand.linked}
    assert set(audit.audit) == linked and set(audit.audit.values()) <= {"synced"}, describe(case)


# -- 1. every plan passes the verifier ------------------------------------------------------------


#: Solver bug (InternalError from the verifier). The zone's sync downgrades its
#: synced c@2.0 to c@1.1 (to follow the global zone, where the requested a@2.0
#: incorporates c@1.1) although nothing in the zone incorporates c: ips-semantics
#: 7.4 / 7.2 step 2 allow a downgrade in a sync only through incorporations among
#: the *possible* FMRIs (installed stems at their version or newer, plus
#: proposals); a is not installed in z1 and reaches its candidates only through
#: d@1.0, older than the installed d@1.1. Expected: parent-first fails in z1
#: (no-solution: "the global zone has an older version", 7.4 last item) and the
#: joint plan fails too (no global-zone plan installs a without c@1.1); got:
#: InternalError "c@2.0 was downgraded to c@1.1 without a request or
#: incorporation", in both modes (the same with ``update`` and a@1.0 installed).
SYNC_DOWNGRADE_WITHOUT_INCORPORATION = Case(
    (
        Spec("a", "2.0", ("incorporate c@1.1",)),
        Spec("c", "1.1", (SELF,)),
        Spec("c", "2.0", (SELF,)),
        Spec("d", "1.0", ("require a",)),
        Spec("d", "1.1"),
    ),
    (("c", "2.0"),),
    (Zone("z1", Brand.LIPKG, (("c", "2.0"), ("d", "1.1"))),),
    Verb.INSTALL,
    ("a",),
)


@settings(PROPERTY, max_examples=500)
@example(SYNC_DOWNGRADE_WITHOUT_INCORPORATION).via("solver bug: sync downgrade without an incorporation")
@given(cases())
def test_plans_pass_the_verifier_and_keep_zones_synced(case: Case) -> None:
    """Joint and parent-first: no InternalError (api.plan runs the verifier),
    only no-solution failures, and every linked zone synced afterwards."""
    assert_consistent_start(case)
    for parent_first in (False, True):
        result = run(case, parent_first)
        if result.outcome is Outcome.FAIL:
            kinds = {e.kind for e in result.errors}
            assert kinds <= {"no-solution"}, f"{result.errors}{describe(case)}"
            continue
        assert_synced(case, result)


# -- 2. joint is at least as good as parent-first for the global zone ----------------------------


@settings(PROPERTY, max_examples=400)
@given(cases())
def test_joint_at_least_as_good_as_parent_first(case: Case) -> None:
    first = plan_of(case, parent_first=True)
    if first.outcome is Outcome.FAIL:
        return
    alone = plan_of(case, with_zones=False)
    # ips-semantics 8.5 step 2: the parent is planned without looking at its children
    assert dict(first.images[GZ].after) == dict(alone.images[GZ].after), describe(case)
    joint = plan_of(case)
    assert joint.outcome is not Outcome.FAIL, (
        f"parent-first finds a plan, joint does not: {joint.errors}" + describe(case)
    )
    order = priority(case)
    got, ref = vector(joint.images[GZ].after, order), vector(first.images[GZ].after, order)
    assert got >= ref, (
        f"joint global zone older than parent-first's in priority order {order}:\n"
        f"  joint {dict(joint.images[GZ].after)}\n  parent-first {dict(first.images[GZ].after)}"
        + describe(case)
    )


# -- 3. when parent-first fails in a zone and joint succeeds, the difference is explained --------


#: Not a bug: the joint plan differs from the global zone's own optimum only in
#: packages that were not requested. x@2.0 needs w; w@2.0 needs the synced
#: z@2.0, w@1.0 needs y@2.0; both cost one changed and one added package
#: (stage 3), and stage 4 (w before y) picks w@2.0 and z@2.0, which the zone
#: (z frozen at 1.0) cannot follow, so parent-first fails. Joint installs x@2.0
#: with w@1.0 and y@2.0: the requested x is at its newest and nothing is held
#: back; the difference lies in the unrequested w, y and z.
ONLY_UNREQUESTED_DIFFER = Case(
    (
        Spec("w", "1.0", ("require y@2.0",)),
        Spec("w", "2.0", ("require z@2.0",)),
        Spec("x", "1.0"),
        Spec("x", "2.0", ("require w",)),
        Spec("y", "1.0"),
        Spec("y", "2.0"),
        Spec("z", "1.0", (SELF,)),
        Spec("z", "2.0", (SELF,)),
    ),
    (("y", "1.0"), ("z", "1.0")),
    (Zone("z1", Brand.LIPKG, (("z", "1.0"),), ("z@1.0",)),),
    Verb.INSTALL,
    ("x",),
)


@settings(PROPERTY, max_examples=600)
@example(ONLY_UNREQUESTED_DIFFER).via("the difference lies only in unrequested stems")
@given(cases())
def test_joint_explains_what_parent_first_cannot_do(case: Case) -> None:
    first = plan_of(case, parent_first=True)
    if not no_solution_in_zone(first):
        return
    joint = plan_of(case, explain=True)
    if joint.outcome is Outcome.FAIL:
        return
    alone = plan_of(case, with_zones=False)
    assert alone.outcome is not Outcome.FAIL, describe(case)  # parent-first got past the global zone
    reference, gz = dict(alone.images[GZ].after), joint.images[GZ]
    after = dict(gz.after)
    assert after != reference, (
        "parent-first's global-zone plan made a zone fail, yet joint chose the same plan" + describe(case)
    )
    order = priority(case)
    assert vector(after, order) <= vector(reference, order), describe(case)
    held = {h.stem for h in gz.held_back}
    older = {
        s
        for s, mine, best in zip(order, vector(after, order), vector(reference, order), strict=True)
        if mine < best
    }
    assert older <= held, (
        f"requested stems older than the global zone's own optimum {sorted(older)}, "
        f"held back reported {sorted(held)}" + describe(case)
    )
    if not older:
        unrequested = {s for s in after.keys() | reference.keys() if after.get(s) != reference.get(s)}
        assert unrequested and not unrequested & set(order), describe(case)


# -- 4. zones identical but for their name get identical plans -----------------------------------


@settings(PROPERTY, max_examples=200)
@given(cases(identical_pair=True))
def test_identical_zones_get_identical_plans(case: Case) -> None:
    for parent_first in (False, True):
        result = plan_of(case, parent_first)
        if result.outcome is Outcome.FAIL:
            continue
        z1, z3 = result.images["z1"], result.images["z3"]
        assert dict(z1.after) == dict(z3.after), describe(case)
        assert z1.signature() == z3.signature(), describe(case)
        assert [(h.stem, h.installed) for h in z1.held_back] == [(h.stem, h.installed) for h in z3.held_back]


# -- 5. a zone's plan does not depend on the other zones or their order ---------------------------


@settings(PROPERTY, max_examples=200)
@given(cases())
def test_zone_plans_do_not_depend_on_zone_order(case: Case) -> None:
    """Zones of a class share one solver; what it learned from earlier zones
    must not change a later zone's plan (every stage is a canonical optimum)."""
    if len(case.zones) < 2:
        reject()
    flipped = replace(case, zones=case.zones[::-1])
    for parent_first in (False, True):
        one, two = plan_of(case, parent_first), plan_of(flipped, parent_first)
        assert one.outcome is two.outcome, describe(case)
        if one.outcome is Outcome.FAIL:
            continue
        for z in case.zones:
            assert dict(one.images[z.name].after) == dict(two.images[z.name].after), describe(case)
        assert dict(one.images[GZ].after) == dict(two.images[GZ].after), describe(case)


# -- 6. the plan does not depend on the number of worker processes -------------------------------


@settings(PROPERTY, max_examples=40)
@given(cases())
def test_plans_do_not_depend_on_the_number_of_workers(case: Case) -> None:
    """Zones are planned in 1, 2 or 3 forked worker processes: the JSON is the
    same byte for byte (variables that cross processes are numbered before
    the fork; every stage is canonical)."""
    from resolver.render import to_json
    from resolver.workers import can_fork

    if not can_fork():
        reject()
    for parent_first in (False, True):
        outputs = set()
        for jobs in (1, 2, 3):
            try:
                result = api.plan(case.fleet(), case.catalog(), case.op(parent_first), jobs=jobs)
            except InternalError:
                reject()
            outputs.add(to_json(result))
        assert len(outputs) == 1, describe(case)


# -- 7. update-all's one-call path gives exactly what the stages give --------------------------


@settings(PROPERTY, max_examples=300)
@given(cases())
def test_one_call_update_all_is_the_staged_answer(case: Case) -> None:
    """``ImageRun._all_at_once`` decides update-all in one solver call when the
    answer is the obvious one; with it turned off, every image runs the
    stages one by one. Both give the same JSON, joint and parent-first."""
    from unittest import mock

    from resolver.image_solver import ImageRun
    from resolver.render import to_json

    for parent_first in (False, True):
        fast = run(case, parent_first, explain=True)
        with mock.patch.object(ImageRun, "_all_at_once", return_value=None):
            staged = run(case, parent_first, explain=True)
        assert to_json(fast) == to_json(staged), describe(case)
