"""Catalog sources: every format, their errors, the merge, and the on-disk cache."""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from dataclasses import fields, replace
from pathlib import Path

import pytest

from resolver import cache as cache_mod
from resolver import manifest, sources, workers
from resolver.cache import Cache, decode_packages, default_cache_dir, encode_packages
from resolver.catalog import Catalog
from resolver.errors import InputError, InputErrors, Location
from resolver.fleet import load_fleet, parse_fleet
from resolver.fmri import Fmri, Version, parse_fmri
from resolver.model import (
    Dependency,
    DepType,
    Fleet,
    Image,
    InlineManifest,
    Package,
    Publisher,
    Source,
    Svr4Params,
)
from resolver.sources import load_catalog, load_source, source_kind

FIXTURES = Path(__file__).parent / "fixtures"
OLD_NS = time.time_ns() - 3600 * 10**9  # an hour ago: old enough to be cached


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache; start with caching on."""
    monkeypatch.setenv("ZONESOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("default-cache")))
    monkeypatch.delenv("ZONESOLVE_NO_CACHE", raising=False)


def copy_fixture(name: str, dest: Path) -> Path:
    """A private copy of a fixture tree, its files an hour old (cacheable)."""
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    for path in [target, *target.rglob("*")]:
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return target


def fleet_of(*paths: Path, publisher: str | None = None, texts: tuple[str, ...] = ()) -> Fleet:
    image = Image("global", (Publisher("omnios"),))
    srcs = tuple(Source(str(p), publisher, Location("fleet.toml", 1)) for p in paths)
    inline = tuple(InlineManifest(t, Location("fleet.toml", 10, None, "[[manifest]] #1")) for t in texts)
    return Fleet("fleet.toml", (image,), srcs, inline)


def fmris(catalog: Catalog) -> list[str]:
    return [str(p.fmri) for p in catalog]


def error_messages(err: InputError) -> list[str]:
    return [e.message for e in err.errors] if isinstance(err, InputErrors) else [err.message]


def load_errors(fleet: Fleet) -> list[str]:
    with pytest.raises(InputError) as info:
        load_catalog(fleet, use_cache=False)
    return error_messages(info.value)


# ---------------------------------------------------------------------------
# Each format


def test_directory_of_p5m_files() -> None:
    catalog = load_catalog(fleet_of(FIXTURES / "dir", publisher="omnios"), use_cache=False)
    assert fmris(catalog) == [
        "pkg://omnios/library/pcre@8.45,5.11-151046.0:20230101T000000Z",
        "pkg://omnios/library/zlib@1.3,5.11-151048.0:20231001T000000Z",
        "pkg://omnios/web/server/nginx@1.24.0,5.11-151046.0:20230501T000000Z",
        "pkg://omnios/web/server/nginx@1.25.3,5.11-151048.0:20231101T000000Z",
    ]
    nginx = catalog.versions("web/server/nginx")[0]
    assert nginx.where == Location(str(FIXTURES / "dir" / "web" / "nginx-1.24.p5m"), 2)
    assert [d.type for d in nginx.depends] == [DepType.REQUIRE, DepType.PARENT]
    assert nginx.depends[1].tags == (("variant.opensolaris.zone", "nonglobal"),)
    assert nginx.variants == (("variant.arch", ("i386", "sparc")),)


def test_directory_without_default_publisher_needs_one_in_each_fmri() -> None:
    messages = load_errors(fleet_of(FIXTURES / "dir"))
    assert len(messages) == 2
    assert all("names no publisher" in m for m in messages)
    assert any(m.startswith(str(FIXTURES / "dir" / "lib" / "pcre.p5m") + ":1:") for m in messages)


def test_file_repository() -> None:
    catalog = load_catalog(fleet_of(FIXTURES / "repo"), use_cache=False)
    assert fmris(catalog) == [
        "pkg://test/SUNWaz@1.0,5.11:20100101T000000Z",
        "pkg://test/system/library@0.5.11,5.11-151046.0:20230101T000000Z",
        "pkg://test/system/library@0.5.11,5.11-151048.0:20231101T000000Z",
        "pkg://extra/web/server/nginx@1.25.3,5.11-151048.0:20231101T000000Z",
    ]
    sunwaz = catalog.versions("SUNWaz")[0]
    assert sunwaz.svr4 == Svr4Params(allzones=True)
    lib = catalog.versions("system/library")[0]
    assert lib.is_incorporation
    assert lib.where is not None and lib.where.path.endswith(
        "publisher/test/pkg/system%2Flibrary/0.5.11%2C5.11-151046.0%3A20230101T000000Z"
    )


def test_catalog1_directory() -> None:
    catalog = load_catalog(fleet_of(FIXTURES / "catalog1"), use_cache=False)
    assert fmris(catalog) == [
        "pkg://cat/compat/old@1.0,5.11-151046.0:20230101T000000Z",
        "pkg://cat/developer/gcc@13.2.0,5.11-151048.0:20231101T000000Z",
        "pkg://cat/developer/gcc@14.1.0,5.11-151050.0:20240501T000000Z",
    ]
    old, gcc13, gcc14 = catalog
    assert old.obsolete and not old.depends
    assert gcc13.variants == (("variant.arch", ("i386", "sparc")),)
    assert [str(d.fmri) for d in gcc13.depends] == [
        "pkg:/library/gmp@6.3",
        "pkg:/system/library@0.5.11",
    ]
    assert gcc13.depends[1].tags == (("variant.arch", "i386"),)
    assert [d.type for d in gcc14.depends] == [DepType.REQUIRE, DepType.OPTIONAL]
    # a catalog entry has no file actions: whether one needs a reboot is unknown
    assert {pkg.reboot_needed for pkg in catalog} == {None}
    assert gcc14.where == Location(
        str(FIXTURES / "catalog1" / "catalog.dependency.C"),
        context="publisher 'cat', package 'developer/gcc@14.1.0,5.11-151050.0:20240501T000000Z'",
    )


def test_inline_manifests() -> None:
    text = "set name=pkg.fmri value=pkg://local/site/config@1.0\ndepend type=require fmri=web/a\n"
    catalog = load_catalog(fleet_of(texts=(text,)), use_cache=False)
    (pkg,) = catalog
    assert str(pkg.fmri) == "pkg://local/site/config@1.0"
    assert pkg.where == Location("fleet.toml", 10)


def test_inline_manifest_needs_a_publisher() -> None:
    (message,) = load_errors(fleet_of(texts=("\nset name=pkg.fmri value=site/config@1.0\n",)))
    assert message.startswith("fleet.toml:11:")
    assert "names no publisher" in message


def test_inline_manifest_errors_point_into_the_fleet_file() -> None:
    (message,) = load_errors(fleet_of(texts=("set name=pkg.fmri value=pkg://a/b@1.0\nbogus x=1\n",)))
    assert message.startswith("fleet.toml:11:1:"), message


def test_fixture_fleet_loads_every_kind_together() -> None:
    catalog = load_catalog(load_fleet(FIXTURES / "fleets" / "host.toml"), use_cache=False)
    assert len(catalog) == 12
    assert {p.publisher for p in catalog} == {"omnios", "test", "extra", "cat", "local"}


def test_source_kinds() -> None:
    kinds = [source_kind(Source(str(FIXTURES / n))) for n in ("repo", "catalog1", "dir", "fleets")]
    assert kinds == ["repository", "catalog", "directory", "directory"]


# ---------------------------------------------------------------------------
# Broken sources


def test_missing_source_path(tmp_path: Path) -> None:
    fleet = parse_fleet('[[source]]\npath = "nowhere"\n[[image]]\nname = "gz"\n', str(tmp_path / "f.toml"))
    (message,) = load_errors(fleet)
    assert message == (
        f"{tmp_path}/f.toml:2:1: [[source]] #1, key 'path': {tmp_path}/nowhere: no such directory"
    )


def test_source_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "pkgs.p5m").write_text("set name=pkg.fmri value=pkg://a/b@1\n")
    (message,) = load_errors(fleet_of(tmp_path / "pkgs.p5m"))
    assert message.startswith("fleet.toml:1: ") and message.endswith("pkgs.p5m: not a directory")


def test_broken_manifests_in_a_directory_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "a.p5m").write_text("set name=pkg.fmri value=pkg://p/a@1.0\ndepend type=bogus fmri=b\n")
    (tmp_path / "b.p5m").write_text("set name=pkg.summary value=x\n")
    (tmp_path / "c.p5m").write_bytes(b"set name=pkg.fmri value=pkg://p/c@1.0\n\xff\n")
    (tmp_path / "d.p5m").write_text("set name=pkg.fmri value=pkg://p/d@1.0\n")
    messages = load_errors(fleet_of(tmp_path))
    assert len(messages) == 3, messages
    assert messages[0].startswith(f"{tmp_path}/a.p5m:2:")
    assert messages[1].startswith(f"{tmp_path}/b.p5m") and "pkg.fmri" in messages[1]
    assert messages[2] == f"{tmp_path}/c.p5m:2:1: not valid UTF-8"


@pytest.mark.skipif(not workers.can_fork(), reason="this platform cannot fork worker processes")
def test_parsing_in_workers_gives_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write(broken: bool) -> None:
        for i in range(12):
            dep = "type=bogus fmri=b" if broken and i == 5 else f"type=require fmri=pkg:/p{(i + 1) % 12}"
            text = f"set name=pkg.fmri value=pkg://p/p{i}@1.{i}\ndepend {dep}\n"
            (tmp_path / f"p{i:02}.p5m").write_text(text)

    def both() -> tuple[list[str], list[Package]]:
        write(broken=True)
        errors = load_errors(fleet_of(tmp_path))
        write(broken=False)
        return errors, list(load_catalog(fleet_of(tmp_path), use_cache=False))

    monkeypatch.setattr(sources, "_CHUNK", 100)  # one task: in this process
    serial_errors, serial = both()
    monkeypatch.setattr(sources, "_CHUNK", 2)  # six tasks: in worker processes
    parallel_errors, parallel = both()
    assert len(serial) == 12 and len(serial_errors) == 1
    assert serial_errors[0].startswith(f"{tmp_path}/p05.p5m:2:")
    assert parallel == serial and parallel_errors == serial_errors
    assert [p.where for p in parallel] == [p.where for p in serial]


def test_repository_manifest_must_match_its_path(tmp_path: Path) -> None:
    repo = copy_fixture("repo", tmp_path)
    path = repo / "publisher" / "test" / "pkg" / "SUNWaz" / "1.0%2C5.11%3A20100101T000000Z"
    path.write_text("set name=pkg.fmri value=pkg://test/SUNWaz@1.1,5.11:20100101T000000Z\n")
    (message,) = load_errors(fleet_of(repo))
    assert message.startswith(str(path) + ": ")
    assert "is for 'pkg://test/SUNWaz@1.1,5.11:20100101T000000Z'" in message
    assert "its path names 'pkg://test/SUNWaz@1.0,5.11:20100101T000000Z'" in message


def test_repository_manifest_from_another_publisher(tmp_path: Path) -> None:
    repo = copy_fixture("repo", tmp_path)
    path = repo / "publisher" / "test" / "pkg" / "SUNWaz" / "1.0%2C5.11%3A20100101T000000Z"
    path.write_text("set name=pkg.fmri value=pkg://other/SUNWaz@1.0,5.11:20100101T000000Z\n")
    (message,) = load_errors(fleet_of(repo))
    assert "names publisher 'other', its path 'test'" in message


def test_repository_manifest_without_publisher_takes_the_directory_one(tmp_path: Path) -> None:
    repo = copy_fixture("repo", tmp_path)
    path = repo / "publisher" / "test" / "pkg" / "SUNWaz" / "1.0%2C5.11%3A20100101T000000Z"
    path.write_text("set name=pkg.fmri value=SUNWaz@1.0,5.11:20100101T000000Z\n")
    catalog = load_catalog(fleet_of(repo), use_cache=False)
    assert str(catalog.versions("SUNWaz")[0].fmri) == "pkg://test/SUNWaz@1.0,5.11:20100101T000000Z"


def test_repository_without_publisher(tmp_path: Path) -> None:
    (tmp_path / "pkg5.repository").write_text("[repository]\nversion = 4\n")
    (message,) = load_errors(fleet_of(tmp_path))
    assert message == f"{tmp_path}/pkg5.repository: the repository has no publisher" + (
        " (no publisher/<name>/ directory)"
    )


def test_v3_repository_uses_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "pkg5.repository").write_text("[publisher]\nprefix = old\n")
    (tmp_path / "pkg" / "foo").mkdir(parents=True)
    (tmp_path / "pkg" / "foo" / "1.0%2C5.11").write_text("set name=pkg.fmri value=foo@1.0,5.11\n")
    catalog = load_catalog(fleet_of(tmp_path), use_cache=False)
    assert fmris(catalog) == ["pkg://old/foo@1.0,5.11"]


def test_unreadable_repository_config(tmp_path: Path) -> None:
    (tmp_path / "pkg5.repository").write_text("[publisher]\nprefix = a\n\nnot a line\n")
    (message,) = load_errors(fleet_of(tmp_path))
    assert message == f"{tmp_path}/pkg5.repository:4: not a valid pkg5.repository file"


def test_catalog_with_invalid_json(tmp_path: Path) -> None:
    cat = copy_fixture("catalog1", tmp_path)
    (cat / "catalog.base.C").write_text('{\n "cat": {\n  "a": [}\n}\n')
    (message,) = load_errors(fleet_of(cat))
    assert message == f"{cat}/catalog.base.C:3:9: invalid JSON: Expecting value"


def test_catalog_entries_with_missing_or_wrong_keys(tmp_path: Path) -> None:
    cat = copy_fixture("catalog1", tmp_path)
    base = {
        "cat": {
            "a": [{"signature-sha-1": "x"}, {"version": 5}, "1.0"],
            "b": {"version": "1.0"},
            "c": [{"version": "1.0"}],
        },
        "other": [],
    }
    (cat / "catalog.base.C").write_text(json.dumps(base))
    deps = {"cat": {"c": [{"version": "1.0", "actions": "depend type=require fmri=a"}]}}
    (cat / "catalog.dependency.C").write_text(json.dumps(deps))
    messages = load_errors(fleet_of(cat))
    base_path, dep_path = f"{cat}/catalog.base.C", f"{cat}/catalog.dependency.C"
    entry = f"{base_path}: publisher 'cat', package 'a', entry"
    assert messages == [
        f"{entry} #1: the entry is missing key 'version'",
        f"{entry} #2: the entry has a non-string 'version'",
        f"{entry} #3: an entry must be an object",
        f"{base_path}: publisher 'cat', package 'b': must be a list of version entries",
        f"{base_path}: publisher 'other': must be an object of packages",
        f"{dep_path}: publisher 'cat', package 'c@1.0': 'actions' must be a list of strings",
    ]


def test_catalog_action_errors_name_the_entry_and_action(tmp_path: Path) -> None:
    cat = copy_fixture("catalog1", tmp_path)
    doc = json.loads((cat / "catalog.dependency.C").read_text())
    doc["cat"]["developer/gcc"][1]["actions"][1] = "depend fmri=pkg:/x type=sometimes"
    (cat / "catalog.dependency.C").write_text(json.dumps(doc))
    (message,) = load_errors(fleet_of(cat))
    assert message.startswith(
        f"{cat}/catalog.dependency.C: publisher 'cat', "
        "package 'developer/gcc@14.1.0,5.11-151050.0:20240501T000000Z', action #2"
    ), message
    assert "sometimes" in message


def test_catalog_with_bad_version_and_missing_part(tmp_path: Path) -> None:
    cat = copy_fixture("catalog1", tmp_path)
    (cat / "catalog.base.C").write_text(json.dumps({"cat": {"a": [{"version": "1..0"}]}}))
    (message,) = load_errors(fleet_of(cat))
    assert message.startswith(f"{cat}/catalog.base.C: publisher 'cat', package 'a@1..0': bad FMRI")
    (cat / "catalog.dependency.C").unlink()
    (message,) = load_errors(fleet_of(cat))
    assert message == f"{cat}/catalog.dependency.C: the catalog has no catalog.dependency.C"


def test_catalog_of_another_version(tmp_path: Path) -> None:
    cat = copy_fixture("catalog1", tmp_path)
    (cat / "catalog.attrs").write_text(json.dumps({"version": 2}))
    (message,) = load_errors(fleet_of(cat))
    assert message == f"{cat}/catalog.attrs: not a version 1 catalog"


# ---------------------------------------------------------------------------
# Merging sources


def test_identical_duplicates_are_fine() -> None:
    text = "set name=pkg.fmri value=pkg://extra/web/server/nginx@1.25.3,5.11-151048.0:20231101T000000Z\n"
    text += "depend type=require fmri=library/pcre@8.45\n"
    catalog = load_catalog(fleet_of(FIXTURES / "repo", texts=(text,)), use_cache=False)
    assert len(catalog) == 4
    nginx = catalog.versions("web/server/nginx")[0]
    assert nginx.where is not None and "publisher/extra" in nginx.where.path  # the first wins


def test_conflicting_duplicates_name_both_places() -> None:
    text = "set name=pkg.fmri value=pkg://extra/web/server/nginx@1.25.3,5.11-151048.0:20231101T000000Z\n"
    (message,) = load_errors(fleet_of(FIXTURES / "repo", texts=(text,)))
    assert message.startswith("fleet.toml:10: 'pkg://extra/web/server/nginx@1.25.3")
    assert "defined twice with different content" in message
    assert "publisher/extra/pkg/web%2Fserver%2Fnginx" in message


def test_every_source_error_is_reported(tmp_path: Path) -> None:
    fleet = fleet_of(tmp_path / "a", tmp_path / "b", texts=("set name=pkg.fmri value=x@1\n",))
    assert len(load_errors(fleet)) == 3


def test_loaded_order_is_deterministic(tmp_path: Path) -> None:
    """The same files, created in opposite orders, give the same catalog."""
    files = sorted((FIXTURES / "dir").rglob("*.p5m"))
    for name, order in (("one", files), ("two", files[::-1])):
        for src in order:
            dest = tmp_path / name / src.relative_to(FIXTURES / "dir")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read_bytes())
    one = load_catalog(fleet_of(tmp_path / "one", publisher="omnios"), use_cache=False)
    two = load_catalog(fleet_of(tmp_path / "two", publisher="omnios"), use_cache=False)
    assert list(one) == list(two)
    packages = load_source(Source(str(tmp_path / "one"), "omnios"))
    assert [p.where.path for p in packages if p.where] == [
        str(tmp_path / "one" / rel)
        for rel in ("lib/pcre.p5m", "lib/zlib.p5m", "web/nginx-1.24.p5m", "web/nginx-1.25.p5m")
    ]


def test_progress_is_reported() -> None:
    calls: list[tuple[str, int, int]] = []
    load_catalog(
        fleet_of(FIXTURES / "dir", FIXTURES / "catalog1", publisher="omnios"),
        use_cache=False,
        progress=lambda *a: calls.append(a),
    )
    assert calls[0] == (f"reading {FIXTURES / 'dir'}", 0, 4)
    assert (f"reading {FIXTURES / 'dir'}", 4, 4) in calls
    assert calls[-1] == (f"reading {FIXTURES / 'catalog1'}", 3, 3)


# ---------------------------------------------------------------------------
# The cache


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.zsc"))


@pytest.mark.parametrize("kind", ["dir", "repo", "catalog1"])
def test_cache_hit_needs_no_parsing(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_fixture(kind, tmp_path)
    fleet = fleet_of(root, publisher="omnios")
    cache_dir = tmp_path / "cache"
    cold = load_catalog(fleet, cache_dir=cache_dir)
    assert len(entries(cache_dir)) == 1
    monkeypatch.setattr(manifest, "parse_package", None)
    monkeypatch.setattr(manifest, "parse_actions", None)
    warm = load_catalog(fleet, cache_dir=cache_dir)
    assert list(warm) == list(cold)
    assert [p.where for p in warm] == [p.where for p in cold]


def test_changed_file_is_a_miss(tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    fleet = fleet_of(root, publisher="omnios")
    cache_dir = tmp_path / "cache"
    load_catalog(fleet, cache_dir=cache_dir)
    zlib = root / "lib" / "zlib.p5m"
    zlib.write_text(zlib.read_text() + "depend type=require fmri=pkg:/library/pcre\n")
    os.utime(zlib, ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    catalog = load_catalog(fleet, cache_dir=cache_dir)
    assert len(catalog.versions("library/zlib")[0].depends) == 1
    before = entries(cache_dir)[0].read_bytes()
    (root / "lib" / "more.p5m").write_text("set name=pkg.fmri value=library/more@1.0\n")
    os.utime(root / "lib" / "more.p5m", ns=(OLD_NS, OLD_NS))
    assert "library/more" in load_catalog(fleet, cache_dir=cache_dir)
    assert len(entries(cache_dir)) == 1 and entries(cache_dir)[0].read_bytes() != before


def test_same_size_and_new_mtime_is_a_miss(tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    fleet = fleet_of(root, publisher="omnios")
    cache_dir = tmp_path / "cache"
    load_catalog(fleet, cache_dir=cache_dir)
    zlib = root / "lib" / "zlib.p5m"
    zlib.write_text(zlib.read_text().replace("1.3,", "1.4,"))
    os.utime(zlib, ns=(OLD_NS + 1, OLD_NS + 1))
    assert str(load_catalog(fleet, cache_dir=cache_dir).versions("library/zlib")[0].fmri.version).startswith(
        "1.4"
    )


def test_fresh_files_are_not_cached(tmp_path: Path) -> None:
    """A file written within the last seconds could change again unseen: no entry."""
    root = copy_fixture("dir", tmp_path)
    os.utime(root / "lib" / "zlib.p5m")  # now
    load_catalog(fleet_of(root, publisher="omnios"), cache_dir=tmp_path / "cache")
    assert entries(tmp_path / "cache") == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[:-10],
        lambda data: data[:60] + bytes([data[60] ^ 0xFF]) + data[61:],
        lambda data: b"garbage" + data,
        lambda data: data[:8] + bytes(32) + data[40:],
    ],
    ids=["empty", "truncated", "flipped-byte", "bad-magic", "wrong-digest"],
)
def test_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, damage: object) -> None:
    root = copy_fixture("dir", tmp_path)
    fleet = fleet_of(root, publisher="omnios")
    cache_dir = tmp_path / "cache"
    expected = list(load_catalog(fleet, cache_dir=cache_dir))
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))  # type: ignore[operator]
    assert list(load_catalog(fleet, cache_dir=cache_dir)) == expected
    assert entry.read_bytes()[:40] == good[:40]  # rewritten (same digest)
    assert Cache(cache_dir).load(entry, sources._inputs("directory", root)) is not None


def test_decodable_but_wrong_payload_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = tmp_path / "x.zsc"
    files = [("a.p5m", 1, OLD_NS)]
    assert cache.store(entry, files, [])
    data = entry.read_bytes()
    payload = b"\xe9\x00\x00\x00"  # marshal of a bare int: decodes, but is not a catalog
    entry.write_bytes(data[:40] + zlib.crc32(payload).to_bytes(4, "big") + payload)
    assert cache.load(entry, files) is None


def test_code_change_makes_entries_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_fixture("dir", tmp_path)
    fleet = fleet_of(root, publisher="omnios")
    cache_dir = tmp_path / "cache"
    load_catalog(fleet, cache_dir=cache_dir)
    files = sources._inputs("directory", root)
    (entry,) = entries(cache_dir)
    assert Cache(cache_dir).load(entry, files) is not None
    monkeypatch.setattr(cache_mod, "_code_digest", lambda: b"another parser")
    assert Cache(cache_dir).load(entry, files) is None


def test_publisher_and_kind_have_their_own_entries(tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    cache_dir = tmp_path / "cache"
    a = load_catalog(fleet_of(root, publisher="omnios"), cache_dir=cache_dir)
    b = load_catalog(fleet_of(root, publisher="other"), cache_dir=cache_dir)
    assert len(entries(cache_dir)) == 2
    assert {p.publisher for p in a} == {"omnios"} and "other" in {p.publisher for p in b}


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    root = copy_fixture("repo", tmp_path)
    load_catalog(fleet_of(root), cache_dir=tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".zsc")] == []
    assert len(entries(tmp_path / "cache")) == 1


def test_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    catalog = load_catalog(fleet_of(root, publisher="omnios"), cache_dir=blocker / "cache")
    assert len(catalog) == 4


def test_cache_location_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZONESOLVE_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("ZONESOLVE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "zonesolve"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "zonesolve"
    monkeypatch.setenv("ZONESOLVE_NO_CACHE", "1")
    assert default_cache_dir() is None


def test_default_cache_and_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    monkeypatch.setenv("ZONESOLVE_CACHE_DIR", str(tmp_path / "env-cache"))
    load_catalog(fleet_of(root, publisher="omnios"))
    assert len(entries(tmp_path / "env-cache")) == 1
    monkeypatch.setenv("ZONESOLVE_NO_CACHE", "1")
    load_catalog(fleet_of(root, publisher="omnios"), cache_dir=tmp_path / "explicit")
    assert not (tmp_path / "explicit").exists()
    monkeypatch.setenv("ZONESOLVE_NO_CACHE", "0")
    load_catalog(fleet_of(root, publisher="omnios"), cache_dir=tmp_path / "explicit", use_cache=False)
    assert not (tmp_path / "explicit").exists()


# ---------------------------------------------------------------------------
# The stored form


def test_codec_round_trip_keeps_every_field() -> None:
    catalog = load_catalog(load_fleet(FIXTURES / "fleets" / "host.toml"), use_cache=False)
    extra = Package(
        parse_fmri("pkg://p/svr4@1.0,5.11-1:20200101T000000Z"),
        (
            Dependency(DepType.CONDITIONAL, (parse_fmri("a@1"),), parse_fmri("pkg://q/b@2")),
            Dependency(
                DepType.REQUIRE_ANY,
                (parse_fmri("c"), parse_fmri("d@1")),
                root_image=True,
                tags=(("facet.x", "true"),),
            ),
        ),
        obsolete=True,
        renamed=True,
        install_hold="hold",
        explicit_install=True,
        svr4=Svr4Params(True, False, True, True),
        where=Location("f", 3, 4, "ctx"),
    )
    packages = [*catalog, extra, replace(extra, where=None, svr4=None)]
    decoded = decode_packages(encode_packages(packages))
    assert decoded == packages
    for got, want in zip(decoded, packages, strict=True):
        for f in fields(Package):
            assert getattr(got, f.name) == getattr(want, f.name)
        assert got.fmri.version is not None and want.fmri.version is not None
        assert got.fmri.version.text == want.fmri.version.text  # build release too


def test_codec_knows_every_model_field() -> None:
    """If the model grows a field that refers to another model object, the codec
    must learn it (plain values are stored as they are)."""
    assert [f.name for f in fields(Package)] == cache_mod._PKG
    referring = {"fmri", "depends", "svr4", "where"}
    plain = {"obsolete", "renamed", "variants", "install_hold", "explicit_install", "reboot_needed"}
    assert set(cache_mod._PKG) == referring | plain
    assert set(cache_mod._DEP) == {"type", "fmris", "predicate", "root_image", "tags"}
    assert set(cache_mod._FMRI) == {"stem", "version", "publisher"}
    assert set(cache_mod._VERSION) == {f.name for f in fields(Version)}
    assert Fmri.__dataclass_fields__.keys() == set(cache_mod._FMRI)


def test_decoded_objects_are_shared() -> None:
    fmri = parse_fmri("pkg:/library/pcre@8.45")
    dep = Dependency(DepType.REQUIRE, (fmri,))
    packages = [Package(parse_fmri(f"pkg://p/a{i}@1.0"), (dep,)) for i in range(3)]
    decoded = decode_packages(encode_packages(packages))
    assert decoded[0].depends[0] is decoded[2].depends[0]
    assert decoded[0].fmri.version is decoded[1].fmri.version


def test_directory_walk_skips_directory_links_and_other_files(tmp_path: Path) -> None:
    root = copy_fixture("dir", tmp_path)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "web" / "linked.p5m").symlink_to(root / "lib" / "zlib.p5m")
    (root / "web" / "skip.p5m.orig").write_text("not read\n")
    listed = [rel for rel, _, _ in sources._inputs("directory", root)]
    assert listed == [
        "lib/pcre.p5m",
        "lib/zlib.p5m",
        "web/linked.p5m",
        "web/nginx-1.24.p5m",
        "web/nginx-1.25.p5m",
    ]
    assert len(load_catalog(fleet_of(root, publisher="omnios"), use_cache=False)) == 4


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.os, "replace", fail)
    assert not Cache(tmp_path).store(tmp_path / "x.zsc", [("a.p5m", 1, OLD_NS)], [])
    assert list(tmp_path.iterdir()) == []
