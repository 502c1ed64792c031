"""A host as pkg(5) and zoneadm keep it: an image root and its zones, as a ``Fleet``.

``read_host(ROOT)`` reads the global zone's image at ``ROOT`` and the zones
configured under ``ROOT/etc/zones`` (or listed in saved ``zoneadm list -cp``
output), each zone's image at ``ROOT/ZONEPATH/root``. The result is the same
``model.Fleet`` a fleet file gives, so the planner needs nothing else:

- images: the global zone (named ``global``) and every installed zone pkg(5)
  manages. Which zones those are follows pkg5's ``linkedimage/zone.py``:
  zones of the brands lipkg, sparse and pkgsrc (and Solaris's solaris,
  labeled and sn1, planned as lipkg) are linked children, but only when the
  global zone is a global image with ``etc/zones`` and ``system/zones`` (or
  SUNWzoner and SUNWzoneu) installed; ipkg zones are independent images.
  Zones of brands without a pkg(5) image (bhyve, kvm, lx, emu, illumos,
  solaris10, native), zones not installed, and unknown brands are left out,
  each with a note.
- sources: every publisher's cached catalog of every image (catalogs that are
  byte-for-byte the same are read once), and the images' installed-package
  state (format 4: the ``state/installed`` catalog; format 5: the state
  database's entries, as inline manifests), so that an installed package is
  known even when no publisher offers it any more (pkg(5) keeps it in its
  known catalog for the same reason).

Notes are things a person should know but that do not stop planning: skipped
zones, publishers never refreshed, a linked zone whose record of the global
zone (``var/pkg/linked``) disagrees with the global zone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from resolver.cache import Cache
from resolver.errors import InputError, Location
from resolver.image_root import IMAGE_DIR, ImageRoot, read_image
from resolver.model import Brand, Fleet, Image, InlineManifest, Publisher, Source
from resolver.zones import Zone, read_zone_config, read_zoneadm_list

__all__ = ["GLOBAL_ZONE", "Host", "read_host"]

GLOBAL_ZONE = "global"

#: Brands pkg(5) links to the global zone (zone.py _list_zones), as zonesolve's brands.
LINKED_BRANDS = {
    "lipkg": Brand.LIPKG,
    "sparse": Brand.SPARSE,
    "pkgsrc": Brand.PKGSRC,
    "solaris": Brand.LIPKG,
    "labeled": Brand.LIPKG,
    "sn1": Brand.LIPKG,
}
#: Brands whose zone is an IPS image that pkg(5) does not link (OmniOS ipkg).
INDEPENDENT_BRANDS = {"ipkg": Brand.IPKG}
#: Brands with no pkg(5) image inside (OmniOS's brand list, Solaris's solaris10).
NO_IMAGE_BRANDS = {
    "bhyve": "a bhyve virtual machine",
    "kvm": "a KVM virtual machine",
    "emu": "an emulated machine",
    "lx": "a Linux zone",
    "illumos": "an illumos zone installed from an image, not by pkg(5)",
    "solaris10": "a Solaris 10 zone of SVR4 packages",
    "native": "a zone of SVR4 packages",
}
#: Packages that make an image able to have zone children (zone.py __zone_pkgs).
ZONE_PACKAGES = (frozenset({"system/zones"}), frozenset({"SUNWzoner", "SUNWzoneu"}))


@dataclass(frozen=True, slots=True)
class Host:
    """The fleet read from a host, and the notes about what was left out or odd."""

    fleet: Fleet
    notes: tuple[str, ...]


def _zones_supported(root: Path, gz: ImageRoot, listed: bool) -> str | None:
    """Why pkg(5) would link no zones to this global zone (zone.py __zones_supported), or None."""
    if gz.zone_variant != "global":
        return f"the image at {root} is not a global zone (variant.opensolaris.zone={gz.zone_variant})"
    if not listed and not (root / "etc" / "zones").is_dir():
        return f"{root / 'etc' / 'zones'} does not exist"
    stems = gz.installed_stems()
    if not any(pkgs <= stems for pkgs in ZONE_PACKAGES):
        return "system/zones is not installed in the global zone"
    return None


def _zone_root(root: Path, zone: Zone, listed: bool) -> Path:
    """``ROOT/ZONEPATH/root``. ``zoneadm -R ROOT list`` prints zonepaths with ROOT in front."""
    zonepath = zone.zonepath
    prefix = str(root).rstrip("/") + "/"
    if listed and prefix != "/" and zonepath.startswith(prefix):
        zonepath = zonepath[len(prefix) - 1 :]
    return root / zonepath.lstrip("/") / "root"


def _zone_image(root: Path, zone: Zone, image_root: Path, cache: Cache | None) -> ImageRoot:
    """A zone's image, with an error that says which zone when it is not one."""
    imgdir = image_root / IMAGE_DIR
    if not (imgdir / "pkg5.image").is_file() and not (imgdir / "cfg_cache").is_file():
        msg = (
            f"zone {zone.name} ({zone.brand}, {zone.state}, {zone.where}) has no pkg(5) image "
            f"at its root: this file is missing (is the zone's root file system mounted?)"
        )
        raise InputError(msg, Location(str(imgdir / "pkg5.image")))
    return read_image(image_root, cache=cache)


