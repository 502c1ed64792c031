"""Solaris 10 SVR4 zone rules for native zones: which zones an operation reaches.

A package's SUNW_PKG_ALLZONES / THISZONE / HOLLOW / INTERACTIVE parameters
decide where pkgadd, pkgrm and patchadd put it (the standing rules, "ALLZONES
packages are in every zone at the global zone's version" and "a package in
the global zone and a zone is at one version", are clauses:
resolver.encode.zones).
"""

from __future__ import annotations

from collections.abc import Sequence

from resolver.errors import InputError, NotAllowedError
from resolver.model import Brand, Fleet, Image, Package, Svr4Params


def params(versions: Sequence[Package]) -> Svr4Params:
    """The parameters of the newest matched version (defaults if none are set)."""
    for pkg in reversed(versions):
        if pkg.svr4 is not None:
            return pkg.svr4
    return Svr4Params()


def check_params(pkg: Package) -> None:
    """Reject parameter combinations Solaris does not allow."""
    p = pkg.svr4
    if p is None:
        return
    if p.hollow and not p.allzones:
        raise InputError(f"{pkg.fmri}: SUNW_PKG_HOLLOW=true requires SUNW_PKG_ALLZONES=true", pkg.where)
    if p.thiszone and p.allzones:
        raise InputError(
            f"{pkg.fmri}: SUNW_PKG_THISZONE=true cannot be combined with SUNW_PKG_ALLZONES=true",
            pkg.where,
        )


def native_zones(fleet: Fleet) -> list[Image]:
    return [i for i in fleet.images if i.parent is not None and i.brand is Brand.NATIVE]


def install_targets(
    fleet: Fleet, where: Image, stem: str, versions: Sequence[Package], global_only: bool
) -> list[str]:
    """Images a pkgadd of ``stem`` run in ``where`` installs it into."""
    for pkg in versions:
        check_params(pkg)
    p = params(versions)
    if not where.is_global:
        if p.allzones:
            raise NotAllowedError(
                f"{stem} has SUNW_PKG_ALLZONES=true: it can only be added from the global zone",
                image=where.name,
            )
        return [where.name]
    if global_only:
        if p.allzones:
            raise NotAllowedError(
                f"{stem} has SUNW_PKG_ALLZONES=true: it cannot be added to the global zone only (-G)",
                image=where.name,
            )
        return [where.name]
    return _reach(fleet, where, global_only or p.thiszone or p.interactive)


def remove_targets(
    fleet: Fleet, where: Image, stem: str, versions: Sequence[Package], global_only: bool
) -> list[str]:
    """Images a pkgrm of ``stem`` run in ``where`` removes it from."""
    p = params(versions)
    if p.allzones and (global_only or not where.is_global):
        raise NotAllowedError(
            f"{stem} has SUNW_PKG_ALLZONES=true: it cannot be removed from "
            + ("the global zone alone (-G)" if where.is_global else "a non-global zone alone"),
            image=where.name,
        )
    return _reach(fleet, where, global_only)


def patch_targets(
    fleet: Fleet, where: Image, stem: str, versions: Sequence[Package], global_only: bool
) -> list[str]:
    """Images patchadd of ``stem`` applies to (each still only where installed)."""
    for pkg in versions:
        check_params(pkg)
    p = params(versions)
    if p.allzones and (global_only or not where.is_global):
        raise NotAllowedError(
            f"patch of {stem}: SUNW_PKG_ALLZONES=true packages can only be patched from the "
            "global zone, in every zone (without -G)",
            image=where.name,
        )
    return _reach(fleet, where, global_only)


def _reach(fleet: Fleet, where: Image, this_zone_only: bool) -> list[str]:
    """The image itself (a zone, -G, THISZONE, interactive); else the global
    zone and every native zone."""
    if not where.is_global or this_zone_only:
        return [where.name]
    return [where.name, *(z.name for z in native_zones(fleet))]
