"""Planning a site: many hosts over one shared catalog (``zonesolve site``).

A site of 200 medium-sized hosts (bench/sitegen.py: fleetgen's medium
catalog, 29,767 versions; ``ZONES`` zones per host) planned with
``update -r``:

- ``test_shell_loop``: what an admin does today, ``zonesolve update -r
  --fleet HOST --format json`` once per host in a shell loop;
- ``test_site``: ``plan_site`` on a LocalCluster of 1 and 2 workers (its
  start included: what ``zonesolve site`` costs), and with 2 workers on the
  first 50 and 100 hosts: the cost per host must stay flat;
- ``test_site_summary``: the ratios, asserted: the site beats the loop by
  at least the catalog-sharing factor (what the loop spends per host on
  reading the catalog and starting a process, which a site pays once);
- ``test_ship_catalog``: how a worker gets the catalog: broadcast in the
  cache's compact form and rebuilt, or read by each worker from the on-disk
  cache (shared file system);
- ``test_in_process_threshold``: a few hosts in this process against a
  two-worker LocalCluster, for ``resolver.site.IN_PROCESS_HOSTS``.

Caches (catalog and fleet files) are warm for every contender. All carry
the ``site`` and ``large`` markers: ``make bench-site`` runs them (about
20 minutes on 2 cores), ``make bench`` does not.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.sitegen import generate_site, subsite
from resolver.cache import Cache, decode_packages
from resolver.fleet import load_fleet
from resolver.model import Operation, Source, Verb
from resolver.site import Output, Runner, SiteReport, plan_site
from resolver.sitefile import Site, load_site
from resolver.sources import load_source, load_source_encoded

Benchmark = Any  # pytest-benchmark's fixture has no public type

HOSTS = 200
#: Zones per host: 8 (a global zone and 8 zones, ~400 installed packages
#: each). A host then plans in about a second alone, and the 200-host
#: contenders together take about a quarter of an hour on 2 cores.
ZONES = 8
UPDATE_R = Operation(Verb.UPDATE, (), None, recursive=True)
#: Measurements shared by the tests of this module, for the summary.
RESULTS: dict[str, dict[str, float]] = {}

pytestmark = [pytest.mark.site, pytest.mark.large]


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 200-host site, generated, with the catalog and fleet caches warm."""
    out = tmp_path_factory.mktemp("site")
    generate_site(HOSTS, 1, out, zones=ZONES, preset="medium")
    time.sleep(2.1)  # the cache does not store inputs modified within the last 2 s
    cache = out / ".cache"
    site = load_site(out / "site.toml")
    for source in site.sources:
        load_source_encoded(source, cache=Cache(cache))
    for host in site.hosts:
        load_fleet(host.fleet, cache_dir=cache)
    for hosts in (50, 100):
        subsite(out, hosts, out / f"site-{hosts}.toml")
    return out


def _site(site_dir: Path, hosts: int) -> Site:
    return load_site(site_dir / ("site.toml" if hosts == HOSTS else f"site-{hosts}.toml"))


def _per_host(report: SiteReport) -> dict[str, float]:
    """Sums over the hosts of their own --stats timings."""
    out: dict[str, float] = {}
    for host in report.hosts.values():
        assert host.document is not None
        stats = json.loads(host.document)["stats"]
        for key in ("fleet-seconds", "catalog-seconds", "plan-seconds", "total-seconds"):
            out[key] = out.get(key, 0.0) + stats[key]
    return out


