"""Catalog sources: where package versions come from (docs/interfaces.md).

A ``[[source]]`` directory is one of three kinds, told apart by what it holds:

- ``repository``: a pkg(5) file repository (``pkg5.repository``); manifests at
  ``publisher/<pub>/pkg/<quoted stem>/<quoted version>`` (ips-semantics 10.2);
- ``catalog``: a catalog/1 directory (``catalog.attrs``, ``catalog.base.C``,
  ``catalog.dependency.C``; ips-semantics 10.1);
- ``directory``: anything else; every ``*.p5m`` file below it is one package.

Inline ``[[manifest]]`` texts are a fourth source. Each directory source's
packages are cached on disk (``resolver.cache``), keyed by its files' names,
sizes and modification times. Every problem found is reported, each at its
file (and line where known); loading stops only after all sources were read.
"""

from __future__ import annotations

import configparser
import json
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from resolver import manifest
from resolver.cache import (
    Cache,
    FileStat,
    cache_disabled,
    decode_packages,
    default_cache_dir,
    encode_packages,
    gc_paused,
)
from resolver.catalog import Catalog
from resolver.errors import ErrorList, FmriError, InputError, InputErrors, Location
from resolver.fleet import read_text
from resolver.fmri import Fmri, parse_fmri
from resolver.limits import (
    MAX_DIGITS,
    MAX_NESTING,
    bad_path,
    check_deadline,
    json_long_number,
    json_nesting,
    offset_position,
    shown,
)
from resolver.model import Fleet, InlineManifest, Package, Source
from resolver.workers import default_jobs, run_all

__all__ = [
    "Progress",
    "load_catalog",
    "load_catalog1",
    "load_directory",
    "load_inline",
    "load_repository",
    "load_source",
    "load_source_encoded",
    "source_files",
    "source_kind",
]

Progress = Callable[[str, int, int], None]

_PROGRESS_EVERY = 1000  # files or catalog entries between progress reports
_CHUNK = 2000  # manifest files per task when parsing in worker processes
_CATALOG_PARTS = ("catalog.attrs", "catalog.base.C", "catalog.dependency.C")
_PATH_SHOWN = 200  # characters of a source path repeated in a message


# ---------------------------------------------------------------------------
# Errors


def _errors_of(err: InputError) -> list[InputError]:
    return list(err.errors) if isinstance(err, InputErrors) else [err]


def _relocate(err: InputError, location: Location) -> InputError:
    """The same problem, reported at ``location`` (keeping the original column)."""
    column = err.location.column if err.location else None
    return InputError(err.reason, replace(location, column=column))


def _source_error(source: Source, message: str) -> InputError:
    where = source.where or Location(source.path)
    path = source.path if len(source.path) <= _PATH_SHOWN else shown(source.path, _PATH_SHOWN)
    return InputError(f"{path}: {message}", where)


# ---------------------------------------------------------------------------
# Telling the kinds apart and listing their inputs


def source_kind(source: Source) -> str:
    """``repository``, ``catalog`` or ``directory``; InputError if not a directory."""
    problem = bad_path(source.path)
    if problem:
        raise _source_error(source, f"the path {problem}")
    root = Path(source.path)
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        raise _source_error(source, "no such directory") from None
    except OSError as err:  # too long (ENAMETOOLONG), a symbolic link loop, no permission, ...
        raise _source_error(source, f"cannot read: {err.strerror or err}") from None
    if not stat.S_ISDIR(mode):
        raise _source_error(source, "not a directory")
    if (root / "pkg5.repository").is_file():
        return "repository"
    if (root / "catalog.attrs").is_file():
        return "catalog"
    return "directory"


def source_files(source: Source) -> list[str]:
    """The files (relative paths) a source is read from: what ``lint`` counts."""
    return [rel for rel, _, _ in _inputs(source_kind(source), Path(source.path))]


def _stat(root: Path, rel: str) -> FileStat:
    info = (root / rel).stat()
    return rel, info.st_size, info.st_mtime_ns


