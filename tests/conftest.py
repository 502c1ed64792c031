"""Shared test helpers: run the command line in-process and capture what it prints."""

from __future__ import annotations

import shutil
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
