"""Manifests: pkg(5) action text -> :class:`Action` -> :class:`~resolver.model.Package`.

The syntax is defined once, in ``grammar/manifest.lark`` (found through
``grammar.GRAMMAR_PATH``). Two parsers are made from it:

* the **fast path**: one regex per logical line, composed from the grammar's
  own terminal patterns (:class:`_FastPath`), with every terminal matched
  atomically as a lexer would;
* **lark** (LALR, inline transformer), built once, for the lines the fast
  path does not accept: it either accepts the line after all, or raises an
  error that says where (line:col) and what it expected.

Both produce the same raw form (type, payload, key/value pairs), which one
function, :func:`_finish`, turns into an action by pkg(5)'s constructor
rules. Results are memoised per line text: real manifests repeat lines such
as ``depend type=parent fmri=feature/package/dependency/self
variant.opensolaris.zone=nonglobal`` thousands of times.

The line pre-pass (docs/ips-semantics.md 3.1) is :func:`_logical_lines`.
Actions are what pkg(5)'s ``fromstr`` returns; of ``Manifest.add_action``'s
legacy fixups, only ``opensolaris.zone`` -> ``variant.opensolaris.zone``
matters, and :func:`package_from_actions` applies it to dependency tags.

Deliberate differences from pkg(5): a continuation on the last line of the
text is reported instead of silently dropped; unexpanded build macros
(``$(PKGVERS)``) and pkgmogrify directives are reported as such; a key or
payload may not start with a quote (pkg(5) never checks their first
character, so it reads ``"a=b`` as key ``"a``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType
from typing import NamedTuple

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from grammar import GRAMMAR_PATH
from resolver.errors import ErrorList, FmriError, InputError, Location
from resolver.fmri import Fmri, parse_fmri
from resolver.model import Dependency, DepType, Package, Svr4Params, Tags

__all__ = [
    "KEY_ATTRS",
    "PAYLOAD_TYPES",
    "Action",
    "clear_caches",
    "package_from_actions",
    "parse_actions",
    "parse_package",
]

Value = str | tuple[str, ...]

#: Every action type and its key attribute (ips-semantics 3.3).
KEY_ATTRS: Mapping[str, str | None] = MappingProxyType(
    {
        "set": "name",
        "depend": "fmri",
        "file": "path",
        "dir": "path",
        "link": "path",
        "hardlink": "path",
        "license": "license",
        "legacy": "pkg",
        "user": "username",
        "group": "groupname",
        "driver": "name",
        "signature": "value",
        "unknown": None,
    }
)
#: The action types that may carry a payload (positional or ``hash=``).
PAYLOAD_TYPES = frozenset({"file", "license", "signature"})
#: Types whose constructor does not insist on the key attribute.
_KEY_OPTIONAL = frozenset({"set", "signature"})

_MOGRIFY_MESSAGE = (
    "pkgmogrify directive: expand with pkgmogrify first "
    "(<transform ...> and <include ...> are not pkg(5) actions)"
)


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a manifest, as pkg(5)'s ``actions.fromstr`` builds it.

    ``attrs`` maps each key to its value, or to a tuple of values, in order,
    when the key is repeated (read-only: identical lines share it; a ``set``
    action always has ``name`` and ``value``, a ``path`` no leading slash).
    ``payload`` is the payload hash (positional or ``hash=``) of a file,
    license or signature action. ``line`` is the 1-based line where the
    action starts.
    """

    type: str
    attrs: Mapping[str, str | tuple[str, ...]]
    payload: str | None
    line: int


# ---------------------------------------------------------------------------
# Results of parsing one logical line


class _Raw(NamedTuple):
    """What the syntax gives, before pkg(5)'s constructor rules apply.

    ``pairs`` holds each attribute's key and value text as written: a quoted
    value still has its quotes (and escapes), which :func:`_finish` removes.
    """

    type: str
    payload: str | None
    pairs: Sequence[Sequence[str]]


class _Directive(NamedTuple):
    """A pkgmogrify directive line."""

    text: str


class _Parsed(NamedTuple):
    """A good line: the fields of an :class:`Action` but its line number."""

    type: str
    attrs: Mapping[str, Value]
    payload: str | None


class _Problem(NamedTuple):
    """A bad line: where in the logical line (0-based offset), and what is wrong."""

    offset: int
    message: str


_LineResult = _Parsed | _Problem


# ---------------------------------------------------------------------------
# The grammar: lark parser (authority, errors) and fast path (speed)


