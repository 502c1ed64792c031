"""The command line: help, usage errors, exit codes, -o, lint, error reporting.

Most runs replace ``cli.solve`` (load + plan) with a fake returning a Result
built by hand, so these tests pin the CLI's own behaviour.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from resolver import cli
from resolver.errors import Diverged, Fact, InputError, InputErrors, Location, NoSolution
from resolver.fmri import parse_fmri
from resolver.model import Operation, Verb
from resolver.plan import ImagePlan, Outcome, Result
from resolver.progress import Silent, TtyProgress, reporter

if TYPE_CHECKING:
    from conftest import RunCli

VERBS = ["install", "update", "uninstall", "attach", "patch", "audit", "lint"]
OLD = parse_fmri("pkg://test/foo@1.0,5.11-0:20240101T000000Z")
NEW = parse_fmri("pkg://test/foo@2.0,5.11-0:20240101T000000Z")


def fake_solve(monkeypatch: pytest.MonkeyPatch, answer: Callable[[Operation], Result]) -> None:
    """Replace loading and planning by ``answer(operation)``."""

    def solve(
        ns: argparse.Namespace, op: Operation, progress: Any, context: cli.Context, alarm: Any = None
    ) -> Result:
        context.parents = {"global": None, "z1": "global"}
        return answer(op)

    monkeypatch.setattr(cli, "solve", solve)


def changed(op: Operation) -> Result:
    """A plan that updates foo in the global zone."""
    images = {
        "global": ImagePlan("global", {"foo": OLD}, {"foo": NEW}),
        "z1": ImagePlan("z1", {}, {}),
    }
    return Result(op, Outcome.OK, images, ["global", "z1"])


def no_solution(op: Operation) -> Result:
    """No plan: foo@2.0 needs something missing."""
    facts = [Fact("require", "foo@2.0 requires bar@1, which no publisher has", "global")]
    return Result(op, Outcome.FAIL, errors=[NoSolution("cannot install foo@2.0", facts)])


def plan_files(directory: Path) -> list[str]:
    """Every file in a directory, temp files included."""
    return sorted(p.name for p in directory.iterdir())


# ---------------------------------------------------------------------------
# Help and usage errors


@pytest.mark.parametrize("verb", VERBS)
def test_help_for_each_verb(run_cli: RunCli, verb: str) -> None:
    run = run_cli(verb, "--help")
    assert run.code == 0
    assert f"usage: zonesolve {verb}" in run.out and "examples:" in run.out


def test_top_level_help_and_version(run_cli: RunCli) -> None:
    run = run_cli("--help")
    assert run.code == 0 and "Exit status" in run.out
    for verb in VERBS:
        assert verb in run.out
    assert run_cli("--version").code == 0


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["install"],
        ["uninstall"],
        ["patch"],
        ["lint"],
        ["update", "--bogus"],
        ["update", "-z", "z1"],
        ["update", "-Z", "z1"],
        ["update", "-r", "-z", "z1", "-Z", "z2"],
        ["update", "-r", "-G"],
        ["attach"],
        ["attach", "extra-arg", "--image", "z1"],
        ["patch", "SUNWfoo"],
        ["patch", "SUNWfoo@"],
        ["update", "--format", "yaml"],
        ["update", "--timeout", "-1"],
        ["update", "--timeout", "soon"],
        ["update", "--jobs", "0"],
        ["update", "--jobs", "two"],
        ["update", "--cache-dir", "x", "--no-cache"],
        ["audit", "-r"],
        ["audit", "--format", "pkg-parsable"],
    ],
)
def test_bad_command_lines_exit_2(run_cli: RunCli, argv: list[str]) -> None:
    run = run_cli(*argv)
    assert run.code == 2
    assert "usage:" in run.err and "Traceback" not in run.err


def test_options_become_the_operation(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Operation] = []
    fake_solve(monkeypatch, lambda op: seen.append(op) or changed(op))
    argv = ["update", "foo", "bar", "-r", "-Z", "z1", "-Z", "z2", "--reject", "x11"]
    run_cli(*argv, "--parent-first", "--timeout", "30", "--image", "global")
    assert seen == [
        Operation(
            Verb.UPDATE,
            ("foo", "bar"),
            image="global",
            recursive=True,
            parent_first=True,
            reject=("x11",),
            skip_zones=("z1", "z2"),
            timeout=30.0,
        )
    ]


def test_jobs_reach_the_planner(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    import resolver.api

    real, seen = resolver.api.plan, []

    def plan(*args: Any, jobs: int | None = None, **kw: Any) -> Result:
        seen.append(jobs)
        return real(*args, jobs=jobs, **kw)

    monkeypatch.setattr(resolver.api, "plan", plan)
    fleet = str(Path(__file__).resolve().parent.parent / "manifests" / "demo-fleet.toml")
    assert run_cli("update", "-r", "--fleet", fleet, "--no-cache", "--jobs", "3").code == 0
    assert run_cli("update", "-r", "--fleet", fleet, "--no-cache").code == 0
    assert seen == [3, None]


# ---------------------------------------------------------------------------
# Exit codes and output routing


@pytest.mark.parametrize(("outcome", "code"), [(Outcome.OK, 0), (Outcome.NOTHING, 4), (Outcome.FAIL, 1)])
def test_exit_codes(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, outcome: Outcome, code: int) -> None:
    errors = [NoSolution("no plan", [])] if outcome is Outcome.FAIL else []  # a failure says why
    fake_solve(monkeypatch, lambda op: Result(op, outcome, order=["global"], errors=list(errors)))
    assert run_cli("update", "--format", "json").code == code


def audited(status: str) -> Callable[[Operation], Result]:
    """An audit answer with z1 in this status (diverged: a finding, as resolver.api gives)."""

    def answer(op: Operation) -> Result:
        if status == "synced":
            return Result(op, Outcome.OK, audit={"z1": status})
        finding = Diverged("zone z1 has diverged: foo needs bar", image="z1")
        return Result(op, Outcome.FAIL, errors=[finding], audit={"z1": status})

    return answer


@pytest.mark.parametrize(("status", "code"), [("synced", 0), ("diverged", 52)])
def test_audit_exit_codes(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, status: str, code: int) -> None:
    fake_solve(monkeypatch, audited(status))
    run = run_cli("audit")
    assert run.code == code and f"z1  {status}" in run.out and run.err == ""
    assert run_cli("audit", "--format", "json").code == code


def test_audit_that_cannot_run_exits_1(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, lambda op: Result(op, Outcome.FAIL, errors=[NoSolution("no", [])]))
    run = run_cli("audit")
    assert run.code == 1 and run.out == "" and "error: no" in run.err


def test_text_plan_on_stdout(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, changed)
    run = run_cli("update")
    assert run.code == 0 and run.err == ""
    assert "update     foo@1.0-0 -> 2.0-0" in run.out


def test_failure_text_goes_to_stderr(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, no_solution)
    for fmt in ("text", "pkg-parsable"):
        run = run_cli("install", "foo@2.0", "--format", fmt)
        assert run.code == 1 and run.out == ""
        assert run.err.splitlines() == [
            "error: cannot install foo@2.0",
            "  because:",
            "    - foo@2.0 requires bar@1, which no publisher has (in global)",
        ]


def test_failure_json_carries_the_errors(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, no_solution)
    run = run_cli("install", "foo@2.0", "--format", "json")
    assert run.code == 1 and run.err == ""
    obj = json.loads(run.out)
    assert obj["outcome"] == "fail" and obj["errors"][0]["kind"] == "no-solution"


def test_pkg_parsable_output(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, changed)
    run = run_cli("update", "-r", "--format", "pkg-parsable")
    obj = json.loads(run.out)
    assert run.code == 0 and obj["change-packages"] == [[str(OLD), str(NEW)]]
    assert obj["child-images"] == []  # z1 has nothing to do


def test_stats_only_when_asked(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_solve(monkeypatch, changed)
    assert "stats" not in json.loads(run_cli("update", "--format", "json").out)
    stats = json.loads(run_cli("update", "--format", "json", "--stats").out)["stats"]
    assert "total-seconds" in stats


def test_internal_error_is_reported_not_raised(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(op: Operation) -> Result:
        raise RuntimeError("boom")

    fake_solve(monkeypatch, boom)
    run = run_cli("update")
    assert run.code == 1 and "Traceback" not in run.err
    assert "internal error: RuntimeError: boom" in run.err and "please report" in run.err
    assert "Traceback" in run_cli("update", "-v").err
    obj = json.loads(run_cli("update", "--format", "json").out)
    assert obj["errors"][0]["kind"] == "internal"


def test_interrupt_exits_130_quietly(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(op: Operation) -> Result:
        raise KeyboardInterrupt

    fake_solve(monkeypatch, interrupt)
    run = run_cli("update")
    assert run.code == 130 and run.out == "" and "Traceback" not in run.err


def test_timeout_gives_up_cleanly(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(op: Operation) -> Result:
        time.sleep(5)
        return changed(op)

    fake_solve(monkeypatch, slow)
    monkeypatch.setattr(cli, "TIMEOUT_GRACE", 0.0)
    started = time.monotonic()
    run = run_cli("update", "--timeout", "0.2")
    assert time.monotonic() - started < 3
    assert run.code == 1 and "gave up after 0.2 seconds" in run.err


# ---------------------------------------------------------------------------
# Inputs that are not there


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_missing_fleet_file(run_cli: RunCli, tmp_path: Path, fmt: str) -> None:
    missing = tmp_path / "nowhere.toml"
    run = run_cli("update", "--fleet", str(missing), "--format", fmt)
    assert run.code == 1 and "Traceback" not in run.err + run.out
    message = run.err if fmt == "text" else json.loads(run.out)["errors"][0]["message"]
    assert f"fleet file not found: {missing}" in message


def test_default_fleet_file_hint(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_cli("update")
    assert run.code == 1 and "fleet.toml (give one with --fleet FILE)" in run.err


def test_unknown_image(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[image]]\nname = "global"\npublishers = ["test"]\n', encoding="utf-8")
    run = run_cli("update", "--fleet", str(fleet), "--image", "web9")
    assert run.code == 1 and "no image named 'web9'" in run.err and "images: global" in run.err


def test_invalid_fleet_file(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[image]]\nname = "global"\ncolour = "red"\n', encoding="utf-8")
    run = run_cli("update", "--fleet", str(fleet))
    assert run.code == 1 and "colour" in run.err and "Traceback" not in run.err


# ---------------------------------------------------------------------------
# -o FILE


def test_output_file_is_written_whole(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_solve(monkeypatch, changed)
    out = tmp_path / "plan.json"
    run = run_cli("update", "--format", "json", "-o", str(out))
    assert run.code == 0 and run.out == ""
    assert json.loads(out.read_text())["outcome"] == "ok"
    assert plan_files(tmp_path) == ["plan.json"]


def test_failed_text_run_keeps_the_old_file(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_solve(monkeypatch, no_solution)
    out = tmp_path / "plan.txt"
    out.write_text("previous plan\n")
    run = run_cli("install", "foo", "-o", str(out))
    assert run.code == 1 and "cannot install foo@2.0" in run.err
    assert out.read_text() == "previous plan\n"
    assert plan_files(tmp_path) == ["plan.txt"]


def test_failed_json_run_writes_its_errors(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_solve(monkeypatch, no_solution)
    out = tmp_path / "plan.json"
    run = run_cli("install", "foo", "--format", "json", "-o", str(out))
    assert run.code == 1 and f"the errors are in {out}" in run.err
    assert json.loads(out.read_text())["outcome"] == "fail"


def test_unwritable_output(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_solve(monkeypatch, changed)
    run = run_cli("update", "-o", str(tmp_path / "no" / "such" / "dir.txt"))
    assert run.code == 1 and "cannot write" in run.err and "Traceback" not in run.err


def test_write_atomic_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")
    os.chmod(target, 0o640)

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", fail)
        with pytest.raises(OSError):
            cli.write_atomic(str(target), "new\n")
    assert target.read_text() == "old\n" and plan_files(tmp_path) == ["plan.json"]
    cli.write_atomic(str(target), "new\n")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o640


# ---------------------------------------------------------------------------
# lint

GOOD = """\
set name=pkg.fmri value=pkg://test/foo@1.0,5.11-0
set name=pkg.summary value="A package"
depend type=require fmri=pkg:/bar@1.0
"""
#: One error on each of lines 2, 3 and 4.
BAD = """\
set name=pkg.fmri value=pkg://test/foo@1.0,5.11-0
depend type=require
depend type=frobnicate fmri=pkg:/bar@1.0
depend type=require fmri=pkg:/bar@1.x
"""


def error_lines(out: str, path: Path) -> list[int]:
    """The line numbers of the ``path:line:col: message`` errors in lint output."""
    pattern = re.compile(re.escape(str(path)) + r":(\d+):(\d+): \S")
    return [int(m.group(1)) for m in map(pattern.match, out.splitlines()) if m]


def test_lint_good_manifest(run_cli: RunCli, tmp_path: Path) -> None:
    good = tmp_path / "good.p5m"
    good.write_text(GOOD)
    run = run_cli("lint", str(good))
    assert run.code == 0 and run.out == "1 file, 0 errors\n"


def test_lint_reports_every_error(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.p5m"
    bad.write_text(BAD)
    run = run_cli("lint", str(bad))
    assert run.code == 1 and "Traceback" not in run.err
    assert sorted(set(error_lines(run.out, bad))) == [2, 3, 4], run.out
    errors = len(run.out.splitlines()) - 1
    assert run.out.endswith(f"1 file, {errors} errors\n")


def test_lint_directory_recursive(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "good.p5m").write_text(GOOD)
    (tmp_path / "a" / "b" / "bad.p5m").write_text(BAD)
    (tmp_path / "a" / "notes.txt").write_text("not a manifest")
    run = run_cli("lint", str(tmp_path / "a"))
    assert run.code == 1 and run.out.splitlines()[-1].startswith("2 files, ")
    assert error_lines(run.out, tmp_path / "a" / "b" / "bad.p5m")


def test_lint_lists_each_error_of_a_bundle(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's side of lint, with a stand-in parser: every error, then the summary."""

    def parse_package(text: str, path: str, default_publisher: str | None = None) -> None:
        errors = [InputError("bad one", Location(path, 2, 1)), InputError("bad two", None)]
        raise InputErrors(errors)

    monkeypatch.setitem(sys.modules, "resolver.manifest", SimpleNamespace(parse_package=parse_package))
    bad = tmp_path / "bad.p5m"
    bad.write_text(BAD)
    run = run_cli("lint", str(bad), str(bad))
    assert run.code == 1
    assert run.out.splitlines() == [
        f"{bad}:2:1: bad one",
        f"{bad}: bad two",
        f"{bad}:2:1: bad one",
        f"{bad}: bad two",
        "2 files, 4 errors",
    ]


