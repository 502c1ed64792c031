"""Rendering packages back to manifest text: parse(render(pkg)) == pkg.

Testcases (resolver.testcase) carry the packages a run reached as inline
manifests; the solver must see exactly what it saw, so the renderer must
invert the parser on everything the model keeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.errors import InputError
from resolver.fmri import Fmri, Version, parse_version
from resolver.manifest import parse_package
from resolver.manifest_render import render_package, render_value
from resolver.model import Dependency, DepType, Package, Svr4Params

FIXTURES = Path(__file__).parent / "fixtures"

# -- strategies: what the parser can produce ------------------------------------------

_component = st.integers(0, 300).map(str)
_dotted = st.lists(_component, min_size=1, max_size=4).map(".".join)
_timestamp = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}{mo:02d}{d:02d}T{h:02d}{mi:02d}{s:02d}Z",
    st.integers(1990, 2099),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)


@st.composite
def versions(draw: st.DrawFn) -> Version:
    text = draw(_dotted)
    if draw(st.booleans()):
        text += "," + draw(_dotted)
    if draw(st.booleans()):
        text += "-" + draw(_dotted)
    if draw(st.booleans()):
        text += ":" + draw(_timestamp)
    return parse_version(text)


_segment = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_\-.+]{0,8}", fullmatch=True)
stems = st.lists(_segment, min_size=1, max_size=3).map("/".join)
publishers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,8}", fullmatch=True)
#: Attribute values: anything a manifest line can hold (no line breaks, no
#: build macro), quotes, backslashes, spaces and '=' included.
values = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    max_size=12,
).filter(lambda text: "$(" not in text)
tag_names = st.builds(
    lambda prefix, name: prefix + name,
    st.sampled_from(["variant.", "facet."]),
    st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True),
)


@st.composite
def fmris(draw: st.DrawFn, versioned: bool | None = None, publisher: bool | None = None) -> Fmri:
    has_version = draw(st.booleans()) if versioned is None else versioned
    has_publisher = draw(st.booleans()) if publisher is None else publisher
    return Fmri(
        draw(stems),
        draw(versions()) if has_version else None,
        draw(publishers) if has_publisher else None,
    )


@st.composite
def dependencies(draw: st.DrawFn) -> Dependency:
    kind = draw(st.sampled_from(list(DepType)))
    tags = draw(st.dictionaries(tag_names, values, max_size=3))
    return Dependency(
        kind,
        tuple(draw(st.lists(fmris(), min_size=1, max_size=3))),
        draw(fmris()) if kind is DepType.CONDITIONAL else None,
        kind is DepType.ORIGIN and draw(st.booleans()),
        tuple(sorted(tags.items())),
    )


@st.composite
def packages(draw: st.DrawFn) -> Package:
    variant_names = st.from_regex(r"variant\.[A-Za-z0-9_.\-]{1,12}", fullmatch=True)
    return Package(
        fmri=draw(fmris(versioned=True, publisher=True)),
        depends=tuple(draw(st.lists(dependencies(), max_size=5))),
        obsolete=draw(st.booleans()),
        renamed=draw(st.booleans()),
        variants=tuple(
            (name, tuple(vals))
            for name, vals in draw(
                st.lists(st.tuples(variant_names, st.lists(values, min_size=1, max_size=3)), max_size=3)
            )
        ),
        install_hold=draw(st.none() | values),
        explicit_install=draw(st.booleans()),
        svr4=draw(st.none() | st.builds(Svr4Params, st.booleans(), st.booleans(), st.booleans())),
        reboot_needed=draw(st.sampled_from([False, True, None])),
    )


# -- properties -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(packages())
def test_parse_of_render_is_the_package(pkg: Package) -> None:
    """Every field the model keeps survives, and the version text is kept as written."""
    text = render_package(pkg)
    back = parse_package(text)
    assert back == pkg, text
    assert str(back.fmri) == str(pkg.fmri)
    assert [str(f) for d in back.depends for f in d.fmris] == [str(f) for d in pkg.depends for f in d.fmris]
    assert render_package(back) == text


@given(values)
def test_values_round_trip(value: str) -> None:
    """A value, bare or quoted, reads back as itself."""
    text = (
        f"set name=pkg.fmri value=pkg://p/a@1\nset name=pkg.depend.install-hold value={render_value(value)}\n"
    )
    pkg = parse_package(text)
    assert pkg.install_hold == value


def test_line_breaks_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="line break"):
        render_value("a\nb")


@pytest.mark.parametrize("path", sorted((FIXTURES / "dir").rglob("*.p5m")), ids=lambda p: p.name)
def test_fixture_manifests_round_trip(path: Path) -> None:
    """Real-looking manifests (file actions and all) give back the same package."""
    pkg = parse_package(path.read_text(encoding="utf-8"), str(path), default_publisher="test")
    assert parse_package(render_package(pkg)) == pkg


# -- reboot-needed ------------------------------------------------------------------------


def test_reboot_needed_from_file_actions() -> None:
    """An action with reboot-needed=true marks the package; the stated form overrides."""
    head = "set name=pkg.fmri value=pkg://p/kernel@1\n"
    drv = "file 0123 path=kernel/drv/foo reboot-needed=true\n"
    assert parse_package(head).reboot_needed is False
    assert parse_package(head + drv).reboot_needed is True
    assert parse_package(head + "file 0123 path=etc/x reboot-needed=false\n").reboot_needed is False
    assert (
        parse_package(head + drv + "set name=zonesolve.reboot-needed value=unknown\n").reboot_needed is None
    )
    assert parse_package(head + "set name=zonesolve.reboot-needed value=false\n" + drv).reboot_needed is False


def test_bad_reboot_needed_statement() -> None:
    with pytest.raises(InputError, match="true, false or unknown"):
        parse_package("set name=pkg.fmri value=pkg://p/a@1\nset name=zonesolve.reboot-needed value=maybe\n")


# -- real manifests -------------------------------------------------------------------------


def test_pkg5_test_suite_packages_round_trip() -> None:
    """Every package of pkg(5)'s test suites (../shared/corpus: their pkgsend
    transactions, file actions and all) renders to text that parses to the
    same package. (The corpus' source manifests are parsed by test_corpus.)"""
    from test_corpus import CORPUS, _pkgsend_packages

    if not CORPUS.is_dir():
        pytest.skip(f"the manifest corpus is not here: {CORPUS}")
    packages = [pkg for _, _, pkg in _pkgsend_packages() if isinstance(pkg, Package)]
    assert len(packages) > 2000
    bad = [str(pkg.fmri) for pkg in packages if parse_package(render_package(pkg)) != pkg]
    assert not bad, bad[:20]
    assert any(pkg.reboot_needed for pkg in packages)
