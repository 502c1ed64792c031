"""--export-testcase: the exported fleet file reproduces the run, byte for byte.

Every scenario is run with ``--export-testcase``, then the same command line
is run on the testcase alone; the JSON must be identical. The testcase must
hold no more than what the run reached.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_scenarios import FILES, load_scenario

from resolver.fleet import load_fleet
from resolver.testcase import rerun_argv

if TYPE_CHECKING:
    from conftest import RunCli


def _with(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option`` set to ``value`` (replaced if present)."""
    out = list(argv)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


#: ``path:line[:col]: `` at the start of an input error's message.
_LOCATION = re.compile(r"\A\S+?:\d+(?::\d+)?: ")


def _located_input_errors_masked(out: str) -> str:
    """The JSON with the file:line of input errors masked: such an error names
    where the package's text is, and in a testcase that is the testcase."""
    obj = json.loads(out)
    for error in obj["errors"]:
        if error["kind"] == "input":
            error["message"] = _LOCATION.sub("<where>: ", error["message"])
    return json.dumps(obj, sort_keys=True, indent=2)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_testcase_reproduces_the_scenario(run_cli: RunCli, path: Path, tmp_path: Path) -> None:
    """Export, rerun on the testcase alone: the same JSON (byte for byte, but
    for where an input error's package text is), the same exit status."""
    scenario = load_scenario(path, tmp_path / "fleet.toml")
    testcase = tmp_path / "testcase.toml"
    first = run_cli(*scenario.argv, "--export-testcase", str(testcase))
    assert first.out and testcase.is_file(), first.err
    (tmp_path / "fleet.toml").unlink()  # the testcase must not need the original
    again = run_cli(*_with(scenario.argv, "--fleet", str(testcase)))
    kinds = {e["kind"] for e in json.loads(again.out)["errors"]}
    assert "internal" not in kinds
    assert again.code == first.code, again.err
    if "input" in kinds:
        assert _located_input_errors_masked(again.out) == _located_input_errors_masked(first.out)
    else:
        assert again.out == first.out


def test_testcase_holds_only_what_the_run_reached(run_cli: RunCli, tmp_path: Path) -> None:
    """Unrelated stems of the catalog stay out; the images and the command are in."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        """
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@1.0\\ndepend type=require fmri=lib@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@2.0\\ndepend type=require fmri=lib@2.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/lib@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/lib@2.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/unrelated@1.0"
[[image]]
name = "global"
publishers = ["test"]
variants = { "variant.arch" = "i386" }
installed = ["pkg://test/app@1.0", "pkg://test/lib@1.0"]
frozen = ["app@2"]
[[image]]
name = "z1"
parent = "global"
brand = "lipkg"
publishers = ["test", { name = "extra", sticky = false }]
installed = []
""",
        encoding="utf-8",
    )
    testcase = tmp_path / "tc.toml"
    run = run_cli("update", "--fleet", str(fleet), "--no-cache", "--export-testcase", str(testcase))
    assert run.code == 0, run.err
    text = testcase.read_text(encoding="utf-8")
    assert "unrelated" not in text
    manifests = [m["text"] for m in tomllib.loads(text)["manifest"]]
    assert len(manifests) == 4
    assert f"# command: zonesolve update --fleet {fleet}" in text
    assert f"# rerun:   zonesolve update --fleet {testcase} --no-cache" in text
    assert "# result:  ok" in text
    assert load_fleet(testcase).images == load_fleet(fleet).images


def test_testcase_of_a_failure(run_cli: RunCli, tmp_path: Path) -> None:
    """A failed plan is exported too, and the rerun fails the same way."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        """
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@1.0\\ndepend type=require fmri=missing@1.0"
[[image]]
name = "global"
publishers = ["test"]
installed = []
""",
        encoding="utf-8",
    )
    testcase = tmp_path / "tc.toml"
    argv = ["install", "app", "--fleet", str(fleet), "--format", "json", "--no-cache"]
    first = run_cli(*argv, "--export-testcase", str(testcase))
    assert first.code == 1 and json.loads(first.out)["errors"][0]["kind"] == "no-solution"
    assert "# result:  fail (no-solution)" in testcase.read_text(encoding="utf-8")
    again = run_cli(*_with(argv, "--fleet", str(testcase)))
    assert (again.code, again.out) == (first.code, first.out)


def test_no_testcase_without_a_fleet(run_cli: RunCli, tmp_path: Path) -> None:
    """Input errors are not reproduced: a clear message, exit 1, no file."""
    testcase = tmp_path / "tc.toml"
    run = run_cli("update", "--fleet", str(tmp_path / "none.toml"), "--export-testcase", str(testcase))
    assert run.code == 1
    assert "no testcase written" in run.err and not testcase.exists()


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (
            ["update", "-r", "--fleet", "f.toml", "--export-testcase", "t.toml"],
            ["update", "-r", "--fleet", "T"],
        ),
        (["update", "--fleet=f.toml", "--export-test=t.toml", "-v"], ["update", "--fleet", "T", "-v"]),
        (["install", "foo", "--export-testcase", "t.toml"], ["install", "foo", "--fleet", "T"]),
        (["update", "--root", "/", "--export-testcase", "t"], ["update", "--fleet", "T"]),
        (["install", "--fleet", "f", "--", "--fleet"], ["install", "--fleet", "T", "--", "--fleet"]),
    ],
)
def test_rerun_command_line(argv: list[str], want: list[str]) -> None:
    assert rerun_argv(argv, "T") == want
