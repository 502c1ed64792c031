"""FMRIs and versions, as pkg(5) parses, orders and matches them.

ips-semantics.md sections 1-2. A version is
``release[,build_release][-branch][:timestamp]``; ordering uses release, then
branch, then timestamp (build release never counts); "absent" sorts below any
present branch or timestamp. Matching "at the precision written" (pkg(5)'s
CONSTRAINT_AUTO) is a prefix match: ``1.2`` matches ``1.2.9`` but not ``1.20``.

Parsing is memoised: real catalogs repeat the same version and FMRI strings
many thousands of times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from resolver.errors import FmriError
from resolver.limits import MAX_DIGITS, shown

__all__ = [
    "DEPEND_SELF",
    "Fmri",
    "Version",
    "VersionPattern",
    "parse_fmri",
    "parse_version",
    "parse_version_pattern",
    "version_key",
]

#: The stem of a parent dependency that means "this very package".
DEPEND_SELF = "feature/package/dependency/self"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.+]*(/[A-Za-z0-9][A-Za-z0-9_\-.+]*)*\Z")
_TIMESTAMP_RE = re.compile(r"\d{8}T\d{6}Z\Z")

DotSeq = tuple[int, ...]


def _dot_sequence(text: str, what: str) -> DotSeq:
    """Parse ``1.0.3``; reject empty components, negatives, zero padding and
    components of more than MAX_DIGITS digits (resolver.limits)."""
    parts = text.split(".")
    out: list[int] = []
    for part in parts:
        if not part.isdigit() or not part.isascii():
            raise FmriError(f"bad {what} {shown(text)}: components must be non-negative integers")
        if len(part) > MAX_DIGITS:
            raise FmriError(
                f"bad {what} {shown(text)}: a component has {len(part):,} digits (at most {MAX_DIGITS})"
            )
        if len(part) > 1 and part[0] == "0" and part.strip("0"):
            raise FmriError(f"bad {what} {shown(text)}: zero-padded component {shown(part)}")
        out.append(int(part))
    return tuple(out)


def _check_timestamp(text: str) -> None:
    if not _TIMESTAMP_RE.match(text):
        raise FmriError(f"bad timestamp {shown(text)}: expected YYYYMMDDTHHMMSSZ")
    month, day = int(text[4:6]), int(text[6:8])
    hour, minute, second = int(text[9:11]), int(text[11:13]), int(text[13:15])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise FmriError(f"bad timestamp {shown(text)}: not a calendar date and time")


def _split_version(text: str) -> tuple[str, str | None, str | None, str | None]:
    """Split as pkg(5) does: first ``:``, then first ``-``, then first ``,``."""
    timestamp = branch = build = None
    rest = text
    if ":" in rest:
        rest, timestamp = rest.split(":", 1)
        if not timestamp:
            raise FmriError(f"bad version {shown(text)}: empty timestamp")
    if "-" in rest:
        rest, branch = rest.split("-", 1)
        if not branch:
            raise FmriError(f"bad version {shown(text)}: empty branch")
    if "," in rest:
        rest, build = rest.split(",", 1)
        if not build:
            raise FmriError(f"bad version {shown(text)}: empty build release")
    if not rest:
        raise FmriError(f"bad version {shown(text)}: versions must have a release value")
    return rest, build, branch, timestamp


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A package version. Compare with ``<``, ``==``; hash agrees with ``==``."""

    text: str
    release: DotSeq
    build: str
    branch: DotSeq | None
    timestamp: str | None
    key: tuple[Any, ...] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def __str__(self) -> str:
        return self.text

    def matches(self, want: Version) -> bool:
        """True if this version satisfies ``want`` at the precision written (AUTO)."""
        if self.release[: len(want.release)] != want.release:
            return False
        if want.branch is not None and (
            self.branch is None or self.branch[: len(want.branch)] != want.branch
        ):
            return False
        return want.timestamp is None or self.timestamp == want.timestamp

    def short(self) -> str:
        """Release and branch, without build or timestamp (pkg's short form)."""
        text = ".".join(map(str, self.release))
        if self.branch is not None:
            text += "-" + ".".join(map(str, self.branch))
        return text


@lru_cache(maxsize=1 << 18)
def parse_version(text: str) -> Version:
    """Parse a version string; raises FmriError with the reason."""
    release_t, build_t, branch_t, ts = _split_version(text.strip())
    release = _dot_sequence(release_t, "release")
    build = build_t if build_t is not None else "5.11"
    if build_t is not None:
        _dot_sequence(build_t, "build release")
    branch = _dot_sequence(branch_t, "branch") if branch_t is not None else None
    if ts is not None:
        _check_timestamp(ts)
    return Version(text.strip(), release, build, branch, ts, version_key(release, branch, ts))


