"""The site file: a data centre's hosts and the catalogs they share, as TOML.

```toml
[[source]]                      # the site's catalogs, each parsed once
path = "repo/omnios"            # relative to this file
publisher = "omnios"

[[host]]                        # one or more
name = "web01"                  # unique: the host's key in the output
fleet = "hosts/web01.toml"      # its fleet file (relative to this file)
```

A host's packages come from its fleet file's own ``[[source]]`` tables, as
when it is planned alone; each of them must be one of the site's (the same
directory and publisher), which is what lets every host fed from one
repository share one parsed catalog. The check is made where the fleet file
is read (``resolver.site``), and by ``zonesolve lint``.

Validation follows the fleet file (resolver.fleet, whose reader this module
extends): every problem at once, each at file:line:col with its table and
key; unknown keys, a host or fleet file listed twice, and a missing fleet
file or source directory are errors.

Extension point: a host read from a pkg(5) image root instead of a fleet
file will be a ``root`` key beside ``fleet`` (``Host.root``, read in
``_SiteReader.host``; resolver.site would then load it with resolver.host);
until then ``root`` is reported as not supported, pointing at ``zonesolve
import``, which writes a root's fleet file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resolver.errors import InputError, Location
from resolver.fleet import _Reader, _Table, parse_toml, read_text
from resolver.model import Source

__all__ = ["Host", "Site", "is_site_document", "load_site", "parse_site"]

_TOP_KEYS = ("source", "host")
_SOURCE_KEYS = ("path", "publisher")
_HOST_KEYS = ("name", "fleet", "root")


@dataclass(frozen=True, slots=True)
class Host:
    """One global zone of the site and where its description is read from.

    ``fleet`` is the fleet file's path (the site file's directory joined with
    what it says). ``root`` is reserved for an image root (not read yet).
    """

    name: str
    fleet: str
    where: Location | None = None
    root: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """The hosts of a site, in file order, and the catalogs they share."""

    path: str
    hosts: tuple[Host, ...]
    sources: tuple[Source, ...] = ()

    def source_for(self, source: Source) -> Source | None:
        """The site's source with the same directory and publisher, if any."""
        key = (source.path, source.publisher)
        return next((s for s in self.sources if (s.path, s.publisher) == key), None)


class _SiteReader(_Reader):
    """The fleet file's reader, taught the site's tables."""

    def read_site(self, data: Mapping[str, Any]) -> Site:
        top = _Table(("", 0), "top level", data)
        self.unknown_keys(top, _TOP_KEYS)
        sources = self.array(top, "source", self.site_source)
        self.check_sources(sources)
        hosts = self.hosts(top)
        if not hosts and "host" not in data:
            self.errors.add("no [[host]] tables: a site lists at least one host", Location(self.path))
        return Site(self.path, tuple(h for _, h in hosts), tuple(s for _, s in sources))

    def site_source(self, table: _Table) -> tuple[_Table, Source] | None:
        """A ``[[source]]`` as in a fleet file; its directory must exist."""
        source = self.source(table)
        if source is None:
            return None
        if not Path(source.path).is_dir():
            what = "not a directory" if Path(source.path).exists() else "no such directory"
            self.error(table, "path", f"{what}: {source.path}")
        return table, source

    def check_sources(self, sources: list[tuple[_Table, Source]]) -> None:
        """Each directory and publisher once."""
        seen: dict[tuple[str, str | None], _Table] = {}
        for table, source in sources:
            key = (source.path, source.publisher)
            if key in seen:
                self.error(table, "path", f"this source is listed twice (also {seen[key].label})")
            else:
                seen[key] = table

    def hosts(self, top: _Table) -> list[tuple[_Table, Host]]:
        """Every ``[[host]]``, labelled by its name; names and fleet files unique."""
        value = top.data.get("host", [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(top, "host", "must be an array of tables ([[host]])")
            return []
        out: list[tuple[_Table, Host]] = []
        names: dict[str, _Table] = {}
        fleets: dict[str, _Table] = {}
        for index, raw in enumerate(value):
            label = f"[[host]] #{index + 1}"
            if isinstance(raw.get("name"), str):
                label += f' "{raw["name"]}"'
            table = _Table(("host", index), label, raw)
            host = self.host(table)
            if host is None:
                continue
            if host.name in names:
                also = names[host.name].label
                self.error(table, "name", f'host "{host.name}" is listed twice (also {also})')
                continue
            names[host.name] = table
            resolved = str(Path(host.fleet).resolve())
            if resolved in fleets:
                self.error(table, "fleet", f"this fleet file is also {fleets[resolved].label}'s")
                continue
            fleets[resolved] = table
            out.append((table, host))
        return out

    def host(self, table: _Table) -> Host | None:
        """One ``[[host]]``: a name and a fleet file that exists."""
        self.unknown_keys(table, _HOST_KEYS)
        name = self.string(table, "name", required=True)
        if "root" in table.data:
            # The extension point for image roots: read here into Host.root.
            msg = "a site cannot read image roots yet: give the host's 'fleet' file"
            self.error(table, "root", msg + " ('zonesolve import --root DIR -o FILE' writes one)")
        fleet = self.string(table, "fleet", required="root" not in table.data)
        if name is None or fleet is None:
            return None
        path = self.base / Path(fleet).expanduser()
        if not path.is_file():
            what = "not a file" if path.exists() else "fleet file not found"
            self.error(table, "fleet", f"{what}: {path}")
            return None
        return Host(name, str(path), self.location(table))


def is_site_document(text: str) -> bool:
    """True if TOML text is a site file (it has ``[[host]]`` tables), not a fleet file."""
    try:
        return "host" in parse_toml(text, "<site>")
    except InputError:  # not TOML, or past resolver.limits: not a site file
        return False


def parse_site(text: str, path: str) -> Site:
    """Parse and validate site text; ``path`` names it in errors and anchors relative paths.

    Raises InputError (one problem) or InputErrors (several).
    """
    data = parse_toml(text, path)  # within resolver.limits, errors at file:line:col
    reader = _SiteReader(text, path)
    site = reader.read_site(data)
    reader.errors.raise_if_any()
    return site


def load_site(path: str | Path) -> Site:
    """Read and validate a site file."""
    return parse_site(read_text(path), str(path))
