"""One pkg(5) image on disk (resolver.image_root): each format it reads, and its errors.

The images are those of tests/fixtures/make_image_roots.py (the demo host in
pkg(5)'s layout), read as they are or changed one file at a time.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from resolver.errors import InputError
from resolver.fleet import load_fleet
from resolver.image_root import read_image
from tests.fixtures.make_image_roots import DEMO_FLEET

DEMO = {image.name: image for image in load_fleet(DEMO_FLEET).images}


def gz_dir(root: Path) -> Path:
    return root / "var" / "pkg"


def zone_root(root: Path, name: str) -> Path:
    return root / "zones" / name / "root"


def error_of(root: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_image(root)
    return info.value


def set_config(root: Path, text: str) -> None:
    """Replace pkg5.image with ``text``, keeping the image's state."""
    (gz_dir(root) / "pkg5.image").write_text(text)


# ---------------------------------------------------------------------------
# The images as built: the same content as the demo fleet states


@pytest.mark.parametrize(("name", "version"), [("global", 4), ("web1", 4), ("web2", 5), ("db1", 5)])
def test_installed_frozen_avoid_match_the_demo_fleet(image_host: Path, name: str, version: int) -> None:
    root = image_host / "host"
    image = read_image(root if name == "global" else zone_root(root, name))
    want = DEMO[name]
    assert image.version == version
    assert sorted(map(str, image.installed)) == sorted(map(str, want.installed))
    assert image.frozen == want.frozen
    assert image.avoid == want.avoid
    assert [(p.name, p.sticky) for p in image.publishers] == [(p.name, p.sticky) for p in want.publishers]
    assert dict(image.facets) == dict(want.facets)
    assert dict(image.variants)["variant.arch"] == "i386"


def test_format_4_reads_the_installed_catalog_as_a_catalog_source(image_host: Path) -> None:
    image = read_image(image_host / "host")
    assert image.state_catalog is not None
    assert image.state_catalog.path == str(gz_dir(image_host / "host") / "state" / "installed")
    assert image.state_manifests == ()


def test_format_5_gives_installed_packages_with_their_dependency_actions(image_host: Path) -> None:
    image = read_image(zone_root(image_host / "host", "db1"))
    assert image.state_catalog is None
    texts = {m.text.splitlines()[0]: m.text for m in image.state_manifests}
    assert len(texts) == len(image.installed)
    pg = next(t for head, t in texts.items() if "/database/postgresql@1.0" in head)
    assert "depend type=require-any" in pg
    assert "set name=pkg.summary" not in pg  # the summary part is not needed to solve


def test_publisher_catalogs_are_the_cached_copies(image_host: Path) -> None:
    image = read_image(image_host / "host")
    omnios = image.publishers[0]
    assert omnios.catalog == gz_dir(image_host / "host") / "publisher" / "omnios" / "catalog"
    assert omnios.origins == ("https://pkg.omnios.org/r151046/core/",)
    assert (omnios.catalog / "catalog.attrs").is_symlink()  # into origins/<sha1>/, as pkg(5) links it


def test_linked_data_of_a_lipkg_zone(image_host: Path) -> None:
    image = read_image(zone_root(image_host / "host", "web1"))
    assert image.linked is not None
    assert image.linked.name == "zone:web1"
    assert image.linked.parent_publishers == (("omnios", True), ("extra", False))
    assert sorted(image.linked.parent_packages or ()) == sorted(map(str, DEMO["global"].installed))
    assert read_image(zone_root(image_host / "host", "build1")).linked is None


# ---------------------------------------------------------------------------
# pkg5.image


CONFIG = """\
[image]
version = 4

[property]
publisher-search-order = ['zeta', 'gone', 'omnios']
use-system-repo = False

[variant]
variant.arch = i386
variant.opensolaris.zone = global
variant.example%2Fslashed = yes

[facet]
facet.version-lock.web%2Fcurl = False
facet.doc.man = True
facet.locale.* = false

[inherited_facet]
facet.doc.man = False

[authority_omnios]
prefix = omnios
sticky = True
disabled = False
origins = ['https://pkg.omnios.org/r151046/core/']

[authority_extra]
prefix = extra
sticky = False
origins = []
origin = http://old.example/extra/

[authority_beta]
prefix = beta
disabled = True

[authority_alpha]
prefix = alpha

[authority_zeta]
prefix = zeta
sticky = false

[CONFIGURATION]
version = 3
"""


def test_search_order_stickiness_and_disabled_publishers(host_copy: Path) -> None:
    set_config(host_copy, CONFIG)
    image = read_image(host_copy)
    # listed ones first (unknown 'gone' dropped), the rest by name; disabled beta left out
    assert [p.name for p in image.publishers] == ["zeta", "omnios", "alpha", "extra"]
    sticky = {p.name: p.sticky for p in image.publishers}
    assert sticky == {"zeta": False, "omnios": True, "alpha": True, "extra": False}
    extra = next(p for p in image.publishers if p.name == "extra")
    assert extra.origins == ("http://old.example/extra/",)  # an old client's single 'origin'


