"""The zones a global zone keeps: zonecfg's files under a root, or ``zoneadm list -cp``.

Two ways to learn a host's zones, both giving the same ``Zone`` records:

- ``read_zone_config(root)``: ``ROOT/etc/zones/index`` (one zone a line,
  ``name:state:zonepath:uuid``, ``#`` comments, a zonepath holding ``:`` in
  double quotes; illumos ``libzonecfg/common/getzoneent.c``) and each zone's
  ``ROOT/etc/zones/NAME.xml`` for its brand (the ``<zone brand=...>``
  attribute; an empty brand is the default brand of ``SUNWdefault.xml``,
  else ``native``: ``libzonecfg.c`` zonecfg_get_brand).
- ``read_zoneadm_list(path)``: saved ``zoneadm list -cp`` output,
  ``id:name:state:zonepath:uuid:brand:ip-type[:...]`` with ``\\:`` for a colon
  inside the zonepath (illumos ``zoneadm.c``; pkg5 ``linkedimage/zone.py``
  reads the same fields).

The global zone's own line is left out. Which zones pkg(5) links is decided
by the caller (``resolver.host``) from the brand and the state.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from resolver.errors import InputError, Location
from resolver.fleet import read_text

__all__ = ["INSTALLED_STATES", "Zone", "read_zone_config", "read_zoneadm_list"]

#: States whose zone has an installed root (pkg5 linkedimage/zone.py zone_installed_states).
INSTALLED_STATES = frozenset({"installed", "ready", "mounted", "running", "shutting_down", "down"})
#: States the index file holds (getzoneent.c accepts only these).
_INDEX_STATES = ("configured", "incomplete", "installed")
_ZONEADM_STATES = frozenset({*INSTALLED_STATES, "configured", "incomplete", "unavailable"})
_GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class Zone:
    """One non-global zone as zonecfg/zoneadm describe it."""

    name: str
    state: str
    zonepath: str  # as configured, relative to the host's root ("/zones/web1")
    brand: str
    where: Location  # the line that names it

    @property
    def installed(self) -> bool:
        return self.state in INSTALLED_STATES


# ---------------------------------------------------------------------------
# /etc/zones/index and ZONE.xml


def _index_fields(line: str) -> list[str]:
    """Split an index line on ``:``; a field starting with ``"`` runs to the next ``"``."""
    fields: list[str] = []
    rest: str | None = line
    while rest is not None:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            quoted, rest = (rest[1:end], rest[end + 1 :]) if end >= 0 else (rest[1:], "")
            tail, sep, after = rest.partition(":")
            fields.append(quoted + tail)
            rest = after if sep else None
        else:
            field, sep, after = rest.partition(":")
            fields.append(field)
            rest = after if sep else None
    return fields


def read_zone_index(path: Path) -> list[tuple[str, str, str, Location]]:
    """``(name, state, zonepath, location)`` of each non-global zone in an index file."""
    out: list[tuple[str, str, str, Location]] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = _index_fields(line)
        where = Location(str(path), number)
        if len(fields) < 3 or not fields[0]:
            raise InputError(f"not a zone index line (want name:state:zonepath:uuid): {line!r}", where)
        name, state, zonepath = fields[0], fields[1], fields[2]
        if state not in _INDEX_STATES:
            known = ", ".join(_INDEX_STATES)
            raise InputError(f"zone {name!r} has state {state!r} (the index holds only: {known})", where)
        if name == _GLOBAL:
            continue
        if not zonepath.startswith("/"):
            raise InputError(f"zone {name!r}: zonepath {zonepath!r} is not an absolute path", where)
        out.append((name, state, zonepath, where))
    return out


def _parse_xml(path: Path) -> ElementTree.Element:
    """The root element of an XML file; InputError at line:col if it does not parse."""
    text = read_text(path)
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as err:
        line, column = err.position
        reason = str(err).split(":", 1)[0]
        raise InputError(f"invalid XML: {reason}", Location(str(path), line, column + 1)) from None


def _default_brand(zones_dir: Path) -> str:
    """The brand of a zone that names none: SUNWdefault.xml's, else native."""
    template = zones_dir / "SUNWdefault.xml"
    if template.is_file():
        brand = _parse_xml(template).get("brand", "")
        if brand:
            return brand
    return "native"


def zone_brand(xml_path: Path, name: str) -> tuple[str, str | None]:
    """A zone's brand from its configuration file, and its zonepath there (if set)."""
    if not xml_path.is_file():
        msg = f"zone {name!r} is in the index but has no configuration file"
        raise InputError(msg, Location(str(xml_path)))
    root = _parse_xml(xml_path)
    if root.tag != "zone":
        msg = f"not a zone configuration (its root element is <{root.tag}>)"
        raise InputError(msg, Location(str(xml_path)))
    brand = root.get("brand", "") or _default_brand(xml_path.parent)
    return brand, root.get("zonepath")


def read_zone_config(root: Path) -> list[Zone]:
    """The zones configured under ``root`` (``etc/zones``); none if there is no index."""
    zones_dir = root / "etc" / "zones"
    index = zones_dir / "index"
    if not index.is_file():
        return []
    zones: list[Zone] = []
    for name, state, zonepath, where in read_zone_index(index):
        brand, _ = zone_brand(zones_dir / f"{name}.xml", name)
        zones.append(Zone(name, state, zonepath, brand, where))
    return zones


# ---------------------------------------------------------------------------
# zoneadm list -cp


def _zoneadm_fields(line: str) -> list[str]:
    """Split on ``:``, where ``\\:`` is a colon inside a field (the zonepath)."""
    fields = [""]
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and line[i + 1 : i + 2] == ":":
            fields[-1] += ":"
            i += 2
            continue
        if char == ":":
            fields.append("")
        else:
            fields[-1] += char
        i += 1
    return fields


def read_zoneadm_list(path: Path) -> list[Zone]:
    """The non-global zones in saved ``zoneadm list -cp`` output."""
    zones: list[Zone] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = Location(str(path), number)
        fields = _zoneadm_fields(line.rstrip())
        if len(fields) < 7:
            want = "id:name:state:zonepath:uuid:brand:ip-type"
            raise InputError(f"not a 'zoneadm list -cp' line (want {want}): {line!r}", where)
        name, state, zonepath, brand = fields[1], fields[2], fields[3], fields[5]
        if not name:
            raise InputError("a 'zoneadm list -cp' line with no zone name", where)
        if state not in _ZONEADM_STATES:
            raise InputError(f"zone {name!r} has an unknown state {state!r}", where)
        if name == _GLOBAL:
            continue
        if not zonepath.startswith("/"):
            raise InputError(f"zone {name!r}: zonepath {zonepath!r} is not an absolute path", where)
        zones.append(Zone(name, state, zonepath, brand, where))
    return zones
