"""Side by side with libsolv: ``update -r`` planned by zonesolve and by libsolv
on the same loaded fleet and catalog (bench/libsolv_flat.py flattens the whole
fleet into one libsolv pool; its docstring says what is encoded and what is
approximated).

Needs the optional extra ``libsolv`` (``pip install 'zonesolve[libsolv]'``,
i.e. PyPI ``solv``); without it the module is skipped.

``test_update_r_vs_libsolv`` times, in each round, zonesolve's in-process
planning (``resolver.api.plan``; loading excluded) and libsolv's pool build
and solve, alternating which goes first. The benchmark's own figure is the
round (both); the comparison is in ``extra_info``: medians of
``zonesolve_s``, ``libsolv_build_s``, ``libsolv_solve_s``, ``libsolv_s`` and
``ratio`` (libsolv / zonesolve, the median of the per-round ratios, so both
sides of a ratio ran under the same machine load). small and medium run by
default; large and huge carry the ``large`` marker and are skipped unless the
marker expression names it (``-m large``).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import warnings
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

pytest.importorskip(
    "solv",
    reason="libsolv's Python binding is not installed (pip install 'zonesolve[libsolv]', i.e. PyPI 'solv')",
)

from bench.conftest import FleetDir
from bench.libsolv_flat import (
    FlatResult,
    check_dep_matching,
    check_evr_order,
    evr,
    solve_update_all,
)
from resolver.api import plan
from resolver.catalog import Catalog
from resolver.fleet import load_fleet
from resolver.fmri import Version, parse_version
from resolver.model import Fleet, Operation, Verb
from resolver.plan import Outcome, Result
from resolver.sources import load_catalog

QUICK = ["small", "medium"]
LARGE = [pytest.param(p, marks=pytest.mark.large) for p in ("large", "huge")]
UPDATE_R = Operation(Verb.UPDATE, (), None, recursive=True)

Changes = dict[str, dict[str, str | None]]  # image -> stem -> evr after (None: removed)


def _load(path: Path) -> tuple[Fleet, Catalog]:
    fleet = load_fleet(path / "fleet.toml")
    return fleet, load_catalog(fleet, cache_dir=path / ".cache")


def _zonesolve_changes(result: Result) -> Changes:
    """zonesolve's plan in FlatResult's terms: per image, the stems that change."""
    out: Changes = {}
    for name, image in result.images.items():
        stems = image.before.keys() | image.after.keys()
        after = {s: image.after.get(s) for s in stems if image.before.get(s) != image.after.get(s)}
        out[name] = {s: None if f is None else evr(f.version) for s, f in after.items()}  # type: ignore[arg-type]
    return out


def _changed(changes: Changes) -> int:
    return sum(len(stems) for stems in changes.values())


def _collect() -> None:
    """pedantic setup: start every round without the previous round's garbage."""
    gc.collect()


@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_update_r_vs_libsolv(
    benchmark: BenchmarkFixture, fleet_dir: FleetDir, preset: str, request: pytest.FixtureRequest
) -> None:
    """zonesolve ``update -r`` vs libsolv update-all on one flattened pool (see the module docstring)."""
    if preset not in QUICK and "large" not in request.config.option.markexpr:
        pytest.skip("large and huge run on demand: pass -m large")
    fleet, catalog = _load(fleet_dir(preset))
    gc.freeze()  # as the CLI does after loading: the catalog stays out of later GC passes
    try:
        _compare(benchmark, preset, fleet, catalog)
    finally:
        gc.unfreeze()


def _compare(benchmark: BenchmarkFixture, preset: str, fleet: Fleet, catalog: Catalog) -> None:
    zonesolve_s: list[float] = []
    build_s: list[float] = []
    solve_s: list[float] = []
    last: dict[str, object] = {}

    def run_zonesolve() -> None:
        t = time.perf_counter()
        result = plan(fleet, catalog, UPDATE_R)
        zonesolve_s.append(time.perf_counter() - t)
        last["zonesolve"] = result

    def run_libsolv() -> None:
        flat = solve_update_all(fleet, catalog)
        build_s.append(flat.build_s)
        solve_s.append(flat.solve_s)
        last["libsolv"] = flat

    def one_round() -> None:
        order = (run_zonesolve, run_libsolv) if len(zonesolve_s) % 2 == 0 else (run_libsolv, run_zonesolve)
        for run in order:
            run()
            gc.collect()

    rounds = 3 if preset in QUICK else 1
    benchmark.pedantic(one_round, setup=_collect, rounds=rounds, iterations=1)  # type: ignore[no-untyped-call]

    result = last["zonesolve"]
    flat = last["libsolv"]
    assert isinstance(result, Result) and isinstance(flat, FlatResult)
    assert result.outcome is not Outcome.FAIL, [str(e) for e in result.errors]
    libsolv_s = [b + s for b, s in zip(build_s, solve_s, strict=True)]
    ratios = [ls / zs for ls, zs in zip(libsolv_s, zonesolve_s, strict=True)]
    benchmark.extra_info.update(
        {
            "zonesolve_s": statistics.median(zonesolve_s),
            "libsolv_build_s": statistics.median(build_s),
            "libsolv_solve_s": statistics.median(solve_s),
            "libsolv_s": statistics.median(libsolv_s),
            "ratio": statistics.median(ratios),
            "ratios": [round(r, 3) for r in ratios],
            "solvables": flat.solvables,
            "images": flat.images,
            "libsolv_problems": flat.problems,
            "libsolv_changed": flat.changed,
            "libsolv_rich_deps": flat.rich_deps,
            "zonesolve_changed": _changed(_zonesolve_changes(result)),
            "variables": result.stats.get("variables"),
            "clauses": result.stats.get("clauses"),
            "versions": len(catalog),
        }
    )
    if flat.problems:
        warnings.warn(
            f"{preset}: libsolv found {flat.problems} problem(s): " + "; ".join(flat.problem_texts),
            stacklevel=1,
        )


