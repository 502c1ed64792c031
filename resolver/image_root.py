"""One pkg(5) image on disk: what ``ROOT/var/pkg`` says about it.

The formats, as pkg5 (github.com/omniosorg/pkg5) writes them:

- ``pkg5.image``: ConfigParser text (``src/modules/config.py`` FileConfig);
  the properties are ``src/modules/client/imageconfig.py``'s: ``[image]
  version`` (the image format), ``[property] publisher-search-order`` (a
  Python list literal), ``[authority_PREFIX]`` per publisher (``prefix``,
  ``sticky``, ``disabled``, ``origins``), ``[variant]``, ``[facet]`` and
  ``[inherited_facet]`` with URL-quoted names (``quote(name, "")``: a facet
  on ``web/curl`` is written ``facet.version-lock.web%2Fcurl``). Publishers
  missing from the search order follow it alphabetically; disabled ones are
  not searched (``ImageConfig.reset``). Inherited facets mask local ones.
- installed packages (``src/modules/client/image.py``): format 4 keeps them
  as a catalog/1 directory, ``state/installed/`` (read by
  ``resolver.sources``, the same reader as any catalog source); format 5
  keeps one sqlite database, ``state/catalog.db``, whose ``packages`` rows
  with ``installed = 1`` are the installed packages and whose ``actions``
  rows (part 0, locale ``C``) hold their dependency actions
  (``src/modules/client/imagecatalog.py``, schema version 1).
- ``state/frozen_dict``: ``[1, {stem: [fmri, comment, time]}]``;
  ``state/avoid_set``: ``[1, {stem: "avoid" | "implicit-avoid" |
  "obsolete"}]`` (``image.py``; only ``avoid`` constrains the solver).
- ``publisher/PREFIX/catalog/``: the publisher's cached catalog/1 (often
  symbolic links into ``publisher/PREFIX/origins/<sha1>/``).
- ``linked/linked_{prop,ppkgs,ppubs}``: what the parent pushed into a linked
  child (``src/modules/client/linkedimage/common.py``).

Anything missing, truncated or malformed is an InputError naming the file
(and line:col where there is one).
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from resolver.cache import Cache
from resolver.errors import FmriError, InputError, Location
from resolver.fleet import read_text
from resolver.fmri import Fmri, parse_fmri, parse_version_pattern
from resolver.manifest import REBOOT_NEEDED
from resolver.model import InlineManifest, Source
from resolver.sources import load_source

#: Stated in the text of a package read from catalog actions (resolver.manifest_render does the same).
UNKNOWN_ACTIONS = f"set name={REBOOT_NEEDED} value=unknown"

__all__ = [
    "IMAGE_DIR",
    "SUPPORTED_VERSIONS",
    "ImagePublisher",
    "ImageRoot",
    "LinkedData",
    "read_image",
    "read_json",
]

IMAGE_DIR = Path("var") / "pkg"
SUPPORTED_VERSIONS = (4, 5)
#: The state database's schema version (imagecatalog.py SCHEMA_VERSION).
STATE_DB_SCHEMA = 1
_DEPENDENCY_PART = 0  # imagecatalog.py DEPENDENCY (catalog.Catalog.DEPENDENCY)
_AVOID_KINDS = ("avoid", "implicit-avoid", "obsolete")
_PUBLISHER_RE = re.compile(r"[A-Za-z0-9-][A-Za-z0-9.-]*\Z")  # misc.valid_pub_prefix


@dataclass(frozen=True, slots=True)
class ImagePublisher:
    """An enabled publisher of the image, with where its catalog is cached."""

    name: str
    sticky: bool
    origins: tuple[str, ...]
    catalog: Path  # var/pkg/publisher/NAME/catalog


@dataclass(frozen=True, slots=True)
class LinkedData:
    """A linked child's record of its parent (``var/pkg/linked/``)."""

    name: str | None  # li-name: "zone:web1"
    parent_packages: tuple[str, ...] | None  # linked_ppkgs
    parent_publishers: tuple[tuple[str, bool], ...] | None  # linked_ppubs
    directory: Path


