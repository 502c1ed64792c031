"""zonesolve's own fuzzer: mutated input must give a clear error, never a bug.

Each case is built from one seed (the same seed, the same case, on any
machine): a base input is taken from the project (the sample distribution in
manifests/, the scenarios in tests/scenarios, the catalog/1 and repository
fixtures in tests/fixtures) and mutated at the level of its bytes, its lines,
its syntax (TOML, JSON) or its data; or the command line is mutated. The case
is written to a directory and the command line is run in-process
(``resolver.cli.main``), and the outcome must keep zonesolve's promise:

- the exit status is 0, 1, 2, 4 or 52, and nothing escapes ``main``;
- no internal error (kind ``internal``, the bug hint, a traceback);
- every input error (JSON kind ``input``) says where: a path under the
  case's directory (file:line:col, or file and key), or the command-line
  argument it is about;
- it ends within a per-case bound (a hang is a finding).

Cases run in worker processes (forked, one case after another, in-process);
the parent watches each worker and reports a case that overruns its bound as
a hang. Command line::

    python -m tests.fuzz --count 100000 --jobs 2        # `make fuzz`
    python -m tests.fuzz --replay 1234 --keep /tmp/case  # one case, in the foreground
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import tomli_w

from resolver.fleet import SCENARIO_KEYS

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "scenarios"
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE = ROOT / "manifests"

#: Exit statuses zonesolve may give (docs/interfaces.md) and 130 (interrupted).
STATUSES = frozenset({0, 1, 2, 4, 52})
#: Seconds one case may take before it counts as a hang.
BOUND = 30.0
#: Cases a worker runs before it is replaced (each run leaves frozen objects).
RECYCLE = 400

BUG_HINT = "this is a bug in zonesolve"
_INTERNAL = re.compile(r"(?m)^internal error")  # how render.errors_text labels one
_RELATIVE = re.compile(r"([^/\s:][^\s:]*):\d+[:\s]")  # "fleet.toml:3:1: ..."

# ---------------------------------------------------------------------------
# What cases are made of

#: A file of a case: text, bytes, or a special file made in its place.
FIFO, DIRECTORY, LOOP, DANGLING = "<fifo>", "<directory>", "<symlink loop>", "<dangling symlink>"
SPECIALS = (FIFO, DIRECTORY, LOOP, DANGLING)
Content = str | bytes


@dataclass
class Case:
    """One input: files (relative path -> content) and the command line.
    ``{dir}`` in the command line is the case's directory."""

    seed: int
    kind: str
    files: dict[str, Content] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)

    def command(self, directory: Path) -> list[str]:
        return [arg.replace("{dir}", str(directory)) for arg in self.argv]


@dataclass(frozen=True)
class Scenario:
    """A scenario as a fleet file and the command line its [operation] maps to."""

    name: str
    fleet: dict[str, Any]
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    manifests: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    fixtures: dict[str, bytes]


def _scenario(path: Path) -> Scenario:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    op = data["operation"]
    argv = [op["verb"], *op.get("args", []), "--image", op.get("image", "global")]
    argv += ["-r"] if op.get("recursive") else []
    argv += ["-G"] if op.get("global_only") else []
    modes = data.get("modes", [data.get("mode", "joint")])
    argv += ["--parent-first"] if modes[0] == "parent-first" else []
    fleet = {key: value for key, value in data.items() if key not in SCENARIO_KEYS}
    return Scenario(path.stem, fleet, tuple(argv))


@cache
def corpus() -> Corpus:
    """Every base input, read once per process."""
    scenarios = tuple(_scenario(p) for p in sorted(SCENARIOS.glob("*.toml")))
    manifests = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE.rglob("*.p5m"))]
    manifests += [m["text"] for s in scenarios for m in s.fleet.get("manifest", [])]
    fixtures = {
        str(p.relative_to(FIXTURES)): p.read_bytes()
        for p in sorted(FIXTURES.rglob("*"))
        if p.is_file() and p.parts[len(FIXTURES.parts)] in ("dir", "repo", "catalog1", "fleets")
    }
    return Corpus(tuple(manifests), scenarios, fixtures)


# ---------------------------------------------------------------------------
# Mutations