def test_shell_loop(benchmark: Benchmark, site_dir: Path) -> None:
    """``for h in hosts/*.toml; do zonesolve update -r --fleet $h --format json; done``."""
    out = site_dir / "loop"
    out.mkdir(exist_ok=True)
    zonesolve = Path(sys.executable).parent / "zonesolve"
    loop = (
        f'for h in "{site_dir}"/hosts/*.toml; do '
        f'"{zonesolve}" update -r --fleet "$h" --format json --stats --cache-dir "{site_dir}/.cache" '
        f'> "{out}/$(basename "$h" .toml).json"; '
        "done"
    )

    def run() -> None:
        subprocess.run(["bash", "-c", loop], check=True)

    benchmark.pedantic(run, rounds=1, iterations=1)
    wall = benchmark.stats.stats.median
    parts: dict[str, float] = {}
    for path in out.glob("*.json"):
        stats = json.loads(path.read_text())["stats"]
        for key in ("fleet-seconds", "catalog-seconds", "plan-seconds", "total-seconds"):
            parts[key] = parts.get(key, 0.0) + stats[key]
    startup = wall - parts["total-seconds"]  # interpreter, imports, writing the output
    info = {
        "hosts": HOSTS,
        "wall": wall,
        "per-host": wall / HOSTS,
        "catalog-per-host": parts["catalog-seconds"] / HOSTS,
        "startup-per-host": startup / HOSTS,
        "plan-per-host": parts["plan-seconds"] / HOSTS,
        "fleet-per-host": parts["fleet-seconds"] / HOSTS,
    }
    benchmark.extra_info.update(info)
    RESULTS["loop"] = info


@pytest.mark.parametrize(
    ("hosts", "workers"),
    [(200, 1), (50, 2), (100, 2), (200, 2)],
)
def test_site(benchmark: Benchmark, site_dir: Path, hosts: int, workers: int) -> None:
    """``zonesolve site update -r`` on a new LocalCluster of ``workers`` workers."""
    site = _site(site_dir, hosts)
    runner = Runner(workers=workers, cache_dir=str(site_dir / ".cache"))
    output = Output("json", stats=True)
    reports: list[SiteReport] = []
    benchmark.pedantic(
        lambda: reports.append(plan_site(site, UPDATE_R, output, runner)), rounds=1, iterations=1
    )
    report = reports[-1]
    assert len(report.hosts) == hosts and report.status in (0, 4)
    wall = benchmark.stats.stats.median
    parts = _per_host(report)
    info = {
        "hosts": hosts,
        "workers": workers,
        "wall": wall,
        "per-host": wall / hosts,
        "plan-per-host": parts["plan-seconds"] / hosts,
        "catalog-per-host": parts["catalog-seconds"] / hosts,
        "fleet-per-host": parts["fleet-seconds"] / hosts,
        "read-sources-seconds": report.stats["read-sources-seconds"],
        "ship-sources-seconds": report.stats["ship-sources-seconds"],
    }
    benchmark.extra_info.update(info)
    RESULTS[f"site-{hosts}-{workers}"] = info


def test_site_summary(site_dir: Path) -> None:
    """The ratios of one run, asserted, and printed for the README."""
    needed = ["loop", "site-200-1", "site-50-2", "site-100-2", "site-200-2"]
    if any(k not in RESULTS for k in needed):
        pytest.skip("needs every test_site and test_shell_loop run of this session (-m 'site')")
    loop, one, two = RESULTS["loop"], RESULTS["site-200-1"], RESULTS["site-200-2"]
    sharing = loop["per-host"] / (loop["per-host"] - loop["catalog-per-host"] - loop["startup-per-host"])
    lines = [
        f"shell loop: {loop['wall']:.1f} s, {loop['per-host']:.3f} s/host "
        f"(catalog {loop['catalog-per-host']:.3f}, process start {loop['startup-per-host']:.3f}, "
        f"plan {loop['plan-per-host']:.3f})",
        f"catalog-sharing factor: {sharing:.2f}",
    ]
    for key in needed[1:]:
        r = RESULTS[key]
        lines.append(
            f"{key}: {r['wall']:.1f} s, {r['per-host']:.3f} s/host, "
            f"{loop['wall'] * r['hosts'] / HOSTS / r['wall']:.2f}x the loop"
        )
    lines.append(f"2 workers / 1 worker: {one['wall'] / two['wall']:.2f}x")
    print("\n" + "\n".join(lines))
    assert loop["wall"] / one["wall"] >= 0.9 * sharing, "one worker must beat the loop by the sharing factor"
    assert loop["wall"] / two["wall"] >= sharing
    per_host = [RESULTS[f"site-{n}-2"]["per-host"] for n in (50, 100, 200)]
    assert max(per_host[1:]) <= 1.15 * per_host[0], f"cost per host grows with the hosts: {per_host}"


