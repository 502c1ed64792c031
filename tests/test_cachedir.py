"""The cache stays bounded: size and age, least recently used first; `zonesolve cache`.

Entries are made with real cache writes (resolver.cache), their "last used"
times set explicitly, so that the order of eviction is what is tested.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from resolver import cachedir
from resolver.cache import Cache, load_document, store_document
from resolver.cachedir import Limits, parse_age, parse_size, prune
from resolver.fmri import parse_fmri
from resolver.model import Package

if TYPE_CHECKING:
    from conftest import RunCli

NOW = time.time()  # "now" in the tests: entries are made in the past of it
DAY = 86400.0


@pytest.fixture(autouse=True)
def _no_bounds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cachedir.SIZE_ENV, raising=False)
    monkeypatch.delenv(cachedir.AGE_ENV, raising=False)


def documents(directory: Path, count: int, size: int = 1000) -> list[Path]:
    """``count`` fleet-document entries of about ``size`` bytes, used 1..count days ago
    (the first is the least recently used)."""
    paths = []
    for i in range(count):
        content = f"document {i}".encode()
        assert store_document(directory, content, "x" * size)
        (path,) = set(directory.glob("doc-*.zsd")) - set(paths)
        used = NOW - (count - i) * DAY
        os.utime(path, (used, used))
        paths.append(path)
    return paths


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_least_recently_used_go_first_when_over_the_size(tmp_path: Path) -> None:
    paths = documents(tmp_path, 5)
    size = paths[0].stat().st_size
    removed = prune(tmp_path, Limits(max_bytes=3 * size, max_age=None), now=NOW)
    assert [e.path for e in removed] == paths[:2]
    assert names(tmp_path) == {p.name for p in paths[2:]}


def test_entries_unused_for_too_long_go(tmp_path: Path) -> None:
    paths = documents(tmp_path, 5)  # used 5, 4, 3, 2, 1 days ago
    removed = prune(tmp_path, Limits(max_bytes=None, max_age=2.5 * DAY), now=NOW)
    assert [e.path for e in removed] == paths[:3]


def test_the_most_recently_used_entry_stays_even_if_too_big(tmp_path: Path) -> None:
    paths = documents(tmp_path, 3)
    prune(tmp_path, Limits(max_bytes=1, max_age=None), now=NOW)
    assert names(tmp_path) == {paths[-1].name}


def test_a_cache_hit_makes_an_entry_recently_used(tmp_path: Path) -> None:
    """Reading the oldest entry saves it from the next eviction (LRU, not FIFO)."""
    paths = documents(tmp_path, 3)
    os.utime(paths[0], (NOW - 10 * DAY, NOW - 10 * DAY))
    assert load_document(tmp_path, b"document 0") == "x" * 1000  # touches it: used now
    size = paths[0].stat().st_size
    prune(tmp_path, Limits(max_bytes=2 * size, max_age=None), now=time.time() + 1)
    assert names(tmp_path) == {paths[0].name, paths[2].name}


def test_catalog_entries_are_touched_on_a_hit(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = cache.entry("directory", "/somewhere", None)
    packages = [Package(parse_fmri("pkg://p/a@1.0"))]
    files = [("a.p5m", 10, 1)]
    assert cache.store(entry, files, packages)
    os.utime(entry, (NOW - DAY, NOW - DAY))
    assert cache.load(entry, files) == packages
    assert entry.stat().st_mtime > NOW


def test_every_write_applies_the_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ZONESOLVE_CACHE_MAX_SIZE set, the directory never holds more than that."""
    monkeypatch.setenv(cachedir.SIZE_ENV, "5K")
    for i in range(20):
        assert store_document(tmp_path, f"fleet {i}".encode(), "y" * 1000)
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 5 * 1024
    assert load_document(tmp_path, b"fleet 19") is not None  # the newest is there


def test_defaults_bound_the_cache(tmp_path: Path) -> None:
    """Without settings: 256 MiB and 30 days. An entry unused for 31 days goes at the next write."""
    assert cachedir.limits_from_env() == Limits(256 * 2**20, 30 * DAY)
    (old,) = documents(tmp_path, 1)
    os.utime(old, (time.time() - 31 * DAY,) * 2)
    store_document(tmp_path, b"new", "z")
    assert not old.exists()


