"""From one command line to what it asks of each image (ips-semantics 8.5).

The image the command runs in gets the operation. From the global zone,
linked zones chosen by ``-r`` (narrowed by ``-z``/``-Z``) run the same
operation, ignoring patterns they have nothing installed for; every other
linked or native zone is synced (only what parent dependencies and zone rules
constrain moves); ipkg zones are independent images and are left alone. In
a Solaris 10 fleet the SVR4 parameters decide which zones pkgadd, pkgrm and
patchadd reach (resolver.svr4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from resolver.catalog import Catalog
from resolver.errors import InputError, MatchError, NotAllowedError, UsageError
from resolver.model import Brand, Fleet, Image, Operation, Package, Verb
from resolver.patterns import StemIndex, match_packages, parse_pattern
from resolver.problem import Request
from resolver.svr4 import install_targets, native_zones, patch_targets, remove_targets


def run_image(fleet: Fleet, op: Operation) -> Image:
    """The image the command runs in."""
    if op.image is None:
        return fleet.global_zone
    try:
        return fleet.image(op.image)
    except KeyError:
        names = ", ".join(i.name for i in fleet.images)
        raise InputError(f"no image named '{op.image}' in {fleet.path} (images: {names})") from None


def is_svr4(fleet: Fleet, image: Image) -> bool:
    """Solaris 10 rules apply: a native zone, or a global zone with native zones."""
    return image.brand is Brand.NATIVE or (image.is_global and bool(native_zones(fleet)))


def check_scope(fleet: Fleet, op: Operation, here: Image) -> None:
    """Flags and verbs that do not apply where the command runs: a flag is a
    UsageError (exit 2), a request a NotAllowedError (exit 1)."""
    if not here.planned:
        assert here.brand is not None
        raise UsageError(f"--image {here.name}: a {here.brand.value} zone has no pkg(5) image to plan")
    svr4 = is_svr4(fleet, here)
    if op.global_only and not svr4:
        synced = " (without -r, linked zones are only synced)" if here.is_global else ""
        raise UsageError(
            f"-G is Solaris 10's pkgadd/patchadd -G (global zone only): it does not apply to "
            f"image '{here.name}', a pkg(5) image{synced}"
        )
    if op.verb is Verb.PATCH and not svr4:
        raise NotAllowedError(
            f"patch is Solaris 10 patchadd, for SVR4 packages: image '{here.name}' is a pkg(5) image; "
            f"use 'zonesolve update {' '.join(op.args)}' to move IPS packages to a version",
            image=here.name,
        )
    for name in (*op.only_zones, *op.skip_zones):
        zone = next((i for i in fleet.images if i.name == name), None)
        if zone is None:
            raise UsageError(f"no image named '{name}' in {fleet.path}")
        why = _not_reached(fleet, here, zone)
        if why:
            flag = "-z" if name in op.only_zones else "-Z"
            raise UsageError(f"{flag} {name}: {why}; -r reaches only linked zones (lipkg, sparse, pkgsrc)")


def _not_reached(fleet: Fleet, here: Image, zone: Image) -> str | None:
    """Why ``-r`` cannot reach ``zone`` from ``here``, or None if it can."""
    if zone.parent != here.name:
        return f"'{zone.name}' is not a zone of image '{here.name}'"
    if zone.linked:
        return None
    assert zone.brand is not None
    if zone.brand is Brand.IPKG:
        return (
            f"zone '{zone.name}' is an ipkg zone: ipkg zones are independent images, not linked ones "
            f"(plan it with --image {zone.name})"
        )
    if zone.brand is Brand.NATIVE:
        return f"zone '{zone.name}' is a Solaris 10 native zone (the SVR4 rules decide what reaches it)"
    return f"zone '{zone.name}' is a {zone.brand.value} zone, which has no pkg(5) image"


def build_requests(fleet: Fleet, catalog: Catalog, index: StemIndex, op: Operation) -> dict[str, Request]:
    """Image name -> its request. Images absent from the result do not change."""
    here = run_image(fleet, op)
    if op.verb is not Verb.AUDIT:
        check_scope(fleet, op, here)
    rejects = frozenset(s for text in op.reject for s in index.lookup(parse_pattern(text)))
    if op.verb is Verb.AUDIT:
        return {}
    if op.verb is Verb.ATTACH:
        if here.is_global:
            raise InputError("attach runs in a zone: give --image ZONE")
        return {here.name: Request("sync", reject=rejects)}
    if is_svr4(fleet, here) and op.verb in (Verb.INSTALL, Verb.UNINSTALL, Verb.PATCH):
        requests = _svr4_requests(fleet, catalog, index, op, here, rejects)
    else:
        requests = {here.name: _ips_request(catalog, index, op, here, rejects)}
    if here.is_global:
        for zone in fleet.children(here.name):
            if zone.name not in requests and (zone.linked or zone.brand is Brand.NATIVE):
                requests[zone.name] = _zone_request(catalog, index, op, zone, rejects, requests[here.name])
    return requests


def _ips_request(
    catalog: Catalog, index: StemIndex, op: Operation, image: Image, rejects: frozenset[str]
) -> Request:
    installed = frozenset(f.stem for f in image.installed)
    if op.verb is Verb.INSTALL:
        proposed = match_packages(op.args, catalog, index, rejected=rejects)
        return Request("install", proposed, reject=rejects, proposed_by=_by(op.args, proposed))
    if op.verb in (Verb.UPDATE, Verb.PATCH):
        if not op.args:
            return Request("update", update_all=True, reject=rejects)
        proposed = match_packages(op.args, catalog, index, installed_stems=installed, rejected=rejects)
        return Request("update", proposed, reject=rejects, proposed_by=_by(op.args, proposed))
    if op.verb is Verb.UNINSTALL:
        matched = match_packages(op.args, catalog, index, installed_stems=installed)
        return Request("uninstall", remove=frozenset(matched), reject=rejects)
    raise AssertionError(op.verb)


def _zone_request(
    catalog: Catalog,
    index: StemIndex,
    op: Operation,
    zone: Image,
    rejects: frozenset[str],
    parent: Request,
) -> Request:
    """A zone under a global-zone operation: the same operation with -r, else a sync."""
    chosen = op.recursive and zone.linked and _selected(op, zone.name)
    if not chosen:
        return Request("sync", reject=rejects)
    installed = frozenset(f.stem for f in zone.installed)
    if parent.kind == "install":
        return Request("install", dict(parent.proposed), reject=rejects, proposed_by=parent.proposed_by)
    if parent.update_all:
        return Request("update", update_all=True, reject=rejects)
    if parent.kind == "update":
        proposed = {s: v for s, v in parent.proposed.items() if s in installed}
        return (
            Request("update", proposed, reject=rejects, proposed_by=parent.proposed_by)
            if proposed
            else Request("sync", reject=rejects)
        )
    remove = parent.remove & installed
    return Request("uninstall", remove=remove, reject=rejects) if remove else Request("sync", reject=rejects)


def _selected(op: Operation, name: str) -> bool:
    if op.only_zones and name not in op.only_zones:
        return False
    return name not in op.skip_zones


def _by(patterns: Sequence[str], proposed: dict[str, list[Package]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in patterns:
        pattern = parse_pattern(text)
        for stem in proposed:
            if pattern.matches_stem(stem):
                out.setdefault(stem, text)
    return out


Targets = Callable[[Fleet, Image, str, Sequence[Package], bool], list[str]]


def _svr4_requests(
    fleet: Fleet,
    catalog: Catalog,
    index: StemIndex,
    op: Operation,
    here: Image,
    rejects: frozenset[str],
) -> dict[str, Request]:
    """pkgadd / pkgrm / patchadd in a Solaris 10 fleet."""
    if op.verb is Verb.PATCH:
        for text in op.args:
            if "@" not in text:
                raise InputError(f"patch needs a version: {text!r} (write PKG@VERSION)")
    matched = match_packages(op.args, catalog, index, rejected=rejects)
    kind, targets_of = {
        Verb.INSTALL: ("install", install_targets),
        Verb.UNINSTALL: ("uninstall", remove_targets),
        Verb.PATCH: ("update", patch_targets),
    }[op.verb]
    requests: dict[str, Request] = {}
    reached = False
    for stem, versions in sorted(matched.items()):
        for name in targets_of(fleet, here, stem, versions, op.global_only):
            image = fleet.image(name)
            has = any(f.stem == stem for f in image.installed)
            if kind != "install" and not has:
                continue  # pkgrm and patchadd act only where the package is installed
            reached = True
            req = requests.setdefault(name, Request(kind, reject=rejects))
            if kind == "uninstall":
                req.remove = req.remove | {stem}
            else:
                req.proposed[stem] = list(versions)
                req.proposed_by[stem] = next(
                    (t for t in op.args if parse_pattern(t).matches_stem(stem)), stem
                )
    if not reached:
        raise MatchError(f"{' '.join(op.args)}: not installed in image '{here.name}' or any zone it reaches")
    requests.setdefault(here.name, Request("sync", reject=rejects))
    return requests
