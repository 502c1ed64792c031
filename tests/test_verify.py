"""The independent verifier on hand-made plans: what it accepts and what it flags.

Every plan the planner makes passes through it (resolver.api.plan); these
cases pin the rules it checks that planned outcomes rarely break: an avoided
package may be removed, any other installed package may not be removed
without cause, and an explicit-install package comes in only by name, or
into a linked zone when it must match the global zone and the global zone
has it.
"""

from __future__ import annotations

from resolver.catalog import Catalog
from resolver.manifest import parse_package
from resolver.model import Brand, Fleet, Image, Package, Publisher
from resolver.patterns import StemIndex
from resolver.problem import Request
from resolver.verify import Verifier

SELF = "depend type=parent fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal"
EXPLICIT = "set name=pkg.depend.explicit-install value=true"


def pkg(short: str, *actions: str) -> Package:
    text = "\n".join([f"set name=pkg.fmri value=pkg://test/{short},5.11-0", *actions]) + "\n"
    return parse_package(text, f"<{short}>", "test")


def problems(
    images: list[Image],
    packages: list[Package],
    requests: dict[str, Request],
    after: dict[str, list[Package]],
) -> list[str]:
    """The verifier's findings for a plan that ends with ``after`` per image."""
    catalog = Catalog(packages)
    fleet = Fleet("fleet.toml", tuple(images))
    before = {i.name: catalog.installed(i.installed) for i in images}
    final = {**before, **{name: {p.stem: p for p in pkgs} for name, pkgs in after.items()}}
    verifier = Verifier(fleet, catalog, StemIndex(catalog.stems()), requests, before, final, final)
    return verifier.run(jobs=1)


def image(name: str, installed: list[Package], **kw: object) -> Image:
    return Image(name, (Publisher("test"),), installed=tuple(p.fmri for p in installed), **kw)  # type: ignore[arg-type]


B, D, X = pkg("B@1.0"), pkg("D@1.0", "depend type=require fmri=B"), pkg("X@1.0")
UNINSTALL_D = {"global": Request("uninstall", remove=frozenset({"D"}))}


def test_an_avoided_package_may_be_removed() -> None:
    gz = image("global", [B, D, X], avoid=("B",))
    found = problems([gz], [B, D, X], UNINSTALL_D, {"global": [X]})
    assert found == []


def test_a_package_not_avoided_may_not_be_removed() -> None:
    gz = image("global", [B, D, X])
    found = problems([gz], [B, D, X], UNINSTALL_D, {"global": [X]})
    assert found == [f"image global: {B.fmri} was removed, but nothing allows its removal"]


def test_naming_an_avoided_package_takes_it_off_the_avoid_list() -> None:
    gz = image("global", [B], avoid=("B",))
    request = Request("install", {"X": [X]})
    assert problems([gz], [B, X], {"global": request}, {"global": [X]}) == []
    request = Request("update", {"B": [B]})
    found = problems([gz], [B, X], {"global": request}, {"global": []})
    assert f"image global: {B.fmri} was removed, but nothing allows its removal" in found


Y_SYNCED, Y_FREE = pkg("y@1.0", EXPLICIT, SELF), pkg("y@1.0", EXPLICIT)
APP = pkg("app@1.0", "depend type=require fmri=y")


def zone_case(y: Package, gz_after: list[Package], brand: Brand = Brand.LIPKG) -> list[str]:
    gz = image("global", [])
    z1 = image("z1", [], parent="global", brand=brand)
    requests = {"global": Request("install", {"y": [y]}), "z1": Request("install", {"app": [APP]})}
    return problems([gz, z1], [y, APP], requests, {"global": gz_after, "z1": [APP, y]})


def test_explicit_install_follows_the_parent_into_a_linked_zone() -> None:
    assert zone_case(Y_SYNCED, [Y_SYNCED]) == []


def test_explicit_install_is_flagged_where_nothing_allows_it() -> None:
    flagged = f"image z1: {Y_FREE.fmri} is explicit-install but was neither requested nor installed"
    assert zone_case(Y_FREE, [Y_FREE]) == [flagged]  # no self parent dependency
    assert any("explicit-install" in p for p in zone_case(Y_SYNCED, [], Brand.IPKG))  # not a linked zone
