"""An on-disk cache of parsed catalog sources, keyed by content.

One file per source (named after the source's kind, path and default
publisher) holds a validation digest and the source's packages. The digest
covers a format version, the code that parses (so an edited parser never
reads old results) and the list of input files with their sizes and
modification times. A missing, corrupt or stale entry is ignored and
rewritten; it is never trusted.

Packages are stored as shared tables of plain values, column by column,
written with ``marshal`` and rebuilt into model objects on load. Measured on
100,000 package versions (CPU time): 18 MB rebuilt in 0.8 s, against 2.1 s
to unpickle the 26 MB pickle of the dataclasses (whose frozen, slotted
``__setstate__`` runs in Python), the cyclic GC paused for both; pausing it
halves the rebuild time.

Environment: ``ZONESOLVE_CACHE_DIR`` names the directory (default
``$XDG_CACHE_HOME/zonesolve`` or ``~/.cache/zonesolve``);
``ZONESOLVE_NO_CACHE=1`` turns the cache off. The directory is kept within a
size and an age, least recently used first (resolver.cachedir).
"""

from __future__ import annotations

import contextlib
import enum
import gc
import hashlib
import marshal
import os
import sys
import time
import types
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

from resolver import cachedir
from resolver.atomic import remove_stale, temp_beside
from resolver.errors import Location
from resolver.fmri import Fmri, Version, version_key
from resolver.model import Dependency, DepType, Package, Svr4Params

__all__ = [
    "FORMAT_VERSION",
    "Cache",
    "FileStat",
    "cache_disabled",
    "decode_packages",
    "default_cache_dir",
    "encode_packages",
    "gc_paused",
    "load_document",
    "store_document",
]

#: Bump when the stored layout changes.
FORMAT_VERSION = 2  # 2: Package.reboot_needed
_MAGIC = b"ZSCACHE\x01"
_HEADER = len(_MAGIC) + 32 + 4  # magic, validation digest, CRC-32 of the payload
_DOC_MAGIC = b"ZSDOC\x00\x00\x02"
_DOC_HEADER = len(_DOC_MAGIC) + 4  # magic, CRC-32 of the payload
#: Inputs modified this recently are not cached: a rewrite within the same
#: clock tick would keep the size and mtime, and then a stale entry would look fresh.
_RACY_NS = 2_000_000_000

FileStat = tuple[str, int, int]  # (path relative to the source, size, mtime_ns)


# ---------------------------------------------------------------------------
# Where the cache lives


def cache_disabled() -> bool:
    """True if ``ZONESOLVE_NO_CACHE`` is set (to anything but empty or 0)."""
    return os.environ.get("ZONESOLVE_NO_CACHE", "") not in ("", "0")