@dataclass(frozen=True, slots=True)
class ImageRoot:
    """What zonesolve needs from one image."""

    root: Path
    version: int
    publishers: tuple[ImagePublisher, ...]  # enabled, in search order
    variants: tuple[tuple[str, str], ...]
    facets: tuple[tuple[str, bool], ...]
    installed: tuple[Fmri, ...]
    #: format 4: the installed catalog, a catalog source of its own
    state_catalog: Source | None
    #: format 5: the installed packages' catalog data, as manifest texts
    state_manifests: tuple[InlineManifest, ...]
    frozen: tuple[str, ...]
    avoid: tuple[str, ...]
    linked: LinkedData | None
    notes: tuple[str, ...]

    @property
    def config_path(self) -> Path:
        return self.root / IMAGE_DIR / "pkg5.image"

    @property
    def zone_variant(self) -> str:
        return dict(self.variants).get("variant.opensolaris.zone", "global")

    def installed_stems(self) -> frozenset[str]:
        return frozenset(f.stem for f in self.installed)


# ---------------------------------------------------------------------------
# JSON files


def read_json(path: Path) -> Any:
    """A JSON document; InputError at file:line:col if it does not parse."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", Location(str(path), err.lineno, err.colno)) from None


def _versioned(path: Path, what: str, shape: str) -> dict[str, Any]:
    """The dictionary of a ``[version, {...}]`` state file, version 1 only."""
    doc = read_json(path)
    if not (isinstance(doc, list) and len(doc) == 2 and isinstance(doc[1], dict)):
        raise InputError(f"not a pkg(5) {what} file (want {shape})", Location(str(path)))
    if doc[0] != 1:
        raise InputError(f"{what} version {doc[0]!r}: zonesolve reads version 1", Location(str(path)))
    return doc[1]


# ---------------------------------------------------------------------------
# pkg5.image


class _Config:
    """``pkg5.image`` parsed, with the line of each section and key for errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = read_text(path)
        self.parser = configparser.RawConfigParser()
        self.parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep case
        try:
            self.parser.read_string(self.text, str(path))
        except configparser.MissingSectionHeaderError as err:
            raise InputError("not an image configuration: no [section] header", self.at(err.lineno)) from None
        except configparser.ParsingError as err:
            line = err.errors[0][0] if err.errors else None
            content = self.text.splitlines()[line - 1].strip() if line else ""
            raise InputError(f"not a 'key = value' line: {content!r}", self.at(line)) from None
        except configparser.Error as err:  # duplicate sections or keys
            reason = err.message.splitlines()[0].split(": ", 1)[-1]
            raise InputError(reason, self.at(getattr(err, "lineno", None))) from None

    def at(self, line: int | None, context: str | None = None) -> Location:
        return Location(str(self.path), line, None, context)

    def _lines(self) -> Iterator[tuple[int, str, str]]:
        """(line number, section, key) of every key in the text."""
        section = ""
        for number, line in enumerate(self.text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1]
            elif stripped and not stripped.startswith(("#", ";")) and not line[0].isspace():
                key = re.split(r"\s*[=:]", stripped, maxsplit=1)[0]
                yield number, section, key

    def where(self, section: str, key: str) -> Location:
        """The location of ``key`` in ``[section]`` (its line, if found)."""
        line = next((n for n, s, k in self._lines() if s == section and k == key), None)
        return self.at(line, f"[{section}] {key}")

    def sections(self, prefix: str) -> list[str]:
        return sorted(s for s in self.parser.sections() if s.startswith(prefix))

    def items(self, section: str) -> list[tuple[str, str]]:
        if not self.parser.has_section(section):
            return []
        return list(self.parser.items(section))

    def get(self, section: str, key: str) -> str | None:
        if not self.parser.has_option(section, key):
            return None
        return self.parser.get(section, key)

    def boolean(self, section: str, key: str, default: bool) -> bool:
        """A PropBool: True/False in any case; empty is False (config.py)."""
        value = self.get(section, key)
        if value is None:
            return default
        if value.lower() in ("true", "false", ""):
            return value.lower() == "true"
        raise InputError(f"must be True or False, not {value!r}", self.where(section, key))

    def strings(self, section: str, key: str) -> list[str]:
        """A PropList: a Python list literal of strings; empty is []."""
        value = self.get(section, key)
        if not value:
            return []
        try:
            parsed = ast.literal_eval(value)
        except (SyntaxError, ValueError):
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(v, str | int | bool) for v in parsed):
            raise InputError(f"not a list of strings: {value!r}", self.where(section, key))
        return [str(v) for v in parsed]