class _ToRaw(Transformer[Token, object]):
    """Inline transformer: grammar rules -> :class:`_Raw` / :class:`_Directive`."""

    def start(self, children: list[object]) -> object:
        """An action, a directive, or None (a blank line or a comment)."""
        return children[0] if children else None

    def action(self, children: list[object]) -> _Raw:
        """``TYPE payload? attribute*``."""
        payload = children[1] if len(children) > 1 and isinstance(children[1], str) else None
        pairs = [item for item in children[1:] if isinstance(item, tuple)]
        return _Raw(str(children[0]), payload, pairs)

    def payload(self, children: list[Token]) -> str:
        """The positional payload hash."""
        return str(children[0])

    def attribute(self, children: list[object]) -> tuple[str, str]:
        """``KEY = value``."""
        return str(children[0]), str(children[1])

    def quoted(self, children: list[Token]) -> str:
        """Adjacent quoted strings, as written (:func:`_finish` unquotes)."""
        return "".join(children)

    def mogrify_directive(self, children: list[Token]) -> _Directive:
        """A pkgmogrify directive, kept only to be reported."""
        return _Directive(str(children[0]))


@cache
def _lark() -> Lark:
    """The LALR parser, built once from the grammar file."""
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["start", "build_macro"],
        transformer=_ToRaw(),
    )


def _terminal(name: str) -> str:
    """The regex of one of the grammar's terminals, as an atomic group.

    Atomic (no backtracking into the token), because a lexer does not
    backtrack either: ``BARE`` takes everything up to whitespace.
    """
    pattern: str = _lark().get_terminal(name).pattern.to_regexp()
    if re.compile(pattern).groups:
        raise AssertionError(f"terminal {name} has capturing groups")
    return f"(?>{pattern})"


class _FastPath:
    """One regex for a whole action line, composed from the grammar's terminals.

    The composition mirrors the grammar's rules ``action``, ``payload``,
    ``attribute``, ``value`` and ``quoted``; tests check on generated lines
    that it accepts exactly what lark accepts, with the same result.
    """

    def __init__(self) -> None:
        t = _terminal
        ws, key, bare = t("_WS"), t("KEY"), t("BARE")
        quoted = f"{t('QUOTED')}{t('QUOTED_MORE')}*"
        attribute = f"{key}{t('_EQ')}(?:{bare}|{quoted}){ws}?"
        head = (
            f"(?P<head>(?P<type>{t('PAYLOAD_TYPE')}){ws}(?:(?P<payload>{t('PAYLOAD')}){ws})?"
            f"|(?P<type2>{t('TYPE')}){ws})"
        )
        self.line = re.compile(f"{head}(?:{attribute})*")
        # (key, value as written); a bare value never starts with a quote
        self.attribute = re.compile(f"({key}){t('_EQ')}({bare}|{quoted})")
        self.quoted_string = re.compile(t("QUOTED"))
        self.macro = re.compile(t("BUILD_MACRO"))

    def scan(self, text: str) -> _Raw | None:
        """The raw action of ``text``, or None if the fast path does not accept it."""
        match = self.line.fullmatch(text)
        if match is None:
            return None
        kind, payload, kind2 = match.group("type", "payload", "type2")
        start = match.end("head")
        if '"' in text or "'" in text:
            pairs: Sequence[Sequence[str]] = self.attribute.findall(text, start)
        else:  # the line is valid, so its attributes are key=value words
            words = text[start:]
            if "\t" in words:
                words = words.replace("\t", " ")
            pairs = [word.split("=", 1) for word in words.split(" ") if word]
        return _Raw(kind or kind2, payload, pairs)

    def attribute_offset(self, text: str, key: str | None, nth: int = 0) -> int:
        """Offset of the ``nth`` attribute named ``key`` in ``text`` (else of the
        first attribute; 0 when ``key`` is None or the line is not an action)."""
        return self.attribute_offsets(text).find(key, nth)

    def attribute_offsets(self, text: str) -> _Offsets:
        """Where every attribute of ``text`` starts, found in one pass (a line
        with thousands of bad values is located once, not once per error)."""
        match = self.line.fullmatch(text)
        if match is None:
            return _Offsets(0, {})
        by_key: dict[str, list[int]] = {}
        for found in self.attribute.finditer(text, match.end("head")):
            by_key.setdefault(found.group(1), []).append(found.start())
        return _Offsets(match.end("head"), by_key)