def default_cache_dir() -> Path | None:
    """The cache directory from the environment, or None when caching is off."""
    if cache_disabled():
        return None
    explicit = os.environ.get("ZONESOLVE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "zonesolve"


@cache
def _code_digest() -> bytes:
    """A digest of the code whose output is cached (parser, model, grammar)."""
    here = Path(__file__).resolve().parent
    names = ["cache.py", "fmri.py", "limits.py", "model.py", "manifest.py", "sources.py", "errors.py"]
    paths = [here / n for n in names] + sorted((here.parent / "grammar").glob("*.lark"))
    digest = hashlib.sha256(str(FORMAT_VERSION).encode())
    for path in paths:
        with contextlib.suppress(OSError):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


@dataclass(frozen=True, slots=True)
class Cache:
    """A cache directory. ``load`` and ``store`` never raise for cache trouble."""

    directory: Path

    def entry(self, kind: str, root: str, publisher: str | None) -> Path:
        """The file that caches one source."""
        name = f"{FORMAT_VERSION}\0{kind}\0{root}\0{publisher or ''}".encode()
        return self.directory / (hashlib.sha256(name).hexdigest()[:40] + ".zsc")

    def load(self, entry: Path, files: Sequence[FileStat]) -> list[Package] | None:
        """The cached packages if ``entry`` is intact and matches ``files``."""
        payload = self.load_encoded(entry, files)
        if payload is None:
            return None
        try:
            return decode_packages(payload)
        except Exception:  # a damaged entry can fail in any way: treat it as a miss
            return None

    def load_encoded(self, entry: Path, files: Sequence[FileStat]) -> memoryview | None:
        """The cached packages in their stored form (``encode_packages``), not
        rebuilt: for shipping them elsewhere (resolver.site). None on a miss."""
        try:
            data = entry.read_bytes()
        except OSError:
            return None
        if data[: len(_MAGIC)] != _MAGIC or data[len(_MAGIC) : _HEADER - 4] != _digest(files):
            return None
        payload = memoryview(data)[_HEADER:]
        if zlib.crc32(payload) != int.from_bytes(data[_HEADER - 4 : _HEADER], "big"):
            return None
        cachedir.touch(entry)  # used now: the last to be evicted (resolver.cachedir)
        return payload

    def store(self, entry: Path, files: Sequence[FileStat], packages: Sequence[Package]) -> bool:
        """Write an entry atomically; False if it was not written (too fresh, I/O error)."""
        newest = max((mtime for _, _, mtime in files), default=0)
        if newest > time.time_ns() - _RACY_NS:
            return False
        try:
            payload = encode_packages(packages)
        except ValueError:  # a value marshal cannot store: keep working without a cache
            return False
        crc = zlib.crc32(payload).to_bytes(4, "big")
        return _written(entry, _MAGIC + _digest(files) + crc + payload)


def load_document(directory: Path, content: bytes) -> Any | None:
    """The parsed form of a document (a fleet file) stored for ``content``, or None.

    Keyed by a digest of the content itself and the Python version (tomllib's).
    An entry is used only if its magic, its CRC-32 and its key match and it
    decodes to TOML's plain data (strings, numbers, booleans, arrays and
    tables); anything else is a miss, never an error.
    """
    entry, key = _document_entry(directory, content)
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    if data[: len(_DOC_MAGIC)] != _DOC_MAGIC:
        return None
    payload = memoryview(data)[_DOC_HEADER:]
    if zlib.crc32(payload) != int.from_bytes(data[_DOC_HEADER - 4 : _DOC_HEADER], "big"):
        return None
    try:
        stored = marshal.loads(payload)
    except Exception:  # a damaged entry can fail in any way: a miss
        return None
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key):
        return None
    value = stored[1]
    if not _plain_toml(value):
        return None
    cachedir.touch(entry)
    return value


def store_document(directory: Path, content: bytes, value: Any) -> bool:
    """Store ``value`` (plain data: what marshal can write) for ``content``."""
    entry, key = _document_entry(directory, content)
    try:
        payload = marshal.dumps((key, value))
    except ValueError:  # e.g. TOML dates: no cache for this document
        return False
    crc = zlib.crc32(payload).to_bytes(4, "big")
    return _written(entry, _DOC_MAGIC + crc + payload)


#: What a TOML document holds once parsed (dates are never stored: marshal refuses them).
_TOML_SCALARS = frozenset({str, int, float, bool})


def _plain_toml(value: Any) -> bool:
    """True if ``value`` is made only of what tomllib returns: tables with
    string keys, arrays, strings, numbers and booleans. Without recursion
    (the stored form of a valid entry is never deeper than resolver.limits
    allows, but a damaged one could be)."""
    if type(value) in _TOML_SCALARS:
        return True
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            if not set(map(type, item)) <= {str}:
                return False
            item = list(item.values())
        elif type(item) is not list:
            return False
        kinds = set(map(type, item))
        if not kinds <= _TOML_SCALARS:
            if not kinds <= _TOML_SCALARS | {dict, list}:
                return False
            pending.extend(v for v in item if type(v) is dict or type(v) is list)
    return True