def _skip_reason(zone: Zone, linking: str | None) -> str | None:
    """Why a zone is not planned, or None if it is."""
    if not zone.installed:
        return f"{zone.state}, not installed"
    if zone.brand in NO_IMAGE_BRANDS:
        return f"brand {zone.brand} ({NO_IMAGE_BRANDS[zone.brand]}) has no pkg(5) image"
    if zone.brand in LINKED_BRANDS:
        return f"brand {zone.brand}, but pkg(5) links no zones: {linking}" if linking else None
    if zone.brand in INDEPENDENT_BRANDS:
        return None
    return f"brand {zone.brand} is not one pkg(5) manages"


def _linked_notes(zone: Zone, image: ImageRoot, gz: ImageRoot) -> list[str]:
    """Cross-checks of a linked zone's var/pkg/linked against the global zone."""
    linked = image.linked
    if linked is None:
        directory = image.root / IMAGE_DIR / "linked"
        return [f"zone {zone.name}: no linked-image data ({directory}): is it attached?"]
    notes = []
    if linked.name != f"zone:{zone.name}":
        notes.append(f"zone {zone.name}: its linked_prop names it {linked.name!r}, not 'zone:{zone.name}'")
    if linked.parent_packages is not None:
        have = {str(f) for f in gz.installed}
        differ = len(have.symmetric_difference(linked.parent_packages))
        if differ:
            notes.append(
                f"zone {zone.name}: its record of the global zone's packages (linked_ppkgs) differs "
                f"in {differ} place(s); zonesolve plans against the global zone's own state"
            )
    pubs = tuple((p.name, p.sticky) for p in gz.publishers)
    if linked.parent_publishers is not None and linked.parent_publishers != pubs:
        notes.append(
            f"zone {zone.name}: its record of the global zone's publishers (linked_ppubs) is "
            f"{list(linked.parent_publishers)}, the global zone has {list(pubs)}"
        )
    return notes


def _image(name: str, state: ImageRoot, parent: str | None, brand: Brand | None) -> Image:
    return Image(
        name=name,
        publishers=tuple(Publisher(p.name, p.sticky) for p in state.publishers),
        parent=parent,
        brand=brand,
        variants=state.variants,
        facets=state.facets,
        installed=state.installed,
        frozen=state.frozen,
        avoid=state.avoid,
        where=Location(str(state.config_path)),
    )