def _walk_p5m(root: Path, deadline: float | None = None) -> list[FileStat]:
    """Every ``*.p5m`` file below ``root`` (sorted relative paths, with sizes and mtimes).

    Symbolic links to directories are not followed (as ``os.walk``): no loops.
    """
    out: list[FileStat] = []
    pending = [""]
    while pending:
        check_deadline(deadline, f"listing {root}")
        rel_dir = pending.pop()
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append(rel)
                elif entry.name.endswith(".p5m") and entry.is_file():
                    info = entry.stat()
                    out.append((rel, info.st_size, info.st_mtime_ns))
    out.sort()
    return out


def _list_dir(path: Path) -> list[str]:
    """Sorted entry names of a directory; empty if it does not exist."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def _repository_files(root: Path) -> list[FileStat]:
    """``pkg5.repository`` and every manifest of a file repository (v4 or v3 layout)."""
    rels = ["pkg5.repository"]
    pkg_dirs = [f"publisher/{pub}/pkg" for pub in _list_dir(root / "publisher")]
    if not pkg_dirs and (root / "pkg").is_dir():
        pkg_dirs = ["pkg"]  # v3: one publisher, the repository's default
    for pkg_dir in pkg_dirs:
        for stem in _list_dir(root / pkg_dir):
            rels.extend(f"{pkg_dir}/{stem}/{v}" for v in _list_dir(root / pkg_dir / stem))
    return [_stat(root, rel) for rel in rels]


def _inputs(kind: str, root: Path, deadline: float | None = None) -> list[FileStat]:
    """The files a source of this kind is read from (what its cache entry depends on)."""
    if kind == "directory":
        return _walk_p5m(root, deadline)
    if kind == "repository":
        return _repository_files(root)
    return [_stat(root, part) for part in _CATALOG_PARTS if (root / part).exists()]


# ---------------------------------------------------------------------------
# Manifest files (directories and repositories)


def _check_publisher(pkg: Package, hint: str) -> None:
    if pkg.fmri.publisher is None:
        where = pkg.where or Location("<unknown>")
        raise InputError(f"package '{pkg.fmri}' names no publisher: {hint}", where)


def _parse_file(path: str, default_publisher: str | None) -> Package:
    """One manifest file as a package (InputError if it is unreadable or invalid)."""
    pkg = manifest.parse_package(read_text(path), path, default_publisher)
    if pkg.where is None:
        pkg = replace(pkg, where=Location(path))
    hint = "write pkg://PUBLISHER/... in pkg.fmri or set 'publisher' in its [[source]]"
    _check_publisher(pkg, hint)
    return pkg


def _parse_files(
    tasks: Sequence[tuple[str, str | None]],
    errors: ErrorList,
    report: Callable[[int], None],
    deadline: float | None = None,
) -> list[Package]:
    """Parse (path, default publisher) tasks in order; every problem goes to ``errors``.

    Many files are parsed in worker processes (one per CPU), in chunks of
    ``_CHUNK``; a chunk comes back in the cache's compact form (marshal
    columns), which is much cheaper to move than pickled packages. On 2 cores
    this is about 1.7x faster when the machine is idle, and no faster when it
    is busy (for about 27% more CPU time). Past ``deadline``, SolveTimeout:
    every file parsed checks it, in the workers too.
    """
    if len(tasks) < 2 * _CHUNK:
        return _parse_chunk(tasks, errors, report, deadline)
    chunks = [tasks[i : i + _CHUNK] for i in range(0, len(tasks), _CHUNK)]

    def parse(i: int) -> tuple[bytes | list[Package], list[InputError]]:
        found = ErrorList()
        chunk = _parse_chunk(chunks[i], found, lambda done: None, deadline)
        try:
            return encode_packages(chunk), found.errors
        except ValueError:  # a value the compact form cannot hold: send the packages
            return chunk, found.errors

    def progress(_phase: str, done: int, _total: int) -> None:
        report(min(done * _CHUNK, len(tasks)))

    packages: list[Package] = []
    for data, found in run_all(parse, len(chunks), default_jobs(), progress, "parsing", deadline):
        packages.extend(decode_packages(data) if isinstance(data, bytes) else data)
        errors.errors.extend(found)
    report(len(tasks))
    return packages


def _parse_chunk(
    tasks: Sequence[tuple[str, str | None]],
    errors: ErrorList,
    report: Callable[[int], None],
    deadline: float | None = None,
) -> list[Package]:
    """Parse tasks in this process."""
    packages: list[Package] = []
    for done, (path, default_publisher) in enumerate(tasks, start=1):
        check_deadline(deadline, "parsing manifests")
        try:
            packages.append(_parse_file(path, default_publisher))
        except InputError as err:
            errors.errors.extend(_errors_of(err))
        if done % _PROGRESS_EVERY == 0:
            report(done)
    report(len(tasks))
    return packages


def _reporter(progress: Progress | None, label: str, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda done: None
    progress(label, 0, total)
    return lambda done: progress(label, done, total)


def load_directory(
    root: Path,
    files: Sequence[FileStat],
    publisher: str | None,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> list[Package]:
    """Every listed ``*.p5m`` file below ``root``, one package each, in file order."""
    errors = ErrorList()
    tasks = [(str(root / rel), publisher) for rel, _, _ in files]
    report = _reporter(progress, f"reading {root}", len(tasks))
    packages = _parse_files(tasks, errors, report, deadline)
    errors.raise_if_any()
    return packages


# ---------------------------------------------------------------------------
# pkg(5) file repositories


def _repository_prefix(root: Path) -> str | None:
    """``[publisher] prefix`` from ``pkg5.repository``, if set."""
    path = root / "pkg5.repository"
    config = configparser.RawConfigParser()
    try:
        config.read_string(read_text(path), str(path))
    except configparser.MissingSectionHeaderError as err:  # a ParsingError without .errors
        where = Location(str(path), err.lineno)
        raise InputError("not a valid pkg5.repository file: no [section] header first", where) from None
    except configparser.ParsingError as err:
        line = err.errors[0][0] if err.errors else None
        raise InputError("not a valid pkg5.repository file", Location(str(path), line)) from None
    except configparser.Error as err:
        line = getattr(err, "lineno", None)
        reason = err.message.splitlines()[0]
        raise InputError(f"invalid pkg5.repository: {reason}", Location(str(path), line)) from None
    return config.get("publisher", "prefix", fallback=None) or None


def _expected_fmri(rel: str, v3_publisher: str | None) -> Fmri:
    """The FMRI a repository manifest path stands for."""
    parts = rel.split("/")
    publisher = parts[1] if parts[0] == "publisher" else v3_publisher
    return parse_fmri(f"pkg://{publisher}/{unquote(parts[-2])}@{unquote(parts[-1])}")


def load_repository(
    root: Path,
    files: Sequence[FileStat],
    publisher: str | None,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> list[Package]:
    """The manifests of a file repository; each must match the FMRI its path names."""
    prefix = _repository_prefix(root)
    manifests = [rel for rel, _, _ in files if rel != "pkg5.repository"]
    has_v4 = any(_list_dir(root / "publisher"))
    v3_publisher = prefix or publisher
    if not has_v4 and not (v3_publisher and (root / "pkg").is_dir()):
        where = Location(str(root / "pkg5.repository"))
        raise InputError("the repository has no publisher (no publisher/<name>/ directory)", where)
    errors = ErrorList()
    expected: list[Fmri] = []
    tasks: list[tuple[str, str | None]] = []
    for rel in manifests:
        try:
            fmri = _expected_fmri(rel, v3_publisher)
        except FmriError as err:
            errors.add(f"not a package version's path: {err}", Location(str(root / rel)))
            continue
        expected.append(fmri)
        tasks.append((str(root / rel), fmri.publisher))
    report = _reporter(progress, f"reading {root}", len(tasks))
    packages = _parse_files(tasks, errors, report, deadline)
    by_path = {pkg.where.path: pkg for pkg in packages if pkg.where}
    for (path, _), want in zip(tasks, expected, strict=True):
        pkg = by_path.get(path)
        if pkg is not None and (pkg.fmri.stem, pkg.fmri.version) != (want.stem, want.version):
            msg = f"the manifest is for '{pkg.fmri}', but its path names '{want}'"
            errors.add(msg, Location(path))
        elif pkg is not None and pkg.fmri.publisher != want.publisher:
            msg = f"the manifest names publisher '{pkg.fmri.publisher}', its path '{want.publisher}'"
            errors.add(msg, Location(path))
    errors.raise_if_any()
    return packages


# ---------------------------------------------------------------------------
# catalog/1 directories


class _LongNumber(ValueError):
    """An integer of more than MAX_DIGITS digits in a JSON document."""


def _json_int(text: str) -> int:
    """json's ``parse_int``: refuse integers Python would refuse (4,300
    digits) long before Python does (resolver.limits.MAX_DIGITS)."""
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _LongNumber(text)
    return int(text)


def _read_json(path: Path) -> Any:
    """A JSON document; InputError at file:line:col if it does not parse, has
    an integer of more than MAX_DIGITS digits, or nests deeper than the
    parser can recurse (it stops with RecursionError, about 1,000 levels)."""
    text = read_text(path)
    try:
        return json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as err:
        where = Location(str(path), err.lineno, err.colno)
        raise InputError(f"invalid JSON: {err.msg}", where) from None
    except _LongNumber:
        offset = json_long_number(text)
        message = f"invalid JSON: a number with more than {MAX_DIGITS} digits"
    except RecursionError:
        offset = json_nesting(text)
        message = f"invalid JSON: nested more than {MAX_NESTING} levels deep"
    where = Location(str(path), *offset_position(text, offset)) if offset is not None else Location(str(path))
    raise InputError(message, where)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One version entry of a catalog part."""

    publisher: str
    stem: str
    version: str
    data: dict[str, Any]