def _document_entry(directory: Path, content: bytes) -> tuple[Path, bytes]:
    key = hashlib.blake2b(content, digest_size=20, key=sys.version.encode()[:64]).digest()
    return directory / ("doc-" + key.hex() + ".zsd"), key


def _digest(files: Sequence[FileStat]) -> bytes:
    """The validation digest: code, format and every input's name, size and mtime.

    (Not via marshal: its output for equal values depends on reference counts.)
    """
    return hashlib.sha256(_code_digest() + repr(list(files)).encode()).digest()


def _written(entry: Path, data: bytes) -> bool:
    """Write an entry, then keep the directory within its bounds (resolver.cachedir)."""
    if not _write_atomic(entry, data):
        return False
    cachedir.prune(entry.parent)
    return True


def _write_atomic(path: Path, data: bytes) -> bool:
    """Write via a temporary file and ``os.replace``: readers see old or new,
    never half (resolver.atomic, which also removes the temp files of killed
    runs). False if it could not be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path)
        fd, tmp = temp_beside(path)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    except BaseException:  # an interrupt or --timeout's alarm: no temp file left behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many objects that hold no cycles.

    Allocating hundreds of thousands of containers otherwise triggers repeated
    collections that scan them all: about half of the decoding time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------
# The stored form: shared tables, column by column
#
# Each table (versions, FMRIs, dependencies, SVR4 parameters, locations,
# packages) is stored as one column per dataclass field, in field order.
# A field that refers to another model object holds its index in that
# object's table; index 0 stands for None. Rebuilding is then
# ``map(cls, *columns)``, with the referring columns mapped through their
# tables first: no Python loop per object except for tuples of references.


def _names(cls: type) -> list[str]:
    """A dataclass's field names, in order."""
    return [f.name for f in fields(cls)]


#: Field names of the model classes, in order: columns follow this order.
_PKG = _names(Package)
_DEP = _names(Dependency)
_FMRI = _names(Fmri)
_VERSION = _names(Version)
_SVR4 = _names(Svr4Params)
_LOCATION = _names(Location)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning an object's field values as a tuple."""
    get = attrgetter(*names)
    return (lambda obj: (get(obj),)) if len(names) == 1 else get


_PKG_GET, _DEP_GET, _FMRI_GET = _getter(_PKG), _getter(_DEP), _getter(_FMRI)
_VERSION_GET, _SVR4_GET, _LOCATION_GET = _getter(_VERSION), _getter(_SVR4), _getter(_LOCATION)
_P_FMRI, _P_DEPENDS, _P_SVR4, _P_WHERE = map(_PKG.index, ("fmri", "depends", "svr4", "where"))
_D_TYPE, _D_FMRIS, _D_PREDICATE = map(_DEP.index, ("type", "fmris", "predicate"))
_F_VERSION = _FMRI.index("version")