class _Sources:
    """The catalogs of every image, each distinct one once, and the installed state."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.manifests: dict[str, InlineManifest] = {}
        self.notes: list[str] = []
        self._catalogs: dict[bytes, Path] = {}
        self._by_publisher: dict[str, tuple[bytes, str]] = {}

    @staticmethod
    def _digest(catalog: Path) -> bytes:
        """What tells two cached catalogs apart: catalog.attrs (it holds the parts'
        signatures and modification times) and the sizes of the parts."""
        try:
            digest = hashlib.sha256((catalog / "catalog.attrs").read_bytes())
            for part in sorted(catalog.glob("catalog.*.C")):
                digest.update(f"{part.name}:{part.stat().st_size};".encode())
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", Location(str(catalog))) from None
        return digest.digest()

    def add_image(self, name: str, image: ImageRoot) -> None:
        for pub in image.publishers:
            if not (pub.catalog / "catalog.attrs").exists():
                self.notes.append(
                    f"image {name}: publisher {pub.name} has no cached catalog in {pub.catalog} "
                    f"('pkg refresh' fetches it); none of its packages are known"
                )
                continue
            key = self._digest(pub.catalog)
            if key in self._catalogs:
                continue
            first = self._by_publisher.setdefault(pub.name, (key, name))
            if first[0] != key:
                self.notes.append(
                    f"image {name}: publisher {pub.name}'s catalog differs from image {first[1]}'s; "
                    f"every image is planned with the packages of both"
                )
            self._catalogs[key] = pub.catalog
            self.sources.append(Source(str(pub.catalog), None, Location(str(pub.catalog))))
        if image.state_catalog is not None:
            self.sources.append(image.state_catalog)
        for text in image.state_manifests:
            self.manifests.setdefault(text.text, text)


def _zones(root: Path, zones_file: Path | None) -> list[Zone]:
    if zones_file is not None:
        return read_zoneadm_list(zones_file)
    return read_zone_config(root)


def _check_names(zones: Iterable[Zone]) -> None:
    seen: dict[str, Zone] = {}
    for zone in zones:
        if zone.name in seen:
            msg = f"zone {zone.name!r} is listed twice (also at {seen[zone.name].where})"
            raise InputError(msg, zone.where)
        seen[zone.name] = zone


def read_host(root: str | Path, *, zones_file: str | Path | None = None, cache: Cache | None = None) -> Host:
    """The fleet of the host whose root is ``root``; zones from ``zones_file``
    (``zoneadm list -cp`` output) if given, else from ``root/etc/zones``.

    Raises InputError naming the file at fault when an image or the zone
    configuration is missing, truncated or malformed."""
    root = Path(root).resolve()
    listing = Path(zones_file) if zones_file is not None else None
    gz = read_image(root, cache=cache)
    notes = list(gz.notes)
    if gz.zone_variant != "global":
        notes.append(
            f"the image at {root} is a non-global zone's (variant.opensolaris.zone={gz.zone_variant}): "
            f"planned alone, without its global zone, so its parent dependencies are not checked"
        )
    sources = _Sources()
    sources.add_image(GLOBAL_ZONE, gz)
    images = [_image(GLOBAL_ZONE, gz, None, None)]
    zones = _zones(root, listing)
    _check_names(zones)
    linking = _zones_supported(root, gz, listing is not None) if zones else None
    for zone in zones:
        reason = _skip_reason(zone, linking)
        if reason is not None:
            notes.append(f"zone {zone.name}: {reason}: skipped")
            continue
        image = _zone_image(root, zone, _zone_root(root, zone, listing is not None), cache)
        notes.extend(image.notes)
        brand = LINKED_BRANDS.get(zone.brand) or INDEPENDENT_BRANDS[zone.brand]
        if brand.linked:
            notes.extend(_linked_notes(zone, image, gz))
        elif image.linked is not None:
            notes.append(f"zone {zone.name}: brand {zone.brand} is not linked, but it has linked-image data")
        if zone.brand in ("solaris", "labeled", "sn1"):
            notes.append(f"zone {zone.name}: Solaris brand {zone.brand} is planned as a linked (lipkg) zone")
        sources.add_image(zone.name, image)
        images.append(_image(zone.name, image, GLOBAL_ZONE, brand))
    notes.extend(sources.notes)
    fleet = Fleet(str(root), tuple(images), tuple(sources.sources), tuple(sources.manifests.values()))
    return Host(fleet, tuple(notes))
