"""A ``Fleet`` written back as fleet-file TOML (docs/interfaces.md), for ``zonesolve import``.

The text parses (``resolver.fleet``) to a fleet equal to the one written:
the same sources, inline manifests and images, every list in the order
given. Strings are TOML basic strings (JSON's escapes are TOML's); a
manifest's text is a multi-line literal string when it can be one, so that
it reads as the manifest it is. Only the standard library is used: no TOML
writer is needed at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from resolver.model import Fleet, Image, InlineManifest, Source

__all__ = ["fleet_to_toml"]


def _string(text: str) -> str:
    """A TOML basic string (json.dumps leaves DEL raw, which TOML forbids)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _strings(values: Iterable[str], indent: str = "  ") -> str:
    """An array of strings, one per line when there are several."""
    items = list(values)
    if len(items) <= 1:
        return "[" + ", ".join(_string(v) for v in items) + "]"
    return "[\n" + "".join(f"{indent}{_string(v)},\n" for v in items) + "]"


def _inline_table(pairs: Iterable[tuple[str, str]]) -> str:
    body = ", ".join(f"{_string(key)} = {value}" for key, value in pairs)
    return "{ " + body + " }" if body else "{}"


def _multiline(text: str) -> str:
    """A manifest text: a literal ``'''`` block if it can hold it, else a basic string."""
    literal_ok = (
        "'''" not in text
        and not text.endswith("'")
        and all(c in "\n\t" or (c >= " " and c != "\x7f") for c in text)
    )
    return f"'''\n{text}'''" if literal_ok else _string(text)


def _source(source: Source) -> str:
    lines = ["[[source]]", f"path = {_string(source.path)}"]
    if source.publisher is not None:
        lines.append(f"publisher = {_string(source.publisher)}")
    return "\n".join(lines) + "\n"


def _manifest(manifest: InlineManifest) -> str:
    context = manifest.where.context if manifest.where and manifest.where.context else None
    head = f"# {context}\n" if context else ""
    return f"{head}[[manifest]]\ntext = {_multiline(manifest.text)}\n"


def _publishers(image: Image) -> str:
    entries = [
        _string(p.name) if p.sticky else "{ name = " + _string(p.name) + ", sticky = false }"
        for p in image.publishers
    ]
    return "[" + ", ".join(entries) + "]"


def _image(image: Image) -> str:
    lines = ["[[image]]", f"name = {_string(image.name)}"]
    if image.parent is not None:
        lines.append(f"parent = {_string(image.parent)}")
    if image.brand is not None:
        lines.append(f"brand = {_string(image.brand.value)}")
    if image.publishers:  # a zone without a pkg(5) image (bhyve, lx, ...) may not have the key
        lines.append(f"publishers = {_publishers(image)}")
    if image.variants:
        lines.append(f"variants = {_inline_table((k, _string(v)) for k, v in image.variants)}")
    if image.facets:
        lines.append(f"facets = {_inline_table((k, 'true' if v else 'false') for k, v in image.facets)}")
    if image.installed or image.brand is None or image.brand.planned:
        lines.append(f"installed = {_strings(str(f) for f in image.installed)}")
    if image.frozen:
        lines.append(f"frozen = {_strings(image.frozen)}")
    if image.avoid:
        lines.append(f"avoid = {_strings(image.avoid)}")
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """Text for a comment: TOML allows no control character there but tab."""
    return "".join(
        c if c == "\t" or not (ord(c) < 0x20 or ord(c) == 0x7F) else f"\\x{ord(c):02x}" for c in text
    )


def fleet_to_toml(fleet: Fleet, comments: Sequence[str] = ()) -> str:
    """The fleet file for ``fleet``; ``comments`` head it, one ``#`` line each
    (control characters in them written as ``\\xNN``: TOML allows none there)."""
    lines = [_comment(part) for line in comments for part in (line.splitlines() or [""])]
    head = "".join(f"# {line}\n" if line else "#\n" for line in lines)
    blocks = [_source(s) for s in fleet.sources]
    blocks += [_manifest(m) for m in fleet.manifests]
    blocks += [_image(i) for i in fleet.images]
    return head + ("\n" if head else "") + "\n".join(blocks)
