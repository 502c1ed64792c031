"""Writing a Fleet as fleet-file TOML (resolver.fleet_toml): it reads back as the same fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolver.errors import Location
from resolver.fleet import load_fleet, parse_fleet
from resolver.fleet_toml import fleet_to_toml
from resolver.fmri import parse_fmri
from resolver.model import Brand, Fleet, Image, InlineManifest, Publisher, Source

FIXTURES = Path(__file__).parent / "fixtures"


def read_back(fleet: Fleet, comments: tuple[str, ...] = ()) -> Fleet:
    return parse_fleet(fleet_to_toml(fleet, comments), "/somewhere/fleet.toml")


def same(a: Fleet, b: Fleet) -> bool:
    return (a.images, a.sources, a.manifests) == (b.images, b.sources, b.manifests)


@pytest.mark.parametrize("path", [FIXTURES / "fleets" / "host.toml", Path("manifests/demo-fleet.toml")])
def test_fleet_files_round_trip(path: Path) -> None:
    fleet = load_fleet(path)
    assert same(read_back(fleet), fleet)


TEXTS = [
    "set name=pkg.fmri value=pkg://p/a@1.0\n",
    "set name=pkg.fmri value=pkg://p/a@1.0\nset name=pkg.summary value='it''s \"quoted\" \\\\ here'\n",
    "set name=pkg.fmri value=pkg://p/a@1.0\nset name=pkg.summary value=\"'''triple'''\"\n",
    "set name=pkg.fmri value=pkg://p/a@1.0\nset name=pkg.summary value=caf\u00e9\u2603\tend'",
    'set name=pkg.fmri value=pkg://p/a@1.0\nset name=pkg.summary value="del\x7f and \x01 bell"\r\n',
]


@pytest.mark.parametrize("text", TEXTS)
def test_manifest_texts_survive_every_quoting_hazard(text: str) -> None:
    image = Image("global", (Publisher("p"),))
    manifest = InlineManifest(text, Location("db", None, None, "installed package a"))
    fleet = Fleet("x", (image,), (), (manifest,))
    back = read_back(fleet)
    assert [m.text for m in back.manifests] == [text]


def test_images_sources_and_comments() -> None:
    gz = Image(
        "global",
        (Publisher("omnios"), Publisher("extra", sticky=False)),
        variants=(("variant.arch", "i386"), ("variant.opensolaris.zone", "global")),
        facets=(("facet.locale.*", False), ('facet.odd"name', True)),
        installed=(parse_fmri("pkg://omnios/web/curl@8.1.2,5.11-151046.0:20230501T000000Z"),),
        frozen=("web/curl@8.1",),
        avoid=("terminal/screen", "x/y"),
    )
    zone = Image("web1", (Publisher("omnios"),), parent="global", brand=Brand.SPARSE)
    fleet = Fleet("x", (gz, zone), (Source("/abs/catalog"), Source("/abs/dir", "omnios")))
    text = fleet_to_toml(fleet, ("first line", "two\nlines", ""))
    assert text.startswith("# first line\n# two\n# lines\n#\n\n[[source]]\n")
    assert same(parse_fleet(text, "/elsewhere/f.toml"), fleet)