class _Table:
    """Distinct rows in first-seen order, numbered from 1 (0 is None)."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def add(self, row: Any) -> int:
        return self.index.setdefault(row, len(self.index) + 1)

    def optional(self, value: Any, get: Callable[[Any], tuple[Any, ...]]) -> int:
        return 0 if value is None else self.add(get(value))


def _columns(rows: list[tuple[Any, ...]]) -> tuple[int, list[tuple[Any, ...]]]:
    """The row count and the columns (no rows: no columns)."""
    return len(rows), list(zip(*rows, strict=True))


class _Encoder:
    """Turns packages into rows of plain values that refer to shared tables.

    Versions and FMRIs are usually shared objects (the parsers memoise them),
    so each object is encoded once and then found by identity.
    """

    def __init__(self) -> None:
        self.versions = _Table()
        self.fmris = _Table()
        self.deps = _Table()
        self.svr4 = _Table()
        self.locations = _Table()
        self.packages: list[tuple[Any, ...]] = []
        self.done: dict[int, int] = {}  # id(Version or Fmri) -> index in its table
        self.alive: list[object] = []  # keeps ids in ``done`` from being reused

    def _known(self, obj: object, encode: Callable[[], int]) -> int:
        key = id(obj)
        index = self.done.get(key)
        if index is None:
            index = self.done[key] = encode()
            self.alive.append(obj)
        return index

    def version(self, version: Version | None) -> int:
        if version is None:
            return 0
        return self._known(version, lambda: self.versions.add(_VERSION_GET(version)))

    def fmri(self, fmri: Fmri | None) -> int:
        if fmri is None:
            return 0

        def encode() -> int:
            row = list(_FMRI_GET(fmri))
            row[_F_VERSION] = self.version(row[_F_VERSION])
            return self.fmris.add(tuple(row))

        return self._known(fmri, encode)

    def dependency(self, dep: Dependency) -> int:
        row = list(_DEP_GET(dep))
        row[_D_TYPE] = row[_D_TYPE].value
        row[_D_FMRIS] = tuple(map(self.fmri, row[_D_FMRIS]))
        row[_D_PREDICATE] = self.fmri(row[_D_PREDICATE])
        return self.deps.add(tuple(row))

    def package(self, pkg: Package) -> None:
        row = list(_PKG_GET(pkg))
        row[_P_FMRI] = self.fmri(row[_P_FMRI])
        row[_P_DEPENDS] = tuple(map(self.dependency, row[_P_DEPENDS]))
        row[_P_SVR4] = self.svr4.optional(row[_P_SVR4], _SVR4_GET)
        row[_P_WHERE] = self.locations.optional(row[_P_WHERE], _LOCATION_GET)
        self.packages.append(tuple(row))


def encode_packages(packages: Iterable[Package]) -> bytes:
    """The compact stored form of ``packages`` (raises ValueError for unstorable values)."""
    enc = _Encoder()
    with gc_paused():
        for pkg in packages:
            enc.package(pkg)
        tables = (enc.versions, enc.fmris, enc.deps, enc.svr4, enc.locations)
        rows = [*(list(t.index) for t in tables), enc.packages]
        return marshal.dumps((FORMAT_VERSION, *map(_columns, rows)))


Column = Sequence[Any]


def _one(table: list[Any]) -> Callable[[Column], Iterable[Any]]:
    """Convert a column of references into the objects (0: None)."""
    return lambda column: map(table.__getitem__, column)


def _many(table: list[Any]) -> Callable[[Column], Iterable[Any]]:
    """Convert a column of tuples of references into tuples of objects."""
    get = table.__getitem__
    return lambda column: [tuple(map(get, ids)) for ids in column]


def _dep_types(column: Column) -> Iterable[DepType]:
    """Convert a column of dependency type names into DepTypes."""
    return map(DepType, column)


def _rebuild(
    cls: Callable[..., Any],
    stored: tuple[int, list[Column]],
    convert: dict[int, Callable[[Column], Iterable[Any]]],
) -> list[Any]:
    """``[None, *objects]``: instances of ``cls`` from stored columns."""
    count, columns = stored
    if not count:
        return [None]
    args = [convert[i](col) if i in convert else col for i, col in enumerate(columns)]
    return [None, *map(cls, *args)]


def decode_packages(data: bytes | memoryview) -> list[Package]:
    """Rebuild the packages written by ``encode_packages`` (ValueError if the
    data is not such a stored form)."""
    with gc_paused():
        return _decode(marshal.loads(data))


def _decode(loaded: Any) -> list[Package]:
    """Rebuild packages from the loaded tables, once they are checked."""
    if type(loaded) is not tuple or len(loaded) != 7 or loaded[0] != FORMAT_VERSION:
        raise ValueError("not a stored form of this format version")
    _, versions, fmris, deps, svr4, locations, packages = loaded
    _check_tables(dict(zip(_TABLES, loaded[1:], strict=True)))
    version_objs = _rebuild(Version, versions, {})
    fmri_objs = _rebuild(Fmri, fmris, {_F_VERSION: _one(version_objs)})
    dep_convert = {_D_TYPE: _dep_types, _D_FMRIS: _many(fmri_objs), _D_PREDICATE: _one(fmri_objs)}
    dep_objs = _rebuild(Dependency, deps, dep_convert)
    pkg_convert = {
        _P_FMRI: _one(fmri_objs),
        _P_DEPENDS: _many(dep_objs),
        _P_SVR4: _one(_rebuild(Svr4Params, svr4, {})),
        _P_WHERE: _one(_rebuild(Location, locations, {})),
    }
    return _rebuild(Package, packages, pkg_convert)[1:]


# ---------------------------------------------------------------------------
# Checking a stored form before rebuilding it
#
# A cache entry whose CRC matches is what zonesolve wrote, unless it was
# forged; either way it is checked to have the model's shape before any
# object is built: every column holds values of its field's type (references
# within their table, version keys as the versions' own), so that a forged
# or otherwise wrong entry is a miss, never an object that breaks the
# planner later. The checks run over whole columns in C (``set(map(type,
# column))``, ``min``, ``max``): about a tenth of the rebuild's time.

#: The stored tables, in stored order.
_TABLES = (Version, Fmri, Dependency, Svr4Params, Location, Package)


@cache
def _hints(cls: type) -> list[Any]:
    """The type of each field of a model class, in field order."""
    hints = typing.get_type_hints(cls)
    return [hints[name] for name in _names(cls)]


def _check_tables(stored: dict[type, Any]) -> None:
    """ValueError unless every table has the model's shape (see above)."""
    sizes: dict[type, int] = {}
    for cls, table in stored.items():
        if type(table) is not tuple or len(table) != 2 or type(table[0]) is not int or table[0] < 0:
            raise ValueError(f"bad {cls.__name__} table")
        sizes[cls] = table[0]
    for cls, (count, columns) in stored.items():
        width = len(_hints(cls)) if count else 0
        if type(columns) is not list or len(columns) != width:
            raise ValueError(f"bad {cls.__name__} columns")
        for column, hint in zip(columns, _hints(cls) if count else (), strict=True):
            if type(column) is not tuple or len(column) != count or not _conforms(column, hint, sizes):
                raise ValueError(f"bad {cls.__name__} column")
    versions = stored[Version]
    if versions[0]:
        column = dict(zip(_VERSION, versions[1], strict=True))
        keys = map(version_key, column["release"], column["branch"], column["timestamp"])
        if list(column["key"]) != list(keys):
            raise ValueError("version keys differ from the versions")