def test_agrees_on_changed_images(fleet_dir: FleetDir) -> None:
    """small: zonesolve and libsolv both plan, and change the same images.
    Package-level differences (the flattening's approximations) are reported
    as a warning, not a failure."""
    fleet, catalog = _load(fleet_dir("small"))
    result = plan(fleet, catalog, UPDATE_R)
    flat = solve_update_all(fleet, catalog)
    assert result.outcome is not Outcome.FAIL, [str(e) for e in result.errors]
    assert flat.problems == 0, flat.problem_texts
    ours = _zonesolve_changes(result)
    zonesolve_images = {name for name, stems in ours.items() if stems}
    assert zonesolve_images, "the small fleet has updates: zonesolve planned none"
    assert zonesolve_images == set(flat.changed_images), (
        f"only zonesolve changes {sorted(zonesolve_images - flat.changed_images)}; "
        f"only libsolv changes {sorted(flat.changed_images - zonesolve_images)}"
    )
    differ = []
    for name in sorted(ours.keys() | flat.changes.keys()):
        mine, theirs = ours.get(name, {}), flat.changes.get(name, {})
        for stem in sorted(mine.keys() | theirs.keys()):
            a, b = mine.get(stem, "unchanged"), theirs.get(stem, "unchanged")
            if a != b:
                differ.append(f"{name} {stem}: zonesolve {a or 'removed'}, libsolv {b or 'removed'}")
    if differ:
        warnings.warn(
            f"zonesolve and libsolv differ on {len(differ)} package(s): " + "; ".join(differ[:20]),
            stacklevel=1,
        )


# Versions that stress the mapping: prefixes, missing parts, zero components.
_EDGES = [
    "1",
    "1.0",
    "1.0.0",
    "1.2",
    "1.10",
    "1.2-0",
    "1.2-0.1",
    "1.2-1",
    "1.2-151046",
    "1.2-151046.0",
    "1.2-151046.0.1",
    "1.2-151046.1",
    "1.2-151046.10",
    "1.2:20230501T000000Z",
    "1.2:20230501T000001Z",
    "1.2-151046:20230501T000000Z",
    "1.2-151046.0:20230501T000000Z",
    "1.2-151046.0:20240101T000000Z",
    "1.2-151046.0.1:20200101T000000Z",
    "1.2.0-0:20200101T000000Z",
    "1.2,5.11-151046.0:20230501T000000Z",
    "1.2,5.12-151046.0:20230501T000000Z",
    "0.5.11,5.11-151046.1:20230501T000000Z",
    "2",
]


def _sample_versions(catalog: Catalog, count: int) -> list[Version]:
    versions = sorted({p.fmri.version for p in catalog if p.fmri.version is not None}, key=lambda v: v.key)
    rng = random.Random(1)
    return [*rng.sample(versions, min(count, len(versions))), *map(parse_version, _EDGES)]


def test_evr_order_matches_ips(fleet_dir: FleetDir) -> None:
    """libsolv orders the mapped versions as resolver.fmri orders IPS versions
    (every pair of a catalog sample plus edge cases)."""
    _, catalog = _load(fleet_dir("small"))
    sample = _sample_versions(catalog, 250)
    assert check_evr_order(sample) == []


def test_dependency_versions_match_ips(fleet_dir: FleetDir) -> None:
    """``>= v`` and ``< v`` with a dependency's version (bare release,
    release-branch, or full) select the versions IPS selects."""
    _, catalog = _load(fleet_dir("small"))
    sample = _sample_versions(catalog, 120)
    wanted = {v.short() for v in sample} | {".".join(map(str, v.release)) for v in sample}
    deps = [parse_version(text) for text in sorted(wanted)] + [parse_version(t) for t in _EDGES]
    assert check_dep_matching(sample, deps) == []
