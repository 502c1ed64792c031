"""Shared test helpers: run the command line in-process and capture what it prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
