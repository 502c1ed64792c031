"""Writing fleet files (resolver.fleet_toml.fleet_to_toml): what is written reads back the same.

Hypothesis: random images (any text in names, patterns and variant values),
sources, manifest texts (quotes, backslashes, triple quotes, control
characters) and comments (control characters too).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_manifest_render import _dotted, fmris, publishers, stems

from resolver.fleet import parse_fleet
from resolver.fleet_toml import fleet_to_toml
from resolver.model import Brand, Fleet, Image, InlineManifest, Publisher, Source

#: Text a fleet file may hold in its strings: anything but surrogates (TOML is UTF-8).
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10).filter(str.strip)
#: Source paths: any text but NUL (no file name holds one).
paths = text.filter(lambda t: "\x00" not in t)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,10}", fullmatch=True)


@st.composite
def images(draw: st.DrawFn, name: str, parent: str | None) -> Image:
    pubs = draw(st.lists(publishers, min_size=1, max_size=3, unique=True))
    installed = {f.stem: f for f in draw(st.lists(fmris(versioned=True, publisher=True), max_size=4))}
    variants = draw(
        st.dictionaries(st.from_regex(r"variant\.[a-z.\-]{1,8}", fullmatch=True), text, max_size=2)
    )
    facets = draw(
        st.dictionaries(st.from_regex(r"facet\.[a-z./\-]{1,8}", fullmatch=True), st.booleans(), max_size=2)
    )
    brand = None if parent is None else draw(st.sampled_from(list(Brand)))
    if brand is not None and not brand.planned:  # no pkg(5) image: a name, a parent, a brand
        return Image(name=name, publishers=(), parent=parent, brand=brand)
    return Image(
        name=name,
        publishers=tuple(Publisher(p, draw(st.booleans())) for p in pubs),
        parent=parent,
        brand=brand,
        variants=tuple(sorted(variants.items())),
        facets=tuple(sorted(facets.items())),
        installed=tuple(installed.values()),
        frozen=tuple(draw(st.lists(st.builds(lambda s, v: f"{s}@{v}", stems, _dotted), max_size=2))),
        avoid=tuple(draw(st.lists(stems, max_size=2))),  # package patterns, checked when read
    )


@st.composite
def fleets(draw: st.DrawFn) -> tuple[Image, ...]:
    zone_names = draw(st.lists(names.filter(lambda n: n != "global"), max_size=3, unique=True))
    return (draw(images("global", None)), *(draw(images(n, "global")) for n in zone_names))


@settings(max_examples=100, deadline=None)
@given(fleets(), st.lists(st.tuples(paths, st.none() | publishers), max_size=2), st.lists(text, max_size=3))
def test_written_fleet_reads_back(
    written: tuple[Image, ...], sources: list[tuple[str, str | None]], comments: list[str]
) -> None:
    fleet = Fleet(
        "/somewhere/fleet.toml", written, tuple(Source("/" + p.strip("/"), pub) for p, pub in sources)
    )
    back = parse_fleet(fleet_to_toml(fleet, comments), "/somewhere/fleet.toml")
    assert back.images == written
    assert back.sources == tuple(Source(str(Path(s.path).resolve()), s.publisher) for s in fleet.sources)


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_manifest_text_survives_toml(manifest: str) -> None:
    """Quotes, backslashes, triple quotes, control characters: the text comes back as written."""
    fleet = Fleet(
        "/f.toml", (Image("global", (Publisher("p"),)),), manifests=(InlineManifest(manifest + "x"),)
    )
    assert parse_fleet(fleet_to_toml(fleet), "/f.toml").manifests[0].text == manifest + "x"
