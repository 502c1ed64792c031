"""The parser against real manifests (/work/shared/corpus, see its SOURCES.md).

Every ``*.p5m`` and ``*.mf`` file either parses into a Package, or fails only
because it is a source manifest that the build has not yet processed:
unexpanded build macros ``$(...)``, pkgmogrify directives, pkgdepend's
``fmri=__TBD`` placeholders. The few files that fail for another reason are
listed in ``EXPLAINED`` with the reason. The pkg(5) test suites' pkgsend
transactions (``*.pkgsend``) all parse.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from fnmatch import fnmatchcase

import pytest
from conftest import shared_dir

from resolver.errors import InputError, InputErrors
from resolver.manifest import parse_package
from resolver.model import DepType, Package

CORPUS = shared_dir() / "corpus" / "manifests"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the manifest corpus is not here: {CORPUS}")

#: Errors that mean "a source manifest the build has not processed yet".
UNBUILT = {
    "unexpanded build macro $(": "build macro",
    "pkgmogrify directive: ": "pkgmogrify directive",
    "fmri=__TBD is a pkgdepend placeholder": "pkgdepend __TBD",
}

_NOT_CONTINUED = (
    ("is not key=value", "unknown action type"),
    "a backslash followed by a space does not continue the line (pkg(5) rejects these too)",
)
_NO_FMRI = ("no 'set name=pkg.fmri' action",)

#: Files failing for other reasons: pattern (fnmatch: "*" crosses "/") ->
#: (what each of their errors says, why).
EXPLAINED: dict[str, tuple[tuple[str, ...], str]] = {
    "oi-userland/components/x11/compat-links/links-xorg.p5m": _NOT_CONTINUED,
    "oi-userland/components/library/openssl/openssl-1.1/openssl-1.1-doc.p5m": _NOT_CONTINUED,
    "oi-userland/components/tcl/tk/tk.p5m": _NOT_CONTINUED,
    "oi-userland/tools/runtime-*.p5m": (
        ("has no version",),
        "pkg.fmri without a version: stand-ins for the build's pkgdepend, never published",
    ),
    "oi-userland/*/dummy.p5m": (_NO_FMRI, "empty placeholder manifests"),
    "*/*-GENFRAG.p5m": (
        _NO_FMRI,
        "fragments the build merges into a generated manifest",
    ),
}


def _errors(err: InputError) -> list[InputError]:
    return list(err.errors) if isinstance(err, InputErrors) else [err]


def _explanation(relative: str) -> tuple[str, tuple[tuple[str, ...], str]] | None:
    for pattern, explained in EXPLAINED.items():
        if fnmatchcase(relative, pattern):
            return pattern, explained
    return None


def test_corpus_manifests_parse_or_fail_only_as_unbuilt_sources() -> None:
    counts: Counter[str] = Counter()
    unbuilt_lines: Counter[str] = Counter()
    unexplained: list[str] = []
    explained_used: set[str] = set()
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix in (".p5m", ".mf")):
        relative = path.relative_to(CORPUS).as_posix()
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        try:
            parse_package(text, relative, default_publisher="corpus")
        except InputError as err:
            other = [e for e in _errors(err) if not e.reason.startswith(tuple(UNBUILT))]
            unbuilt_lines.update(
                label for e in _errors(err) for kind, label in UNBUILT.items() if e.reason.startswith(kind)
            )
            if not other:
                counts["macro-or-mogrify"] += 1
                continue
            found = _explanation(relative)
            if found and all(any(s in e.reason for s in found[1][0]) for e in other):
                counts["other (explained)"] += 1
                explained_used.add(found[0])
            else:
                unexplained.extend(e.message for e in other)
            continue
        counts["parsed"] += 1
    counts["other (unexplained)"] = len(unexplained)
    print("\ncorpus manifests:", ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print("lines left for the build to expand:", dict(unbuilt_lines))
    assert not unexplained, "\n".join(unexplained[:50])
    assert explained_used == set(EXPLAINED), "stale EXPLAINED entries"
    assert counts["parsed"] > 100


# ---------------------------------------------------------------------------
# pkgsend transactions from the pkg(5) test suites

#: str.format placeholders and the test suites' own template markers.
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[A-Za-z0-9_]*(?::d)?\}|<ver>|__SUB__")


def _fill(match: re.Match[str]) -> str:
    return {"{{": "{", "}}": "}", "__SUB__": "sub"}.get(match.group(), "1")


def _transactions(text: str) -> Iterator[tuple[int, str]]:
    """(line number of ``open``, manifest text) of each open ... close block.

    ``open FMRI`` becomes ``set name=pkg.fmri value=FMRI`` unless the block
    sets pkg.fmri itself; ``add ACTION`` becomes ``ACTION``.
    """
    start, body = 0, list[str]()
    for number, line in enumerate(text.splitlines(), 1):
        word, _, rest = line.strip().partition(" ")
        if word == "open":
            start, body = number, [f"set name=pkg.fmri value={rest}"]
        elif word == "close" and body:
            if any(b.startswith("set name=pkg.fmri ") for b in body[1:]):
                body[0] = ""
            yield start, "\n".join(body)
            body = []
        elif body:
            body.append(rest if word == "add" else line)


def _pkgsend_packages() -> Iterator[tuple[str, bool, Package | InputError]]:
    for path in sorted(CORPUS.rglob("*.pkgsend")):
        relative = path.relative_to(CORPUS).as_posix()
        raw = path.read_text(encoding="utf-8")
        template = bool(_PLACEHOLDER.search(raw))
        for start, text in _transactions(_PLACEHOLDER.sub(_fill, raw)):
            try:
                yield relative, template, parse_package(text, relative, "test", first_line=start)
            except InputError as err:
                yield relative, template, err


def test_pkg5_test_suite_transactions_all_parse() -> None:
    counts: Counter[str] = Counter()
    dep_types: Counter[DepType] = Counter()
    failures = []
    for _, template, result in _pkgsend_packages():
        if isinstance(result, InputError):
            failures.append(result.message)
            continue
        counts["parsed (templates filled with 1)" if template else "parsed"] += 1
        dep_types.update(d.type for d in result.depends)
    print("\npkgsend transactions:", dict(counts), "errors:", len(failures))
    print("dependency types:", {t.value: n for t, n in sorted(dep_types.items())})
    assert not failures, "\n".join(failures[:50])
    assert sum(counts.values()) > 2000
    assert set(dep_types) == set(DepType)
