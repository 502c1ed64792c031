"""Limits on the shape of input, checked where the input is read.

Hostile or broken input must give a clear input error, never an internal
error or a hang. Most of it is caught by the parsers' own rules; a few shapes
are valid for a parser but would break the code reading it, so they get an
explicit limit here, far above anything real input needs:

- ``MAX_DIGITS``: digits in one integer (a version component, a TOML or JSON
  number). Python refuses to convert integers of more than 4,300 digits;
  real version components have at most 14 (a date and time).
- ``MAX_NESTING``: levels of arrays, inline tables and dotted-key parts in a
  TOML document, or of arrays and objects in a JSON document. Both parsers
  recurse per level (a RecursionError past about 300), and tomllib takes time
  and memory quadratic in the parts of one dotted key. A fleet file nests 5
  levels deep, a catalog part 4.

Paths are checked for what the operating system cannot be asked at all (a
NUL byte); a path it refuses (too long: ENAMETOOLONG, not a directory, ...)
is reported with the system's reason where it is opened.

The TOML and JSON checks first look at the text as a whole (a few regular
expression passes, no Python loop per character); only text that fails them
is scanned again, token by token, to say where.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator

from resolver.errors import SolveTimeout

__all__ = [
    "MAX_DIGITS",
    "MAX_NESTING",
    "bad_path",
    "check_deadline",
    "file_kind",
    "json_long_number",
    "json_nesting",
    "offset_position",
    "shown",
    "toml_problem",
]

MAX_DIGITS = 64
MAX_NESTING = 64

_SHOWN = 60  # characters of a value quoted in a message


def check_deadline(deadline: float | None, doing: str) -> None:
    """SolveTimeout if ``deadline`` (``time.monotonic()``) has passed: the
    check that loading and parsing make between files, so that --timeout
    holds on a cold cache too (``doing``: "reading /some/dir")."""
    if deadline is not None and time.monotonic() > deadline:
        raise SolveTimeout(f"the time limit (--timeout) was reached while {doing}")


def shown(text: str, limit: int = _SHOWN) -> str:
    """``text`` quoted for a message; a long one cut, with its length."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


# ---------------------------------------------------------------------------
# Paths


def bad_path(path: str) -> str | None:
    """Why ``path`` cannot even be passed to the system (a NUL byte), or None."""
    if "\0" in path:
        return "contains a NUL byte"
    try:
        os.fsencode(path)
    except UnicodeError:
        return "cannot be encoded as a file name"
    return None


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message."""
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISREG, "a regular file"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


# ---------------------------------------------------------------------------
# TOML: nesting, dotted keys and integers, before tomllib reads the text

#: Strings and comments, whose content is never structure. Multi-line strings
#: may end with one or two extra quotes (which belong to the content).
_TOML_OPAQUE = re.compile(
    r'"(?:""(?:[^"\\]|\\[\s\S]|"(?!""))*"""(?:"{1,2})?|[^"\\\n]*(?:\\.[^"\\\n]*)*")'
    r"|'(?:''[\s\S]*?'''(?:'{1,2})?|[^'\n]*')"
    r"|#[^\n]*"
)
_TOML_NOT_STRUCTURE = re.compile(r"[^\[\]{}.,=\n]+")
_TOML_RESETS = re.compile(r"[,=\n]+")
_LONG_NUMBER = re.compile(r"[0-9][0-9_]{%d,}" % MAX_DIGITS)  # noqa: UP031 (a regex, not a message)
_TOML_TOKEN = re.compile(
    _TOML_OPAQUE.pattern + r"|(?P<op>[\[\]{}.,=\n])|(?P<num>" + _LONG_NUMBER.pattern + ")"
)


def _toml_depth(structure: str) -> int:
    """The deepest level in ``structure``: brackets open a level, each ``.``
    of a dotted key adds one until the next ``,``/``=``/newline (``|`` here)."""
    depth = dots = deepest = 0
    for char in structure:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == ".":
            dots += 1
        else:
            dots = 0
        deepest = max(deepest, depth + dots)
    return deepest


def toml_problem(text: str) -> tuple[int, str] | None:
    """The offset and description of the first place past a limit, or None.

    The depth counted bounds the depth of the parsed data: each array,
    inline table and dotted-key part counts, and a table header counts its
    own parts (headers are never nested in each other).
    """
    bare = _TOML_OPAQUE.sub(" ", text)
    long_number = _LONG_NUMBER.search(bare) is not None
    structure = _TOML_RESETS.sub("|", _TOML_NOT_STRUCTURE.sub("", bare))
    if not long_number and _toml_depth(structure) <= MAX_NESTING:
        return None
    return _toml_locate(text)


def _toml_locate(text: str) -> tuple[int, str] | None:
    """``toml_problem`` token by token, to say where (only for text past a limit)."""
    depth = dots = 0
    for token in _TOML_TOKEN.finditer(text):
        if token.group("num"):
            return token.start(), f"a number with more than {MAX_DIGITS} digits"
        char = token.group("op")
        if char is None:
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == ".":
            dots += 1
        else:
            dots = 0
        if depth + dots > MAX_NESTING:
            what = "arrays, inline tables and dotted-key parts"
            return token.start(), f"nested more than {MAX_NESTING} levels deep ({what})"
    return None


# ---------------------------------------------------------------------------
# JSON: where a document nests too deeply (json.loads recurses per level)

_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(?P<open>[\[{])|(?P<close>[\]}])')
_JSON_NUMBER = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?(?P<digits>[0-9]{%d,})' % (MAX_DIGITS + 1))  # noqa: UP031


def _json_levels(text: str) -> Iterator[tuple[int, int]]:
    """(offset, depth after it) of every bracket outside strings."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        if token.group("open"):
            depth += 1
        elif token.group("close"):
            depth -= 1
        else:
            continue
        yield token.start(), depth


def json_nesting(text: str) -> int | None:
    """The offset of the first bracket nested more than MAX_NESTING levels, or None.

    A token scan in Python: called only once the parser has refused the text.
    """
    return next((offset for offset, depth in _json_levels(text) if depth > MAX_NESTING), None)


def json_long_number(text: str) -> int | None:
    """The offset of the first number outside strings with more than
    MAX_DIGITS digits in a row, or None (once the parser has refused it)."""
    return next((m.start() for m in _JSON_NUMBER.finditer(text) if m.group("digits")), None)


def offset_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