def _entries(doc: Any, path: Path, errors: ErrorList) -> Iterator[_Entry]:
    """The well-formed entries of a catalog part; reports the others."""

    def bad(message: str, context: str | None = None) -> None:
        errors.add(message, Location(str(path), None, None, context))

    if not isinstance(doc, dict):
        bad("a catalog part must be a JSON object of publishers")
        return
    for publisher, stems in doc.items():
        if publisher.startswith("_"):
            continue
        if not isinstance(stems, dict):
            bad("must be an object of packages", f"publisher '{publisher}'")
            continue
        for stem, entries in stems.items():
            if not isinstance(entries, list):
                bad(
                    "must be a list of version entries",
                    f"publisher '{publisher}', package '{stem}'",
                )
                continue
            for i, entry in enumerate(entries, start=1):
                context = f"publisher '{publisher}', package '{stem}', entry #{i}"
                if not isinstance(entry, dict):
                    bad("an entry must be an object", context)
                elif not isinstance(entry.get("version"), str):
                    what = "has a non-string" if "version" in entry else "is missing key"
                    bad(f"the entry {what} 'version'", context)
                else:
                    yield _Entry(publisher, stem, entry["version"], entry)


def _catalog_actions(entry: _Entry, errors: ErrorList, path: Path, context: str) -> list[str]:
    actions = entry.data.get("actions", [])
    if isinstance(actions, list) and all(isinstance(a, str) for a in actions):
        return actions
    errors.add("'actions' must be a list of strings", Location(str(path), None, None, context))
    return []


