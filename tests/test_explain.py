"""Explanations (resolver.explain, conflict, wording, fixes, why).

- every conflict an explanation is made of is minimal at the level a person
  reads: the steps together cannot hold, and without any one of them they
  can (so no fact of an explanation can be removed without losing the cause);
- the search prefers the conflict nearest what was asked (resolver.sat
  find_mus), stays within its bounds and says so when it cannot narrow the
  cause;
- fixes are offered only when they work;
- canonical failures and ``why`` read as in tests/golden/ (regenerate with
  ``ZONESOLVE_UPDATE_GOLDEN=1 pytest tests/test_explain.py`` and read the diff).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from resolver import conflict as conflict_module
from resolver.catalog import Catalog
from resolver.errors import NoSolution, SolveTimeout
from resolver.manifest import parse_package
from resolver.model import Image, Operation, Package, Publisher, Verb
from resolver.patterns import StemIndex
from resolver.requests import build_requests, run_image
from resolver.sat import find_mus, satisfiable
from resolver.solve import FleetSolver
from resolver.wording import versions_text

sys.path.insert(0, str(Path(__file__).parent))
from test_scenarios import FILES, load_scenario

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conftest import RunCli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
DEMO = ROOT / "manifests" / "demo-fleet.toml"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ZONESOLVE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Minimality


def explained_conflicts(path: Path, tmp_path: Path) -> tuple[FleetSolver, list[object]]:
    """Plan a scenario in this process, keeping every conflict explained."""
    from resolver.sources import load_catalog

    scenario = load_scenario(path, tmp_path / "fleet.toml")
    fleet = scenario.fleet
    catalog = load_catalog(fleet, use_cache=False)
    argv = scenario.argv
    op = Operation(
        Verb(scenario.verb),
        tuple(argv[1 : argv.index("--fleet")]),
        argv[argv.index("--image") + 1],
        recursive="-r" in argv,
        global_only="-G" in argv,
        parent_first="--parent-first" in argv,
    )
    index = StemIndex(catalog.stems())
    requests = build_requests(fleet, catalog, index, op)
    solver = FleetSolver(fleet, catalog, index, op, requests, jobs=1)
    solver.explainer.keep_conflicts = True
    errors: list[object] = []
    try:
        solver.plan(run_image(fleet, op))
    except NoSolution as err:
        errors.append(err)
    return solver, errors


EXPLAINED = [
    p
    for p in FILES
    if any(
        key in p.read_text(encoding="utf-8")
        for key in ('[expect.error]\nkind = "no-solution"', "[[expect.held-back]]")
    )
]


@pytest.mark.parametrize("path", EXPLAINED, ids=[p.stem for p in EXPLAINED])
def test_every_step_of_an_explanation_is_needed(path: Path, tmp_path: Path) -> None:
    """The steps of each conflict cannot hold together; without any one of
    them the rest can: no fact can go without losing the cause."""
    solver, errors = explained_conflicts(path, tmp_path)
    checked = 0
    for _cls, found in solver.explainer.conflicts:
        if found.reused or not found.items:
            continue
        groups = [item.clauses for item in found.items]
        assert not satisfiable(groups, found.base, found.fixed), [it.key for it in found.items]
        for i, item in enumerate(found.items):
            rest = groups[:i] + groups[i + 1 :]
            assert satisfiable(rest, found.base, found.fixed), f"{item.key} is not needed"
        checked += 1
    assert checked or not errors, "no conflict was explained"


# ---------------------------------------------------------------------------
# The search


def test_find_mus_prefers_the_earliest_groups() -> None:
    """Two conflicts, {a, not-a} and {b, not-b}: the one that uses the earlier
    groups is returned, whatever the solver's first core is."""
    a, b = 1, 2
    groups = [[[a]], [[-a]], [[b]], [[-b]]]
    assert find_mus(groups).indices == [0, 1]  # type: ignore[union-attr]
    assert find_mus(groups[::-1]).indices == [0, 1]  # type: ignore[union-attr]
    assert find_mus([[[a]], [[b]]]) is None


def test_find_mus_returns_a_minimal_subset_in_preference_order() -> None:
    """x1 & (x1 -> x2) & (x2 -> x3) & not x3, with padding groups: only the chain stays."""
    groups = [[[4]], [[1]], [[-1, 2]], [[5]], [[-2, 3]], [[-3]], [[-4, 5]]]
    mus = find_mus(groups)
    assert mus is not None and mus.minimal and mus.indices == [1, 2, 4, 5]


