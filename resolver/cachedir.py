"""The cache directory as a whole: its entries, their size and age, and eviction.

``resolver.cache`` writes one entry per catalog source (``*.zsc``) and one
per fleet file content (``doc-*.zsd``); left alone, the directory only grows
(a fleet file edited a hundred times leaves a hundred parses). Two bounds
keep it small, least recently used first:

- **size**: when the entries add up to more than ``ZONESOLVE_CACHE_MAX_SIZE``
  (default 256 MiB), the least recently used are removed until they fit;
- **age**: an entry not used for ``ZONESOLVE_CACHE_MAX_AGE`` (default 30
  days) is removed.

"Used" is read or written: a cache hit sets the entry's modification time to
now (its content is validated by its digest, never by its time). The bounds
are applied after every write, and by ``zonesolve cache`` (which also takes
them as options). The most recently used entry is never evicted for size, so
a single entry larger than the bound still serves the next run. Only files
named as the cache names them are counted or removed: a cache directory
pointed at a directory of other files leaves those alone. Temporary files of
interrupted writes older than an hour are removed too.

Sizes are bytes with an optional unit (``512K``, ``256M``, ``1.5G``, ``2T``;
binary: K is 1024); ages are a number with ``s``, ``m``, ``h``, ``d`` or
``w`` (a bare number is days). ``0`` or ``none`` turns a bound off.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_BYTES",
    "Entry",
    "Limits",
    "Report",
    "clear",
    "entries",
    "limits_from_env",
    "parse_age",
    "parse_size",
    "prune",
    "total_size",
    "touch",
]

DEFAULT_MAX_BYTES = 256 * 2**20
DEFAULT_MAX_AGE = 30 * 86400.0
SIZE_ENV = "ZONESOLVE_CACHE_MAX_SIZE"
AGE_ENV = "ZONESOLVE_CACHE_MAX_AGE"
#: Interrupted writes older than this are removed (those of dead processes
#: at once, by resolver.atomic), of either name: ``.tmp-*.part`` (older
#: versions) or ``.ENTRY.zonesolve.HOST.PID.*.tmp`` (resolver.atomic).
_STALE_TEMP = 3600.0

_KINDS = (("catalog", re.compile(r"[0-9a-f]{40}\.zsc\Z")), ("fleet", re.compile(r"doc-[0-9a-f]{40}\.zsd\Z")))
_TEMP = re.compile(r"\.tmp-.*\.part\Z|\.(?:[0-9a-f]{40}\.zsc|doc-[0-9a-f]{40}\.zsd)\.zonesolve\..*\.tmp\Z")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\Z", re.IGNORECASE)
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)\Z", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 86400, "w": 7 * 86400}


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds; None: no bound."""

    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_age: float | None = DEFAULT_MAX_AGE


@dataclass(frozen=True, slots=True)
class Entry:
    """One cache file: what it caches, its size, when it was last used."""

    path: Path
    kind: str  # "catalog" | "fleet"
    size: int
    used: float  # seconds since the epoch


def parse_size(text: str) -> int | None:
    """``256M`` -> bytes; ``0`` / ``none``: no bound. ValueError if it is not a size."""
    if text.strip().lower() == "none":
        return None
    found = _SIZE.match(text.strip())
    if found is None:
        raise ValueError(f"not a size: {text!r} (e.g. 256M, 1G, 500000000)")
    value = int(float(found.group(1)) * _UNITS[found.group(2).lower()])
    return value or None


def parse_age(text: str) -> float | None:
    """``30d`` -> seconds; ``0`` / ``none``: no bound. ValueError if it is not an age."""
    if text.strip().lower() == "none":
        return None
    found = _AGE.match(text.strip())
    if found is None:
        raise ValueError(f"not an age: {text!r} (e.g. 30d, 12h, 90m)")
    value = float(found.group(1)) * _SECONDS[found.group(2).lower()]
    return value or None


def limits_from_env() -> Limits:
    """The bounds from ``ZONESOLVE_CACHE_MAX_SIZE`` / ``_MAX_AGE``, else the
    defaults; ValueError (naming the variable) for a value that does not parse."""
    size, age = os.environ.get(SIZE_ENV, ""), os.environ.get(AGE_ENV, "")
    try:
        max_bytes = parse_size(size) if size else DEFAULT_MAX_BYTES
    except ValueError as err:
        raise ValueError(f"{SIZE_ENV}: {err}") from None
    try:
        max_age = parse_age(age) if age else DEFAULT_MAX_AGE
    except ValueError as err:
        raise ValueError(f"{AGE_ENV}: {err}") from None
    return Limits(max_bytes, max_age)


def _kind(name: str) -> str | None:
    for kind, pattern in _KINDS:
        if pattern.match(name):
            return kind
    return None