#: Text worth inserting: limits, syntax, names, encodings.
TOKENS = (
    "9" * 5000,
    "1" * 65,
    "0" * 30 + "1",
    "18446744073709551616",
    "-1",
    "\0",
    "%00",
    "\\",
    "\\\n",
    "\n",
    "\r\n",
    "\t",
    " ",
    "=",
    '"',
    "'",
    '"""',
    "'''",
    "#",
    "[",
    "]",
    "{",
    "}",
    "[" * 200,
    "{a=" * 100,
    ".a" * 300,
    "@",
    "@latest",
    "@*",
    ",",
    ":",
    "-",
    ".",
    "*",
    "?",
    "/",
    "//",
    "pkg:/",
    "pkg://",
    "pkg://test/",
    "a" * 300,
    "x/" * 3000,
    "é",
    "\u202e",
    "\U0001f600",
    "\ud7ff",
    "\ufeff",
    "T",
    "Z",
    "20240101T000000Z",
    "99999999T999999Z",
    "nan",
    "inf",
    "true",
    "1e309",
    "variant.opensolaris.zone=nonglobal",
    "facet.debug=true",
    "depend type=require fmri=pkg:/",
    "depend type=parent fmri=feature/package/dependency/self",
    "depend type=require-any fmri=a fmri=b",
    "depend type=conditional fmri=a predicate=b",
    "set name=pkg.fmri value=",
    "set name=pkg.obsolete value=true",
    "set name=pkg.renamed value=true",
    "set name=SUNW_PKG_ALLZONES value=true",
    "$(PKGVERS)",
    "<transform>",
    'parent = "global"',
    'brand = "ipkg"',
    "[[image]]",
    "[[source]]",
    "[[manifest]]",
)