def test_find_mus_at_the_deadline_returns_the_conflict_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    """--timeout: when the deadline passes mid-search, the unsatisfiable
    subset reached so far comes back (marked not minimal), not an error."""
    from resolver import sat

    real = sat.SatSolver.solve
    calls = itertools.count()

    def solve(self: sat.SatSolver, assumptions: Sequence[int] = ()) -> bool:
        if next(calls) >= 3:
            raise SolveTimeout("the time limit (--timeout) was reached while solving")
        return real(self, assumptions)

    monkeypatch.setattr(sat.SatSolver, "solve", solve)
    groups = [[[4]], [[1]], [[-1, 2]], [[5]], [[-2, 3]], [[-3]], [[-4, 5]]]
    mus = find_mus(groups)
    assert mus is not None and not mus.minimal
    assert {1, 2, 4, 5} <= set(mus.indices), "the best-so-far subset still holds the whole conflict"
    monkeypatch.undo()
    assert not satisfiable([groups[i] for i in mus.indices])


def test_a_chain_beyond_the_search_radius_is_reported_not_narrowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The neighbourhood widens a bounded number of times; past that the
    explanation says so instead of searching the whole formula."""
    chain = [f"c{i}" for i in range(6)]
    texts = [
        f"set name=pkg.fmri value=pkg://t/{a}@2.0\ndepend type=require fmri={b}@2.0\n"
        for a, b in itertools.pairwise(chain)
    ]
    texts += [f"set name=pkg.fmri value=pkg://t/{chain[-1]}@1.0\n"]
    catalog = Catalog(parse_package(t, "<test>") for t in texts)
    image = Image("global", (Publisher("t"),))
    op = Operation(Verb.INSTALL, ("c0",), "global")
    index = StemIndex(catalog.stems())
    fleet = _fleet(image)
    solver = FleetSolver(fleet, catalog, index, op, build_requests(fleet, catalog, index, op), jobs=1)
    monkeypatch.setattr(conflict_module, "RADII", (1,))
    with pytest.raises(NoSolution) as narrow:
        solver.plan(image)
    assert [f.rule for f in narrow.value.facts] == ["unnarrowed"]
    monkeypatch.setattr(conflict_module, "RADII", (1, 2, 4, 8))
    solver = FleetSolver(fleet, catalog, index, op, build_requests(fleet, catalog, index, op), jobs=1)
    with pytest.raises(NoSolution) as wide:
        solver.plan(image)
    facts = wide.value.facts
    assert facts[0].rule == "missing" and "c5@2.0" in facts[0].text
    assert [f.rule for f in facts].count("require") == 4


def _fleet(*images: Image) -> object:
    from resolver.model import Fleet

    return Fleet("<test>", images)


# ---------------------------------------------------------------------------
# Wording


def _pkg(stem: str, version: str) -> Package:
    return parse_package(f"set name=pkg.fmri value=pkg://t/{stem}@{version}\n", "<test>")


def test_versions_that_share_a_cause_are_folded() -> None:
    assert versions_text([_pkg("sys", "2.0")]) == "sys@2.0"
    assert versions_text([_pkg("sys", "2.1"), _pkg("sys", "2.0")]) == "sys@2.0 and @2.1"
    many = [_pkg("sys", f"2.{i}") for i in range(5)]
    assert versions_text(many) == "sys@2.0, @2.1 and 3 other versions"
    stamps = [_pkg("sys", "2.0:20240101T000000Z"), _pkg("sys", "2.0:20240202T000000Z")]
    assert versions_text(stamps) == "sys@2.0:20240101T000000Z and @2.0:20240202T000000Z"


# ---------------------------------------------------------------------------
# Canonical failures, held back, why (the sample distribution and scenarios)


def _scenario_argv(name: str, tmp_path: Path) -> list[str]:
    scenario = load_scenario(Path(__file__).parent / "scenarios" / f"{name}.toml", tmp_path / "fleet.toml")
    argv = list(scenario.argv)
    del argv[argv.index("--format") : argv.index("--format") + 2]
    return argv


GOLDEN_RUNS = {
    "explain-7zip.txt": ["install", "compress/7zip", "--fleet", str(DEMO), "--no-cache"],
    "explain-uninstall-system-library.txt": [
        "uninstall",
        "system/library",
        "--fleet",
        str(DEMO),
        "--no-cache",
        "-v",
    ],
    "why-haproxy.txt": ["why", "web/server/haproxy", "--image", "global", "--fleet", str(DEMO), "--no-cache"],
}
SCENARIO_GOLDEN = {
    "explain-zone-freeze-holds-gz.txt": ("joint-zone-freeze-holds-back-gz", ["-v"]),
    "explain-zone-cannot-sync.txt": ("li-attach-parent-older-fails", []),
    "explain-version-lock.txt": ("dep-incorporate-version-lock-on-holds", ["-v"]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_RUNS))
def test_sample_explanations_golden(run_cli: RunCli, name: str) -> None:
    run = run_cli(*GOLDEN_RUNS[name])
    check_golden(name, run.out + run.err)


@pytest.mark.parametrize("name", sorted(SCENARIO_GOLDEN))
def test_scenario_explanations_golden(run_cli: RunCli, name: str, tmp_path: Path) -> None:
    scenario, extra = SCENARIO_GOLDEN[name]
    argv = _scenario_argv(scenario, tmp_path)
    run = run_cli(*argv, *extra)
    check_golden(name, (run.out + run.err).replace(str(tmp_path), "TMP"))


def test_install_7zip_names_the_pinning_incorporation_first(run_cli: RunCli) -> None:
    """The binding rule first, in three steps; the fix names the incorporations."""
    run = run_cli("install", "compress/7zip", "--fleet", str(DEMO), "--no-cache", "--format", "json")
    (error,) = json.loads(run.out)["errors"]
    rules = [f["rule"] for f in error["explanation"]]
    assert rules == ["incorporate", "require", "request"]
    first = error["explanation"][0]
    assert first["package"].startswith("pkg://omnios/incorporation/jeos/omnios-userland@11")
    assert first["dependency"].startswith("incorporate pkg:/system/library/g++-runtime@12")
    assert all("g++-runtime@1" in v for v in first["versions"])
    assert error["fixes"][0]["command"].startswith(
        "pkg install compress/7zip incorporation/jeos/omnios-userland"
    )


def test_a_fix_that_does_not_work_is_not_offered(run_cli: RunCli) -> None:
    """Unfreezing haproxy alone would meet the next pin: the fix offered is
    both steps, checked together, not the unfreeze alone."""
    run = run_cli(
        "why",
        "web/server/haproxy",
        "--image",
        "global",
        "--fleet",
        str(DEMO),
        "--no-cache",
        "--format",
        "json",
    )
    answer = json.loads(run.out)["why"]["images"]["global"]
    fixes = [f["command"] for f in answer["not-newer"]["fixes"]]
    assert fixes and all(";" in c for c in fixes), fixes
    assert fixes[0].startswith("pkg unfreeze web/server/haproxy; pkg install web/server/haproxy@3.0.5")
    assert answer["because"][0]["rule"] == "freeze"


def test_why_answers_per_image(run_cli: RunCli) -> None:
    """why without --image: every image; the version-lock facet off in the
    global zone is named, and the zones' lock too."""
    run = run_cli("why", "web/curl", "--fleet", str(DEMO), "--no-cache", "--format", "json")
    assert run.code == 0
    images = json.loads(run.out)["why"]["images"]
    assert sorted(images) == ["build1", "db1", "global", "web1", "web2"]
    gz = images["global"]
    assert gz["because"][0]["rule"] == "version-lock" and "is false here" in gz["because"][0]["text"]
    assert gz["not-newer"]["possible"] is False
    assert images["web1"]["not-newer"]["explanation"][0]["rule"] == "version-lock"


def test_why_of_an_unknown_package_is_an_error(run_cli: RunCli) -> None:
    run = run_cli("why", "no/such/thing", "--fleet", str(DEMO), "--no-cache", "--format", "json")
    obj = json.loads(run.out)
    assert run.code == 1 and obj["outcome"] == "fail" and obj["why"] is None
    assert obj["errors"][0]["kind"] == "no-match"
    text = run_cli("why", "no/such/thing", "--fleet", str(DEMO), "--no-cache")
    assert text.code == 1 and "no package matches" in text.err


def test_held_back_in_the_global_zone_names_the_zones(run_cli: RunCli, tmp_path: Path) -> None:
    """Joint mode: the zone that holds the global zone back, its rule, and a summary line."""
    run = run_cli(*_scenario_argv("joint-zone-freeze-holds-back-gz", tmp_path))
    assert "held back  sys@1.0 (newest 2.0): zone z1 holds it back: sys is frozen at 1.0" in run.out
    assert "fix: pkg unfreeze sys (in zone z1)" in run.out
    assert "1 zone holds back 1 package in global: z1 (freeze on sys)" in run.out
