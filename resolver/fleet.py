"""The fleet file (docs/interfaces.md): TOML text to a validated ``model.Fleet``.

Every problem is collected and reported at once, each naming the file, the
table (``[[image]] #2 "web1"``) and the key. tomllib gives no positions for
values, so ``_TomlLines`` finds the lines of tables and keys by scanning the
text itself.

Scenario files (shared/scenarios) are fleet files with a few more top-level
keys; pass ``extra_keys=SCENARIO_KEYS`` to accept them, and use
``parse_fleet_document`` to get their values back.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from resolver.cache import load_document, store_document
from resolver.errors import ErrorList, FmriError, InputError, Location
from resolver.fmri import Fmri, parse_fmri
from resolver.limits import bad_path, file_kind, offset_position, toml_problem
from resolver.model import Brand, Fleet, Image, InlineManifest, Publisher, Source
from resolver.patterns import parse_pattern

__all__ = ["SCENARIO_KEYS", "load_fleet", "parse_fleet", "parse_fleet_document"]

#: The extra top-level keys of a scenario file (shared/scenarios/README.md).
SCENARIO_KEYS = frozenset({"name", "about", "source", "mode", "modes", "operation", "expect"})

_TOP_KEYS = ("source", "manifest", "image")
_SOURCE_KEYS = ("path", "publisher")
_MANIFEST_KEYS = ("text",)
_IMAGE_KEYS = (
    "name",
    "parent",
    "brand",
    "publishers",
    "variants",
    "facets",
    "installed",
    "frozen",
    "avoid",
)
_PUBLISHER_KEYS = ("name", "sticky")
#: Keys about an image's packages (not for zones of brands without packages).
_PACKAGE_KEYS = ("publishers", "variants", "facets", "installed", "frozen", "avoid")
_BRANDS = ", ".join(b.value for b in Brand)
#: misc.valid_pub_prefix in pkg(5): publisher prefixes are hostname-like.
_PUBLISHER_RE = re.compile(r"[A-Za-z0-9-][A-Za-z0-9.-]*\Z")


# ---------------------------------------------------------------------------
# Positions in the TOML text


#: A table header. The key's words are separated by spaces, and the spaces
#: around it belong to no word: an ambiguous split backtracks cubically.
_HEADER_RE = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-\"']+(?: +[A-Za-z0-9_.\-\"']+)*)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r"\s*([A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')\s*(?:\.[^=]*)?=")
_TRIPLE_RE = re.compile(r"\"\"\"|'''")

T = TypeVar("T")
V = TypeVar("V", str, bool)
TableId = tuple[str, int]  # ("image", 1) is the second [[image]]; ("", 0) the top level


def _unquote_key(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" else key


class _TomlLines:
    """Lines (1-based) and columns of table headers and keys in TOML text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables: dict[TableId, int] = {}
        self.keys: dict[tuple[TableId, str], tuple[int, int]] = {}
        self._header_lines: list[int] = []
        self._cursor: dict[tuple[TableId, str], int] = {}  # where value() last found a needle
        self._scan()

    def _scan(self) -> None:
        current: TableId = ("", 0)
        counts: dict[str, int] = {}
        closing: str | None = None  # inside a multi-line string ending with this
        for number, line in enumerate(self.lines, start=1):
            if closing is not None:
                if closing in line:
                    closing = None
                continue
            header = _HEADER_RE.match(line)
            if header:
                name = re.sub(r"[\s\"']", "", header.group(2))
                index = 0
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                current = (name, index)
                self.tables[current] = number
                self._header_lines.append(number)
                continue
            key = _KEY_RE.match(line)
            if key:
                name = _unquote_key(key.group(1))
                self.keys.setdefault((current, name), (number, key.start(1) + 1))
                triples = _TRIPLE_RE.findall(line[key.end() :])
                if len(triples) % 2 == 1:
                    closing = triples[0]

    def table(self, table: TableId) -> int | None:
        """The header line of a table, if written as a header."""
        return self.tables.get(table)

    def key(self, table: TableId, key: str) -> tuple[int, int] | None:
        """The line and column where ``key`` is set in ``table``."""
        return self.keys.get((table, key))

    def value(self, table: TableId, key: str, needle: str) -> tuple[int, int] | None:
        """The first place at or after ``key`` (and before the next table) holding ``needle``.

        The search starts where the last one for this key found its needle
        (then wraps around): an array's bad items are asked for in order, so
        thousands of them are found in one pass over the table, not one each.
        """
        start = self.key(table, key)
        if start is None:
            return None
        nxt = bisect.bisect_right(self._header_lines, start[0])
        end = self._header_lines[nxt] - 1 if nxt < len(self._header_lines) else len(self.lines)
        resume = min(max(self._cursor.get((table, key), start[0]), start[0]), end)
        for number in (*range(resume, end + 1), *range(start[0], resume)):
            col = self.lines[number - 1].find(needle)
            if col >= 0:
                self._cursor[(table, key)] = number
                return number, col + 1
        return None

    def text_start(self, table: TableId, key: str) -> int | None:
        """The line on which a string value's text begins (after a bare ``'''``)."""
        where = self.key(table, key)
        if where is None:
            return None
        rest = self.lines[where[0] - 1].split("=", 1)[-1].strip()
        return where[0] + 1 if rest in ('"""', "'''") else where[0]