def version_key(release: DotSeq, branch: DotSeq | None, timestamp: str | None) -> tuple[Any, ...]:
    """What versions are ordered by: release, then branch, then timestamp;
    an absent branch or timestamp below any present one."""
    return (release, branch is not None, branch or (), timestamp is not None, timestamp or "")


@dataclass(frozen=True, slots=True)
class Fmri:
    """``pkg://publisher/stem@version``; publisher and version are optional."""

    stem: str
    version: Version | None = None
    publisher: str | None = None

    def __str__(self) -> str:
        head = f"pkg://{self.publisher}/" if self.publisher else "pkg:/"
        return head + self.stem + (f"@{self.version.text}" if self.version else "")

    def with_publisher(self, publisher: str | None) -> Fmri:
        return Fmri(self.stem, self.version, publisher)

    def short(self) -> str:
        """``stem@release-branch``: what a person reads in a message."""
        return self.stem + (f"@{self.version.short()}" if self.version else "")

    def sort_key(self) -> tuple[Any, ...]:
        return (self.stem, self.publisher or "", self.version.key if self.version else ())


def _split_fmri(text: str) -> tuple[str | None, str, str | None]:
    """Split into (publisher, name, version text), following fmri.py's rules."""
    text = text.rstrip()
    at = text.rfind("@")
    name, version = (text[:at], text[at + 1 :]) if at >= 0 else (text, None)
    publisher: str | None = None
    if name.startswith("pkg://") or name.startswith("//"):
        body = name[6:] if name.startswith("pkg://") else name[2:]
        slash = body.find("/")
        if slash < 0:
            raise FmriError(f"bad FMRI {shown(text)}: missing '/' after publisher name")
        publisher, name = body[:slash] or None, body[slash + 1 :]
    elif name.startswith("pkg:/"):
        name = name[5:]
    elif name.startswith("/"):
        name = name[1:]
    return publisher, name, version


@lru_cache(maxsize=1 << 18)
def parse_fmri(text: str) -> Fmri:
    """Parse an FMRI as written in manifests, fleet files and on the command line."""
    publisher, name, version_text = _split_fmri(text)
    if publisher and publisher.startswith("_PRE_"):
        publisher = publisher[5:]
    if not name:
        raise FmriError(f"bad FMRI {shown(text)}: missing package name")
    if not _NAME_RE.match(name):
        raise FmriError(f"bad FMRI {shown(text)}: illegal package name {shown(name)}")
    if version_text is None:
        return Fmri(name, None, publisher)
    if not version_text:
        raise FmriError(f"bad FMRI {shown(text)}: empty version after '@'")
    try:
        version = parse_version(version_text)
    except FmriError as err:
        raise FmriError(f"bad FMRI {shown(text)}: {err}") from None
    return Fmri(name, version, publisher)


# ---------------------------------------------------------------------------
# Version patterns typed by users (``foo@1.2``, ``foo@*,*-151046``, ``foo@latest``)


@dataclass(frozen=True, slots=True)
class VersionPattern:
    """A user's version pattern. ``None`` fields are "not written" (match all);
    a field holding ``"*"`` is a wildcard. ``latest`` keeps only the newest."""

    text: str
    release: DotSeq | str | None
    branch: DotSeq | str | None
    timestamp: str | None
    latest: bool = False

    def matches(self, version: Version) -> bool:
        if self.latest:
            return True
        if isinstance(self.release, tuple) and version.release[: len(self.release)] != (self.release):
            return False
        if isinstance(self.branch, tuple) and (
            version.branch is None or version.branch[: len(self.branch)] != self.branch
        ):
            return False
        return self.timestamp in (None, "*") or self.timestamp == version.timestamp

    def as_version(self) -> Version | None:
        """The plain version this pattern denotes, when it has no wildcard."""
        if self.latest or "*" in self.text or "?" in self.text:
            return None
        return parse_version(self.text)


def _pattern_field(text: str | None, what: str) -> DotSeq | str | None:
    if text is None:
        return None
    if text == "*":
        return "*"
    if "*" in text or "?" in text:
        # pkg(5) quirk (ips-semantics 1.2): a wildcard inside a dotted sequence
        # matches nothing there. We reject it with a clear message instead.
        raise FmriError(f"bad version pattern: wildcards must be a whole field, not {shown(text)}")
    return _dot_sequence(text, what)


@lru_cache(maxsize=4096)
def parse_version_pattern(text: str) -> VersionPattern:
    """Parse the part after ``@`` in a user pattern."""
    if text == "latest":
        return VersionPattern(text, None, None, None, latest=True)
    release_t, build_t, branch_t, ts = _split_version(text)
    release = _pattern_field(release_t, "release")
    if build_t not in (None, "*"):
        _dot_sequence(build_t, "build release")
    branch = _pattern_field(branch_t, "branch")
    if ts not in (None, "*"):
        assert ts is not None
        _check_timestamp(ts)
    return VersionPattern(text, release, branch, ts)
