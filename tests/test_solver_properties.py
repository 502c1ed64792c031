"""Property tests: the solver against the brute-force oracle (tests/oracle.py),
and metamorphic properties of ``resolver.api.plan``.

Problems are small random catalogs (at most 12 package versions over at most
5 stems; versions 1.0-3.0 with branch 0; dependencies of every type the
oracle covers, on stems of the catalog or on a missing one; some versions
obsolete) inside the oracle's subset (see its module docstring), an installed
set and a request (install, update PKG, update-all, uninstall).

(a) the solver and the oracle agree on whether a plan exists, and the plan
    is optimal (objective stages 2-3 equal to the oracle's optimum, stage 4
    as ``oracle.stage4_ok`` checks it);
(b) manifests and installed packages in another order give byte-identical JSON;
(c) removing one dependency never makes a solvable request unsolvable
    (install or update-all, from installed sets that satisfy every rule);
(d) every plan passes the independent verifier, inside api.plan and run
    again here on the solver's own choice.

Everything runs with ``derandomize=True``, so a failure is reproducible; the
assertion message holds the manifests, installed set and command. Bugs found
are explicit ``@example`` cases, with what was wrong next to them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle import (
    INSTALL,
    UNINSTALL,
    UPDATE,
    UPDATE_ALL,
    Problem,
    Request,
    assess,
    manifest,
)

from resolver import api
from resolver.catalog import Catalog
from resolver.fmri import parse_fmri, parse_version
from resolver.manifest import parse_package
from resolver.model import Fleet, Image, Operation, Package, Publisher, Verb
from resolver.patterns import StemIndex
from resolver.plan import Outcome, Result
from resolver.requests import build_requests
from resolver.solve import FleetSolver
from resolver.verify import Verifier

STEMS = ("a", "b", "c", "d", "e")
VERSIONS = ("1.0", "1.1", "2.0", "2.1", "3.0")
DEP_VERSIONS = (None, "1", "1.0", "1.1", "2", "2.0", "3")
PATTERN_VERSIONS = (None, None, "1", "1.0", "2", "2.0", "3")
MISSING = "zz"  # a stem no catalog has
MAX_VERSIONS = 12
DEP_TYPES = (
    "require",
    "require",
    "require",
    "require-any",
    "optional",
    "exclude",
    "incorporate",
    "incorporate",
    "conditional",
    "group",
    "group-any",
)
VERB = {
    INSTALL: Verb.INSTALL,
    UPDATE: Verb.UPDATE,
    UPDATE_ALL: Verb.UPDATE,
    UNINSTALL: Verb.UNINSTALL,
}

PROPERTY = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One package version: its manifest, as data."""

    stem: str
    version: str
    depends: tuple[str, ...] = ()
    obsolete: bool = False

    def text(self) -> str:
        return manifest(self.stem, self.version, self.depends, self.obsolete)


@dataclass(frozen=True)
class Case:
    specs: tuple[Spec, ...]
    installed: tuple[tuple[str, str], ...]  # (stem, version)
    request: Request

    def packages(self) -> list[Package]:
        return [parse_package(s.text(), f"<{s.stem}@{s.version}>", "test") for s in self.specs]


def describe_case(case: Case) -> str:
    """A reproducer a person can read: manifests, installed set, command."""
    lines = ["", "# manifests"]
    for s in case.specs:
        lines += ["  " + line for line in s.text().splitlines()]
    lines.append("# installed: " + (", ".join(f"{s}@{v}" for s, v in case.installed) or "-"))
    req = case.request
    verb = "update" if req.kind == UPDATE_ALL else req.kind
    lines.append(f"# command: {verb} {' '.join(req.args())}".rstrip())
    return "\n".join(lines)


