"""Shared test helpers: run the command line in-process and capture what it prints.

Every run whose command line asks for ``--format json`` (or ``pkg-parsable``)
has its output validated against the published schema
(resolver/schema/plan.schema.json), whether printed or written with ``-o``;
so is every output of ``render.to_json`` and ``render.to_pkg_parsable``
called directly. Every test of the suite checks the schema as a side effect.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from resolver import render
from resolver.cli import main
from resolver.output_schema import schema


@dataclass(frozen=True)
class CliRun:
    """One in-process ``zonesolve`` run: exit status, stdout and stderr."""

    code: int
    out: str
    err: str


RunCli = Callable[..., CliRun]


@cache
def validator(document: str = "") -> Draft202012Validator:
    """The schema's validator: for its root, or for one of its ``$defs``."""
    published = schema()
    Draft202012Validator.check_schema(published)
    if document:
        published = {**published, "anyOf": [{"$ref": f"#/$defs/{document}"}]}
    return Draft202012Validator(published)


def check_output(argv: Sequence[str], out: str) -> None:
    """Validate a run's JSON output (stdout, or the -o file) if it asked for JSON."""
    argv = list(argv)
    if "--format" not in argv or argv[0] in ("lock", "schema"):
        return
    fmt = argv[argv.index("--format") + 1]
    document = {"json": "", "pkg-parsable": "pkg-parsable"}.get(fmt)
    if document == "" and argv[0] == "why":
        document = "why"
    if document is None:
        return
    text = out
    if "-o" in argv and Path(argv[argv.index("-o") + 1]).is_file():
        text = Path(argv[argv.index("-o") + 1]).read_text(encoding="utf-8")
    if not text:
        return  # nothing printed (a usage error, or the text went elsewhere)
    if argv[0] == "site":  # every host's object is the single-host document (null: no plan)
        for name, host in json.loads(text)["hosts"].items():
            if host is not None:
                _check(host, document, f"{' '.join(argv)} (host {name})")
        return
    _check(json.loads(text), document, " ".join(argv))


def _check(obj: Any, document: str, what: str) -> None:
    """Fail the test if ``obj`` does not match the schema (its root or a ``$defs`` document)."""
    found = best_match(validator(document).iter_errors(obj))
    if found is not None:
        where = "/".join(map(str, found.absolute_path)) or "(root)"
        pytest.fail(f"{what}: the output does not match the schema at {where}: {found.message}")


def _validated(render_function: Callable[..., str], document: str) -> Callable[..., str]:
    """A renderer whose every output is checked against the schema."""

    def render_and_check(*args: Any, **kwargs: Any) -> str:
        text = render_function(*args, **kwargs)
        _check(json.loads(text), document, render_function.__name__)
        return text

    return render_and_check


# Outputs rendered without the command line (tests of render, workers, properties)
# are checked too: the renderers are wrapped before any test module imports them.
render.to_json = _validated(render.to_json, "")  # type: ignore[method-assign]
render.to_pkg_parsable = _validated(render.to_pkg_parsable, "pkg-parsable")  # type: ignore[method-assign]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """``run_cli("update", "-r", ...)`` runs ``main()`` and returns a CliRun;
    JSON output is validated against the published schema."""

    def run(*argv: str) -> CliRun:
        capsys.readouterr()  # drop anything printed before this run
        code = main(list(argv))
        captured = capsys.readouterr()
        check_output(argv, captured.out)
        return CliRun(code, captured.out, captured.err)

    return run


def shared_dir() -> Path:
    """``../shared`` beside the repository. In a git worktree (``.git`` is a
    file naming the main checkout's ``.git/worktrees/NAME``) the one beside
    the main checkout."""
    root = Path(__file__).parents[1]
    dot_git = root / ".git"
    if not (root.parent / "shared").is_dir() and dot_git.is_file():
        gitdir = Path(dot_git.read_text(encoding="utf-8").partition("gitdir:")[2].strip())
        if len(gitdir.parents) > 3:
            return gitdir.parents[3] / "shared"
    return root.parent / "shared"


# ---------------------------------------------------------------------------
# Image roots in pkg(5)'s layout (tests/fixtures/make_image_roots.py)


@pytest.fixture(scope="session")
def image_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo host as pkg(5) and zoneadm keep it, built once: OUT/host and
    OUT/zoneadm-list-cp.txt. Tests must not change it (copy it with ``host_copy``)."""
    from tests.fixtures.make_image_roots import build_host

    out = tmp_path_factory.mktemp("image-host")
    build_host(out)
    return out


@pytest.fixture
def host_copy(image_host: Path, tmp_path: Path) -> Path:
    """A private copy of the demo host's root, to change or damage."""
    target = tmp_path / "host"
    shutil.copytree(image_host / "host", target, symlinks=True)
    return target