class _Offsets(NamedTuple):
    """The attributes' offsets in one action line, by key, in order."""

    start: int  # of the first attribute
    by_key: dict[str, list[int]]

    def find(self, key: str | None, nth: int = 0) -> int:
        """The ``nth`` ``key`` (else the first attribute; 0 for None or a non-action)."""
        if key is None:
            return 0
        found = self.by_key.get(key, [])
        return found[nth] if nth < len(found) else self.start


@cache
def _fast_path() -> _FastPath:
    """The fast path, built once."""
    return _FastPath()


_QUOTES = frozenset("\"'")
#: Inside a quoted string: a backslash before a backslash or the string's quote.
_UNESCAPE = {'"': re.compile(r'\\([\\"])'), "'": re.compile(r"\\([\\'])")}


def _unquote(text: str) -> str:
    """The value of one or more adjacent quoted strings (``"a" 'b'`` -> ``ab``).

    Inside a string, ``\\\\`` and a backslash before the string's own quote
    lose the backslash; every other backslash stays.
    """
    quote = text[0]
    if text[-1] == quote and text.count(quote) == 2 and "\\" not in text:
        return text[1:-1]  # the common case: one string, no escapes
    out = []
    for part in _fast_path().quoted_string.findall(text):
        inner = part[1:-1]
        if "\\" in inner:
            inner = _UNESCAPE[part[0]].sub(r"\1", inner)
        out.append(inner)
    return "".join(out)


# ---------------------------------------------------------------------------
# One logical line


@lru_cache(maxsize=1 << 15)
def _parse_line(text: str) -> _LineResult:
    """Parse one logical line (memoised): the fast path, else lark."""
    raw: object = _fast_path().scan(text)
    if raw is None:
        try:
            raw = _lark().parse(text, start="start")
        except UnexpectedInput as err:
            return _macro_problem(text) or _lark_problem(err, text)
    if isinstance(raw, _Directive):
        return _Problem(0, _MOGRIFY_MESSAGE)
    assert isinstance(raw, _Raw)
    if "$(" in text:
        problem = _macro_problem(text)
        if problem is not None:
            return problem
    return _finish(raw, text)


def _macro_problem(text: str) -> _Problem | None:
    """An unexpanded build macro in ``text``, if there is one."""
    found = _fast_path().macro.search(text)
    if found is None:
        return None
    macro = found.group()
    return _Problem(
        found.start(),
        f"unexpanded build macro {macro}: expand build macros first "
        f"(pkgmogrify -D {macro[2:-1]}=..., or the build that fills them in)",
    )


def _finish(raw: _Raw, text: str) -> _LineResult:
    """Apply pkg(5)'s action-constructor rules to a syntactically valid action."""
    kind, payload, pairs = raw
    attrs: dict[str, Value] = dict(pairs)  # type: ignore[arg-type]
    if len(attrs) != len(pairs) or '"' in text or "'" in text:
        attrs = _collect(pairs)
    if "hash" in attrs or "data" in attrs:
        problem = _check_hash_data(kind, attrs, payload, text)
        if problem is not None:
            return problem
        payload = _last(attrs.pop("hash", payload))
    problem = _check_constructor(kind, attrs, text)
    if problem is not None:
        return problem
    if kind == "set" and ("name" not in attrs or "value" not in attrs):
        name_value = _set_name_value(attrs)
        if name_value is None:
            return _Problem(0, 'set action: missing "name" or "value" attribute')
        attrs = {"name": name_value[0], "value": name_value[1]}
    return _Parsed(kind, MappingProxyType(attrs), payload)


def _collect(pairs: Sequence[Sequence[str]]) -> dict[str, Value]:
    """Attributes from (key, value as written): quoted values unquoted,
    repeated keys gathered into a tuple, in order."""
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(_unquote(value) if value[0] in _QUOTES else value)
    return {key: got[0] if len(got) == 1 else tuple(got) for key, got in values.items()}


def _last(value: Value | None) -> str | None:
    """The last of a repeated attribute's values (pkg(5): the last hash= wins)."""
    return value[-1] if isinstance(value, tuple) else value


def _check_hash_data(
    kind: str, attrs: Mapping[str, Value], positional: str | None, text: str
) -> _Problem | None:
    """``data=`` is never allowed; ``hash=`` only on payload actions, and
    equal to the positional hash if there is one."""
    if "data" in attrs:
        return _attr_problem(text, "data", 0, "invalid key 'data'")
    if kind not in PAYLOAD_TYPES:
        return _attr_problem(text, "hash", 0, f"{kind} actions take no payload (hash=)")
    hashes = attrs["hash"]
    for nth, value in enumerate(hashes if isinstance(hashes, tuple) else (hashes,)):
        if positional is not None and value != positional:
            return _attr_problem(text, "hash", nth, f"hash={value} is not identical to the positional hash")
    return None


