"""Solver testcases: one self-contained fleet file that reproduces a run.

``--export-testcase FILE`` (every planning verb) writes what a bug report
needs, as zypper's ``--debug-solver`` and libsolv's testcases give: a fleet
file with

- the command line (and the one that reruns it on the testcase) as comments,
- one inline ``[[manifest]]`` per package version the run reached, rendered
  from the model (``resolver.manifest_render``), no ``[[source]]``,
- the images, as the fleet had them,

so that the same verb on the testcase gives the same plan or the same
failure, byte for byte (JSON).

*Reached* means looked at: the catalog is wrapped in a
:class:`RecordingCatalog` for the run, which remembers every stem whose
versions were asked for (the candidates of every class, and what the
explanations, the verifier and the zone rules read beyond them: versions
excluded by a variant or an unconfigured publisher are part of a failure's
explanation) and every package fetched by FMRI (the installed ones). The
stems the command's patterns match are added, so that pattern matching
(and its "matches only rejected packages") gives the same answer. Nothing
else of the catalog is written. The recording needs the whole run in one
process, so an exporting run solves zones without worker processes (the
plan does not depend on their number).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Sequence

from resolver import __version__
from resolver.catalog import Catalog
from resolver.errors import InputError
from resolver.fleet_toml import fleet_to_toml
from resolver.fmri import Fmri
from resolver.manifest_render import render_package
from resolver.model import Fleet, InlineManifest, Package
from resolver.patterns import StemIndex, parse_pattern

__all__ = ["RecordingCatalog", "rerun_argv", "testcase_text"]


class RecordingCatalog(Catalog):
    """A copy of a catalog that remembers what was read from it."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(iter(catalog))
        self._stems: set[str] = set()
        self._fetched: dict[int, Package] = {}

    def versions(self, stem: str) -> Sequence[Package]:
        self._stems.add(stem)
        return super().versions(stem)

    def get(self, fmri: Fmri) -> Package | None:
        pkg = super().get(fmri)
        if pkg is not None:
            self._fetched[id(pkg)] = pkg
        return pkg

    def reached(self, patterns: Iterable[str] = ()) -> list[Package]:
        """Every version of every stem read, the packages fetched by FMRI, and
        every version of the stems ``patterns`` match; by stem, oldest first."""
        stems = set(self._stems)
        index: StemIndex | None = None
        for text in patterns:
            try:
                pattern = parse_pattern(text)
            except InputError:
                continue  # the run reported it; nothing in the catalog to keep
            index = index or StemIndex(self.stems())
            stems.update(index.lookup(pattern))
        found = {id(p): p for stem in stems for p in Catalog.versions(self, stem)}
        found.update(self._fetched)
        return sorted(found.values(), key=lambda p: (p.stem, p.fmri.version.key, p.publisher))  # type: ignore[union-attr]


def _option(token: str, name: str) -> bool:
    """Is ``token`` option ``name`` (or an abbreviation argparse accepted)?"""
    head = token.split("=", 1)[0]
    return len(head) > 3 and name.startswith(head)


def rerun_argv(argv: Sequence[str], testcase: str) -> list[str]:
    """The command line that reruns ``argv`` on the testcase: ``--export-testcase``
    dropped, the fleet (``--fleet``, or a host ``--root``) replaced by it."""
    out: list[str] = []
    tokens: Iterator[str] = iter(argv)
    for token in tokens:
        if token == "--":
            out += [token, *tokens]
            break
        for name, keep in (("--export-testcase", False), ("--fleet", True), ("--root", True)):
            if token.startswith("--") and _option(token, name):
                if "=" not in token:
                    next(tokens, None)
                if keep:
                    out += ["--fleet", testcase]
                break
        else:
            out.append(token)
    if "--fleet" not in out[: out.index("--") if "--" in out else len(out)]:
        out += ["--fleet", testcase]
    return out


def testcase_text(
    fleet: Fleet,
    packages: Sequence[Package],
    argv: Sequence[str],
    testcase: str,
    outcome: str,
) -> str:
    """The testcase fleet file: header comments, inline manifests, images."""
    stems = len({p.stem for p in packages})
    header = [
        f"zonesolve {__version__} testcase: a self-contained fleet file that reproduces one run",
        f"command: zonesolve {shlex.join(argv)}",
        f"rerun:   zonesolve {shlex.join(rerun_argv(argv, testcase))}",
        f"result:  {outcome}",
        f"{len(packages)} package versions of {stems} stems: every version the run looked at",
    ]
    manifests = tuple(InlineManifest(render_package(p)) for p in packages)
    return fleet_to_toml(Fleet(testcase, fleet.images, manifests=manifests), header)
