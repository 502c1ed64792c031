"""User package patterns, matched as pkg(1) matches them (ips-semantics 1.2).

``nginx`` and ``server/nginx`` match ``web/server/nginx`` (whole trailing path
components); ``pkg:/nginx`` and ``/nginx`` match the stem exactly; ``*`` and
``?`` glob over the whole stem; ``pkg://pub/...`` restricts the publisher; the
part after ``@`` matches versions at the precision written, ``latest`` keeps
the newest. A non-wildcard pattern that matches several stems is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from resolver.catalog import Catalog
from resolver.errors import FmriError, InputError, MatchError
from resolver.fmri import VersionPattern, _split_fmri, parse_version_pattern
from resolver.limits import shown
from resolver.model import Package

_GLOB_NAME_RE = re.compile(r"[A-Za-z0-9_/\-.+*?]+\Z")


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    name: str
    kind: str  # "glob" | "exact" | "suffix"
    publisher: str | None
    version: VersionPattern | None

    @property
    def is_wildcard(self) -> bool:
        return self.kind == "glob"

    def matches_stem(self, stem: str) -> bool:
        if self.kind == "glob":
            return fnmatchcase(stem, self.name)
        if self.kind == "exact":
            return stem == self.name
        return stem == self.name or stem.endswith("/" + self.name)

    def matches(self, pkg: Package) -> bool:
        if self.publisher is not None and pkg.publisher != self.publisher:
            return False
        if not self.matches_stem(pkg.stem):
            return False
        assert pkg.fmri.version is not None
        return self.version is None or self.version.matches(pkg.fmri.version)


def parse_pattern(text: str) -> Pattern:
    """Parse what a user typed; an illegal pattern is an InputError."""
    try:
        publisher, name, version_text = _split_fmri(text)
        version = parse_version_pattern(version_text) if version_text else None
    except FmriError as err:
        raise InputError(f"illegal package pattern {shown(text)}: {err}") from None
    if version_text == "":
        raise InputError(f"illegal package pattern {shown(text)}: empty version after '@'")
    if not name or not _GLOB_NAME_RE.match(name) or "//" in name:
        raise InputError(f"illegal package pattern {shown(text)}: bad package name {shown(name)}")
    if "*" in name or "?" in name:
        kind = "glob"
    elif text.startswith(("pkg:/", "/")):  # also pkg://pub/... and //pub/...
        kind = "exact"
    else:
        kind = "suffix"
    return Pattern(text, name, kind, publisher, version)


class StemIndex:
    """Finds the stems a pattern can match without scanning every stem."""

    def __init__(self, stems: Iterable[str]) -> None:
        self._stems = sorted(stems)
        self._by_last: dict[str, list[str]] = {}
        for stem in self._stems:
            self._by_last.setdefault(stem.rsplit("/", 1)[-1], []).append(stem)

    def lookup(self, pattern: Pattern) -> list[str]:
        if pattern.kind == "glob":
            return [s for s in self._stems if pattern.matches_stem(s)]
        last = pattern.name.rsplit("/", 1)[-1]
        return [s for s in self._by_last.get(last, ()) if pattern.matches_stem(s)]


def match_packages(
    patterns: Sequence[str],
    catalog: Catalog,
    index: StemIndex,
    *,
    installed_stems: frozenset[str] | None = None,
    rejected: frozenset[str] = frozenset(),
) -> dict[str, list[Package]]:
    """Match user patterns to catalog versions: stem -> allowed versions (ascending).

    ``installed_stems`` restricts matches to installed stems (``update PKG``).
    Raises MatchError for a pattern that matches nothing, only rejected stems,
    several stems (without a wildcard), or versions that contradict another
    pattern for the same stem.
    """
    chosen: dict[str, list[Package]] = {}
    for text in dict.fromkeys(patterns):
        pattern = parse_pattern(text)
        stems = index.lookup(pattern)
        if installed_stems is not None:
            stems = [s for s in stems if s in installed_stems]
        live = [s for s in stems if s not in rejected]
        per_stem = {s: [p for p in catalog.versions(s) if pattern.matches(p)] for s in live}
        per_stem = {s: v for s, v in per_stem.items() if v}
        if not per_stem:
            _raise_unmatched(text, stems, live, installed_stems is not None)
        if not pattern.is_wildcard and len(per_stem) > 1:
            per_stem = _disambiguate(per_stem)
            if len(per_stem) > 1:
                raise MatchError(
                    f"'{text}' matches multiple packages: {', '.join(sorted(per_stem))}; "
                    "give the full name (e.g. pkg:/" + sorted(per_stem)[0] + ")"
                )
        for stem, versions in per_stem.items():
            if pattern.version is not None and pattern.version.latest:
                newest = versions[-1].fmri.version
                versions = [p for p in versions if p.fmri.version == newest]
            if stem in chosen:
                versions = [p for p in chosen[stem] if p in versions]
                if not versions:
                    raise MatchError(f"patterns specify different versions of the same package {stem}")
            chosen[stem] = versions
    return chosen


def _raise_unmatched(text: str, stems: list[str], live: list[str], installed_only: bool) -> None:
    if stems and not live:
        raise MatchError(f"'{text}' matches only packages rejected by --reject")
    if installed_only:
        raise MatchError(f"'{text}' matches no installed packages")
    raise MatchError(f"no package matches '{text}'")


def _disambiguate(per_stem: dict[str, list[Package]]) -> dict[str, list[Package]]:
    """Drop obsolete stems next to live ones, and rename targets of renamed ones."""
    obsolete = {s for s, v in per_stem.items() if any(p.obsolete for p in v)}
    if obsolete and len(obsolete) < len(per_stem):
        per_stem = {s: v for s, v in per_stem.items() if s not in obsolete}
    targets = {
        d.fmri.stem for versions in per_stem.values() for p in versions if p.renamed for d in p.depends
    }
    remaining = {s: v for s, v in per_stem.items() if s not in targets}
    return remaining or per_stem