def _attr_problem(text: str, key: str, nth: int, message: str) -> _Problem:
    """A problem located at the ``nth`` attribute named ``key``."""
    return _Problem(_fast_path().attribute_offset(text, key, nth), message)


def _check_constructor(kind: str, attrs: dict[str, Value], text: str) -> _Problem | None:
    """pkg(5)'s generic action constructor (``_generic_init_common``): the key
    attribute is present and single (a depend's fmri may repeat if its type
    does not), then ``path`` is fixed. Types without a key attribute, and
    set/signature actions without theirs, skip the rest."""
    key = KEY_ATTRS[kind]
    value = attrs.get(key) if key is not None else None
    if key is None or value is None:
        if key is None or kind in _KEY_OPTIONAL:
            return None
        return _Problem(0, f"{kind} action: missing key attribute '{key}'")
    if isinstance(value, tuple):
        if kind != "depend" or "type" not in attrs:
            return _attr_problem(text, key, 1, f"{kind} action: key attribute '{key}' is repeated")
        if isinstance(attrs["type"], tuple):
            return _attr_problem(text, "type", 1, "depend action: 'type' is repeated")
    return _fix_path(attrs, text) if "path" in attrs else None


def _fix_path(attrs: dict[str, Value], text: str) -> _Problem | None:
    """Strip leading slashes from ``path``; it must be one non-empty value."""
    path = attrs["path"]
    if isinstance(path, tuple):
        return _attr_problem(text, "path", 1, "'path' is repeated")
    stripped = path.lstrip("/")
    if not stripped:
        return _attr_problem(text, "path", 0, f"invalid path '{path}'")
    attrs["path"] = stripped
    return None


def _set_name_value(attrs: Mapping[str, Value]) -> tuple[Value, Value] | None:
    """``set``'s name and value; ``set foo=bar`` is short for name=foo value=bar."""
    if "name" in attrs and "value" in attrs:
        return attrs["name"], attrs["value"]
    if len(attrs) == 1:
        return next(iter(attrs.items()))
    return None


# ---------------------------------------------------------------------------
# Error messages from lark's exceptions

_TYPES_TEXT = ", ".join(sorted(KEY_ATTRS))
_EXPECTED_TEXT = {
    "TYPE": f"an action type ({_TYPES_TEXT})",
    "PAYLOAD_TYPE": f"an action type ({_TYPES_TEXT})",
    "MOGRIFY_DIRECTIVE": None,
    "KEY": "an attribute key=value",
    "PAYLOAD": "a payload hash",
    "BARE": "a value",
    "QUOTED": "a value",
    "QUOTED_MORE": None,
    "_WS": "whitespace",
    "_EQ": "'='",
    "$END": "the end of the line",
}


def _lark_problem(err: UnexpectedInput, text: str) -> _Problem:
    """Where lark stopped in ``text`` and what it expected there."""
    if isinstance(err, UnexpectedToken):
        expected = set(err.expected)
        offset = len(text) if err.token.type == "$END" else err.token.start_pos
    elif isinstance(err, UnexpectedCharacters):
        expected = set(err.allowed)
        offset = err.pos_in_stream
    else:  # UnexpectedEOF
        expected = set(getattr(err, "expected", ()))
        offset = len(text)
    wanted = [_EXPECTED_TEXT.get(name, name) for name in sorted(expected)]
    expect = " or ".join(dict.fromkeys(w for w in wanted if w)) or "nothing more"
    if offset == 0 and _word_at(text, 0) in KEY_ATTRS:
        expect = "whitespace and attributes (key=value) after the action type"
    return _Problem(offset, f"{_what_is_wrong(text, offset, expected)}; expected {expect}")