def dep_text(draw: st.DrawFn, stem: str, stems: Sequence[str]) -> str | None:
    kind = draw(st.sampled_from(DEP_TYPES))
    targets = [*stems, *stems, MISSING] if len(stems) > 1 else [*stems, MISSING]

    def target(pool: Sequence[str]) -> str:
        name = draw(st.sampled_from(pool))
        version = draw(st.sampled_from(DEP_VERSIONS))
        return name + (f"@{version}" if version else "")

    if kind == "incorporate":
        later = [s for s in stems if s > stem] or [MISSING]  # no incorporation cycles
        return f"incorporate {target(later)}"
    if kind in ("require-any", "group-any"):
        many = draw(st.lists(st.sampled_from(targets), min_size=2, max_size=3, unique=True))
        return kind + " " + " ".join(target([t]) if kind == "require-any" else t for t in many)
    if kind == "group":
        return f"group {draw(st.sampled_from(targets))}"
    if kind == "conditional":
        return f"conditional {target(targets)} if {target(stems)}"
    return f"{kind} {target(targets)}"


@st.composite
def catalogs(draw: st.DrawFn, per_stem: int = 3) -> tuple[Spec, ...]:
    """At most 12 versions over 1-5 stems, at most ``per_stem`` per stem;
    1 in 7 obsolete; 0-3 dependencies each (see ``dep_text``)."""
    n = draw(st.sampled_from((1, 2, 3, 3, 4, 4, 5, 5)))
    stems = STEMS[:n]
    specs: list[Spec] = []
    for stem in stems:
        room = MAX_VERSIONS - len(specs) - (len(stems) - stems.index(stem) - 1)
        versions = draw(
            st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=min(per_stem, room), unique=True)
        )
        for version in sorted(versions, key=parse_version):
            if draw(st.integers(0, 6)) == 0:
                specs.append(Spec(stem, version, obsolete=True))
                continue
            deps = [dep_text(draw, stem, stems) for _ in range(draw(st.sampled_from((0, 1, 1, 2, 2, 3))))]
            specs.append(Spec(stem, version, tuple(d for d in deps if d)))
    return tuple(specs)


def _incorporate_deps(specs: Sequence[Spec]) -> list[tuple[str, str]]:
    """(stem, release) of every versioned incorporate dependency."""
    out = []
    for s in specs:
        for d in s.depends:
            kind, target = d.split()[:2]
            if kind == "incorporate" and "@" in target:
                out.append(tuple(target.split("@")))
    return out  # type: ignore[return-value]


def installable(specs: Sequence[Spec], kind: str, stem: str, version: str) -> bool:
    """May ``stem@version`` be installed, within the oracle's subset?"""
    spec = next(s for s in specs if s.stem == stem and s.version == version)
    if spec.obsolete:
        return False
    if kind != UPDATE_ALL and any(d.startswith("incorporate ") for d in spec.depends):
        return False  # maintained incorporations are outside the subset
    inst = parse_version(version + ",5.11-0")
    for target, release in _incorporate_deps(specs):
        want = parse_version(release)
        if target != stem or inst.matches(want):
            continue
        older = [s for s in specs if s.stem == stem and parse_version(s.version) < parse_version(version)]
        if any(parse_version(s.version).matches(want) for s in older):
            return False  # an incorporation would allow a downgrade (7.4)
    return True


def request_for(
    draw: Callable[..., Any], kind: str, stems: Sequence[str], installed: Sequence[str]
) -> Request:
    if kind in (UPDATE, UNINSTALL) and not installed:
        kind = INSTALL
    if kind == UPDATE_ALL:
        return Request(UPDATE_ALL)
    if kind == UNINSTALL:
        chosen = draw(st.lists(st.sampled_from(sorted(installed)), min_size=1, max_size=2, unique=True))
        return Request(UNINSTALL, remove=tuple(chosen))
    pool = sorted(installed) if kind == UPDATE else [*stems, *stems, MISSING]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))
    patterns = tuple((s, draw(st.sampled_from(PATTERN_VERSIONS))) for s in chosen)
    return Request(kind, patterns)