def test_variant_and_facet_names_are_unquoted_and_inherited_facets_win(host_copy: Path) -> None:
    set_config(host_copy, CONFIG)
    image = read_image(host_copy)
    assert dict(image.variants) == {
        "variant.arch": "i386",
        "variant.opensolaris.zone": "global",
        "variant.example/slashed": "yes",
    }
    assert dict(image.facets) == {
        "facet.version-lock.web/curl": False,
        "facet.doc.man": False,  # inherited from the parent: masks the local True
        "facet.locale.*": False,
    }


def test_a_missing_variant_arch_is_a_note(host_copy: Path) -> None:
    set_config(host_copy, CONFIG.replace("variant.arch = i386\n", ""))
    assert any("no variant.arch" in note for note in read_image(host_copy).notes)


def test_system_repository_images_get_a_note(host_copy: Path) -> None:
    set_config(host_copy, CONFIG.replace("use-system-repo = False", "use-system-repo = True"))
    assert any("system repository" in note for note in read_image(host_copy).notes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version = 4", "version = 3"), ":2: [image] version: image format version 3: zonesolve reads"),
        (("version = 4", "version = four"), ":2: [image] version: the image version must be a number"),
        (("[image]\nversion = 4\n", "[image]\n"), ": no [image] version"),
        (("sticky = True", "sticky = maybe"), ":23: [authority_omnios] sticky: must be True or False"),
        (("facet.doc.man = True", "facet.doc.man = yes"), ":15: [facet] facet.doc.man: must be True or"),
        (("facet.locale.* = false", "locale.all = false"), ":16: [facet] locale.all: 'locale.all' is not a"),
        (("variant.arch = i386", "arch = i386"), ":9: [variant] arch: 'arch' is not a variant name"),
        (("origins = []", "origins = ['a',"), ":30: [authority_extra] origins: not a list of strings"),
        (("prefix = alpha", "prefix = al pha"), ":38: [authority_alpha] prefix: 'al pha' is not a valid"),
        (("[variant]\n", "[variant]\njunk\n"), ":9: not a 'key = value' line: 'junk'"),
        (
            ("[variant]\n", "[variant]\nvariant.arch = sparc\n"),
            ":10: option 'variant.arch' in section 'variant' already exists",
        ),
        (("[image]", "version = 4\n[image]"), ":1: not an image configuration: no [section] header"),
    ],
)
def test_config_errors_name_the_file_and_line(host_copy: Path, change: tuple[str, str], message: str) -> None:
    set_config(host_copy, CONFIG.replace(*change, 1))
    err = error_of(host_copy)
    assert err.message.startswith(str(gz_dir(host_copy) / "pkg5.image") + message), err.message


def test_not_an_image(tmp_path: Path) -> None:
    err = error_of(tmp_path)
    assert err.message == f"{tmp_path}/var/pkg/pkg5.image: not a pkg(5) image: this file is missing"
    message = error_of(tmp_path / "nowhere").message
    assert message == f"{tmp_path}/nowhere: no such directory (an image root holds var/pkg)"


def test_an_old_image_format_is_named(tmp_path: Path) -> None:
    (tmp_path / "var" / "pkg").mkdir(parents=True)
    (tmp_path / "var" / "pkg" / "cfg_cache").write_text("[image]\nversion = 3\n")
    assert "cfg_cache: an image of format 3 or older" in error_of(tmp_path).message


# ---------------------------------------------------------------------------
# Installed state


def test_format_4_catalog_errors_come_from_the_catalog_reader(host_copy: Path) -> None:
    base = gz_dir(host_copy) / "state" / "installed" / "catalog.base.C"
    base.write_text('{"omnios":{"SUNWcs":[{"version":"0.5.11,5.11-151046.0:20230501T000000Z"}],')
    assert error_of(host_copy).message.startswith(f"{base}:1:")


def test_format_4_installing_a_stem_twice_is_an_error(host_copy: Path) -> None:
    installed = gz_dir(host_copy) / "state" / "installed"
    base = json.loads((installed / "catalog.base.C").read_text())
    base["omnios"]["SUNWcs"].append({"version": "0.5.11,5.11-151054.0:20250505T000000Z"})
    (installed / "catalog.base.C").write_text(json.dumps(base))
    assert "'SUNWcs' is installed twice" in error_of(host_copy).message


def _db(root: Path) -> Path:
    return zone_root(root, "web2") / "var" / "pkg" / "state" / "catalog.db"


