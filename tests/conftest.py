"""Shared test helpers: run the command line in-process and capture what it prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from resolver.cli import main


@dataclass(frozen=True)
class CliRun:
    """One in-process ``zonesolve`` run: exit status, stdout and stderr."""

    code: int
    out: str
    err: str


RunCli = Callable[..., CliRun]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """``run_cli("update", "-r", ...)`` runs ``main()`` and returns a CliRun."""

    def run(*argv: str) -> CliRun:
        capsys.readouterr()  # drop anything printed before this run
        code = main(list(argv))
        captured = capsys.readouterr()
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