@st.composite
def cases(
    draw: st.DrawFn,
    kinds: Sequence[str] = (INSTALL, INSTALL, UPDATE_ALL, UPDATE_ALL, UPDATE, UNINSTALL),
    per_stem: int = 3,
) -> Case:
    specs = draw(catalogs(per_stem))
    kind = draw(st.sampled_from(kinds))
    stems = sorted({s.stem for s in specs})
    installed = []
    for stem in stems:
        options = [s.version for s in specs if s.stem == stem and installable(specs, kind, stem, s.version)]
        if options and draw(st.integers(0, 2)) > 0:
            installed.append((stem, draw(st.sampled_from(options))))
    request = request_for(draw, kind, stems, [s for s, _ in installed])
    return Case(specs, tuple(installed), request)


# -- running the solver and the oracle -------------------------------------------------------


def fleet_of(case: Case) -> Fleet:
    fmris = tuple(parse_fmri(f"pkg://test/{s}@{v},5.11-0") for s, v in case.installed)
    return Fleet("<property>", (Image("global", (Publisher("test"),), installed=fmris),))


def operation(request: Request) -> Operation:
    return Operation(VERB[request.kind], request.args())


def run_solver(case: Case, explain: bool = False) -> tuple[Result, Catalog]:
    catalog = Catalog(case.packages())
    return api.plan(fleet_of(case), catalog, operation(case.request), explain=explain), catalog


def final_set(result: Result, catalog: Catalog) -> dict[str, Package] | None:
    if result.outcome is Outcome.FAIL:
        return None
    out = {}
    for stem, fmri in result.images["global"].after.items():
        pkg = catalog.get(fmri)
        assert pkg is not None, fmri
        out[stem] = pkg
    return out


def oracle_problem(case: Case, catalog: Catalog) -> Problem:
    by_key = {(p.stem, str(p.fmri.version).split(",")[0]): p for p in catalog}
    return Problem(list(catalog), [by_key[i] for i in case.installed], case.request)


def json_view(result: Result) -> str:
    from resolver.render import to_json

    return to_json(result)


# -- (a) the solver agrees with the oracle ------------------------------------------------------


#: Uninstalling b leaves a's ``group-any b c`` with c alone, whose only version
#: is obsolete: choosing it meets the dependency (ips-semantics 5: group-any is
#: over the stems not avoided or rejected; uninstall rejects b, 7.2), so a@1.0
#: stays. The solver once decided "obsolete versions do not count" with b still
#: among the targets, so it had to remove a, and failed.
GROUP_ANY_UNINSTALLED_TARGET = Case(
    (
        Spec("a", "1.0", ("group-any b c",)),
        Spec("b", "1.0"),
        Spec("c", "1.0", obsolete=True),
    ),
    (("a", "1.0"), ("b", "1.0")),
    Request(UNINSTALL, remove=("b",)),
)


#: Stage 4 (packages that moved or were added are as new as possible): a needs
#: q; q@1.0 needs e, q@2.0 needs b; e's newest version is obsolete. Stage 3
#: adds two packages: q and e, or q and b. The plan adds q@2.0 and b@1.0 though
#: q@2.0 with b@2.0 is equal in every earlier stage. The solver fixes the set
#: of stems to maximise from the model after stage 3 ({e, q}: q@1.0, e@1.0),
#: then maximises e to its newest rung, the obsolete e@1.1, so q moves to 2.0
#: and b is added; b was not in the set and is never maximised. (Which stems
#: the stage-3 model adds is a solver heuristic: other solver changes may hide
#: this case without fixing the cause. A first variant, where a group-any
#: offered b, d and e, is now covered by adding require-any and group-any
#: alternatives to the set; this one reaches b through another version of q.)
STAGE4_UNMAXIMISED_ADDITION = Case(
    (
        Spec("a", "1.0", ("require q",)),
        Spec("q", "1.0", ("require e",)),
        Spec("q", "2.0", ("require b",)),
        Spec("e", "1.0"),
        Spec("e", "1.1", obsolete=True),
        Spec("b", "1.0"),
        Spec("b", "2.0"),
    ),
    (),
    Request(INSTALL, (("a", None),)),
)

