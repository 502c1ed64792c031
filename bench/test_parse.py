"""Manifest parsing speed: action lines per second, cold and memoised.

The text is generated (seeded) to look like published OmniOS manifests: a
few ``set`` lines, many ``file``/``dir``/``link`` lines with hashes and
unique paths, ``depend`` lines of which some (the parent self dependency, the
usual libraries) repeat across packages, quoted descriptions and
continuation lines.

Run: ``pytest bench -q --benchmark-enable --benchmark-only``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pytest_benchmark.fixture import BenchmarkFixture

from resolver import manifest
from resolver.fmri import parse_fmri

PACKAGES = 200  # about 40 action lines each
SEED = 20240501

_COMMON_DEPENDS = [
    "depend fmri=pkg:/system/library@0.5.11-151046.0 type=require",
    "depend fmri=pkg:/system/library/math@0.5.11-151046.0 type=require",
    "depend fmri=pkg:/library/zlib@1.3.1-151046.0 type=require",
    "depend fmri=pkg:/library/security/openssl-3@3.0.13-151046.0 type=require",
    "depend fmri=pkg:/system/library/gcc-runtime@13-151046.0 type=require",
]
_SELF = "depend type=parent fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal"


def _hash(rng: random.Random) -> str:
    """A SHA-1-sized hex digest."""
    return f"{rng.getrandbits(160):040x}"


def _package(rng: random.Random, n: int) -> list[str]:
    """The action lines of one generated package."""
    stem = f"library/gen/pkg{n}"
    lines = [
        f"set name=pkg.fmri value=pkg://omnios/{stem}@1.{n % 7}.{n % 3}-151046.0:20240101T{n % 24:02}0000Z",
        f'set name=pkg.summary value="Generated package {n}"',
        f'set name=pkg.description value="A generated package, number {n}, " \\',
        '    "for benchmarking the manifest parser"',
        "set name=info.classification value=org.opensolaris.category.2008:System/Libraries",
        "set name=variant.arch value=i386",
        "set name=variant.opensolaris.zone value=global value=nonglobal",
        "set name=org.opensolaris.consolidation value=userland",
        "dir path=usr owner=root group=sys mode=0755",
        "dir path=usr/lib owner=root group=bin mode=0755",
        f"dir path=usr/lib/pkg{n} owner=root group=bin mode=0755",
    ]
    for i in range(rng.randint(15, 35)):
        size = rng.randint(100, 10**6)
        lines.append(
            f"file {_hash(rng)} path=usr/lib/pkg{n}/lib{i}.so.1 owner=root group=bin "
            f"mode=0755 chash={_hash(rng)} elfarch=i386 elfbits=64 elfhash={_hash(rng)} "
            f"pkg.content-hash=file:sha512t_256:{_hash(rng)} pkg.size={size} "
            f"pkg.csize={size // 3}"
        )
        if rng.random() < 0.2:
            lines.append(f"link path=usr/lib/pkg{n}/lib{i}.so target=lib{i}.so.1")
    lines.append(f"license {_hash(rng)} license=CDDL chash={_hash(rng)} pkg.size=1234")
    lines.extend(rng.sample(_COMMON_DEPENDS, 3))
    lines.append(_SELF)
    if rng.random() < 0.3:
        lines.append(f"depend fmri=pkg:/library/gen/pkg{rng.randrange(n + 1)} type=require")
    return lines


def generated_manifests(count: int = PACKAGES, seed: int = SEED) -> list[str]:
    """``count`` manifest texts, the same for the same seed."""
    rng = random.Random(seed)
    return ["\n".join(_package(rng, n)) + "\n" for n in range(count)]


def _action_lines(texts: list[str]) -> int:
    """How many actions the texts hold (continuation lines count once)."""
    return sum(len(manifest.parse_actions(text)) for text in texts)


def _clear() -> None:
    """Forget every memoised line and FMRI: a cold start."""
    manifest.clear_caches()
    parse_fmri.cache_clear()


def _run(benchmark: BenchmarkFixture, parse: Callable[[str], object], cold: bool) -> None:
    """Parse every generated manifest per round; report action lines per second."""
    texts = generated_manifests()
    lines = _action_lines(texts)

    def parse_all() -> None:
        for text in texts:
            parse(text)

    setup = _clear if cold else None
    if not cold:
        parse_all()  # warm the memo
    benchmark.pedantic(parse_all, setup=setup, rounds=15, iterations=1, warmup_rounds=1)
    assert benchmark.stats is not None
    median = benchmark.stats.stats.median
    benchmark.extra_info["action_lines"] = lines
    benchmark.extra_info["action_lines_per_s"] = round(lines / median)


def test_parse_actions_cold(benchmark: BenchmarkFixture) -> None:
    """parse_actions with the line memo emptied before every round."""
    _run(benchmark, manifest.parse_actions, cold=True)


def test_parse_actions_memo(benchmark: BenchmarkFixture) -> None:
    """parse_actions on text whose lines are all memoised."""
    _run(benchmark, manifest.parse_actions, cold=False)


def test_parse_package_cold(benchmark: BenchmarkFixture) -> None:
    """parse_package (actions, then the Package) with every cache emptied."""
    _run(benchmark, lambda text: manifest.parse_package(text), cold=True)


def test_parse_package_memo(benchmark: BenchmarkFixture) -> None:
    """parse_package on text whose lines and FMRIs are all memoised."""
    _run(benchmark, lambda text: manifest.parse_package(text), cold=False)