class Mutator:
    """Seeded mutations of text, TOML data, JSON data and command lines."""

    def __init__(self, rnd: random.Random, log: list[str]) -> None:
        self.rnd = rnd
        self.log = log

    def count(self) -> int:
        """How many mutations: mostly one or two, sometimes many."""
        return self.rnd.choice((1, 1, 1, 2, 2, 3, 5, 8))

    # -- text -----------------------------------------------------------------

    def text(self, text: str) -> str:
        for _ in range(self.count()):
            text = self.rnd.choice(self._TEXT)(self, text)
        return text

    def _at(self, text: str) -> int:
        return self.rnd.randrange(len(text) + 1)

    def _insert(self, text: str) -> str:
        i, token = self._at(text), self.rnd.choice(TOKENS)
        self.log.append(f"insert {token[:20]!r} at {i}")
        return text[:i] + token + text[i:]

    def _replace_char(self, text: str) -> str:
        if not text:
            return text
        i = self.rnd.randrange(len(text))
        char = chr(self.rnd.choice((0, 9, 10, 13, 32, 34, 39, 61, 64, 92, self.rnd.randrange(32, 0x2FF))))
        self.log.append(f"char {char!r} at {i}")
        return text[:i] + char + text[i + 1 :]

    def _delete(self, text: str) -> str:
        i = self._at(text)
        j = min(len(text), i + self.rnd.choice((1, 1, 3, 10, 100)))
        self.log.append(f"delete {i}:{j}")
        return text[:i] + text[j:]

    def _duplicate(self, text: str) -> str:
        i = self._at(text)
        j = min(len(text), i + self.rnd.choice((1, 10, 100, 1000)))
        times = self.rnd.choice((1, 2, 50, 2000))
        chunk = text[i:j] * times
        if len(chunk) > 200_000:
            chunk = chunk[:200_000]
        self.log.append(f"repeat {i}:{j} x{times}")
        return text[:j] + chunk + text[j:]

    def _lines(self, text: str) -> str:
        lines = text.split("\n")
        if len(lines) < 2:
            return text
        a, b = self.rnd.randrange(len(lines)), self.rnd.randrange(len(lines))
        how = self.rnd.choice(("swap", "drop", "copy", "copy", "flood"))
        if how == "swap":
            lines[a], lines[b] = lines[b], lines[a]
        elif how == "drop":
            del lines[a]
        elif how == "copy":
            lines.insert(b, lines[a])
        else:  # thousands of the same line: any work per line that is not linear shows
            lines[b:b] = [lines[a]] * min(5000, 200_000 // (len(lines[a]) + 1))
        self.log.append(f"line {how} {a} {b}")
        return "\n".join(lines)

    def _number(self, text: str) -> str:
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if not digits:
            return text
        i = self.rnd.choice(digits)
        j = i
        while j < len(text) and text[j].isdigit():
            j += 1
        new = self.rnd.choice(("9" * 5000, "1" * 64, "1" * 65, "00", "0" * 5 + "7", "-1", "", "4294967296"))
        self.log.append(f"number at {i} -> {new[:10]!r}")
        return text[:i] + new + text[j:]

    def _truncate(self, text: str) -> str:
        i = self._at(text)
        self.log.append(f"truncate at {i}")
        return text[:i]

    _TEXT: tuple[Callable[[Mutator, str], str], ...] = (
        _insert,
        _insert,
        _insert,
        _replace_char,
        _replace_char,
        _delete,
        _duplicate,
        _lines,
        _lines,
        _number,
        _number,
        _truncate,
    )

    # -- data (TOML and JSON documents) -----------------------------------------

    def data(self, doc: Any, json_like: bool = False) -> Any:
        for _ in range(self.count()):
            doc = self._data_once(doc, json_like)
        return doc

    def _data_once(self, doc: Any, json_like: bool) -> Any:
        nodes = list(_nodes(doc))
        parent, key, value = self.rnd.choice(nodes)
        new = self._value(value, json_like)
        self.log.append(f"data {key!r}: {type(value).__name__} -> {_short(new)}")
        if parent is None:
            return {} if new is _DELETE else new
        if new is _DELETE:
            del parent[key]
        else:
            parent[key] = new
        return doc

    def _value(self, value: Any, json_like: bool) -> Any:
        rnd = self.rnd
        choices: list[Callable[[], Any]] = [
            lambda: _DELETE,
            lambda: rnd.choice(
                ("", " ", "\0", "x", "a" * 5000, "global", "pkg:/x@1", "test", "ipkg", "lipkg")
            ),
            lambda: rnd.choice((0, 1, -1, 10**70, 2**63, 1.5, float("inf"))),
            lambda: rnd.choice((True, False)),
            lambda: [],
            lambda: {},
            lambda: _nest(rnd.choice((10, 70, 150)), json_like),
            lambda: [value, value] if not isinstance(value, dict) else value,
        ]
        if isinstance(value, str):
            choices += [lambda: self.text(value)] * 4
        if isinstance(value, list) and value:
            choices += [lambda: rnd.sample(value, len(value)), lambda: value[:-1], lambda: value * 2]
        if isinstance(value, dict):
            choices += [lambda: {**value, rnd.choice(("colour", "parent", "brand", "x.y")): "z"}]
        return rnd.choice(choices)()

    # -- command lines ----------------------------------------------------------

    def argv(self, argv: list[str], names: Sequence[str]) -> list[str]:
        argv = list(argv)
        for _ in range(self.count()):
            how = self.rnd.choice(("insert", "insert", "insert", "drop", "replace", "verb"))
            if how == "insert" or not argv:
                at = self.rnd.randrange(len(argv) + 1)
                words = self.rnd.choice(_OPTIONS)(self.rnd, list(names))
                argv[at:at] = words
            elif how == "drop":
                del argv[self.rnd.randrange(len(argv))]
            elif how == "replace":
                argv[self.rnd.randrange(len(argv))] = self.rnd.choice(_ARG_VALUES)
            else:
                argv[0] = self.rnd.choice(
                    ("install", "update", "uninstall", "attach", "patch", "audit", "lint", "x")
                )
            self.log.append(f"argv {how}")
        return argv


_DELETE = object()


def _nodes(doc: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(container, key, value) for every value of a document, the root as (None, None, doc)."""
    pending: list[tuple[Any, Any, Any]] = [(None, None, doc)]
    while pending:
        parent, key, value = pending.pop()
        yield parent, key, value
        if isinstance(value, dict):
            pending += [(value, k, v) for k, v in value.items()]
        elif isinstance(value, list):
            pending += [(value, i, v) for i, v in enumerate(value)]


def _nest(depth: int, json_like: bool) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 or json_like else {"a": value}
    return value


def _short(value: Any) -> str:
    return "delete" if value is _DELETE else repr(value)[:30]


_ARG_VALUES = (
    "",
    "-",
    "--",
    "\0",
    "inf",
    "1e309",
    "nan",
    "0",
    "-1",
    "1e-9",
    "99999999999",
    "9" * 5000,
    "global",
    "z1",
    "foo",
    "pkg:foo@1",
    "foo@" + "9" * 5000,
    "pkg://test/foo@1.0",
    "*",
    "foo@1.*",
    "a" * 300,
    "{dir}",
    "{dir}/" + "a" * 300,
    "{dir}/missing.toml",
    "/dev/null",
)


def _options_timeout(rnd: random.Random, names: list[str]) -> list[str]:
    return [
        "--timeout",
        rnd.choice(("inf", "1e309", "nan", "0", "-1", "1e-9", "0.01", "1e6", "1e7", "x", "5")),
    ]


def _options_jobs(rnd: random.Random, names: list[str]) -> list[str]:
    return ["--jobs", rnd.choice(("0", "1", "2", "3", "1025", "9" * 5000, "x"))]


def _options_zone(rnd: random.Random, names: list[str]) -> list[str]:
    flag = rnd.choice(("-z", "-Z", "--image"))
    return [flag, rnd.choice([*names, "nosuch", "", "\0"])]


def _options_output(rnd: random.Random, names: list[str]) -> list[str]:
    target = rnd.choice(("{dir}/plan.out", "{dir}", "/dev/null", "{dir}/no/such/dir", "{dir}/link-out", ""))
    return ["-o", target]


def _options_cache(rnd: random.Random, names: list[str]) -> list[str]:
    return rnd.choice((["--no-cache"], ["--cache-dir", "{dir}/cache"], ["--cache-dir", "{dir}/fleet.toml"]))


def _options_flags(rnd: random.Random, names: list[str]) -> list[str]:
    return [rnd.choice(("-r", "-G", "-v", "--stats", "--parent-first", "--help", "--version", "-q"))]


def _options_format(rnd: random.Random, names: list[str]) -> list[str]:
    return ["--format", rnd.choice(("json", "text", "pkg-parsable", "yaml", ""))]


def _options_package(rnd: random.Random, names: list[str]) -> list[str]:
    return [rnd.choice(("--reject", "")) or rnd.choice(_ARG_VALUES), rnd.choice(_ARG_VALUES)]


_OPTIONS = (
    _options_timeout,
    _options_jobs,
    _options_zone,
    _options_zone,
    _options_output,
    _options_cache,
    _options_flags,
    _options_flags,
    _options_format,
    _options_package,
)


# ---------------------------------------------------------------------------
# Building a case from a seed


def _fleet_text(fleet: dict[str, Any]) -> str:
    return tomli_w.dumps(fleet)


def _image_names(fleet: Any) -> list[str]:
    images = fleet.get("image", []) if isinstance(fleet, dict) else []
    return [i["name"] for i in images if isinstance(i, dict) and isinstance(i.get("name"), str)]


def _planning(rnd: random.Random, argv: Sequence[str]) -> list[str]:
    """A scenario's command line with the usual options of a fuzzed run."""
    out = [*argv, "--fleet", "{dir}/fleet.toml", "--format", rnd.choice(("json", "json", "json", "text"))]
    return [*out, *rnd.choice((["--no-cache"], ["--no-cache"], ["--cache-dir", "{dir}/cache"]))]


def _case_fleet_text(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A scenario's fleet file, its text mutated."""
    scenario = rnd.choice(corpus().scenarios)
    case.files["fleet.toml"] = log.text(_fleet_text(scenario.fleet))
    case.argv = _planning(rnd, scenario.argv)
    case.mutations.insert(0, f"scenario {scenario.name}")


def _case_fleet_data(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A scenario's fleet file, its TOML data mutated (still TOML)."""
    scenario = rnd.choice(corpus().scenarios)
    fleet = log.data(json.loads(json.dumps(scenario.fleet)))
    try:
        case.files["fleet.toml"] = tomli_w.dumps(fleet if isinstance(fleet, dict) else {"x": fleet})
    except (TypeError, ValueError, RecursionError):  # tomli_w cannot write it: mutate the text instead
        case.files["fleet.toml"] = log.text(_fleet_text(scenario.fleet))
    case.argv = _planning(rnd, scenario.argv)
    case.mutations.insert(0, f"scenario {scenario.name}")


def _case_manifest_dir(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A scenario with its manifests as files of a directory source, one mutated."""
    scenario = rnd.choice([s for s in corpus().scenarios if s.fleet.get("manifest")])
    fleet = json.loads(json.dumps(scenario.fleet))
    texts = [m["text"] for m in fleet.pop("manifest")]
    fleet["source"] = [{"path": "pkgs", "publisher": "test"}]
    victim = rnd.randrange(len(texts))
    for i, text in enumerate(texts):
        case.files[f"pkgs/m{i}.p5m"] = log.text(text) if i == victim else text
    if rnd.random() < 0.05:
        case.files[f"pkgs/m{victim}.p5m"] = rnd.choice(SPECIALS)
        log.log.append(f"special {case.files[f'pkgs/m{victim}.p5m']}")
    case.files["fleet.toml"] = _fleet_text(fleet)
    if rnd.random() < 0.3:
        case.argv = ["lint", "{dir}/pkgs", "{dir}/fleet.toml"]
    else:
        case.argv = _planning(rnd, scenario.argv)
    case.mutations.insert(0, f"scenario {scenario.name}, manifest {victim}")


def _case_sample_manifest(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A manifest of the sample distribution or of a scenario, mutated, linted
    and loaded as a source next to an inline manifest."""
    text = rnd.choice(corpus().manifests)
    case.files["pkgs/x.p5m"] = log.text(text)
    fleet = {
        "source": [{"path": "pkgs", "publisher": "omnios"}],
        "manifest": [{"text": "set name=pkg.fmri value=pkg://test/local@1.0,5.11-0\n"}],
        "image": [{"name": "global", "publishers": ["omnios", "test", "extra"], "installed": []}],
    }
    case.files["fleet.toml"] = _fleet_text(fleet)
    if rnd.random() < 0.5:
        case.argv = ["lint", "{dir}/pkgs/x.p5m"]
    else:
        case.argv = _planning(rnd, ["update", "-r"])


def _case_sources(case: Case, rnd: random.Random, log: Mutator) -> None:
    """The fixture host (a directory, a repository, a catalog/1 source), one
    of its files mutated: text, JSON data, its name or its kind."""
    files: dict[str, Content] = dict(corpus().fixtures)
    names = sorted(n for n in files if not n.startswith("fleets/"))
    victim = rnd.choice(names)
    data = files[victim]
    how = rnd.random()
    if how < 0.1:
        files[victim] = rnd.choice(SPECIALS)
        log.log.append(f"special {files[victim]} for {victim}")
    elif how < 0.25 and victim.startswith("repo/publisher/"):
        del files[victim]
        parent, _, name = victim.rpartition("/")
        files[f"{parent}/{log.text(name).replace('/', '%2F').replace(chr(0), '%00') or 'x'}"] = data
        log.log.append(f"renamed {victim}")
    elif how < 0.55 and victim.startswith("catalog1/") and isinstance(data, bytes):
        try:
            doc = json.loads(data)
        except ValueError:
            doc = {}
        files[victim] = json.dumps(log.data(doc, json_like=True)).encode()
    else:
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        files[victim] = log.text(text).encode("utf-8", "surrogateescape")
    case.files = {("host/" + n): v for n, v in files.items()}
    case.files["fleet.toml"] = case.files.pop("host/fleets/host.toml")
    text = case.files["fleet.toml"]
    text = text.decode() if isinstance(text, bytes) else text
    case.files["fleet.toml"] = text.replace('path = "../', 'path = "host/')
    verb = rnd.choice((["update", "-r"], ["install", "developer/gcc"], ["install", "site/config"], ["audit"]))
    case.argv = _planning(rnd, verb) if rnd.random() < 0.8 else ["lint", "{dir}/host/dir", "{dir}/fleet.toml"]
    case.mutations.insert(0, f"fixture file {victim}")


def _case_argv(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A scenario's fleet file as it is, the command line mutated."""
    scenario = rnd.choice(corpus().scenarios)
    case.files["fleet.toml"] = _fleet_text(scenario.fleet)
    case.files["link-out"] = DANGLING if rnd.random() < 0.5 else "old output\n"
    case.argv = log.argv(_planning(rnd, scenario.argv), _image_names(scenario.fleet))
    case.mutations.insert(0, f"scenario {scenario.name}")


_DEPEND_TYPES = ("require", "optional", "exclude", "incorporate", "group", "require-any", "parent", "origin")
_BRANDS = ("lipkg", "sparse", "pkgsrc", "ipkg", "native")


class _Semantic:
    """Edits of a valid fleet that keep it valid TOML with well-formed values,
    so that the run reaches the planner and the verifier: installed states
    made inconsistent, zones added, moved and rebranded, freezes and avoids,
    manifests' dependencies and versions changed, tables shuffled."""

    def __init__(self, rnd: random.Random, fleet: dict[str, Any], log: list[str]) -> None:
        self.rnd, self.fleet, self.log = rnd, fleet, log
        self.images: list[dict[str, Any]] = fleet.setdefault("image", [])
        self.manifests: list[dict[str, Any]] = fleet.get("manifest", [])

    def fmris(self) -> list[str]:
        """Every package version of the fleet's manifests, as a full FMRI."""
        out = []
        for m in self.manifests:
            for line in m["text"].splitlines():
                if line.startswith("set name=pkg.fmri value="):
                    out.append(line.split("value=", 1)[1].split()[0])
        return out

    def edit(self) -> None:
        how = self.rnd.choice(
            (
                "drop-installed",
                "drop-installed",
                "add-installed",
                "add-zone",
                "parent",
                "brand",
                "freeze",
                "avoid",
                "shuffle",
                "depend",
                "version",
                "drop-action",
                "variant",
            )
        )
        getattr(self, how.replace("-", "_"))()
        self.log.append(how)

    def _image(self) -> dict[str, Any] | None:
        return self.rnd.choice(self.images) if self.images else None

    def drop_installed(self) -> None:
        image = self._image()
        if image and image.get("installed"):
            image["installed"].pop(self.rnd.randrange(len(image["installed"])))

    def add_installed(self) -> None:
        image, fmris = self._image(), self.fmris()
        if image is not None and fmris:
            fmri = self.rnd.choice(fmris)
            stem = fmri.split("@")[0].rsplit("/", 1)[-1]
            kept = [f for f in image.get("installed", []) if f.split("@")[0].rsplit("/", 1)[-1] != stem]
            image["installed"] = [*kept, fmri]

    def add_zone(self) -> None:
        base = self._image()
        if base is not None:
            zone = json.loads(json.dumps(base))
            zone["name"] = f"zz{self.rnd.randrange(100)}"
            zone["parent"] = self.rnd.choice([i["name"] for i in self.images])
            zone["brand"] = self.rnd.choice(_BRANDS)
            self.images.append(zone)

    def parent(self) -> None:
        image = self._image()
        if image is not None and "parent" in image:
            image["parent"] = self.rnd.choice([i["name"] for i in self.images])

    def brand(self) -> None:
        image = self._image()
        if image is not None and "parent" in image:
            image["brand"] = self.rnd.choice(_BRANDS)

    def freeze(self) -> None:
        image, fmris = self._image(), self.fmris()
        if image is not None and fmris:
            stem, _, version = self.rnd.choice(fmris).partition("@")
            stem = stem.split("/", 3)[-1]
            entry = stem if self.rnd.random() < 0.5 else f"{stem}@{version.split(',')[0]}"
            image["frozen"] = [*image.get("frozen", []), entry]

    def avoid(self) -> None:
        image, fmris = self._image(), self.fmris()
        if image is not None and fmris:
            image["avoid"] = [
                *image.get("avoid", []),
                self.rnd.choice(fmris).partition("@")[0].split("/", 3)[-1],
            ]

    def shuffle(self) -> None:
        what = self.rnd.choice([self.images, self.manifests, *(i.get("installed", []) for i in self.images)])
        self.rnd.shuffle(what)

    def _manifest_lines(self) -> tuple[dict[str, Any], list[str]] | None:
        if not self.manifests:
            return None
        manifest = self.rnd.choice(self.manifests)
        return manifest, manifest["text"].split("\n")

    def depend(self) -> None:
        found, fmris = self._manifest_lines(), self.fmris()
        if found and fmris:
            manifest, lines = found
            target = self.rnd.choice(fmris).split("/", 3)[-1]
            if self.rnd.random() < 0.5:
                target = target.split("@")[0]
            kind = self.rnd.choice(_DEPEND_TYPES)
            extra = f" fmri={self.rnd.choice(fmris).split('/', 3)[-1]}" if kind == "require-any" else ""
            lines.insert(self.rnd.randrange(1, len(lines) + 1), f"depend type={kind} fmri={target}{extra}")
            manifest["text"] = "\n".join(lines)

    def version(self) -> None:
        found = self._manifest_lines()
        if found:
            manifest, lines = found
            i = self.rnd.randrange(len(lines))
            lines[i] = "".join(
                str(self.rnd.randrange(4)) if c.isdigit() and self.rnd.random() < 0.3 else c for c in lines[i]
            )
            manifest["text"] = "\n".join(lines)

    def drop_action(self) -> None:
        found = self._manifest_lines()
        if found and len(found[1]) > 2:
            manifest, lines = found
            del lines[self.rnd.randrange(1, len(lines))]
            manifest["text"] = "\n".join(lines)

    def variant(self) -> None:
        image = self._image()
        if image is not None:
            key = self.rnd.choice(("variant.arch", "variant.opensolaris.zone", "variant.debug.osnet"))
            value = self.rnd.choice(("i386", "sparc", "global", "nonglobal", "true", "false"))
            image["variants"] = {**image.get("variants", {}), key: value}


def _case_semantic(case: Case, rnd: random.Random, log: Mutator) -> None:
    """A scenario's fleet with valid-looking edits, planned (see _Semantic)."""
    scenario = rnd.choice(corpus().scenarios)
    fleet = json.loads(json.dumps(scenario.fleet))
    edits = _Semantic(rnd, fleet, case.mutations)
    for _ in range(rnd.choice((1, 1, 2, 3, 4))):
        edits.edit()
    case.files["fleet.toml"] = _fleet_text(fleet)
    names = _image_names(fleet)
    zones = [n for n in names if n != "global"]
    verb = rnd.choice(
        (
            list(scenario.argv),
            ["update", "-r"],
            ["update"],
            ["audit"],
            ["attach", "--image", rnd.choice(zones or ["global"])],
            ["install", "-r", rnd.choice(edits.fmris() or ["x"]).split("/", 3)[-1].split("@")[0]],
            ["uninstall", "-r", rnd.choice(edits.fmris() or ["x"]).split("/", 3)[-1].split("@")[0]],
        )
    )
    if rnd.random() < 0.15:
        verb += ["--jobs", "2"]
    case.argv = _planning(rnd, verb)
    case.mutations.insert(0, f"scenario {scenario.name}")


BUILDERS: dict[str, tuple[float, Callable[[Case, random.Random, Mutator], None]]] = {
    "fleet-text": (0.15, _case_fleet_text),
    "fleet-data": (0.15, _case_fleet_data),
    "fleet-semantic": (0.2, _case_semantic),
    "manifest-dir": (0.12, _case_manifest_dir),
    "sample-manifest": (0.12, _case_sample_manifest),
    "sources": (0.13, _case_sources),
    "argv": (0.13, _case_argv),
}


def build_case(seed: int) -> Case:
    """The case for ``seed`` (deterministic)."""
    rnd = random.Random(seed)
    kinds = list(BUILDERS)
    kind = rnd.choices(kinds, weights=[BUILDERS[k][0] for k in kinds])[0]
    case = Case(seed, kind)
    BUILDERS[kind][1](case, rnd, Mutator(rnd, case.mutations))
    return case


# ---------------------------------------------------------------------------
# Running a case


@dataclass
class Outcome:
    """What one case gave: exit status, seconds, and what was wrong with it."""

    seed: int
    kind: str
    code: int | None
    seconds: float
    problems: list[str] = field(default_factory=list)
    errors: tuple[str, ...] = ()  # the JSON errors' kinds


def write_case(case: Case, directory: Path) -> None:
    """Make the case's files (special ones as themselves) under ``directory``."""
    for rel, content in case.files.items():
        path = directory / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if content == FIFO:
                os.mkfifo(path)
            elif content == DIRECTORY:
                path.mkdir()
            elif content == LOOP:
                path.symlink_to(path.name)
            elif content == DANGLING:
                path.symlink_to(directory / "nowhere" / path.name)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8", "surrogatepass"))
        except (OSError, ValueError):  # a name the system refuses: the case goes without the file
            continue


def run_case(case: Case, directory: Path) -> Outcome:
    """Run the case's command line in this process and judge what it gave."""
    from resolver.cli import main

    write_case(case, directory)
    argv = case.command(directory)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code: int | None = None
    problems: list[str] = []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except BaseException as exc:  # anything escaping main is a finding
        problems.append(f"escaped main: {type(exc).__name__}: {exc}"[:500])
    seconds = time.monotonic() - started
    outcome = Outcome(case.seed, case.kind, code, seconds, errors=_error_kinds(out.getvalue()))
    outcome.problems = problems + judge(code, out.getvalue(), err.getvalue(), argv, directory)
    return outcome


def judge(code: int | None, out: str, err: str, argv: Sequence[str], directory: Path) -> list[str]:
    """What is wrong with one run's exit status and output (nothing: [])."""
    problems = []
    if code is not None and code not in STATUSES:
        problems.append(f"exit status {code}")
    for stream, text in (("stderr", err), ("stdout", out)):
        if "Traceback (most recent call last)" in text or BUG_HINT in text or _INTERNAL.search(text):
            problems.append(f"internal error on {stream}: {_excerpt(text)}")
    if code == 2 and "usage:" not in err and "error:" not in err and "usage" not in _error_kinds(out):
        problems.append(f"exit 2 without a usage message: {_excerpt(err)}")
    if out.startswith("{"):
        problems += _judge_json(out, argv, directory)
    return problems


def _judge_json(out: str, argv: Sequence[str], directory: Path) -> list[str]:
    try:
        errors = json.loads(out).get("errors", [])
    except ValueError:
        return []  # not our JSON (e.g. a manifest text on stdout); the statuses were judged
    problems = []
    for error in errors:
        message = str(error.get("message", ""))
        if error.get("kind") == "internal":
            problems.append(f"internal error: {_excerpt(message)}")
        elif error.get("kind") == "input" and not located(message, argv, directory):
            problems.append(f"input error without a location: {_excerpt(message)}")
    return problems


def located(message: str, argv: Sequence[str], directory: Path) -> bool:
    """True if an input error says where: a path of the case (its files are
    all under ``directory``, the current directory of the run), or the
    command-line argument it is about."""
    if str(directory) in message or os.path.realpath(directory) in message:
        return True
    if message.startswith("fleet file not found: "):  # names the path it looked for
        return True
    relative = _RELATIVE.match(message)  # a path relative to the run's directory, the case's
    if relative and (directory / relative.group(1)).exists():
        return True
    words = [a for a in argv if str(directory) not in a]
    return any(repr(w)[:40] in message or (len(w) >= 2 and w[:40] in message) for w in words)


def _error_kinds(out: str) -> tuple[str, ...]:
    if not out.startswith("{"):
        return ()
    try:
        return tuple(sorted({str(e.get("kind")) for e in json.loads(out).get("errors", [])}))
    except (ValueError, AttributeError):
        return ()


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 400 else text[:300] + " ... " + text[-100:]


# ---------------------------------------------------------------------------
# Workers and the watch over them


def _worker(conn: Connection, seeds: list[int], root: str) -> None:
    """Run cases one after another; send (seed, Outcome) after each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["ZONESOLVE_CACHE_DIR"] = os.path.join(root, "default-cache")
    for seed in seeds:
        directory = Path(tempfile.mkdtemp(prefix=f"case{seed}-", dir=root))
        os.chdir(directory)  # relative paths of a mutated command line stay in the case
        try:
            outcome = run_case(build_case(seed), directory)
        except Exception as exc:  # the fuzzer's own failure: report it, keep going
            outcome = Outcome(seed, "?", None, 0.0, [f"fuzzer failed: {type(exc).__name__}: {exc}"])
        finally:
            os.chdir(root)
            shutil.rmtree(directory, ignore_errors=True)
        conn.send(outcome)
    conn.close()


@dataclass
class Report:
    count: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    findings: list[Outcome] = field(default_factory=list)
    hangs: list[int] = field(default_factory=list)
    slowest: tuple[float, int] = (0.0, -1)

    @property
    def internal(self) -> int:
        return sum(any("internal" in p or "escaped" in p for p in f.problems) for f in self.findings)

    def add(self, outcome: Outcome) -> None:
        self.count += 1
        self.kinds[outcome.kind] += 1
        self.statuses[str(outcome.code)] += 1
        self.errors.update(outcome.errors)
        self.slowest = max(self.slowest, (outcome.seconds, outcome.seed))
        if outcome.problems:
            self.findings.append(outcome)

    def text(self) -> str:
        lines = [
            f"{self.count:,} cases in {self.seconds:,.0f} s ({self.count / max(self.seconds, 1e-9):,.1f}/s)",
            f"internal errors: {self.internal}, hangs: {len(self.hangs)}, "
            f"other findings: {len(self.findings) - self.internal}",
            "exit statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.statuses.items())),
            "cases: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.kinds.items())),
            "JSON error kinds: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.errors.items())),
            f"slowest case: {self.slowest[0]:.2f} s (seed {self.slowest[1]})",
        ]
        lines += [f"hang: seed {seed}" for seed in self.hangs]
        for finding in self.findings[:50]:
            lines.append(f"seed {finding.seed} ({finding.kind}, exit {finding.code}):")
            lines += [f"  {problem}" for problem in finding.problems]
        return "\n".join(lines)


def run(
    count: int,
    seed: int = 0,
    jobs: int = 2,
    bound: float = BOUND,
    root: str | None = None,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Cases ``seed .. seed + count - 1`` in ``jobs`` worker processes;
    ``progress(report)`` after every 1,000th case."""
    report = Report()
    started = time.monotonic()
    _warm()
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="zonesolve-fuzz-", dir=root) as scratch:
        pending = list(range(seed, seed + count))
        live: dict[Connection, tuple[Any, list[int], float]] = {}

        def start() -> None:
            share, pending[:] = pending[:RECYCLE], pending[RECYCLE:]
            parent, child = context.Pipe(duplex=False)
            # not a daemon: a case may fork workers of its own (--jobs)
            proc = context.Process(target=_worker, args=(child, share, scratch))
            proc.start()
            child.close()
            live[parent] = (proc, share, time.monotonic())

        while pending and len(live) < jobs:
            start()
        while live:
            ready = wait(list(live), timeout=1.0)
            for conn in ready:
                proc, share, _ = live[conn]
                try:
                    outcome = conn.recv()
                except EOFError:  # the worker finished its share (or died: its case is a finding)
                    del live[conn]
                    proc.join()
                    if share:
                        report.findings.append(Outcome(share[0], "?", proc.exitcode, 0.0, ["worker died"]))
                        pending[:0] = share[1:]
                    if pending:
                        start()
                    continue
                share.remove(outcome.seed)
                report.add(outcome)
                if progress and report.count % 1000 == 0:
                    report.seconds = time.monotonic() - started
                    progress(report)
                live[conn] = (proc, share, time.monotonic())
            for conn, (proc, share, since) in list(live.items()):
                if share and time.monotonic() - since > bound:
                    proc.kill()
                    proc.join()
                    del live[conn]
                    report.hangs.append(share[0])
                    report.count += 1
                    pending[:0] = share[1:]
                    start()
    report.seconds = time.monotonic() - started
    return report


def _warm() -> None:
    """Import zonesolve and build its parsers once, in the parent: every
    worker forked from it starts with them (and with the same code, even if
    the files change during a long run)."""
    import resolver.cli  # noqa: F401
    from resolver.manifest import _fast_path

    _fast_path()
    corpus()


def replay(seed: int, keep: str | None) -> Outcome:
    """Run one case in the foreground and show it (its files kept in ``keep``)."""
    case = build_case(seed)
    directory = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=f"case{seed}-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed}: {case.kind}; {'; '.join(case.mutations)}")
    print("argv:", case.command(directory))
    here = os.getcwd()
    os.chdir(directory)  # as in a worker: relative paths stay in the case
    try:
        outcome = run_case(case, directory)
    finally:
        os.chdir(here)
    print(f"exit {outcome.code} in {outcome.seconds:.2f} s; problems: {outcome.problems or 'none'}")
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
    return outcome


def _progress(report: Report) -> None:
    findings = len(report.findings) + len(report.hangs)
    line = f"{report.count:,} cases, {report.seconds:,.0f} s, {findings} findings"
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the first case's seed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bound", type=float, default=BOUND, help="seconds before a case is a hang")
    parser.add_argument("--replay", type=int, metavar="SEED", help="run one case in the foreground")
    parser.add_argument("--keep", metavar="DIR", help="with --replay: write the case here and keep it")
    ns = parser.parse_args(argv)
    if ns.replay is not None:
        return 1 if replay(ns.replay, ns.keep).problems else 0
    report = run(ns.count, ns.seed, ns.jobs, ns.bound, progress=_progress)
    print(report.text())
    return 1 if report.findings or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