def entries(directory: Path) -> list[Entry]:
    """The cache's entries, least recently used first (empty if there is no directory)."""
    out: list[Entry] = []
    try:
        listing = list(os.scandir(directory))
    except OSError:
        return []
    for item in listing:
        kind = _kind(item.name)
        if kind is None:
            continue
        with contextlib.suppress(OSError):
            info = item.stat(follow_symlinks=False)
            out.append(Entry(Path(item.path), kind, info.st_size, info.st_mtime))
    out.sort(key=lambda e: (e.used, e.path.name))
    return out


def touch(path: Path) -> None:
    """Mark an entry used now (a cache hit); never raises."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False  # another process removed it first
    except OSError:
        return False
    return True


def _stale_temps(directory: Path, now: float) -> None:
    with contextlib.suppress(OSError):
        for item in os.scandir(directory):
            if _TEMP.match(item.name):
                with contextlib.suppress(OSError):
                    if now - item.stat(follow_symlinks=False).st_mtime > _STALE_TEMP:
                        _remove(Path(item.path))


def prune(directory: Path, limits: Limits | None = None, now: float | None = None) -> list[Entry]:
    """Apply the bounds (default: from the environment): entries unused for longer
    than the age, then the least recently used until the rest fit the size
    (never the most recently used one). Returns the entries removed."""
    if limits is None:
        try:
            limits = limits_from_env()
        except ValueError:
            limits = Limits()  # a bad setting must not break planning; `zonesolve cache` reports it
    now = time.time() if now is None else now
    _stale_temps(directory, now)
    kept = entries(directory)
    removed: list[Entry] = []
    if limits.max_age is not None:
        old = [e for e in kept if now - e.used > limits.max_age]
        removed += [e for e in old if _remove(e.path)]
        kept = [e for e in kept if e not in old]
    if limits.max_bytes is not None:
        total = sum(e.size for e in kept)
        for entry in kept[:-1]:
            if total <= limits.max_bytes:
                break
            total -= entry.size
            if _remove(entry.path):
                removed.append(entry)
    return removed


def clear(directory: Path) -> list[Entry]:
    """Remove every entry (and stale interrupted writes); returns the entries removed."""
    _stale_temps(directory, time.time())
    return [e for e in entries(directory) if _remove(e.path)]


def total_size(found: Sequence[Entry]) -> int:
    return sum(e.size for e in found)


# ---------------------------------------------------------------------------
# What ``zonesolve cache`` shows


def _size_text(size: int) -> str:
    """``18.2 MiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _age_text(seconds: float) -> str:
    """``30 days``, ``12 hours``."""
    for unit, scale in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= scale:
            count = round(seconds / scale, 1)
            shown = f"{count:g}"
            return f"{shown} {unit}" + ("" if shown == "1" else "s")
    return f"{seconds:g} seconds"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(stamp))


@dataclass(frozen=True, slots=True)
class Report:
    """The cache as ``zonesolve cache`` reports it."""

    directory: Path | None
    enabled: bool
    entries: Sequence[Entry]
    removed: Sequence[Entry]
    limits: Limits

    def text(self, verbose: bool = False) -> str:
        """For people: the directory, the entries by kind, the bounds, what was removed."""
        lines = []
        if self.removed:
            lines.append(f"removed {len(self.removed)} entries ({_size_text(total_size(self.removed))})")
        where = str(self.directory) if self.directory is not None else "(none)"
        lines.append(f"cache: {where}" + ("" if self.enabled else " (off: ZONESOLVE_NO_CACHE is set)"))
        kinds = {kind: [e for e in self.entries if e.kind == kind] for kind, _ in _KINDS}
        parts = ", ".join(f"{len(found)} {kind}" for kind, found in kinds.items())
        lines.append(f"entries: {len(self.entries)} ({parts}), {_size_text(total_size(self.entries))}")
        size = _size_text(self.limits.max_bytes) if self.limits.max_bytes else "no bound"
        age = f"unused for {_age_text(self.limits.max_age)}" if self.limits.max_age else "no bound"
        lines.append(f"bounds: size {size}, age {age} (least recently used first)")
        if verbose:
            lines += [
                f"  {e.kind:8} {_size_text(e.size):>10}  used {_when(e.used)}  {e.path.name}"
                for e in self.entries
            ]
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        """For scripts (the schema's ``$defs/cache``)."""

        def entry(e: Entry) -> dict[str, Any]:
            return {"name": e.path.name, "kind": e.kind, "size": e.size, "used": _when(e.used)}

        obj = {
            "version": 1,
            "cache": {
                "directory": str(self.directory) if self.directory is not None else None,
                "enabled": self.enabled,
                "size": total_size(self.entries),
                "max-size": self.limits.max_bytes,
                "max-age": self.limits.max_age,
                "entries": [entry(e) for e in self.entries],
                "removed": [entry(e) for e in self.removed],
            },
        }
        return json.dumps(obj, sort_keys=True, indent=2) + "\n"