def _catalog_package(fmri: Fmri, actions: list[str], path: Path, where: Location) -> Package:
    """A package from catalog action strings; errors name the entry and the action."""
    text = "\n".join([f"set name=pkg.fmri value={fmri}", *actions])
    try:
        parsed = manifest.parse_actions(text, str(path))
        pkg = manifest.package_from_actions(parsed, str(path), fmri.publisher)
    except InputError as err:
        wrapped = []
        for e in _errors_of(err):
            line = e.location.line if e.location else None
            which = f", action #{line - 1}" if line and line > 1 else ""
            wrapped.append(_relocate(e, replace(where, context=f"{where.context}{which}")))
        raise InputErrors(wrapped) if len(wrapped) > 1 else wrapped[0] from None
    # a catalog entry has the set and depend actions only: no reboot-needed=true seen is not "none"
    reboot_needed = None if pkg.reboot_needed is False else pkg.reboot_needed
    return replace(pkg, where=where, reboot_needed=reboot_needed)


def load_catalog1(
    root: Path,
    files: Sequence[FileStat] = (),
    publisher: str | None = None,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> list[Package]:
    """A catalog/1 directory: versions from the base part, actions from the dependency part."""
    for part in _CATALOG_PARTS:
        if not (root / part).is_file():
            raise InputError(f"the catalog has no {part}", Location(str(root / part)))
    check_deadline(deadline, f"reading {root}")
    attrs = _read_json(root / "catalog.attrs")
    version = attrs.get("version", 1) if isinstance(attrs, dict) else None
    if type(version) is not int or version != 1:  # not True, not 1.0
        raise InputError("not a version 1 catalog", Location(str(root / "catalog.attrs")))
    errors = ErrorList()
    dep_path = root / "catalog.dependency.C"
    actions = {(e.publisher, e.stem, e.version): e for e in _entries(_read_json(dep_path), dep_path, errors)}
    check_deadline(deadline, f"reading {root}")
    base = list(_entries(_read_json(root / "catalog.base.C"), root / "catalog.base.C", errors))
    report = _reporter(progress, f"reading {root}", len(base))
    packages: list[Package] = []
    for i, entry in enumerate(base, start=1):
        context = f"publisher '{entry.publisher}', package '{entry.stem}@{entry.version}'"
        where = Location(str(dep_path), None, None, context)
        try:
            fmri = parse_fmri(f"pkg://{entry.publisher}/{entry.stem}@{entry.version}")
            found = actions.get((entry.publisher, entry.stem, entry.version))
            strings = _catalog_actions(found, errors, dep_path, context) if found else []
            packages.append(_catalog_package(fmri, strings, dep_path, where))
        except FmriError as err:
            errors.add(str(err), replace(where, path=str(root / "catalog.base.C")))
        except InputError as err:
            errors.errors.extend(_errors_of(err))
        if i % _PROGRESS_EVERY == 0:
            report(i)
            check_deadline(deadline, f"reading {root}")
    report(len(base))
    errors.raise_if_any()
    return packages


# ---------------------------------------------------------------------------
# Inline manifests and the whole catalog


def load_inline(text: InlineManifest) -> Package:
    """A ``[[manifest]]`` table's package; its FMRI must name a publisher."""
    where = text.where or Location("<fleet>")
    pkg = manifest.parse_package(text.text, where.path, None, first_line=where.line or 1)
    if pkg.where is None:
        pkg = replace(pkg, where=where)
    _check_publisher(pkg, "write pkg://PUBLISHER/... in pkg.fmri")
    return pkg


_LOADERS: dict[str, Callable[..., list[Package]]] = {
    "directory": load_directory,
    "repository": load_repository,
    "catalog": load_catalog1,
}


def _listed(source: Source, deadline: float | None = None) -> tuple[str, Path, list[FileStat]]:
    """A source's kind, root and input files (what its cache entry depends on)."""
    kind = source_kind(source)
    root = Path(source.path)
    try:
        return kind, root, _inputs(kind, root, deadline)
    except OSError as err:
        raise _source_error(source, f"cannot list: {err.strerror or err}") from None


def load_source(
    source: Source,
    *,
    cache: Cache | None = None,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> list[Package]:
    """One ``[[source]]``'s packages, from the cache when its files did not change.
    Past ``deadline`` (``time.monotonic()``), SolveTimeout."""
    kind, root, files = _listed(source, deadline)
    entry = cache.entry(kind, str(root), source.publisher) if cache else None
    if cache and entry:
        cached = cache.load(entry, files)
        if cached is not None:
            return cached
    packages = _LOADERS[kind](root, files, source.publisher, progress, deadline)
    if cache and entry:
        cache.store(entry, files, packages)
    return packages


def load_source_encoded(
    source: Source, *, cache: Cache | None = None, progress: Progress | None = None
) -> bytes:
    """One source's packages in the cache's compact form (``decode_packages``
    rebuilds them): the cache entry's bytes as they are when it is fresh, so
    shipping a catalog elsewhere costs no rebuild here (resolver.site)."""
    if cache is not None:
        kind, root, files = _listed(source)
        stored = cache.load_encoded(cache.entry(kind, str(root), source.publisher), files)
        if stored is not None:
            return bytes(stored)
    return encode_packages(load_source(source, cache=cache, progress=progress))


class _Merger:
    """Packages from every source, once each; a conflicting duplicate is an error."""

    def __init__(self, errors: ErrorList) -> None:
        self.errors = errors
        self.seen: dict[tuple[str | None, str, object], Package] = {}

    def add(self, pkg: Package) -> None:
        version = pkg.fmri.version
        key = (pkg.fmri.publisher, pkg.fmri.stem, version.key if version else None)
        first = self.seen.setdefault(key, pkg)
        if first is not pkg and first != pkg:
            msg = f"'{pkg.fmri}' is defined twice with different content (also at {first.where})"
            self.errors.add(msg, pkg.where)

    def packages(self) -> list[Package]:
        return list(self.seen.values())


def _cache_for(cache_dir: str | Path | None, use_cache: bool) -> Cache | None:
    """The cache to use: none if turned off (argument or ``ZONESOLVE_NO_CACHE``)."""
    if not use_cache or cache_disabled():
        return None
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return Cache(directory) if directory is not None else None


def load_catalog(
    fleet: Fleet,
    *,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    packages_of: Callable[[Source], Sequence[Package]] | None = None,
    deadline: float | None = None,
) -> Catalog:
    """Every package of the fleet's sources and inline manifests, as one Catalog.

    ``cache_dir`` defaults to ``resolver.cache.default_cache_dir()``;
    ``use_cache=False`` or ``ZONESOLVE_NO_CACHE=1`` reads everything afresh.
    ``packages_of`` supplies a source's packages instead of reading it (a
    site's hosts share sources parsed once: resolver.site); the merge is the same.
    Raises InputError / InputErrors listing every problem found; SolveTimeout
    past ``deadline`` (``time.monotonic()``).
    """
    cache = _cache_for(cache_dir, use_cache)

    def read(source: Source) -> Sequence[Package]:
        return load_source(source, cache=cache, progress=progress, deadline=deadline)

    with gc_paused():  # a load builds millions of objects and no cycles
        return _load_all(fleet, packages_of or read, deadline)


def _load_all(
    fleet: Fleet, packages_of: Callable[[Source], Sequence[Package]], deadline: float | None = None
) -> Catalog:
    """Every source, then the inline manifests, merged into one Catalog."""
    errors = ErrorList()
    merged = _Merger(errors)
    for source in fleet.sources:
        try:
            for pkg in packages_of(source):
                merged.add(pkg)
        except InputError as err:
            errors.errors.extend(_errors_of(err))
    for text in fleet.manifests:
        check_deadline(deadline, "parsing the fleet file's manifests")
        try:
            merged.add(load_inline(text))
        except InputError as err:
            errors.errors.extend(_errors_of(err))
    errors.raise_if_any()
    return Catalog(merged.packages())
