"""Catalog loading: a directory of ``*.p5m`` files, cold (parse) and warm (cache).

The manifests are generated, seeded, into a temporary directory: ~20k
package versions by default, 100k with ``-m large``. Sizes are recorded in
``benchmark.extra_info``.

    pytest bench/test_load.py --benchmark-enable            # 20k versions
    pytest bench/test_load.py --benchmark-enable -m large   # 100k versions
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from resolver import manifest
from resolver.model import Fleet, Image, Publisher, Source
from resolver.sources import load_catalog

SEED = 20240501
VERSIONS_PER_STEM = 5
#: Files get this old mtime: the cache does not store inputs modified seconds ago.
OLD = time.time_ns() - 3600 * 10**9

Benchmark = Any  # pytest-benchmark's fixture has no public type


def _manifest(rng: random.Random, stems: list[str], stem: str, version: int) -> str:
    """One plausible manifest: sets, variants, dependencies, files and dirs."""
    fmri = f"pkg://omnios/{stem}@{version + 1}.{rng.randrange(10)},5.11-151046.{version}"
    lines = [
        f"set name=pkg.fmri value={fmri}:2023050{version + 1}T000000Z",
        f'set name=pkg.summary value="the {stem.rsplit("/", 1)[-1]} package"',
        'set name=info.classification value="org.opensolaris.category.2008:System/Core"',
        "set name=variant.arch value=i386 value=sparc",
    ]
    for target in rng.sample(stems, rng.randint(1, 8)):
        lines.append(f"depend type=require fmri=pkg:/{target}@{rng.randint(1, 5)}")
    if rng.random() < 0.2:
        lines.append(
            "depend type=parent fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal"
        )
    base = stem.replace("/", "_")
    lines.append(f"dir path=usr/lib/{base} owner=root group=bin mode=0755")
    for i in range(rng.randint(2, 12)):
        lines.append(
            f"file {rng.getrandbits(64):016x} path=usr/lib/{base}/f{i}.so "
            f"owner=root group=bin mode=0555 pkg.size={rng.randrange(10**6)}"
        )
    return "\n".join(lines) + "\n"


def generate(root: Path, versions: int, seed: int = SEED) -> int:
    """Write ``versions`` manifests below ``root`` (100 per directory); the count written."""
    rng = random.Random(seed)
    stems = [f"lib/group{i // 100}/pkg{i}" for i in range(versions // VERSIONS_PER_STEM)]
    written = 0
    for n, stem in enumerate(stems):
        folder = root / f"d{n // 20:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for version in range(VERSIONS_PER_STEM):
            path = folder / f"{stem.rsplit('/', 1)[-1]}@{version}.p5m"
            path.write_text(_manifest(rng, stems, stem, version), encoding="utf-8")
            os.utime(path, ns=(OLD, OLD))
            written += 1
    return written


def _fleet(root: Path) -> Fleet:
    image = Image("global", (Publisher("omnios"),))
    return Fleet(str(root / "fleet.toml"), (image,), (Source(str(root / "p5m"), "omnios"),))


def _run(benchmark: Benchmark, tmp_path: Path, versions: int, warm: bool) -> None:
    written = generate(tmp_path / "p5m", versions)
    fleet = _fleet(tmp_path)
    cache = tmp_path / "cache"
    if warm:
        load_catalog(fleet, cache_dir=cache)  # fill the cache
        assert any(cache.iterdir()), "the cold load did not write the cache"

    def cold_setup() -> None:
        manifest.clear_caches()
        for entry in cache.glob("*"):
            entry.unlink()

    setup = None if warm else cold_setup
    catalog = benchmark.pedantic(
        load_catalog,
        args=(fleet,),
        kwargs={"cache_dir": cache},
        setup=setup,
        rounds=3 if warm else 1,
        iterations=1,
    )
    assert len(catalog) == written
    benchmark.extra_info.update(
        versions=written,
        stems=len(list(catalog.stems())),
        files=written,
        mode="warm" if warm else "cold",
        cpus=len(os.sched_getaffinity(0)),
    )


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_load_20k(benchmark: Benchmark, tmp_path: Path, warm: bool) -> None:
    _run(benchmark, tmp_path, 20_000, warm)


@pytest.mark.large
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_load_100k(benchmark: Benchmark, tmp_path: Path, warm: bool) -> None:
    _run(benchmark, tmp_path, 100_000, warm)
