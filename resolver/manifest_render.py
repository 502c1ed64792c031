"""Packages back to manifest text: the inverse of ``resolver.manifest``.

``render_package(pkg)`` writes the actions a :class:`~resolver.model.Package`
was read from, as far as the model keeps them: ``set`` actions for the FMRI,
variant declarations, the pkg.* flags, install-hold and the SVR4 parameters,
one ``depend`` action per dependency with its variant and facet tags. Parsing
the text gives the same package (``parse_package(render_package(p)) == p``,
a property test holds it to that), which is what a testcase needs: the solver
sees exactly what it saw.

What the model does not keep (file actions and the like) is not written.
Whether an action carried ``reboot-needed=true`` (``Package.reboot_needed``)
is stated instead as ``set name=zonesolve.reboot-needed value=true`` (or
``unknown``); pkg(5) ignores set actions it does not know, so the text stays
a valid pkg(5) manifest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from resolver.manifest import REBOOT_NEEDED
from resolver.model import Dependency, DepType, Package

__all__ = ["render_package", "render_value"]

#: A value that needs no quotes: no whitespace, quote or backslash, not empty.
#: (A bare value may hold quotes and backslashes, but one ending in a
#: backslash would continue the line; quoting those is simpler and as exact.)
_BARE = re.compile(r"[^\s\"'\\]+\Z")
#: Characters that end a line for ``str.splitlines`` (the parser's line split):
#: no action value can hold one, so none can be written.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def render_value(value: str) -> str:
    """An attribute value as manifest text: bare when it can be, else double-quoted
    with backslashes and double quotes escaped (what the parser unquotes)."""
    if _LINE_BREAKS.search(value):
        raise ValueError(f"a manifest value cannot hold a line break: {value!r}")
    if _BARE.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _action(kind: str, attrs: Iterable[tuple[str, str]]) -> str:
    """One action line: ``kind key=value ...`` in the order given."""
    return kind + "".join(f" {key}={render_value(value)}" for key, value in attrs)


def _set(name: str, *values: str) -> str:
    """``set name=NAME value=V...``."""
    return _action("set", [("name", name), *(("value", v) for v in values)])


def _depend(dep: Dependency) -> str:
    """One ``depend`` action: type, every fmri, predicate, root-image, tags."""
    attrs = [("type", dep.type.value), *(("fmri", str(f)) for f in dep.fmris)]
    if dep.type is DepType.CONDITIONAL and dep.predicate is not None:
        attrs.append(("predicate", str(dep.predicate)))
    if dep.type is DepType.ORIGIN and dep.root_image:
        attrs.append(("root-image", "true"))
    attrs.extend(dep.tags)
    return _action("depend", attrs)


def render_package(pkg: Package) -> str:
    """The manifest text of ``pkg`` (one action a line, newline-terminated)."""
    lines = [_set("pkg.fmri", str(pkg.fmri))]
    lines += [_set(name, *values) for name, values in pkg.variants]
    for flag, name in (
        (pkg.obsolete, "pkg.obsolete"),
        (pkg.renamed, "pkg.renamed"),
        (pkg.explicit_install, "pkg.depend.explicit-install"),
    ):
        if flag:
            lines.append(_set(name, "true"))
    if pkg.install_hold is not None:
        lines.append(_set("pkg.depend.install-hold", pkg.install_hold))
    if pkg.svr4 is not None:
        params = pkg.svr4
        for name, on in (
            ("SUNW_PKG_ALLZONES", params.allzones),
            ("SUNW_PKG_THISZONE", params.thiszone),
            ("SUNW_PKG_HOLLOW", params.hollow),
            ("SUNW_PKG_INTERACTIVE", params.interactive),
        ):
            lines.append(_set(name, "true" if on else "false"))
    if pkg.reboot_needed is not False:
        lines.append(_set(REBOOT_NEEDED, "unknown" if pkg.reboot_needed is None else "true"))
    lines += [_depend(dep) for dep in pkg.depends]
    return "\n".join(lines) + "\n"