def _what_is_wrong(text: str, offset: int, expected: set[str]) -> str:
    """Name the problem as pkg(5) would, from where lark stopped."""
    word = _word_at(text, offset)
    kind = _word_at(text, 0)
    if offset == 0:
        if kind in KEY_ATTRS:
            return f"'{kind}' action has no attributes"
        return f"unknown action type '{_shown(kind)}'"
    if word[:1] in _QUOTES:
        if _fast_path().quoted_string.match(text, offset) is None:
            return "unfinished quoted value"
        return f"quoted text {_shown(word)} is not key=value"
    if "BARE" in expected or "QUOTED" in expected:
        key = _word_before(text, offset)
        key = key[max(key.rfind('"'), key.rfind("'")) + 1 :]
        return f"missing value after '{_shown(key)}'"
    if word.startswith("="):
        return "missing key before '='"
    if "=" in word:
        return f"quote in key '{_shown(word.split('=', 1)[0])}'"
    if not word:
        return "unexpected whitespace"
    if offset + len(word) == len(text):
        return f"'{_shown(word)}' has no value"
    if kind not in PAYLOAD_TYPES and "=" not in text[len(kind) : offset]:
        return f"{kind} actions take no payload: '{_shown(word)}' is not key=value"
    return f"'{_shown(word)}' is not key=value (whitespace in key?)"


def _word_at(text: str, offset: int) -> str:
    """The run of non-whitespace at ``offset``."""
    end = offset
    while end < len(text) and text[end] not in " \t":
        end += 1
    return text[offset:end]


def _word_before(text: str, offset: int) -> str:
    """The run of non-whitespace that ends at ``offset``."""
    start = offset
    while start > 0 and text[start - 1] not in " \t":
        start -= 1
    return text[start:offset]