def test_format_5_empty_database(host_copy: Path) -> None:
    _db(host_copy).write_bytes(b"")
    err = error_of(zone_root(host_copy, "web2"))
    why = "state database schema version 0 (an empty or foreign file); zonesolve reads 1"
    assert err.message == f"{_db(host_copy)}: {why}"


def test_format_5_incomplete_database(host_copy: Path) -> None:
    con = sqlite3.connect(_db(host_copy))
    con.execute("DELETE FROM meta WHERE name = 'complete'")
    con.commit()
    con.close()
    assert "the state database is incomplete" in error_of(zone_root(host_copy, "web2")).message


def test_format_5_not_a_database(host_copy: Path) -> None:
    _db(host_copy).write_text("SQLite format 3? no, just text\n" * 100)
    err = error_of(zone_root(host_copy, "web2"))
    assert err.message.startswith(f"{_db(host_copy)}: ")
    assert "database" in err.message


def test_format_5_installed_flag_decides(host_copy: Path) -> None:
    con = sqlite3.connect(_db(host_copy))
    con.execute("UPDATE packages SET installed = 0 WHERE stem = 'web/curl'")
    con.commit()
    con.close()
    image = read_image(zone_root(host_copy, "web2"))
    assert "web/curl" not in image.installed_stems()
    assert len(image.installed) == len(DEMO["web2"].installed) - 1


# ---------------------------------------------------------------------------
# Frozen and avoided packages


def _state(root: Path) -> Path:
    return gz_dir(root) / "state"


@pytest.mark.parametrize(
    ("fmri", "pattern"),
    [
        ("pkg:/web/server/haproxy@2.8", "web/server/haproxy@2.8"),
        (
            "pkg://extra/web/server/haproxy@2.8.1,5.11-151046.0:20230501T000000Z",
            "web/server/haproxy@2.8.1,5.11-151046.0:20230501T000000Z",
        ),
        ("web/server/haproxy@2.8,5.11", "web/server/haproxy@2.8,5.11"),
        ("pkg:/web/server/haproxy", "web/server/haproxy"),
    ],
)
def test_frozen_fmris_become_patterns(host_copy: Path, fmri: str, pattern: str) -> None:
    (_state(host_copy) / "frozen_dict").write_text(json.dumps([1, {"web/server/haproxy": [fmri, "why", 0]}]))
    assert read_image(host_copy).frozen == (pattern,)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[2, {}]", "frozen_dict version 2: zonesolve reads version 1"),
        ('{"a": 1}', "not a pkg(5) frozen_dict file (want [1, {stem: [fmri, comment, time]}])"),
        ('[1, {"x": [7, null, 0]}]', "package 'x': the frozen FMRI must be a string, not 7"),
        ('[1, {"x": ["pkg:/x@1..2", null, 0]}]', "package 'x': bad release '1..2'"),
        ('[1, {"x": ', "invalid JSON: Expecting value"),
    ],
)
def test_frozen_dict_errors(host_copy: Path, content: str, message: str) -> None:
    path = _state(host_copy) / "frozen_dict"
    path.write_text(content)
    err = error_of(host_copy)
    assert err.message.startswith(str(path)), err.message
    assert message in err.message


def test_only_explicit_avoids_count(host_copy: Path) -> None:
    entries = {"a/one": "avoid", "b/two": "implicit-avoid", "c/three": "obsolete", "d/four": "avoid"}
    (_state(host_copy) / "avoid_set").write_text(json.dumps([1, entries]))
    assert read_image(host_copy).avoid == ("a/one", "d/four")


def test_avoid_set_errors(host_copy: Path) -> None:
    path = _state(host_copy) / "avoid_set"
    path.write_text(json.dumps([1, {"a/one": "shun"}]))
    expected = "avoid, implicit-avoid, obsolete"
    assert error_of(host_copy).message == (
        f"{path}: package 'a/one': unknown avoid kind 'shun' (expected one of: {expected})"
    )
    path.write_text(json.dumps([3, {}]))
    assert error_of(host_copy).message == f"{path}: avoid_set version 3: zonesolve reads version 1"


def test_no_state_files_no_freezes(host_copy: Path) -> None:
    (_state(host_copy) / "frozen_dict").unlink()
    (_state(host_copy) / "avoid_set").unlink()
    image = read_image(host_copy)
    assert (image.frozen, image.avoid) == ((), ())


def test_linked_data_errors(host_copy: Path) -> None:
    linked = zone_root(host_copy, "web1") / "var" / "pkg" / "linked"
    (linked / "linked_ppkgs").write_text('{"not": "a list"}')
    assert error_of(zone_root(host_copy, "web1")).message == f"{linked / 'linked_ppkgs'}: must be a JSON list"
    shutil.rmtree(linked)
    assert read_image(zone_root(host_copy, "web1")).linked is None