def _image_version(config: _Config) -> int:
    """``[image] version``, which must be one zonesolve reads."""
    text = config.get("image", "version")
    if text is None:
        raise InputError("no [image] version: not a pkg(5) image configuration", config.at(None))
    if not text.strip().isdigit():
        msg = f"the image version must be a number, not {text!r}"
        raise InputError(msg, config.where("image", "version"))
    version = int(text)
    if version not in SUPPORTED_VERSIONS:
        known = " and ".join(str(v) for v in SUPPORTED_VERSIONS)
        hint = " ('pkg update-format' upgrades older images)" if version < min(SUPPORTED_VERSIONS) else ""
        msg = f"image format version {version}: zonesolve reads versions {known}{hint}"
        raise InputError(msg, config.where("image", "version"))
    return version


def _publishers(config: _Config, imgdir: Path) -> tuple[ImagePublisher, ...]:
    """Enabled publishers in search order: the listed ones first, then the rest by name."""
    found: dict[str, tuple[bool, bool, tuple[str, ...]]] = {}
    for section in config.sections("authority_"):
        prefix = config.get(section, "prefix") or section.removeprefix("authority_")
        if not _PUBLISHER_RE.match(prefix):
            raise InputError(f"{prefix!r} is not a valid publisher name", config.where(section, "prefix"))
        origins = config.strings(section, "origins")
        old_origin = config.get(section, "origin")  # images written by old clients
        if old_origin and old_origin not in ("None", *origins):
            origins.append(old_origin)
        disabled = config.boolean(section, "disabled", False)
        sticky = config.boolean(section, "sticky", True)
        found[prefix] = (disabled, sticky, tuple(origins))
    listed = [p for p in config.strings("property", "publisher-search-order") if p in found]
    order = list(dict.fromkeys(listed)) + sorted(set(found) - set(listed))
    return tuple(
        ImagePublisher(name, found[name][1], found[name][2], imgdir / "publisher" / name / "catalog")
        for name in order
        if not found[name][0]
    )


def _variants(config: _Config) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for key, value in config.items("variant"):
        name = unquote(key)
        if not name.startswith("variant."):
            raise InputError(f"{name!r} is not a variant name (variant.*)", config.where("variant", key))
        if not value:
            raise InputError(f"variant {name!r} has no value", config.where("variant", key))
        out[name] = value
    return tuple(sorted(out.items()))


def _facets(config: _Config) -> tuple[tuple[str, bool], ...]:
    """Local facets, masked by inherited ones (facet.py: parent facets win)."""
    out: dict[str, bool] = {}
    for section in ("facet", "inherited_facet"):
        for key, _ in config.items(section):
            name = unquote(key)
            if not name.startswith("facet."):
                raise InputError(f"{name!r} is not a facet name (facet.*)", config.where(section, key))
            out[name] = config.boolean(section, key, True)
    return tuple(sorted(out.items()))


# ---------------------------------------------------------------------------
# Installed packages


def _one_per_stem(fmris: list[Fmri], where: Location) -> tuple[Fmri, ...]:
    seen: dict[str, Fmri] = {}
    for fmri in fmris:
        if fmri.stem in seen:
            raise InputError(f"'{fmri.stem}' is installed twice ({seen[fmri.stem]} and {fmri})", where)
        seen[fmri.stem] = fmri
    return tuple(sorted(seen.values(), key=str))


