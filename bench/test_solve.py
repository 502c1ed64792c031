"""Planning benchmarks per phase on seeded generated fleets: encode, solve,
explain, and end to end (``zonesolve update -r --format json`` in-process).

small and medium run with ``make bench``; large and huge carry the ``large``
marker (``make bench-large``). Problem sizes go into ``extra_info`` so two
saved runs can be compared (``pytest-benchmark compare``).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from bench.conftest import FleetDir
from resolver.api import plan
from resolver.catalog import Catalog
from resolver.cli import main
from resolver.fleet import load_fleet
from resolver.model import DepType, Fleet, Operation, Verb
from resolver.patterns import StemIndex
from resolver.requests import build_requests
from resolver.solve import FleetSolver
from resolver.sources import load_catalog

QUICK = ["small", "medium"]
LARGE = [pytest.param(p, marks=pytest.mark.large) for p in ("large", "huge")]
UPDATE_R = Operation(Verb.UPDATE, (), None, recursive=True)


def _load(path: Path) -> tuple[Fleet, Catalog]:
    fleet = load_fleet(path / "fleet.toml")
    return fleet, load_catalog(fleet, cache_dir=path / ".cache")


def _solver(fleet: Fleet, catalog: Catalog, op: Operation = UPDATE_R) -> FleetSolver:
    index = StemIndex(catalog.stems())
    return FleetSolver(fleet, catalog, index, op, build_requests(fleet, catalog, index, op))


def _sizes(benchmark: pytest.FixtureRequest, stats: dict[str, object], catalog: Catalog) -> None:
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        {
            k: stats[k]
            for k in ("planned-images", "distinct-zones", "zone-classes", "variables", "clauses")
            if k in stats
        }
    )
    benchmark.extra_info["versions"] = len(catalog)  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_encode(benchmark, fleet_dir: FleetDir, preset: str) -> None:  # type: ignore[no-untyped-def]
    """Problem building and CNF encoding of every class (catalog loaded)."""
    fleet, catalog = _load(fleet_dir(preset))

    def encode() -> dict[str, object]:
        solver = _solver(fleet, catalog)
        solver.prepare(fleet.global_zone)
        return dict(solver.stats)

    stats = benchmark.pedantic(encode, rounds=3 if preset in QUICK else 1, iterations=1)
    _sizes(benchmark, stats, catalog)


@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_solve(benchmark, fleet_dir: FleetDir, preset: str) -> None:  # type: ignore[no-untyped-def]
    """Joint optimisation of the global zone and every zone (encoded first)."""
    fleet, catalog = _load(fleet_dir(preset))

    def setup() -> tuple[tuple[FleetSolver, object], dict[str, object]]:
        solver = _solver(fleet, catalog)
        return (solver, solver.prepare(fleet.global_zone)), {}

    def solve(solver: FleetSolver, prepared: object) -> dict[str, object]:
        solver.solve(prepared)  # type: ignore[arg-type]
        return dict(solver.stats)

    rounds = 3 if preset in QUICK else 1
    stats = benchmark.pedantic(solve, setup=setup, rounds=rounds, iterations=1)
    _sizes(benchmark, stats, catalog)


@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_explain(benchmark, fleet_dir: FleetDir, preset: str) -> None:  # type: ignore[no-untyped-def]
    """A request that cannot be met: the minimal explanation (solve included)."""
    fleet, catalog = _load(fleet_dir(preset))
    op = Operation(Verb.INSTALL, (_excluded_version(fleet, catalog),), None)

    def explain() -> int:
        result = plan(fleet, catalog, op)
        assert result.outcome.value == "fail"
        return sum(len(getattr(e, "facts", [])) for e in result.errors)

    facts = benchmark.pedantic(explain, rounds=3 if preset in QUICK else 1, iterations=1)
    benchmark.extra_info["facts"] = facts
    benchmark.extra_info["versions"] = len(catalog)


def _excluded_version(fleet: Fleet, catalog: Catalog) -> str:
    """A version the global zone's installed incorporations rule out."""
    for fmri in fleet.global_zone.installed:
        pkg = catalog.get(fmri)
        for dep in pkg.depends if pkg else ():
            if dep.type is not DepType.INCORPORATE or dep.fmri.version is None:
                continue
            for other in catalog.versions(dep.fmri.stem):
                if not other.fmri.version.matches(dep.fmri.version):  # type: ignore[union-attr]
                    return f"pkg:/{other.stem}@{other.fmri.version}"
    raise AssertionError("the generated fleet has no incorporation to conflict with")


@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_end_to_end(benchmark, fleet_dir: FleetDir, preset: str) -> None:  # type: ignore[no-untyped-def]
    """``zonesolve update -r --format json`` in-process, catalog cache warm."""
    path = fleet_dir(preset)
    argv = ["update", "-r", "--fleet", str(path / "fleet.toml"), "--format", "json"]
    argv += ["--cache-dir", str(path / ".cache")]

    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return main(argv)

    run()  # warm the catalog cache
    code = benchmark.pedantic(run, rounds=3 if preset in QUICK else 1, iterations=1)
    assert code in (0, 4)