def _shown(word: str, limit: int = 40) -> str:
    """A word as quoted in a message: long ones are cut short."""
    return word if len(word) <= limit else word[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# The line pre-pass and parse_actions


def _logical_lines(lines: Sequence[str], start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """(index of first physical line, text, complete) for each logical line.

    Each line is left-stripped; a line ending in a backslash continues on the
    next one, the backslash removed and no space inserted. Blank lines and
    lines starting with ``#`` (after joining) are skipped: they are the
    grammar's empty line and comment, told apart here without a parser. An
    unfinished continuation at the end is yielded with ``complete`` false.
    """
    parts: list[str] = []
    first = start
    for index in range(start, len(lines)):
        line = lines[index].lstrip()
        if line.endswith("\\"):
            if not parts:
                first = index
            parts.append(line[:-1])
            continue
        if parts:
            parts.append(line)
            line = "".join(parts)
            parts.clear()
        else:
            first = index
        if line and line[0] != "#":
            yield first, line, True
    if parts:
        text = "".join(parts)
        if text.strip() and text[0] != "#":
            yield first, text, False


def _position(lines: Sequence[str], first: int, offset: int) -> tuple[int, int]:
    """(physical line index, 1-based column) of ``offset`` in a logical line."""
    index = first
    while True:
        raw = lines[index]
        body = raw.lstrip()
        indent = len(raw) - len(body)
        continued = body.endswith("\\") and index + 1 < len(lines)
        length = len(body) - 1 if continued else len(body)
        if offset < length or not continued:
            return index, indent + offset + 1
        offset -= length
        index += 1


class _Located:
    """Turns offsets in logical lines into file locations."""

    def __init__(self, lines: Sequence[str], path: str, first_line: int) -> None:
        self.lines = lines
        self.path = path
        self.first_line = first_line
        self._offsets: dict[int, _Offsets] = {}  # by logical line

    def at(self, first: int, offset: int) -> Location:
        """The location of ``offset`` in the logical line starting at index ``first``."""
        index, column = _position(self.lines, first, offset)
        return Location(self.path, self.first_line + index, column)

    def attribute(self, action: Action, key: str | None, nth: int = 0) -> Location:
        """The location of an action's ``nth`` attribute ``key`` (None: the action)."""
        first = action.line - self.first_line
        if not 0 <= first < len(self.lines):
            return Location(self.path, action.line)
        offsets = self._offsets.get(first)
        if offsets is None:
            _, text, _ = next(_logical_lines(self.lines, first))
            offsets = self._offsets[first] = _fast_path().attribute_offsets(text)
        return self.at(first, offsets.find(key, nth))


def _parse(text: str, path: str, first_line: int) -> tuple[list[Action], ErrorList, _Located]:
    """Every action of ``text``, and every error found on the way."""
    lines = text.splitlines()
    located = _Located(lines, path, first_line)
    actions: list[Action] = []
    errors = ErrorList()
    parse_line, append = _parse_line, actions.append
    for first, line, complete in _logical_lines(lines):
        if not complete:
            errors.add(
                "the text ends inside a continued line (trailing backslash); "
                "expected the rest of the action on a next line",
                located.at(first, len(line)),
            )
            continue
        result = parse_line(line)
        if isinstance(result, _Parsed):
            kind, attrs, payload = result
            append(Action(kind, attrs, payload, first_line + first))
        else:
            errors.add(result.message, located.at(first, result.offset))
    return actions, errors, located


def parse_actions(text: str, path: str = "<string>", first_line: int = 1) -> list[Action]:
    """Parse manifest text into actions (docs/ips-semantics.md 3.1-3.2).

    ``first_line`` is the line number of the text's first line (for text
    embedded in another file). Raises :class:`~resolver.errors.InputError`,
    or :class:`~resolver.errors.InputErrors` listing every bad line, each
    with path:line:col and what was expected there.
    """
    actions, errors, _ = _parse(text, path, first_line)
    errors.raise_if_any()
    return actions


def clear_caches() -> None:
    """Forget memoised lines (for benchmarks; the grammar stays loaded)."""
    _parse_line.cache_clear()


# ---------------------------------------------------------------------------
# Package

_DEP_TYPES = {t.value: t for t in DepType}
_DEP_TYPES_TEXT = ", ".join(sorted(_DEP_TYPES))
_SVR4_PARAMS = {
    "SUNW_PKG_ALLZONES": "allzones",
    "SUNW_PKG_THISZONE": "thiszone",
    "SUNW_PKG_HOLLOW": "hollow",
    "SUNW_PKG_INTERACTIVE": "interactive",
}
_FLAGS = {
    "pkg.obsolete": "obsolete",
    "pkg.renamed": "renamed",
    "pkg.depend.explicit-install": "explicit_install",
}
_ZONE = "variant.opensolaris.zone"
#: What zonesolve knows of a package's reboot-needed actions, written where the
#: actions themselves are not (testcases, packages from catalog/1 entries).
REBOOT_NEEDED = "zonesolve.reboot-needed"
_REBOOT_VALUES: dict[str, bool | None] = {"true": True, "false": False, "unknown": None}

#: Where an action's attribute is: (action, key or None, nth value) -> Location.
_Locate = Callable[[Action, str | None, int], Location]


class _PackageBuilder:
    """Reads ``set`` and ``depend`` actions into the fields of a Package."""

    def __init__(self, path: str, locate: _Locate, errors: ErrorList) -> None:
        self.path = path
        self.locate = locate
        self.errors = errors
        self.fmri: tuple[Action, str] | None = None
        self.depends: list[Dependency] = []
        self.flags = {"obsolete": False, "renamed": False, "explicit_install": False}
        self.variants: list[tuple[str, tuple[str, ...]]] = []
        self.install_hold: str | None = None
        self.svr4: dict[str, bool] = {}
        self.reboot_needed: bool | None = False  # an action has reboot-needed=true
        self.reboot_stated = False  # set name=zonesolve.reboot-needed overrides that

    def error(self, action: Action, key: str | None, message: str, nth: int = 0) -> None:
        """Record an error at an action's attribute."""
        self.errors.add(message, self.locate(action, key, nth))

    def add(self, action: Action) -> None:
        """Take what the solver needs from one action."""
        if action.type == "set":
            self.add_set(action)
        elif action.type == "depend":
            self.add_depend(action)
        elif not self.reboot_stated and action.attrs.get("reboot-needed") == "true":
            self.reboot_needed = True  # pkg(5) tests for exactly "true"

    # -- set actions

    def add_set(self, action: Action) -> None:
        """A ``set`` action: package metadata."""
        name_value = _set_name_value(action.attrs)
        if name_value is None or isinstance(name_value[0], tuple):
            self.error(action, None, 'set action: expected one "name" and a "value"')
            return
        name, value = name_value[0], name_value[1]
        if name.startswith("variant."):
            self.variants.append((name, value if isinstance(value, tuple) else (value,)))
        elif name in _SET_READERS:
            text = self.single(action, name, value)
            if text is not None:
                _SET_READERS[name](self, action, name, text)

    def single(self, action: Action, name: str, value: Value) -> str | None:
        """The one value of ``set name=...``; several are an error."""
        if isinstance(value, tuple):
            self.error(action, "value", f"{name} takes one value, not {len(value)}", nth=1)
            return None
        return value

    def set_fmri(self, action: Action, name: str, text: str) -> None:
        """``pkg.fmri``: the package's identity (once)."""
        if self.fmri is not None:
            line = self.fmri[0].line
            self.error(action, "value", f"pkg.fmri is set again (first at line {line})")
        else:
            self.fmri = (action, text)

    def set_flag(self, action: Action, name: str, text: str) -> None:
        """``pkg.obsolete``, ``pkg.renamed``, ``pkg.depend.explicit-install``: true or not."""
        self.flags[_FLAGS[name]] = text.lower() == "true"

    def set_install_hold(self, action: Action, name: str, text: str) -> None:
        """``pkg.depend.install-hold``."""
        self.install_hold = text

    def set_svr4(self, action: Action, name: str, text: str) -> None:
        """``SUNW_PKG_ALLZONES`` and friends: true or false, in any case."""
        if text.lower() not in ("true", "false"):
            self.error(action, "value", f"{name} must be true or false, not '{text}'")
            return
        self.svr4[_SVR4_PARAMS[name]] = text.lower() == "true"

    def set_reboot_needed(self, action: Action, name: str, text: str) -> None:
        """``zonesolve.reboot-needed``: true, false or unknown, stated in place of the actions."""
        if text not in _REBOOT_VALUES:
            self.error(action, "value", f"{name} must be true, false or unknown, not '{text}'")
            return
        self.reboot_stated = True
        self.reboot_needed = _REBOOT_VALUES[text]

    # -- depend actions

    def add_depend(self, action: Action) -> None:
        """A ``depend`` action: one Dependency, unless it is wrong."""
        before = len(self.errors.errors)
        kind = self.dep_type(action)
        fmris = self.dep_fmris(action)
        predicate = self.dep_predicate(action, kind)
        root_image = kind is DepType.ORIGIN and _is_true(action.attrs.get("root-image"))
        tags = _tags(action.attrs)
        if len(self.errors.errors) > before or kind is None or tags is None:
            return  # tags None: a repeated variant/facet tag, which pkg(5) never applies
        self.depends.append(Dependency(kind, tuple(fmris), predicate, root_image, tags))

    def dep_type(self, action: Action) -> DepType | None:
        """The dependency type: present, single, known."""
        value = action.attrs.get("type")
        if value is None:
            self.error(action, None, f"depend action has no type=; expected {_DEP_TYPES_TEXT}")
            return None
        if isinstance(value, tuple):
            self.error(action, "type", "depend action has several type= values", nth=1)
            return None
        kind = _DEP_TYPES.get(value)
        if kind is None:
            self.error(action, "type", f"unknown dependency type '{value}'; expected {_DEP_TYPES_TEXT}")
        return kind

    def dep_fmris(self, action: Action) -> list[Fmri]:
        """Every ``fmri=`` value, parsed."""
        value = action.attrs.get("fmri")
        if value is None:
            self.error(action, None, "depend action has no fmri=")
            return []
        fmris = []
        for nth, text in enumerate(value if isinstance(value, tuple) else (value,)):
            fmri = self.parse_fmri(action, "fmri", nth, text)
            if fmri is not None:
                fmris.append(fmri)
        return fmris

    def dep_predicate(self, action: Action, kind: DepType | None) -> Fmri | None:
        """A conditional dependency's predicate FMRI (required there, ignored elsewhere)."""
        if kind is not DepType.CONDITIONAL:
            return None
        value = action.attrs.get("predicate")
        if value is None:
            self.error(action, None, "conditional dependency has no predicate=")
            return None
        if isinstance(value, tuple):
            self.error(action, "predicate", "conditional dependency has several predicates", nth=1)
            return None
        return self.parse_fmri(action, "predicate", 0, value)

    def parse_fmri(self, action: Action, key: str, nth: int, text: str) -> Fmri | None:
        """An FMRI attribute value, or None after recording why it is bad."""
        if text == "__TBD":
            self.error(
                action,
                key,
                f"{key}=__TBD is a pkgdepend placeholder: expected a real FMRI (run pkgdepend resolve first)",
                nth,
            )
            return None
        try:
            return parse_fmri(text)
        except FmriError as err:
            self.error(action, key, str(err), nth)
            return None

    # -- the result

    def package(self, default_publisher: str | None, report_missing: bool) -> Package | None:
        """The Package, or None if its FMRI is missing or bad."""
        if self.fmri is None:
            if report_missing:
                self.errors.add("no 'set name=pkg.fmri' action", Location(self.path))
            return None
        action, text = self.fmri
        fmri = self.parse_fmri(action, "value", 0, text)
        if fmri is None:
            return None
        if fmri.publisher is None:
            if default_publisher is None:
                self.error(
                    action,
                    "value",
                    f"pkg.fmri '{text}' names no publisher and no default publisher was given",
                )
                return None
            fmri = fmri.with_publisher(default_publisher)
        if fmri.version is None:
            self.error(action, "value", f"pkg.fmri '{text}' has no version")
            return None
        return Package(
            fmri=fmri,
            depends=tuple(self.depends),
            obsolete=self.flags["obsolete"],
            renamed=self.flags["renamed"],
            variants=tuple(self.variants),
            install_hold=self.install_hold,
            explicit_install=self.flags["explicit_install"],
            svr4=Svr4Params(**self.svr4) if self.svr4 else None,
            reboot_needed=self.reboot_needed,
            where=Location(self.path, action.line),
        )


_SET_READERS: dict[str, Callable[[_PackageBuilder, Action, str, str], None]] = {
    "pkg.fmri": _PackageBuilder.set_fmri,
    "pkg.obsolete": _PackageBuilder.set_flag,
    "pkg.renamed": _PackageBuilder.set_flag,
    "pkg.depend.explicit-install": _PackageBuilder.set_flag,
    "pkg.depend.install-hold": _PackageBuilder.set_install_hold,
    **{name: _PackageBuilder.set_svr4 for name in _SVR4_PARAMS},
    REBOOT_NEEDED: _PackageBuilder.set_reboot_needed,
}


def _is_true(value: Value | None) -> bool:
    """A single value spelling true, in any case."""
    return isinstance(value, str) and value.lower() == "true"


def _tags(attrs: Mapping[str, Value]) -> Tags | None:
    """An action's variant.* and facet.* attributes, sorted.

    ``opensolaris.zone`` counts as ``variant.opensolaris.zone`` (a legacy
    spelling pkg(5) still converts). None if a tag is repeated: pkg(5)
    excludes such an action in every image.
    """
    pairs = []
    for name, value in attrs.items():
        if name.startswith(("variant.", "facet.")):
            if isinstance(value, tuple):
                return None
            pairs.append((name, value))
    zone = attrs.get("opensolaris.zone")
    if zone is not None and _ZONE not in attrs:
        if isinstance(zone, tuple):
            return None
        pairs.append((_ZONE, zone))
    return tuple(sorted(pairs))


def _build(
    actions: Sequence[Action],
    path: str,
    default_publisher: str | None,
    locate: _Locate,
    errors: ErrorList,
) -> Package | None:
    """Build the package, recording every error in ``errors``."""
    builder = _PackageBuilder(path, locate, errors)
    clean = not errors.errors
    for action in actions:
        builder.add(action)
    return builder.package(default_publisher, report_missing=clean)


def package_from_actions(
    actions: Sequence[Action], path: str = "<string>", default_publisher: str | None = None
) -> Package:
    """Build a :class:`~resolver.model.Package` from a manifest's actions.

    Reads ``set`` (pkg.fmri, pkg.obsolete, pkg.renamed, variant.*,
    pkg.depend.*, the SVR4 SUNW_PKG_* parameters, zonesolve.reboot-needed)
    and ``depend`` actions, and whether any other action carries
    ``reboot-needed=true``.
    The FMRI's publisher, else ``default_publisher``, is the package's.
    A ``depend`` action with a repeated variant/facet tag is left out: pkg(5)
    applies it in no image. Raises InputError / InputErrors with every
    problem; locations carry the line (:func:`parse_package` adds columns).
    """

    def locate(action: Action, key: str | None, nth: int) -> Location:
        return Location(path, action.line)

    errors = ErrorList()
    package = _build(actions, path, default_publisher, locate, errors)
    errors.raise_if_any()
    assert package is not None
    return package


def parse_package(
    text: str,
    path: str = "<string>",
    default_publisher: str | None = None,
    first_line: int = 1,
) -> Package:
    """Parse a manifest and build its Package; every error is reported, at
    path:line:col, in one :class:`~resolver.errors.InputErrors` (or a single
    InputError)."""
    actions, errors, located = _parse(text, path, first_line)
    package = _build(actions, path, default_publisher, located.attribute, errors)
    errors.errors.sort(key=_error_order)
    errors.raise_if_any()
    assert package is not None  # else an error was recorded and raised
    return package


def _error_order(error: InputError) -> tuple[int, int]:
    """Sort key: file order."""
    where = error.location
    if where is None:
        return (0, 0)
    return (where.line or 0, where.column or 0)
