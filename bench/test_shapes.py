"""Per-shape benchmarks (issue 9): the same command on fleets of several
shapes, so that no figure holds only for the shape our generator used to draw.

For each preset and shape (bench.fleetgen.SHAPES and one random shape):

- ``floor``: merely reading the inputs, the cost no planner can avoid: one
  regex pass over every manifest's text and ``tomllib`` on the fleet file;
- ``cold`` and ``warm``: ``zonesolve update -r --format json`` in a fresh
  process, without and with the parsed-catalog cache;
- ``zones``: every distinct zone planned in order in one process (one
  worker), the CPU seconds of each recorded: per distinct zone, and the
  first and last tenth of the largest class (a zone late in its class must
  cost what an early one costs: no scratch outlives its zone).

``extra_info`` holds the sizes and the ratios (warm / floor, last / first).
``test_zone_cost_is_flat_across_shapes`` measures every medium shape in one
run and asserts that none costs a distinct zone more than twice what the
default shape does, and that no class's last zones cost more than 1.5 times
its first ones.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.conftest import ShapedDir
from resolver import solve as solve_module
from resolver.api import plan
from resolver.fleet import load_fleet
from resolver.model import Operation, Verb
from resolver.sources import load_catalog

SHAPES = ["default", "drift", "stress", "diverse", "uniform", "random"]
QUICK = ["small", "medium"]
LARGE = [pytest.param(p, marks=pytest.mark.large) for p in ("large", "huge")]
UPDATE_R = Operation(Verb.UPDATE, (), None, recursive=True)
#: a manifest line's tokens, as a tokenizer would find them (the floor's regex pass)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


def floor_seconds(path: Path) -> tuple[float, int]:
    """Seconds to read every manifest and tokenise it, and to parse the fleet
    file with tomllib; and the number of tokens (so the work is not skipped)."""
    started = time.perf_counter()
    tokens = 0
    for manifest in (path / "catalog").rglob("*.p5m"):
        tokens += len(_TOKEN.findall(manifest.read_text()))
    tomllib.loads((path / "fleet.toml").read_text())
    return time.perf_counter() - started, tokens


def command(path: Path, cache: bool) -> list[str]:
    argv = [sys.executable, "-m", "resolver", "update", "-r", "--fleet", str(path / "fleet.toml")]
    argv += ["--format", "json", "-o", str(path / "plan.json")]
    return argv + (["--cache-dir", str(path / ".cache")] if cache else ["--no-cache"])


@contextmanager
def timed_zones() -> Iterator[list[tuple[int, float]]]:
    """Record (class id, CPU seconds) per distinct zone planned in this process."""
    record: list[tuple[int, float]] = []
    original = solve_module.FleetSolver._solve_zone

    def timed(self, run, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.process_time()
        try:
            return original(self, run, *args, **kwargs)
        finally:
            record.append((id(run.cls), time.process_time() - started))

    solve_module.FleetSolver._solve_zone = timed  # type: ignore[method-assign]
    try:
        yield record
    finally:
        solve_module.FleetSolver._solve_zone = original  # type: ignore[method-assign]


def zone_costs(path: Path, explain: bool = True) -> dict[str, float]:
    """Per distinct zone CPU seconds: the mean, and the medians of the first
    and last tenth of the largest class (one process, zones in order)."""
    fleet = load_fleet(path / "fleet.toml")
    catalog = load_catalog(fleet, cache_dir=path / ".cache")
    with timed_zones() as record:
        result = plan(fleet, catalog, UPDATE_R, jobs=1, explain=explain)
    assert result.outcome.value in ("ok", "nothing-to-do"), result.errors
    by_class: dict[int, list[float]] = {}
    for cls, seconds in record:
        by_class.setdefault(cls, []).append(seconds)
    largest = max(by_class.values(), key=len)
    tenth = max(1, len(largest) // 10)
    return {
        "zones": len(record),
        "per-zone": sum(s for _, s in record) / max(1, len(record)),
        "first": statistics.median(largest[:tenth]),
        "last": statistics.median(largest[-tenth:]),
    }


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_floor(benchmark, shaped_dir: ShapedDir, preset: str, shape: str) -> None:  # type: ignore[no-untyped-def]
    """Reading and tokenising the inputs: the cost below which no planner goes."""
    path = shaped_dir(preset, shape)
    _, tokens = benchmark.pedantic(lambda: floor_seconds(path), rounds=3, iterations=1)
    benchmark.extra_info.update(shape=shape, tokens=tokens)


@pytest.mark.parametrize("cache", ["warm", "cold"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("preset", [*QUICK, *LARGE])
def test_update_r(benchmark, shaped_dir: ShapedDir, preset: str, shape: str, cache: str) -> None:  # type: ignore[no-untyped-def]
    """``zonesolve update -r --format json`` in a fresh process; the floor of
    the same fleet measured in the same test, for the ratio."""
    path = shaped_dir(preset, shape)
    argv = command(path, cache == "warm")
    subprocess.run(argv, check=False, capture_output=True)  # fills the cache (warm) and the page cache
    floor = min(floor_seconds(path)[0] for _ in range(2))
    done = benchmark.pedantic(
        lambda: subprocess.run(argv, check=False, capture_output=True),
        rounds=3 if preset in QUICK else 1,
        iterations=1,
    )
    assert done.returncode in (0, 4), done.stderr.decode()
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(shape=shape, floor=round(floor, 3), ratio=round(seconds / floor, 2))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("preset", ["medium", *LARGE])
def test_zones(benchmark, shaped_dir: ShapedDir, preset: str, shape: str) -> None:  # type: ignore[no-untyped-def]
    """Every distinct zone in one process: CPU per zone, first and last of a class."""
    path = shaped_dir(preset, shape)
    costs = benchmark.pedantic(lambda: zone_costs(path), rounds=1, iterations=1)
    benchmark.extra_info.update({"shape": shape, **{k: round(v, 4) for k, v in costs.items()}})
    benchmark.extra_info["last/first"] = round(costs["last"] / costs["first"], 2)


def test_zone_cost_is_flat_across_shapes(benchmark, shaped_dir: ShapedDir) -> None:  # type: ignore[no-untyped-def]
    """Issue 9: on no medium shape does a distinct zone cost more than twice
    what it costs on the default shape; no class's last zones more than 1.5
    times its first ones (all measured in this one run)."""

    def measure() -> dict[str, dict[str, float]]:
        return {shape: zone_costs(shaped_dir("medium", shape)) for shape in SHAPES}

    costs = benchmark.pedantic(measure, rounds=1, iterations=1)
    base = costs["default"]["per-zone"]
    for shape, cost in costs.items():
        benchmark.extra_info[shape] = {k: round(v, 4) for k, v in cost.items()}
    for shape, cost in costs.items():
        assert cost["per-zone"] <= 2 * base, f"{shape}: {cost['per-zone']:.4f} s a zone, default {base:.4f} s"
        assert cost["last"] <= 1.5 * cost["first"] + 0.002, f"{shape}: late zones cost more: {cost}"