def _installed_v4(state: Path, cache: Cache | None) -> tuple[tuple[Fmri, ...], Source]:
    """Format 4: the installed catalog, read as the catalog source it is."""
    directory = state / "installed"
    if not (directory / "catalog.attrs").is_file():
        where = Location(str(directory / "catalog.attrs"))
        raise InputError("missing: a format 4 image keeps its installed packages in state/installed/", where)
    source = Source(str(directory), None, Location(str(directory)))
    packages = load_source(source, cache=cache)
    return _one_per_stem([p.fmri for p in packages], Location(str(directory / "catalog.base.C"))), source


def _state_rows(db: Path) -> list[tuple[str, str, str, str | None]]:
    """(publisher, stem, version, dependency actions) of each installed row."""
    where = Location(str(db))
    try:
        con = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise InputError(f"cannot open the state database: {err}", where) from None
    try:
        schema = con.execute("PRAGMA user_version").fetchone()[0]
        if schema != STATE_DB_SCHEMA:
            what = "an empty or foreign file" if schema == 0 else "a schema zonesolve does not know"
            msg = f"state database schema version {schema} ({what}); zonesolve reads {STATE_DB_SCHEMA}"
            raise InputError(msg, where)
        meta = dict(con.execute("SELECT name, value FROM meta").fetchall())
        if meta.get("complete") != "1":
            raise InputError("the state database is incomplete (its meta table has no complete = 1)", where)
        rows = con.execute(
            "SELECT p.pub, p.stem, p.version, a.acts FROM packages p"
            " LEFT JOIN actions a ON a.pkg = p.id AND a.part = ? AND a.locale = 'C'"
            " WHERE p.installed = 1 ORDER BY p.pub, p.stem, p.version",
            (_DEPENDENCY_PART,),
        ).fetchall()
    except sqlite3.Error as err:
        raise InputError(f"not a readable state database: {err}", where) from None
    finally:
        con.close()
    return [(str(p), str(s), str(v), acts if isinstance(acts, str) else None) for p, s, v, acts in rows]


def _installed_v5(state: Path) -> tuple[tuple[Fmri, ...], tuple[InlineManifest, ...]]:
    """Format 5: installed rows of the state database, their actions as manifest text."""
    db = state / "catalog.db"
    if not db.is_file():
        raise InputError("missing: a format 5 image keeps its state in state/catalog.db", Location(str(db)))
    fmris: list[Fmri] = []
    texts: list[InlineManifest] = []
    for pub, stem, version, actions in _state_rows(db):
        text = f"pkg://{pub}/{stem}@{version}"
        try:
            fmri = parse_fmri(text)
        except FmriError as err:
            raise InputError(f"an installed package row: {err}", Location(str(db))) from None
        fmris.append(fmri)
        # a catalog's set and depend actions, no file actions: whether one needs a reboot is unknown
        body = f"set name=pkg.fmri value={fmri}\n{UNKNOWN_ACTIONS}\n" + (actions + "\n" if actions else "")
        texts.append(InlineManifest(body, Location(str(db), None, None, f"installed package {fmri}")))
    return _one_per_stem(fmris, Location(str(db))), tuple(texts)


# ---------------------------------------------------------------------------
# Frozen and avoided packages


def _frozen_pattern(text: object, path: Path, stem: str) -> str:
    """``pkg:/web/server/nginx@1.24`` (how pkg freeze stores it) as ``web/server/nginx@1.24``."""
    where = Location(str(path), None, None, f"package '{stem}'")
    if not isinstance(text, str):
        raise InputError(f"the frozen FMRI must be a string, not {text!r}", where)
    if text.startswith(("pkg://", "//")):  # a publisher: freezes ignore it
        body = text.removeprefix("pkg:").removeprefix("//").split("/", 1)[-1]
    else:
        body = text.removeprefix("pkg:").lstrip("/")
    name, _, version = body.partition("@")
    try:
        if not name:
            raise FmriError(f"{text!r} names no package")
        if version:
            parse_version_pattern(version)
    except FmriError as err:
        raise InputError(str(err), where) from None
    return body