def _conforms(values: Sequence[Any], hint: Any, sizes: dict[type, int]) -> bool:
    """True if every value is of type ``hint`` as stored: a model class as a
    reference (1..size, 0 for None where the hint allows None), an enum as its
    value, tuples element by element, plain types exactly (a bool is no int)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType or origin is typing.Union:
        rest = [a for a in args if a is not type(None)]
        optional = len(rest) < len(args)
        if len(rest) != 1:
            return False
        if rest[0] in sizes:
            return _references(values, sizes[rest[0]], optional)
        return _conforms([v for v in values if v is not None] if optional else values, rest[0], sizes)
    if hint in sizes:
        return _references(values, sizes[hint], False)
    if origin is tuple:
        if not set(map(type, values)) <= {tuple}:
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return _conforms(list(chain.from_iterable(values)), args[0], sizes)
        if not set(map(len, values)) <= {len(args)}:
            return False
        flat = list(chain.from_iterable(values))  # column k of the tuples: flat[k::width]
        return all(_conforms(flat[k :: len(args)], arg, sizes) for k, arg in enumerate(args))
    if hint is Any:
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return set(map(type, values)) <= {str} and set(values) <= {member.value for member in hint}
    return hint in (str, int, bool, float) and set(map(type, values)) <= {hint}


def _references(values: Sequence[Any], size: int, optional: bool) -> bool:
    """Indices into a table of ``size`` rows (stored from 1; 0 is None)."""
    if not values:
        return True
    return set(map(type, values)) <= {int} and min(values) >= (0 if optional else 1) and max(values) <= size