_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END_RE = re.compile(r"\s*\(at end of document\)\s*$")


def _toml_error(err: tomllib.TOMLDecodeError, text: str, path: str) -> InputError:
    """A TOML syntax error as an InputError at file:line:col."""
    message = str(err)
    pos = _TOML_POS_RE.search(message)
    if pos:
        location = Location(path, int(pos.group(1)), int(pos.group(2)))
        return InputError(message[: pos.start()], location)
    end = _TOML_END_RE.search(message)
    if end:
        lines = text.splitlines() or [""]
        location = Location(path, len(lines), len(lines[-1]) + 1)
        return InputError(message[: end.start()] + " at end of file", location)
    return InputError(message, Location(path))


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """tomllib's reading of ``text``, once the text is within resolver.limits
    (tomllib recurses per nesting level and is quadratic in dotted-key parts)."""
    problem = toml_problem(text)
    if problem is not None:
        offset, message = problem
        raise InputError(message, Location(path, *offset_position(text, offset)))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _toml_error(err, text, path) from None


# ---------------------------------------------------------------------------
# Reading the tables


def _type_name(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), type(value).__name__)


@dataclass
class _Table:
    """One table being read: its id, its description and its raw data."""

    id: TableId
    label: str
    data: Mapping[str, Any]


class _Reader:
    """Reads the parsed TOML into model objects, collecting every error."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.text = text
        self._lines: _TomlLines | None = None
        self.errors = ErrorList()
        self.base = Path(path).parent if not path.startswith("<") else Path.cwd()

    # -- errors ---------------------------------------------------------------

    @property
    def lines(self) -> _TomlLines:
        """Where tables and keys are in the text: scanned when an error needs it."""
        if self._lines is None:
            self._lines = _TomlLines(self.text)
        return self._lines

    def location(
        self, table: _Table, key: str | None = None, needle: str | None = None, item: str = ""
    ) -> Location:
        """The place of ``table`` (and ``key``, and a value in it) as a Location."""
        pos: tuple[int, int] | None = None
        if key is not None and needle is not None:
            pos = self.lines.value(table.id, key, needle)
        if pos is None and key is not None:
            pos = self.lines.key(table.id, key)
        line, col = pos if pos else (self.lines.table(table.id), None)
        context = table.label if key is None else f"{table.label}, key '{key}'{item}"
        return Location(self.path, line, col, context)

    def error(
        self,
        table: _Table,
        key: str | None,
        message: str,
        *,
        needle: str | None = None,
        item: str = "",
    ) -> None:
        self.errors.add(message, self.location(table, key, needle, item))

    def unknown_keys(self, table: _Table, allowed: Collection[str]) -> None:
        for key in table.data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, list(allowed), n=1)
                guess = f"; did you mean '{hint[0]}'?" if hint else ""
                expected = ", ".join(allowed)
                self.error(table, key, f"unknown key (expected one of: {expected}){guess}")

    # -- typed fields -------------------------------------------------------

    def string(self, table: _Table, key: str, *, required: bool = False) -> str | None:
        value = table.data.get(key)
        if value is None:
            if required:
                self.error(table, None, f"missing key '{key}' (a string)")
            return None
        if not isinstance(value, str):
            self.error(table, key, f"must be a string, not {_type_name(value)}")
            return None
        if not value.strip():
            self.error(table, key, "must not be empty")
            return None
        return value

    def strings(self, table: _Table, key: str) -> list[tuple[int, str]]:
        """An array of non-empty strings as (position, string) pairs."""
        value = table.data.get(key, [])
        if not isinstance(value, list):
            self.error(table, key, f"must be an array of strings, not {_type_name(value)}")
            return []
        out: list[tuple[int, str]] = []
        for i, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item.strip():
                what = "an empty string" if isinstance(item, str) else _type_name(item)
                self.error(table, key, f"must hold non-empty strings, not {what}", item=f" [{i}]")
            else:
                out.append((i, item))
        return out

    def mapping(self, table: _Table, key: str) -> dict[str, Any]:
        """A table of values, dotted keys flattened (``{variant.arch = "x"}``)."""
        value = table.data.get(key, {})
        if not isinstance(value, dict):
            self.error(table, key, f"must be a table, not {_type_name(value)}")
            return {}
        return _flatten(value)

    # -- the tables ---------------------------------------------------------

    def read(self, data: Mapping[str, Any], extra_keys: frozenset[str]) -> tuple[Fleet, dict[str, Any]]:
        """The Fleet, and the values of the extra top-level keys that were allowed."""
        top = _Table(("", 0), "top level", data)
        extras: dict[str, Any] = {}
        for key, value in data.items():
            scenario_source = key == "source" and isinstance(value, str)
            if key in extra_keys and (key not in _TOP_KEYS or scenario_source):
                extras[key] = value
        allowed = sorted({*_TOP_KEYS, *extra_keys})
        self.unknown_keys(top, allowed)
        sources = self.array(top, "source", self.source, skip_string="source" in extras)
        manifests = self.array(top, "manifest", self.manifest)
        images = self.array(top, "image", self.image)
        self.check_images(images)
        fleet = Fleet(self.path, tuple(i for _, i in images), tuple(sources), tuple(manifests))
        return fleet, extras

    def array(
        self,
        top: _Table,
        name: str,
        read: Callable[[_Table], T | None],
        *,
        skip_string: bool = False,
    ) -> list[T]:
        """Read every ``[[name]]`` table with ``read``, dropping the invalid ones."""
        value = top.data.get(name, [])
        if skip_string:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(top, name, f"must be an array of tables ([[{name}]])")
            return []
        out: list[T] = []
        for index, raw in enumerate(value):
            label = f"[[{name}]] #{index + 1}"
            if name == "image" and isinstance(raw.get("name"), str):
                label += f' "{raw["name"]}"'
            item = read(_Table((name, index), label, raw))
            if item is not None:
                out.append(item)
        return out

    def source(self, table: _Table) -> Source | None:
        """A ``[[source]]``: its path resolved against the fleet file's directory."""
        self.unknown_keys(table, _SOURCE_KEYS)
        path = self.string(table, "path", required=True)
        publisher = None
        if "publisher" in table.data:
            publisher = self.publisher_name(table, "publisher", table.data["publisher"])
        if path is None:
            return None
        problem = bad_path(path)
        if problem:
            self.error(table, "path", f"the path {problem}")
            return None
        # os.path, not Path.resolve(): that raises for a symbolic link loop or ~unknown-user
        resolved = os.path.realpath(os.path.join(self.base, os.path.expanduser(path)))
        return Source(resolved, publisher, self.location(table, "path"))

    def manifest(self, table: _Table) -> InlineManifest | None:
        """A ``[[manifest]]``: its text, located at the line where the text starts."""
        self.unknown_keys(table, _MANIFEST_KEYS)
        text = self.string(table, "text", required=True)
        if text is None:
            return None
        line = self.lines.text_start(table.id, "text")
        return InlineManifest(text, Location(self.path, line, None, table.label))

    def image(self, table: _Table) -> tuple[_Table, Image] | None:
        """An ``[[image]]`` (with its table, for the checks across images)."""
        self.unknown_keys(table, _IMAGE_KEYS)
        name = self.string(table, "name", required=True)
        parent = self.string(table, "parent")
        brand = self.brand(table)
        image = Image(
            name=name or "",
            publishers=self.publishers(table),
            parent=parent,
            brand=brand,
            variants=self.tags(table, "variants", "variant.", str),
            facets=self.tags(table, "facets", "facet.", bool),
            installed=self.installed(table),
            frozen=self.frozen(table),
            avoid=self.avoid(table),
            where=self.location(table),
        )
        return (table, image) if name is not None else None

    def brand(self, table: _Table) -> Brand | None:
        """The ``brand`` key, if set and known."""
        text = self.string(table, "brand")
        if text is None:
            return None
        try:
            return Brand(text)
        except ValueError:
            self.error(table, "brand", f"unknown brand '{text}' (expected one of: {_BRANDS})")
            return None

    def publisher_name(self, table: _Table, key: str, value: object, item: str = "") -> str | None:
        """A publisher name: a string that looks like a host name, as pkg(5) wants."""
        if not isinstance(value, str):
            self.error(table, key, f"must be a string, not {_type_name(value)}", item=item)
            return None
        if not _PUBLISHER_RE.match(value):
            self.error(table, key, f"'{value}' is not a valid publisher name", item=item)
            return None
        return value

    def publishers(self, table: _Table) -> tuple[Publisher, ...]:
        """The ``publishers`` array, in rank order, each publisher once."""
        value = table.data.get("publishers", [])
        if not isinstance(value, list):
            self.error(table, "publishers", f"must be an array, not {_type_name(value)}")
            return ()
        out: list[Publisher] = []
        for i, entry in enumerate(value, start=1):
            publisher = self.publisher(table, entry, f" [{i}]")
            if publisher is None:
                continue
            if any(p.name == publisher.name for p in out):
                msg = f"publisher '{publisher.name}' is listed twice"
                self.error(table, "publishers", msg, item=f" [{i}]")
                continue
            out.append(publisher)
        return tuple(out)

    def publisher(self, table: _Table, entry: object, item: str) -> Publisher | None:
        """One ``publishers`` entry: a name, or ``{ name = "p", sticky = false }``."""
        if not isinstance(entry, dict):
            name = self.publisher_name(table, "publishers", entry, item)
            return Publisher(name) if name else None
        for key in entry:
            if key not in _PUBLISHER_KEYS:
                msg = f"unknown key '{key}' in a publisher table (expected name, sticky)"
                self.error(table, "publishers", msg, item=item)
        sticky = entry.get("sticky", True)
        if not isinstance(sticky, bool):
            msg = f"'sticky' must be a boolean, not {_type_name(sticky)}"
            self.error(table, "publishers", msg, item=item)
            sticky = True
        if "name" not in entry:
            self.error(table, "publishers", "a publisher table needs a 'name'", item=item)
            return None
        name = self.publisher_name(table, "publishers", entry["name"], item)
        return Publisher(name, sticky) if name else None

    def tags(self, table: _Table, key: str, prefix: str, kind: type[V]) -> tuple[tuple[str, V], ...]:
        """``variants`` or ``facets``; names get their prefix as pkg(1) does."""
        out: dict[str, V] = {}
        for name, value in self.mapping(table, key).items():
            full = name if name.startswith(prefix) else prefix + name
            if not isinstance(value, kind) or (kind is str and not value):
                want = "a non-empty string" if kind is str else "true or false"
                self.error(table, key, f"'{name}' must be {want}, not {value!r}", needle=name)
            elif full in out:
                self.error(table, key, f"'{full}' is set twice", needle=name)
            else:
                out[full] = value
        return tuple(sorted(out.items()))

    def installed(self, table: _Table) -> tuple[Fmri, ...]:
        """Full FMRIs (publisher and version), at most one per stem."""
        out: dict[str, tuple[str, Fmri]] = {}
        for i, text in self.strings(table, "installed"):
            message = None
            try:
                fmri = parse_fmri(text)
            except FmriError as err:
                message = str(err)
            else:
                if fmri.publisher is None or fmri.version is None:
                    missing = "publisher" if fmri.publisher is None else "version"
                    message = f"'{text}' names no {missing}: write pkg://PUBLISHER/STEM@VERSION"
                elif fmri.stem in out:
                    message = f"installs '{fmri.stem}' twice ('{out[fmri.stem][0]}' and '{text}')"
                else:
                    out[fmri.stem] = (text, fmri)
            if message:
                self.error(table, "installed", message, needle=text, item=f" [{i}]")
        return tuple(fmri for _, fmri in out.values())

    def frozen(self, table: _Table) -> tuple[str, ...]:
        """``stem[@version]`` patterns (pkg freeze): legal patterns whose version,
        if written, is a version (no wildcard, not ``latest``)."""
        return self.patterns(table, "frozen", exact=True)

    def avoid(self, table: _Table) -> tuple[str, ...]:
        """Package patterns (pkg avoid): each must be a legal pattern."""
        return self.patterns(table, "avoid")

    def patterns(self, table: _Table, key: str, exact: bool = False) -> tuple[str, ...]:
        """An array of pkg(1) package patterns, each checked here, where its
        line is known (the planner parses them again and must not fail).
        ``exact``: a version part may not be a wildcard."""
        out: list[str] = []
        for i, text in self.strings(table, key):
            try:
                pattern = parse_pattern(text)
            except InputError as err:
                self.error(table, key, err.reason, needle=text, item=f" [{i}]")
                continue
            if exact and pattern.version is not None and pattern.version.as_version() is None:
                message = f"'{text}': a freeze names a version, not a wildcard or 'latest'"
                self.error(table, key, message, needle=text, item=f" [{i}]")
                continue
            out.append(text)
        return tuple(out)

    # -- the images together ---------------------------------------------------

    def check_images(self, images: list[tuple[_Table, Image]]) -> None:
        """One global zone, unique names, known parents, no cycles, fitting brands."""
        seen: dict[str, _Table] = {}
        for table, image in images:
            if image.name in seen:
                msg = f'duplicate image name "{image.name}" (also {seen[image.name].label})'
                self.error(table, "name", msg)
            else:
                seen[image.name] = table
        self.check_global(images)
        for table, image in images:
            if image.parent is not None and image.parent not in seen:
                self.error(table, "parent", f'unknown parent image "{image.parent}"')
            if image.parent is None and image.brand not in (None, Brand.NATIVE):
                assert image.brand is not None
                msg = f"the global zone's brand must be native or absent, not {image.brand.value}"
                self.error(table, "brand", msg)
            if image.parent is not None and "brand" not in table.data:
                self.error(table, None, f"missing key 'brand': a zone needs one of: {_BRANDS}")
            if image.brand is not None and not image.brand.planned:
                for key in _PACKAGE_KEYS:
                    if key in table.data:
                        msg = f"a {image.brand.value} zone has no pkg(5) image: '{key}' does not apply"
                        self.error(table, key, msg)
        self.check_cycles(images)
        self.check_nesting(images)

    def check_nesting(self, images: list[tuple[_Table, Image]]) -> None:
        """A zone's parent is the global zone: zones do not nest on illumos or
        Solaris. (Parents in a cycle are reported as the cycle, unknown ones
        as unknown.)"""
        parents: dict[str, str | None] = {}
        for _, image in images:
            parents.setdefault(image.name, image.parent)
        for table, image in images:
            parent = image.parent
            if parent is None or parents.get(parent) is None or self._in_cycle(parent, parents):
                continue
            root = self._root(parent, parents)
            where = f'the global zone "{root}"' if root else "the global zone"
            msg = f'"{parent}" is itself a zone: zones do not nest; a zone\'s parent must be {where}'
            self.error(table, "parent", msg)

    @staticmethod
    def _in_cycle(name: str, parents: dict[str, str | None]) -> bool:
        """Following parents from ``name`` never reaches an image without one."""
        seen: set[str] = set()
        while name not in seen:
            seen.add(name)
            nxt = parents.get(name)
            if nxt is None or nxt not in parents:
                return False
            name = nxt
        return True

    @staticmethod
    def _root(name: str, parents: dict[str, str | None]) -> str | None:
        """The image without a parent that ``name``'s parents lead to (no cycle)."""
        while (nxt := parents.get(name)) is not None:
            if nxt not in parents:
                return None
            name = nxt
        return name

    def check_global(self, images: list[tuple[_Table, Image]]) -> None:
        """Exactly one image without a parent."""
        globals_ = [(table, img) for table, img in images if img.parent is None]
        if not globals_ and images:
            msg = "no global zone: every [[image]] has a parent (exactly one must have none)"
            self.errors.add(msg, Location(self.path, None, None, "[[image]]"))
        elif not images and not self.errors.errors:
            msg = "no [[image]] tables: a fleet needs its global zone"
            self.errors.add(msg, Location(self.path, None, None, "[[image]]"))
        for table, _ in globals_[1:]:
            first = globals_[0][0].label
            msg = f"a second global zone: no 'parent' key, and {first} is the global zone"
            self.error(table, None, msg)

    def check_cycles(self, images: list[tuple[_Table, Image]]) -> None:
        """Report each parent cycle once, at its first image in the file.

        Only the first image of each name counts (a second is already an error).
        """
        firsts: dict[str, tuple[_Table, Image]] = {}
        for table, image in images:
            firsts.setdefault(image.name, (table, image))
        images = list(firsts.values())
        parents = {img.name: img.parent for _, img in images}
        reported: set[frozenset[str]] = set()
        for table, image in images:
            chain = [image.name]
            parent = image.parent
            while parent is not None and parent in parents and parent not in chain:
                chain.append(parent)
                parent = parents[parent]
            if parent is None or parent != image.name:
                continue
            if frozenset(chain) in reported:
                continue
            reported.add(frozenset(chain))
            path = " -> ".join([*chain, image.name])
            self.error(table, "parent", f"parent cycle: {path}")


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{variant = {arch = "x"}}`` (TOML's reading of dotted keys) to ``{"variant.arch": "x"}``."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_flatten(item, f"{prefix}{key}."))
        else:
            out[prefix + key] = item
    return out


# ---------------------------------------------------------------------------
# Entry points


def parse_fleet_document(
    text: str,
    path: str,
    *,
    extra_keys: Collection[str] = frozenset(),
    cache_dir: Path | None = None,
) -> tuple[Fleet, dict[str, Any]]:
    """Parse fleet text; also return the values of the allowed ``extra_keys``.
    With ``cache_dir``, the TOML parse is kept there, keyed by the text itself
    (tomllib is most of the time for a big fleet: 2 s for 500 zones).

    Raises InputError (one problem) or InputErrors (several), each naming the
    file, the table and the key.
    """
    content = text.encode() if cache_dir is not None else b""
    data = load_document(cache_dir, content) if cache_dir is not None else None
    if type(data) is not dict:  # a fleet file parses to a table: anything else is no entry of ours
        data = None
    if data is None:
        data = parse_toml(text, path)
        if cache_dir is not None:
            store_document(cache_dir, content, data)
    reader = _Reader(text, path)
    fleet, extras = reader.read(data, frozenset(extra_keys))
    reader.errors.raise_if_any()
    return fleet, extras


def parse_fleet(text: str, path: str, *, extra_keys: Collection[str] = frozenset()) -> Fleet:
    """Parse and validate fleet text; ``path`` names it in errors and anchors sources."""
    return parse_fleet_document(text, path, extra_keys=extra_keys)[0]


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's content, or an InputError saying why it cannot be read.

    Only a regular file is read: a FIFO would block until a writer comes, a
    device might never end (and opening some has effects of its own). What
    the path names is checked before it is opened, then again on the open
    descriptor, which is opened without blocking (no race with a rename).
    """
    name = str(path)
    problem = bad_path(name)
    if problem:
        raise InputError(f"cannot read: the path {problem}", Location(name.replace("\0", "\\0")))
    try:
        _regular(os.stat(name).st_mode, name)
        with open(os.open(name, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
            _regular(os.fstat(stream.fileno()).st_mode, name)
            data = stream.read()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", Location(name)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError("not valid UTF-8", Location(str(path), line, column)) from None


def _regular(mode: int, name: str) -> None:
    if not stat.S_ISREG(mode):
        raise InputError(f"cannot read: not a regular file ({file_kind(mode)})", Location(name))


def load_fleet(
    path: str | Path, *, extra_keys: Collection[str] = frozenset(), cache_dir: Path | None = None
) -> Fleet:
    """Read and validate a fleet file (its TOML parse cached in ``cache_dir``, if given)."""
    return parse_fleet_document(read_text(path), str(path), extra_keys=extra_keys, cache_dir=cache_dir)[0]