def test_only_cache_files_are_counted_or_removed(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "abc.zsc").write_text("not a cache name", encoding="utf-8")
    stale = tmp_path / ".tmp-x.part"
    stale.write_text("interrupted", encoding="utf-8")
    os.utime(stale, (NOW - DAY, NOW - DAY))
    documents(tmp_path, 2)
    assert len(cachedir.entries(tmp_path)) == 2
    cachedir.clear(tmp_path)
    assert names(tmp_path) == {"notes.txt", "abc.zsc"}


@pytest.mark.parametrize(
    ("text", "size"),
    [("256M", 256 * 2**20), ("1.5G", 3 * 2**29), ("512KiB", 512 * 1024), ("100", 100), ("2t", 2 * 2**40)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "age"), [("30d", 30 * DAY), ("12h", 43200), ("90m", 5400), ("7", 7 * DAY), ("1w", 7 * DAY)]
)
def test_ages(text: str, age: float) -> None:
    assert parse_age(text) == age


def test_no_bound_and_bad_values() -> None:
    assert parse_size("0") is None and parse_size("none") is None and parse_age("0") is None
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    with pytest.raises(ValueError, match="not an age"):
        parse_age("3 fortnights")


# ---------------------------------------------------------------------------
# zonesolve cache


def test_cache_command_shows_where_how_big_and_the_entries(run_cli: RunCli, tmp_path: Path) -> None:
    documents(tmp_path, 3)
    run = run_cli("cache", "--cache-dir", str(tmp_path), "-v")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == f"cache: {tmp_path}"
    assert lines[1].startswith("entries: 3 (0 catalog, 3 fleet), ")
    assert lines[2] == "bounds: size 256.0 MiB, age unused for 30 days (least recently used first)"
    assert len(lines) == 6 and all(line.startswith("  fleet ") for line in lines[3:])


def test_cache_command_json(run_cli: RunCli, tmp_path: Path) -> None:
    paths = documents(tmp_path, 2)
    obj = json.loads(run_cli("cache", "--cache-dir", str(tmp_path), "--format", "json").out)["cache"]
    assert obj["directory"] == str(tmp_path) and obj["enabled"] is True
    assert [e["name"] for e in obj["entries"]] == [p.name for p in paths]
    assert obj["size"] == sum(p.stat().st_size for p in paths)
    assert (obj["max-size"], obj["max-age"], obj["removed"]) == (256 * 2**20, 30 * DAY, [])


def test_cache_clear(run_cli: RunCli, tmp_path: Path) -> None:
    documents(tmp_path, 4)
    run = run_cli("cache", "--cache-dir", str(tmp_path), "--clear")
    assert run.code == 0 and run.out.startswith("removed 4 entries (")
    assert "entries: 0 (0 catalog, 0 fleet), 0 bytes" in run.out
    assert not list(tmp_path.iterdir())


def test_cache_prune_now(run_cli: RunCli, tmp_path: Path) -> None:
    """--max-age / --max-size prune now, with these bounds."""
    paths = documents(tmp_path, 4)
    for i, path in enumerate(paths):  # used 4, 3, 2, 1 days before now
        os.utime(path, (time.time() - (4 - i) * DAY,) * 2)
    obj = json.loads(
        run_cli("cache", "--cache-dir", str(tmp_path), "--max-age", "36h", "--format", "json").out
    )
    assert [e["name"] for e in obj["cache"]["removed"]] == [p.name for p in paths[:3]]
    assert obj["cache"]["max-age"] == 36 * 3600


def test_cache_command_bad_bounds(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_cli("cache", "--cache-dir", str(tmp_path), "--max-size", "big")
    assert run.code == 2 and "not a size: 'big'" in run.err
    monkeypatch.setenv(cachedir.AGE_ENV, "forever")
    run = run_cli("cache", "--cache-dir", str(tmp_path))
    assert run.code == 2 and run.err.startswith("error: ZONESOLVE_CACHE_MAX_AGE: not an age")


def test_cache_off(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZONESOLVE_NO_CACHE", "1")
    run = run_cli("cache")
    assert run.code == 0 and run.out.startswith("cache: (none) (off: ZONESOLVE_NO_CACHE is set)")