def test_lint_missing_and_empty_paths(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = run_cli("lint", str(tmp_path / "missing.p5m"), str(tmp_path / "empty"))
    assert run.code == 1
    assert run.out.splitlines() == [
        f"{tmp_path / 'missing.p5m'}: no such file or directory",
        f"{tmp_path / 'empty'}: no *.p5m manifests in this directory",
        "0 files, 2 errors",
    ]


def test_lint_fleet_file(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[[manifest]]\ntext = """\nset name=pkg.fmri value=pkg://test/foo@1.0\n"""\n\n'
        '[[image]]\nname = "global"\npublishers = ["test"]\n'
    )
    assert run_cli("lint", str(fleet)).code == 0
    fleet.write_text('[[image]]\nname = "global"\nbrand = "zebra"\ncolour = 1\n')
    run = run_cli("lint", str(fleet))
    assert run.code == 1 and "zebra" in run.out and "colour" in run.out
    assert run.out.splitlines()[-1] == f"1 file, {len(run.out.splitlines()) - 1} errors"


# ---------------------------------------------------------------------------
# Progress


def test_progress_is_silent_in_pipes_and_json() -> None:
    assert isinstance(reporter("text", io.StringIO()), Silent)
    assert isinstance(reporter("json", sys.stderr), Silent)


def test_tty_progress_draws_and_clears() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 0.01, 0.5])
    progress = TtyProgress(stream, clock=lambda: next(ticks))
    progress("loading", 1, 10)
    progress("loading", 2, 10)  # too soon: skipped
    progress("loading", 10, 10)
    progress.close()
    assert stream.getvalue() == "\r\x1b[Kloading: 1/10\r\x1b[Kloading: 10/10\r\x1b[K"


# ---------------------------------------------------------------------------
# python -m resolver


def test_python_m_resolver_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "resolver", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and "usage: zonesolve" in done.stdout
