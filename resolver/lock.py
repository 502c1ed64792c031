"""Lock files: every image's exact packages after a plan, and planning back to them.

``zonesolve lock VERB ... -o fleet.lock`` plans as ``VERB`` would and writes
the exact FMRI of every package in every image after the plan;
``zonesolve update --to fleet.lock`` plans exactly that state from what is
installed now: plan once, review, apply the same on many hosts (what uv's
lock files and a pinned ``entire@SRU`` give).

The format (TOML, ``version = 1``)::

    # comments: the command that made it, and the one that applies it
    version = 1

    [[image]]
    name = "global"
    packages = [
      "pkg://omnios/library/zlib@1.3.1,5.11-151050.0:20240501T000000Z",
      ...
    ]

One ``[[image]]`` per image of the fleet, the global zone first; full FMRIs
(publisher, version with timestamp), sorted by stem, one per stem. Unknown
keys, another ``version``, an FMRI without publisher or version are errors.

``--to`` is a request like any other (resolver.problem.Request): each image
gets the locked packages it does not have installed as the only versions it
may have of their stems (kind ``install``: each must be installed), and
uninstalls every installed stem the lock does not have; what is installed as
locked stays (installed packages stay installed, and the plan changes as few
as it can). Everything else is the ordinary planner: the
rules of every image and zone still hold, so a locked state that breaks one
(a freeze, a zone that cannot follow, a removed dependency) fails with the
usual explanation. A lock that names an image or a package version the fleet
and its sources do not have is an input error at its line; a plan that would
need more than the lock has (a dependency the lock lacks) fails, naming it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from resolver.catalog import Catalog
from resolver.errors import ErrorList, Fact, FmriError, Location, NoSolution
from resolver.fleet import _toml_error, read_text
from resolver.fmri import Fmri, parse_fmri
from resolver.model import Fleet, Image, Lock, LockedImage
from resolver.plan import ImagePlan, Result
from resolver.problem import Request
from resolver.reasons import Rule

__all__ = ["LOCK_VERSION", "load_lock", "lock_requests", "lock_text", "retitled", "unreached"]

#: The lock file format this zonesolve writes and reads.
LOCK_VERSION = 1
_TOP_KEYS = ("version", "image")
_IMAGE_KEYS = ("name", "packages")


# ---------------------------------------------------------------------------
# Writing


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def lock_text(result: Result, made_by: str, apply: str) -> str:
    """The lock file of a plan: every image's packages after it, global zone first."""
    lines = [
        f"# zonesolve lock file (format {LOCK_VERSION}): the exact packages of every image after a plan.",
        f"# made by:  {made_by}",
        f"# apply it: {apply}",
        f"version = {LOCK_VERSION}",
    ]
    for name in result.order:
        plan = result.images[name]
        packages = [_string(str(plan.after[stem])) for stem in sorted(plan.after)]
        body = "".join(f"  {p},\n" for p in packages)
        lines += [
            "",
            "[[image]]",
            f"name = {_string(name)}",
            f"packages = [\n{body}]" if body else "packages = []",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Reading


class _Lines:
    """Finds the line (1-based) of a string in the lock text, for messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*image\s*\]\]", line)]

    def find(self, needle: str, start: int = 0) -> int | None:
        for index in range(start, len(self.lines)):
            if needle in self.lines[index]:
                return index + 1
        return None

    def string(self, text: str, start: int) -> int:
        """The line of a string value (either kind of quotes) at or after ``start``."""
        for index in range(start, len(self.lines)):
            if f'"{text}"' in self.lines[index] or f"'{text}'" in self.lines[index]:
                return index + 1
        return start + 1

    def image(self, nth: int) -> int:
        """The 0-based line index of the nth ``[[image]]`` header (0 if not found)."""
        return self.headers[nth] if nth < len(self.headers) else 0


def load_lock(path: str) -> Lock:
    """Read and check a lock file; InputError / InputErrors name file:line."""
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _toml_error(err, text, path) from None
    lines = _Lines(text)
    errors = ErrorList()
    _check_keys(data, _TOP_KEYS, "top level", Location(path), errors)
    version = data.get("version")
    if version != LOCK_VERSION:
        where = Location(path, lines.find("version"))
        shown = "missing" if version is None else repr(version)
        errors.add(f"lock format version {shown}: this zonesolve reads version {LOCK_VERSION}", where)
    tables = data.get("image", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        errors.add("'image' must be an array of tables ([[image]])", Location(path, lines.find("image")))
        tables = []
    images: list[LockedImage] = []
    for nth, table in enumerate(tables):
        image = _image(table, nth, path, lines, errors)
        if image is None:
            continue
        if any(i.name == image.name for i in images):
            errors.add(f"image '{image.name}' is locked twice", image.where)
        images.append(image)
    if not tables and not errors.errors:
        errors.add("no [[image]] tables: a lock names every image", Location(path))
    errors.raise_if_any()
    return Lock(path, tuple(images))


def _check_keys(
    table: Mapping[str, Any], allowed: Sequence[str], what: str, where: Location, errors: ErrorList
) -> None:
    for key in table:
        if key not in allowed:
            errors.add(f"unknown key '{key}' in the {what} (expected one of: {', '.join(allowed)})", where)


def _image(
    table: Mapping[str, Any], nth: int, path: str, lines: _Lines, errors: ErrorList
) -> LockedImage | None:
    """One ``[[image]]``: its name and packages, each package checked."""
    start = lines.image(nth)
    where = Location(path, start + 1, None, f"[[image]] #{nth + 1}")
    _check_keys(table, _IMAGE_KEYS, f"[[image]] #{nth + 1}", where, errors)
    name = table.get("name")
    if not isinstance(name, str) or not name:
        errors.add("an [[image]] needs a 'name' (a string)", where)
        return None
    where = Location(path, start + 1, None, f"[[image]] '{name}'")
    packages = table.get("packages")
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        errors.add("'packages' must be an array of FMRI strings", where)
        return None
    fmris: list[Fmri] = []
    locations: list[Location] = []
    stems: dict[str, str] = {}
    for text in packages:
        at = Location(path, lines.string(text, start), None, f"[[image]] '{name}'")
        try:
            fmri = parse_fmri(text)
        except FmriError as err:
            errors.add(str(err), at)
            continue
        if fmri.publisher is None or fmri.version is None:
            errors.add(f"'{text}' is not exact: write pkg://PUBLISHER/STEM@VERSION", at)
        elif fmri.stem in stems:
            errors.add(f"locks '{fmri.stem}' twice ('{stems[fmri.stem]}' and '{text}')", at)
        else:
            stems[fmri.stem] = text
            fmris.append(fmri)
            locations.append(at)
    return LockedImage(name, tuple(fmris), where, tuple(locations))


# ---------------------------------------------------------------------------
# Planning to a lock


def lock_requests(fleet: Fleet, catalog: Catalog, lock: Lock, here: Image) -> dict[str, Request]:
    """Every image's request for ``update --to``: exactly its locked packages.
    InputErrors for images or package versions the fleet does not have."""
    errors = ErrorList()
    if not here.is_global:
        errors.add(f"update --to plans every image: run it in the global zone, not in '{here.name}'")
    images = {image.name: image for image in fleet.images}
    names = ", ".join(images)
    for locked in lock.images:
        if locked.name not in images:
            errors.add(
                f"image '{locked.name}' is in the lock but not in {fleet.path} (images: {names})",
                locked.where,
            )
    locked_names = {locked.name for locked in lock.images}
    for image in fleet.images:
        if image.name not in locked_names:
            errors.add(
                f"image '{image.name}' of {fleet.path} is not in the lock (a lock names every image)",
                Location(lock.path),
            )
    requests: dict[str, Request] = {}
    for locked in lock.images:
        if locked.name not in images:
            continue
        installed = {fmri.stem: fmri for fmri in images[locked.name].installed}
        proposed = {}
        for fmri, at in zip(locked.packages, locked.locations, strict=True):
            pkg = catalog.get(fmri)
            if pkg is None:
                errors.add(f"{fmri} is in no source of {fleet.path}: the lock cannot be reached", at)
            elif installed.get(pkg.stem) != pkg.fmri:  # what stays as it is needs no request
                proposed[pkg.stem] = [pkg]
        requests[locked.name] = Request(
            "install",
            proposed,
            remove=frozenset(installed.keys() - {fmri.stem for fmri in locked.packages}),
            proposed_by={stem: str(versions[0].fmri) for stem, versions in proposed.items()},
        )
    errors.raise_if_any()
    return requests


def retitled(err: NoSolution, lock: Lock) -> NoSolution:
    """A failure to reach a lock, titled by the lock instead of a list of every
    locked package (the explanation is the planner's)."""
    where = err.message.rsplit(" in ", 1)[-1]
    return NoSolution(f"update --to {lock.path} in {where}", err.facts, image=err.image)


def unreached(lock: Lock, images: Mapping[str, ImagePlan]) -> NoSolution | None:
    """None if every image ends exactly as locked; else why the lock cannot be
    reached exactly (the packages the plan would need beside the lock)."""
    facts: list[Fact] = []
    for locked in lock.images:
        want = {fmri.stem: fmri for fmri in locked.packages}
        have = images[locked.name].after
        for stem in sorted(set(want) | set(have)):
            if want.get(stem) == have.get(stem):
                continue
            if stem not in want:
                text = f"{have[stem]} is needed too, and the lock does not have it"
            elif stem not in have:
                text = f"{want[stem]} is locked but cannot stay installed"
            else:
                text = f"{want[stem]} is locked, but {have[stem]} is needed"
            fmri = want.get(stem) or have[stem]
            facts.append(Fact(Rule.LOCK, text, locked.name, str(fmri), versions=(str(fmri),)))
    if not facts:
        return None
    title = f"update --to {lock.path}: the locked state cannot be reached exactly"
    return NoSolution(title, facts, image=facts[0].image)