# ---------------------------------------------------------------------------
# Shipping the catalog to workers


def _rebuild(data: bytes) -> int:
    """In a worker: rebuild a shipped source (as resolver.site does once per worker)."""
    return len(decode_packages(data))


def _read_cached(source: Source, cache_dir: str) -> int:
    """In a worker: read a source from the on-disk cache itself."""
    return len(load_source(source, cache=Cache(Path(cache_dir))))


@pytest.mark.parametrize("how", ["broadcast", "disk-cache"])
def test_ship_catalog(benchmark: Benchmark, site_dir: Path, how: str) -> None:
    """The medium catalog (both sources) into each of 2 workers' memory."""
    from distributed import Client, LocalCluster, wait

    site = load_site(site_dir / "site.toml")
    cache = str(site_dir / ".cache")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        workers = list(client.scheduler_info()["workers"])
        client.run(lambda: __import__("resolver.sources"))  # imports are not what is measured

        def ship() -> int:
            futures = []
            for source in site.sources:
                if how == "broadcast":  # what resolver.site does
                    data = load_source_encoded(source, cache=Cache(Path(cache)))
                    shipped = client.scatter(data, broadcast=True, hash=False)
                    futures += [client.submit(_rebuild, shipped, workers=[w], pure=False) for w in workers]
                else:
                    futures += [
                        client.submit(_read_cached, source, cache, workers=[w], pure=False) for w in workers
                    ]
            wait(futures)
            return sum(f.result() for f in futures)

        count = benchmark.pedantic(ship, rounds=3, iterations=1)
    benchmark.extra_info.update({"versions-per-worker": count // 2, "workers": 2})
    RESULTS[f"ship-{how}"] = {"median": benchmark.stats.stats.median}


# ---------------------------------------------------------------------------
# In this process or on a local cluster


@pytest.mark.parametrize("where", ["in-process", "local-2"])
@pytest.mark.parametrize("hosts", [4, 8, 16])
def test_in_process_threshold(benchmark: Benchmark, site_dir: Path, hosts: int, where: str) -> None:
    """A few hosts: is starting two workers worth it?"""
    path = subsite(site_dir, hosts, site_dir / f"site-{hosts}.toml")
    site = load_site(path)
    runner = Runner(workers=0 if where == "in-process" else 2, cache_dir=str(site_dir / ".cache"))
    run: Callable[[], SiteReport] = lambda: plan_site(site, UPDATE_R, Output(), runner)  # noqa: E731
    benchmark.pedantic(run, rounds=2, iterations=1)
    benchmark.extra_info.update({"hosts": hosts, "where": where})
    RESULTS[f"threshold-{hosts}-{where}"] = {"median": benchmark.stats.stats.median}


def test_threshold_summary() -> None:
    """Print where a local cluster starts to pay (for IN_PROCESS_HOSTS)."""
    rows = []
    for hosts in (4, 8, 16):
        here, there = RESULTS.get(f"threshold-{hosts}-in-process"), RESULTS.get(f"threshold-{hosts}-local-2")
        if here and there:
            rows.append(
                f"{hosts} hosts: in-process {here['median']:.1f} s, local 2 workers {there['median']:.1f} s"
            )
    for how in ("broadcast", "disk-cache"):
        if f"ship-{how}" in RESULTS:
            rows.append(f"ship catalog by {how}: {RESULTS[f'ship-{how}']['median']:.2f} s")
    if not rows:
        pytest.skip("no threshold or shipping measurements in this session")
    print("\n" + "\n".join(rows))