def _frozen(state: Path) -> tuple[str, ...]:
    path = state / "frozen_dict"
    if not path.exists():
        return ()
    entries = _versioned(path, "frozen_dict", "[1, {stem: [fmri, comment, time]}]")
    out = []
    for stem, value in entries.items():
        fmri = value[0] if isinstance(value, list) and value else value
        out.append(_frozen_pattern(fmri, path, stem))
    return tuple(sorted(out))


def _avoided(state: Path) -> tuple[str, ...]:
    path = state / "avoid_set"
    if not path.exists():
        return ()
    entries = _versioned(path, "avoid_set", '[1, {stem: "avoid" | "implicit-avoid" | "obsolete"}]')
    for stem, kind in entries.items():
        if kind not in _AVOID_KINDS:
            where = Location(str(path), None, None, f"package '{stem}'")
            expected = ", ".join(_AVOID_KINDS)
            raise InputError(f"unknown avoid kind {kind!r} (expected one of: {expected})", where)
    return tuple(sorted(stem for stem, kind in entries.items() if kind == "avoid"))


# ---------------------------------------------------------------------------
# Linked-image data


def _linked(imgdir: Path) -> LinkedData | None:
    """The parent's pushed data in a linked child, or None if the image is no child."""
    directory = imgdir / "linked"
    prop_path = directory / "linked_prop"
    if not prop_path.exists():
        return None
    props = read_json(prop_path)
    if not isinstance(props, dict):
        raise InputError("linked image properties must be a JSON object", Location(str(prop_path)))
    name = props.get("li-name")
    packages = _optional_list(directory / "linked_ppkgs")
    publishers = _optional_list(directory / "linked_ppubs")
    pubs = None
    if publishers is not None:
        pubs = tuple((str(p[0]), bool(p[1])) for p in publishers if isinstance(p, list) and len(p) == 2)
    return LinkedData(
        name if isinstance(name, str) else None,
        tuple(str(p) for p in packages) if packages is not None else None,
        pubs,
        directory,
    )


def _optional_list(path: Path) -> list[Any] | None:
    if not path.exists():
        return None
    doc = read_json(path)
    if not isinstance(doc, list):
        raise InputError("must be a JSON list", Location(str(path)))
    return doc


# ---------------------------------------------------------------------------
# The image


def _config_path(root: Path) -> Path:
    """``var/pkg/pkg5.image``, or an InputError saying why this is no image zonesolve reads."""
    if not root.is_dir():
        raise InputError("no such directory (an image root holds var/pkg)", Location(str(root)))
    imgdir = root / IMAGE_DIR
    path = imgdir / "pkg5.image"
    if path.is_file():
        return path
    if (imgdir / "cfg_cache").is_file():
        msg = "an image of format 3 or older: zonesolve reads 4 and 5 ('pkg update-format' upgrades it)"
        raise InputError(msg, Location(str(imgdir / "cfg_cache")))
    raise InputError("not a pkg(5) image: this file is missing", Location(str(path)))


def read_image(root: Path, *, cache: Cache | None = None) -> ImageRoot:
    """Read the image at ``root`` (the directory holding ``var/pkg``).

    ``cache`` holds parsed catalogs (format 4's installed catalog is one)."""
    config = _Config(_config_path(root))
    imgdir = root / IMAGE_DIR
    version = _image_version(config)
    state = imgdir / "state"
    notes: list[str] = []
    if version >= 5:
        installed, manifests = _installed_v5(state)
        state_catalog = None
    else:
        (installed, state_catalog), manifests = _installed_v4(state, cache), ()
    variants = _variants(config)
    if "variant.arch" not in dict(variants):
        notes.append(f"{config.path}: no variant.arch: actions tagged with an architecture do not apply")
    if config.boolean("property", "use-system-repo", False):
        notes.append(
            f"{config.path}: uses the system repository; zonesolve reads only the publishers configured here"
        )
    return ImageRoot(
        root=root,
        version=version,
        publishers=_publishers(config, imgdir),
        variants=variants,
        facets=_facets(config),
        installed=installed,
        state_catalog=state_catalog,
        state_manifests=manifests,
        frozen=_frozen(state),
        avoid=_avoided(state),
        linked=_linked(imgdir),
        notes=tuple(notes),
    )