#: The group-any variant (found first; a@1.0 needs one of b, d, e).
STAGE4_GROUP_ANY = Case(
    (
        Spec("a", "1.0", ("group-any b d e",)),
        Spec("b", "1.0", obsolete=True),
        Spec("b", "1.1"),
        Spec("b", "2.0"),
        Spec("d", "1.0"),
        Spec("e", "1.0"),
        Spec("e", "1.1", obsolete=True),
    ),
    (),
    Request(INSTALL, (("a", None),)),
)


@settings(PROPERTY, max_examples=3000)
@example(STAGE4_UNMAXIMISED_ADDITION).via("solver bug: an added package is not maximised")
@example(STAGE4_GROUP_ANY).via("regression: the same through a group-any")
@example(GROUP_ANY_UNINSTALLED_TARGET).via("regression: group-any kept the uninstalled target")
@given(cases())
def test_solver_matches_oracle(case: Case) -> None:
    """Same answer as the oracle: a plan exists or not; and the plan is optimal."""
    result, catalog = run_solver(case)
    if result.outcome is Outcome.FAIL:
        kinds = {type(e).__name__ for e in result.errors}
        assert kinds <= {"NoSolution", "MatchError"}, result.errors
    problem = oracle_problem(case, catalog)
    verdict = assess(problem, problem.solve(), final_set(result, catalog))
    assert verdict.ok, verdict.message + describe_case(case)


# -- (b) the order of the input does not matter ------------------------------------------------

#: Two root causes: which one the explanation names must not depend on memory
#: addresses (resolver/explain.py once ordered clause groups by id(origin)).
NONDETERMINISTIC_EXPLANATION = Case(
    (Spec("c", "1.0", ("require y", "require z")),), (), Request(INSTALL, (("c", None),))
)


@settings(PROPERTY, max_examples=400)
@example(NONDETERMINISTIC_EXPLANATION, random.Random(0), 20).via("regression: id() order")
@given(cases(), st.randoms(use_true_random=False), st.just(3))
def test_input_order_does_not_change_the_plan(case: Case, rnd: random.Random, runs: int) -> None:
    """The same problem, with its manifests and installed packages in other
    orders (and fresh Package objects), gives byte-identical JSON."""
    first, _ = run_solver(case, explain=True)
    for _ in range(runs - 1):
        specs, installed = list(case.specs), list(case.installed)
        rnd.shuffle(specs)
        rnd.shuffle(installed)
        shuffled = replace(case, specs=tuple(specs), installed=tuple(installed))
        again, _ = run_solver(shuffled, explain=True)
        assert json_view(again) == json_view(first), (
            describe_case(case) + "\n# shuffled:" + describe_case(shuffled)
        )


# -- (c) fewer dependencies never make a request impossible ---------------------------------------


def consistent_installed_sets(specs: Sequence[Spec], kind: str) -> list[tuple[tuple[str, str], ...]]:
    """Installed sets (within the subset) whose packages satisfy every hard rule."""
    stems = sorted({s.stem for s in specs})
    options = [
        [
            None,
            *(s.version for s in specs if s.stem == stem and installable(specs, kind, stem, s.version)),
        ]
        for stem in stems
    ]
    packages = [parse_package(s.text(), "<spec>", "test") for s in specs]
    by_key = {(s.stem, s.version): p for s, p in zip(specs, packages, strict=True)}
    out = []
    for combo in itertools.product(*options):
        chosen = {stem: by_key[stem, v] for stem, v in zip(stems, combo, strict=True) if v is not None}
        problem = Problem(packages, chosen.values(), Request(UPDATE_ALL))
        if problem.feasible(chosen):
            out.append(tuple((s, v) for s, v in zip(stems, combo, strict=True) if v is not None))
    return out


def without_dependency(case: Case, which: int) -> Case:
    deps = [(i, j) for i, s in enumerate(case.specs) for j in range(len(s.depends))]
    i, j = deps[which % len(deps)]
    spec = case.specs[i]
    specs = list(case.specs)
    specs[i] = replace(spec, depends=spec.depends[:j] + spec.depends[j + 1 :])
    return replace(case, specs=tuple(specs))


