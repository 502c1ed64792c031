"""The fleet file: docs/interfaces.md's format, and an error for every mistake.

Every error must name the file, the table and the key (and the line where
the text shows it).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import shared_dir

from resolver.errors import InputError, InputErrors
from resolver.fleet import SCENARIO_KEYS, load_fleet, parse_fleet, parse_fleet_document
from resolver.fmri import parse_fmri
from resolver.model import Brand, Publisher

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = sorted((shared_dir() / "scenarios").glob("*.toml"))

GLOBAL = """
[[image]]
name = "global"
publishers = ["omnios"]
"""


def errors(text: str, path: str = "/etc/zones/fleet.toml") -> list[str]:
    """The messages of every error in a fleet text (it must have some)."""
    with pytest.raises(InputError) as info:
        parse_fleet(textwrap.dedent(text), path)
    err = info.value
    return [e.message for e in err.errors] if isinstance(err, InputErrors) else [err.message]


def only_error(text: str) -> str:
    found = errors(text)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------
# A valid fleet


def test_fixture_fleet_loads_every_field() -> None:
    fleet = load_fleet(FIXTURES / "fleets" / "host.toml")
    assert [s.path for s in fleet.sources] == [
        str((FIXTURES / name).resolve()) for name in ("dir", "repo", "catalog1")
    ]
    assert [s.publisher for s in fleet.sources] == ["omnios", None, None]
    assert len(fleet.manifests) == 1
    assert fleet.manifests[0].text.startswith("set name=pkg.fmri value=pkg://local/site/config")
    assert fleet.manifests[0].where is not None and fleet.manifests[0].where.line == 14
    gz = fleet.global_zone
    assert gz.name == "global" and gz.brand is None
    assert gz.publishers == (
        Publisher("omnios"),
        Publisher("test", sticky=False),
        Publisher("cat"),
        Publisher("local"),
    )
    assert gz.variants == (("variant.arch", "i386"),)
    assert gz.facets == (("facet.doc", False),)
    assert gz.installed == (
        parse_fmri("pkg://omnios/web/server/nginx@1.24.0,5.11-151046.0:20230501T000000Z"),
    )
    assert gz.frozen == ("web/server/nginx@1.24",)
    assert gz.avoid == ("compat/old",)
    web1 = fleet.image("web1")
    assert web1.parent == "global" and web1.brand is Brand.LIPKG and web1.linked
    assert web1.where is not None and web1.where.line == 27
    assert web1.where.context == '[[image]] #2 "web1"'


def test_relative_source_paths_are_resolved_against_the_fleet_file(tmp_path: Path) -> None:
    fleet = parse_fleet('[[source]]\npath = "repo/../pkgs"\n' + GLOBAL, str(tmp_path / "f.toml"))
    assert fleet.sources[0].path == str((tmp_path / "pkgs").resolve())
    absolute = parse_fleet(f'[[source]]\npath = "{tmp_path}"\n' + GLOBAL, "/elsewhere/f.toml")
    assert absolute.sources[0].path == str(tmp_path)


def test_minimal_fleet_has_defaults() -> None:
    fleet = parse_fleet('[[image]]\nname = "gz"\n', "f.toml")
    assert fleet.sources == () and fleet.manifests == ()
    image = fleet.global_zone
    assert image.publishers == () and image.installed == () and image.variants == ()


def test_variant_and_facet_names_get_their_prefix_and_dotted_keys_flatten() -> None:
    fleet = parse_fleet(
        """
        [[image]]
        name = "gz"
        variants = { arch = "sparc", variant.debug = "true" }
        facets = { doc = true, facet.devel = false }
        """.replace("\n        ", "\n"),
        "f.toml",
    )
    gz = fleet.global_zone
    assert gz.variants == (("variant.arch", "sparc"), ("variant.debug", "true"))
    assert gz.facets == (("facet.devel", False), ("facet.doc", True))


def test_global_zone_may_be_native() -> None:
    fleet = parse_fleet(GLOBAL.replace('name = "global"', 'name = "global"\nbrand = "native"'), "f")
    assert fleet.global_zone.brand is Brand.NATIVE


# ---------------------------------------------------------------------------
# Each validation error names file, table and key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'colour = "red"\n' + GLOBAL,
            ["fleet.toml:1:1", "top level", "key 'colour'", "unknown key"],
            id="unknown-top-level-key",
        ),
        pytest.param(
            '[[source]]\npath = "x"\nrecursive = true\n' + GLOBAL,
            ["fleet.toml:3:1", "[[source]] #1", "key 'recursive'", "unknown key"],
            id="unknown-source-key",
        ),
        pytest.param(
            '[[manifest]]\ntext = "set name=pkg.fmri value=pkg://p/a@1"\nfile = "a.p5m"\n' + GLOBAL,
            ["fleet.toml:3:1", "[[manifest]] #1", "key 'file'", "unknown key"],
            id="unknown-manifest-key",
        ),
        pytest.param(
            GLOBAL + 'brnad = "ipkg"\n',
            ["fleet.toml:5:1", '[[image]] #1 "global"', "key 'brnad'", "did you mean 'brand'"],
            id="unknown-image-key",
        ),
        pytest.param(
            GLOBAL.replace('["omnios"]', '[{ name = "omnios", stiky = false }]'),
            ["fleet.toml:4:1", '[[image]] #1 "global"', "key 'publishers' [1]", "'stiky'"],
            id="unknown-publisher-table-key",
        ),
        pytest.param(
            '[[source]]\npublisher = "p"\n' + GLOBAL,
            ["fleet.toml:1", "[[source]] #1", "missing key 'path'"],
            id="source-without-path",
        ),
        pytest.param(
            "[[source]]\npath = 5\n" + GLOBAL,
            ["fleet.toml:2:1", "[[source]] #1", "key 'path'", "must be a string, not an integer"],
            id="source-path-type",
        ),
        pytest.param(
            '[[source]]\npath = "x"\npublisher = "not valid"\n' + GLOBAL,
            ["fleet.toml:3:1", "[[source]] #1", "key 'publisher'", "not a valid publisher name"],
            id="source-publisher-name",
        ),
        pytest.param(
            "[[manifest]]\ntext = ['set']\n" + GLOBAL,
            ["fleet.toml:2:1", "[[manifest]] #1", "key 'text'", "must be a string, not an array"],
            id="manifest-text-type",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "other"\n',
            ["fleet.toml:5", '[[image]] #2 "other"', "a second global zone"],
            id="two-global-zones",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "z1"\nparent = "globl"\nbrand = "ipkg"\n',
            ["fleet.toml:7:1", '[[image]] #2 "z1"', "key 'parent'", 'unknown parent image "globl"'],
            id="unknown-parent",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "z1"\nparent = "z1"\nbrand = "ipkg"\n',
            ["fleet.toml:7:1", '[[image]] #2 "z1"', "key 'parent'", "parent cycle: z1 -> z1"],
            id="parent-cycle-self",
        ),
        pytest.param(
            GLOBAL
            + '[[image]]\nname = "z1"\nparent = "global"\nbrand = "lipkg"\n'
            + '[[image]]\nname = "z2"\nparent = "z1"\nbrand = "lipkg"\n',
            ["fleet.toml:11:1", '[[image]] #3 "z2"', "key 'parent'", '"z1" is itself a zone', "do not nest"],
            id="nested-zone",
        ),
        pytest.param(
            GLOBAL
            + '[[image]]\nname = "z2"\nparent = "z1"\nbrand = "ipkg"\n'
            + '[[image]]\nname = "z1"\nparent = "global"\nbrand = "sparse"\n',
            ["fleet.toml:7:1", '[[image]] #2 "z2"', "key 'parent'", '"z1" is itself a zone'],
            id="nested-zone-parent-listed-later",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "z1"\nparent = "global"\nbrand = "solaris10"\n',
            ["fleet.toml:8:1", '[[image]] #2 "z1"', "key 'brand'", "unknown brand 'solaris10'"],
            id="unknown-brand",
        ),
        pytest.param(
            GLOBAL.replace('name = "global"', 'name = "global"\nbrand = "lipkg"'),
            ["fleet.toml:4:1", '[[image]] #1 "global"', "key 'brand'", "native or absent"],
            id="global-zone-brand",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "z1"\nparent = "global"\n',
            ["fleet.toml:5", '[[image]] #2 "z1"', "missing key 'brand'"],
            id="zone-without-brand",
        ),
        pytest.param(
            GLOBAL + '[[image]]\nname = "global"\nparent = "global"\nbrand = "ipkg"\n',
            ["fleet.toml:6:1", '[[image]] #2 "global"', "key 'name'", "duplicate image name"],
            id="duplicate-image-name",
        ),
        pytest.param(
            GLOBAL + 'installed = ["pkg://omnios/web/nginx@1..2"]\n',
            ["fleet.toml:5:15", '[[image]] #1 "global"', "key 'installed' [1]", "bad FMRI"],
            id="installed-malformed",
        ),
        pytest.param(
            GLOBAL + 'installed = ["pkg:/web/nginx@1.2"]\n',
            ["fleet.toml:5:15", "key 'installed' [1]", "names no publisher"],
            id="installed-without-publisher",
        ),
        pytest.param(
            GLOBAL + 'installed = ["pkg://omnios/web/nginx"]\n',
            ["fleet.toml:5:15", "key 'installed' [1]", "names no version"],
            id="installed-without-version",
        ),
        pytest.param(
            GLOBAL + 'installed = [\n  "pkg://omnios/a@1.0",\n  "pkg://extra/a@2.0",\n]\n',
            ["fleet.toml:7:4", "key 'installed' [2]", "installs 'a' twice"],
            id="installed-same-stem-twice",
        ),
        pytest.param(
            GLOBAL + "installed = [1]\n",
            [
                "fleet.toml:5:1",
                "key 'installed' [1]",
                "must hold non-empty strings, not an integer",
            ],
            id="installed-type",
        ),
        pytest.param(
            GLOBAL + 'installed = "pkg://omnios/a@1.0"\n',
            ["fleet.toml:5:1", "key 'installed'", "must be an array of strings, not a string"],
            id="installed-not-array",
        ),
        pytest.param(
            GLOBAL.replace('["omnios"]', '["omnios", "omnios"]'),
            ["fleet.toml:4:1", "key 'publishers' [2]", "listed twice"],
            id="publisher-twice",
        ),
        pytest.param(
            GLOBAL.replace('["omnios"]', '[{ name = "x", sticky = "no" }]'),
            ["fleet.toml:4:1", "key 'publishers' [1]", "'sticky' must be a boolean"],
            id="publisher-sticky-type",
        ),
        pytest.param(
            GLOBAL.replace('["omnios"]', "[{ sticky = false }]"),
            ["fleet.toml:4:1", "key 'publishers' [1]", "needs a 'name'"],
            id="publisher-table-without-name",
        ),
        pytest.param(
            GLOBAL.replace('["omnios"]', '"omnios"'),
            ["fleet.toml:4:1", "key 'publishers'", "must be an array, not a string"],
            id="publishers-type",
        ),
        pytest.param(
            GLOBAL + 'facets = { "facet.doc" = "no" }\n',
            ["fleet.toml:5:13", "key 'facets'", "'facet.doc' must be true or false"],
            id="facet-value-type",
        ),
        pytest.param(
            GLOBAL + 'variants = { "variant.arch" = 64 }\n',
            ["fleet.toml:5:15", "key 'variants'", "'variant.arch' must be a non-empty string"],
            id="variant-value-type",
        ),
        pytest.param(
            GLOBAL + 'variants = ["variant.arch"]\n',
            ["fleet.toml:5:1", "key 'variants'", "must be a table, not an array"],
            id="variants-type",
        ),
        pytest.param(
            GLOBAL + 'frozen = ["web/nginx@1.*"]\n',
            ["fleet.toml:5:12", "key 'frozen' [1]", "wildcards must be a whole field"],
            id="frozen-bad-version",
        ),
        pytest.param(
            GLOBAL + 'avoid = [""]\n',
            ["fleet.toml:5:1", "key 'avoid' [1]", "not an empty string"],
            id="avoid-empty",
        ),
        pytest.param(
            GLOBAL + "name = 'again'\n",
            ["fleet.toml:5:1", "Cannot overwrite a value"],
            id="toml-duplicate-key",
        ),
        pytest.param(
            GLOBAL + "[[image]\n",
            ["fleet.toml:5:8", "Expected ']]'"],
            id="toml-syntax",
        ),
        pytest.param(
            GLOBAL + "avoid = [\n",
            ["fleet.toml:5:10", "Invalid value at end of file"],
            id="toml-syntax-at-end",
        ),
        pytest.param(
            'image = "global"\n',
            ["fleet.toml:1:1", "top level", "key 'image'", "array of tables ([[image]])"],
            id="image-not-array-of-tables",
        ),
    ],
)
def test_each_validation_error_names_file_table_and_key(text: str, expected: list[str]) -> None:
    message = only_error(text)
    assert message.startswith("/etc/zones/fleet.toml"), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_parent_cycle_is_reported_once() -> None:
    text = GLOBAL + "".join(
        f'[[image]]\nname = "{a}"\nparent = "{b}"\nbrand = "ipkg"\n'
        for a, b in [("z1", "z2"), ("z2", "z3"), ("z3", "z1"), ("z4", "z1")]
    )
    assert errors(text) == [
        "/etc/zones/fleet.toml:7:1: [[image]] #2 \"z1\", key 'parent': parent cycle: z1 -> z2 -> z3 -> z1"
    ]


def test_no_global_zone() -> None:
    found = errors(
        '[[image]]\nname = "z1"\nparent = "z2"\nbrand = "ipkg"\n'
        '[[image]]\nname = "z2"\nparent = "z1"\nbrand = "ipkg"\n'
    )
    assert found == [
        "/etc/zones/fleet.toml: [[image]]: no global zone: every [[image]] has a parent "
        "(exactly one must have none)",
        "/etc/zones/fleet.toml:3:1: [[image]] #1 \"z1\", key 'parent': parent cycle: z1 -> z2 -> z1",
    ]


def test_all_errors_are_collected() -> None:
    found = errors(
        """
        extra = 1
        [[image]]
        name = "global"
        brand = "ipkg"
        installed = ["pkg:/a@1"]
        [[image]]
        name = "z"
        parent = "nowhere"
        brand = "bad"
        """
    )
    assert len(found) == 5, found
    assert any("key 'extra'" in e for e in found)
    assert any("native or absent" in e for e in found)
    assert any("names no publisher" in e for e in found)
    assert any("unknown parent" in e for e in found)
    assert any("unknown brand 'bad'" in e for e in found)


def test_input_errors_carry_their_location() -> None:
    with pytest.raises(InputError) as info:
        parse_fleet(GLOBAL + 'brand = "x"\n', "f.toml")
    location = info.value.location
    assert location is not None
    assert (location.path, location.line, location.column) == ("f.toml", 5, 1)
    assert location.context == "[[image]] #1 \"global\", key 'brand'"
    assert info.value.reason.startswith("unknown brand 'x'")


# ---------------------------------------------------------------------------
# Files and scenarios


def test_cached_parse_gives_the_same_fleet(tmp_path: Path) -> None:
    fleet_file, cache = tmp_path / "fleet.toml", tmp_path / "cache"
    fleet_file.write_text((FIXTURES / "fleets" / "host.toml").read_text())
    first = load_fleet(fleet_file, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1
    assert load_fleet(fleet_file, cache_dir=cache) == first == load_fleet(fleet_file)


def test_cache_is_keyed_by_content_and_survives_damage(tmp_path: Path) -> None:
    fleet_file, cache = tmp_path / "fleet.toml", tmp_path / "cache"
    fleet_file.write_text(GLOBAL)
    load_fleet(fleet_file, cache_dir=cache)
    fleet_file.write_text(GLOBAL.replace("omnios", "extra"))  # same size, new content
    assert load_fleet(fleet_file, cache_dir=cache).images[0].publishers[0].name == "extra"
    for entry in cache.iterdir():
        entry.write_bytes(b"garbage")
    assert load_fleet(fleet_file, cache_dir=cache).images[0].publishers[0].name == "extra"


def test_errors_keep_their_position_when_the_parse_is_cached(tmp_path: Path) -> None:
    fleet_file, cache = tmp_path / "fleet.toml", tmp_path / "cache"
    fleet_file.write_text(GLOBAL + 'brand = "x"\n')
    for _ in range(2):  # parsed, then from the cache
        with pytest.raises(InputError, match=r"fleet\.toml:5:1: .*unknown brand 'x'"):
            load_fleet(fleet_file, cache_dir=cache)


def test_missing_fleet_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.toml: cannot read: No such file"):
        load_fleet(tmp_path / "nope.toml")


def test_fleet_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b'[[image]]\nname = "gl\xffobal"\n')
    with pytest.raises(InputError, match=r"f\.toml:2:11: not valid UTF-8"):
        load_fleet(path)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_loads(path: Path) -> None:
    fleet, extras = parse_fleet_document(
        path.read_text(encoding="utf-8"), str(path), extra_keys=SCENARIO_KEYS
    )
    assert fleet.images and fleet.manifests
    assert {"name", "about", "source", "operation", "expect"} <= set(extras)
    assert isinstance(extras["source"], str) and fleet.sources == ()


def test_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 30


def test_scenario_keys_are_errors_unless_asked_for() -> None:
    text = 'name = "x"\nsource = "pkg5 tests"\n[operation]\nverb = "install"\n' + GLOBAL
    found = errors(text)
    assert len(found) == 3, found
    assert "top level, key 'name': unknown key" in found[0]
    assert "top level, key 'operation': unknown key" in found[1]
    assert "top level, key 'source': must be an array of tables ([[source]])" in found[2]
    fleet, extras = parse_fleet_document(text, "s.toml", extra_keys=SCENARIO_KEYS)
    assert extras == {"name": "x", "source": "pkg5 tests", "operation": {"verb": "install"}}
    assert fleet.global_zone.name == "global"


def test_scenario_may_still_have_source_tables() -> None:
    text = '[[source]]\npath = "/srv/pkgs"\n' + GLOBAL
    fleet, extras = parse_fleet_document(text, "s.toml", extra_keys=SCENARIO_KEYS)
    assert [s.path for s in fleet.sources] == ["/srv/pkgs"] and extras == {}


def test_positions_skip_multiline_strings() -> None:
    """Lines inside a manifest's text never count as tables or keys."""
    text = (
        "[[manifest]]\n"
        "text = '''\n"
        "[[image]]\n"
        "brand = 'x'\n"
        "'''\n"
        "[[image]]  # the global zone\n"
        'name = "global"\n'
        'brand = "bad"\n'
    )
    (message,) = errors(text)
    assert message.startswith("/etc/zones/fleet.toml:8:1: [[image]] #1 \"global\", key 'brand'")
    fleet = parse_fleet(text.replace('"bad"', '"native"'), "f.toml")
    assert fleet.manifests[0].where is not None and fleet.manifests[0].where.line == 3
    assert fleet.global_zone.where is not None and fleet.global_zone.where.line == 6