@settings(PROPERTY, max_examples=400)
@given(st.data())
def test_removing_a_dependency_keeps_a_request_solvable(data: st.DataObject) -> None:
    specs = data.draw(catalogs())
    if not any(s.depends for s in specs):
        specs = (*specs, Spec(STEMS[0], "9.0", ("require " + MISSING,)))
    kind = data.draw(st.sampled_from((INSTALL, UPDATE_ALL)))
    installed = data.draw(st.sampled_from(consistent_installed_sets(specs, kind)))
    stems = sorted({s.stem for s in specs})
    request = request_for(data.draw, kind, stems, [s for s, _ in installed])
    case = Case(specs, installed, request)
    result, _ = run_solver(case)
    if result.outcome is Outcome.FAIL:
        return
    n_deps = sum(len(s.depends) for s in specs)
    relaxed = without_dependency(case, data.draw(st.integers(0, n_deps - 1)))
    again, _ = run_solver(relaxed)
    assert again.outcome is not Outcome.FAIL, (
        describe_case(case)
        + "\n# solvable, but not without one dependency:"
        + describe_case(relaxed)
        + f"\n# errors: {again.errors}"
    )


# -- (d) every plan passes the independent verifier -----------------------------------------------


#: One obsolete target chosen satisfies a group-any (ips-semantics 5: obsolete
#: versions count when every target stem has one); resolver/verify.py once
#: required every target to be installed or excused (InternalError).
GROUP_ANY_OBSOLETE = Case(
    (
        Spec("a", "1.0", ("group-any c d",)),
        Spec("c", "1.0", obsolete=True),
        Spec("d", "1.0", obsolete=True),
    ),
    (),
    Request(INSTALL, (("a", None),)),
)

#: Uninstalling the target of a group dependency is allowed (ips-semantics 7.2,
#: solve_uninstall: the target goes on the avoid list); resolver/verify.py once
#: excused only avoided, --reject'ed or obsolete group targets (InternalError).
UNINSTALL_GROUP_TARGET = Case(
    (Spec("a", "1.0"), Spec("b", "1.0", ("group a",))),
    (("a", "1.0"), ("b", "1.0")),
    Request(UNINSTALL, remove=("a",)),
)


@settings(PROPERTY, max_examples=400)
@example(UNINSTALL_GROUP_TARGET).via("regression: verifier rejected removing a group target")
@example(GROUP_ANY_OBSOLETE).via("regression: verifier rejected group-any met by an obsolete target")
@given(cases())
def test_plans_pass_the_verifier(case: Case) -> None:
    """api.plan runs the verifier itself (InternalError on a violation); here
    it runs again from outside, on the solver's own choice (obsolete
    packages included), and the final set must be that choice minus them."""
    captured: list[Any] = []
    original = FleetSolver.plan

    def spy(self: FleetSolver, *args: Any, **kwargs: Any) -> Any:
        got = original(self, *args, **kwargs)
        captured.append(got)
        return got

    catalog = Catalog(case.packages())
    fleet = fleet_of(case)
    op = operation(case.request)
    with mock.patch.object(FleetSolver, "plan", spy):
        result = api.plan(fleet, catalog, op)  # raises InternalError if its own verifier objects
    if result.outcome is Outcome.FAIL:
        return
    (fleet_plan,) = captured
    selection = fleet_plan.selections["global"]
    after = final_set(result, catalog)
    assert after is not None
    assert {s: p.fmri for s, p in selection.final.items()} == {s: p.fmri for s, p in after.items()}
    # the final set is the solver's choice minus obsolete packages (no renamed ones here)
    assert {s: p for s, p in selection.chosen.items() if not p.obsolete} == selection.final
    index = StemIndex(catalog.stems())
    requests = build_requests(fleet, catalog, index, op)
    before = {"global": {p.stem: p for f in fleet.global_zone.installed if (p := catalog.get(f))}}
    problems = Verifier(
        fleet, catalog, index, requests, before, {"global": after}, {"global": selection.chosen}
    ).run()
    assert problems == [], describe_case(case)
