"""The scenarios (tests/scenarios/*.toml, format in its README.md), run through the CLI.

Each scenario is a fleet file with a few more keys: its [operation] becomes one
command line, run in-process with ``--format json``, and the JSON must show the
expected outcome and, per image listed in [expect.installed], exactly the
expected packages installed after the plan.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w

from resolver.fleet import SCENARIO_KEYS, parse_fleet_document
from resolver.fmri import Fmri, parse_fmri, parse_version
from resolver.model import Fleet

if TYPE_CHECKING:
    from conftest import RunCli

SCENARIOS = Path(__file__).parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.toml"))
MODES = ("joint", "parent-first")


def file_modes(path: Path) -> list[str]:
    """The modes a scenario runs in: ``modes = [...]``, else ``mode``, else joint."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    modes = data.get("modes", [data.get("mode", "joint")])
    assert isinstance(modes, list) and modes and all(m in MODES for m in modes), (
        f"{path.name}: modes must be a non-empty list of {MODES}, not {modes!r}"
    )
    return list(modes)


#: (file, mode) for every mode of every scenario; ids are the file's stem,
#: with the mode added for files that run in several.
CASES = [(path, mode) for path in FILES for mode in file_modes(path)]
IDS = [path.stem if len(file_modes(path)) == 1 else f"{path.stem}[{mode}]" for path, mode in CASES]
#: The exit status that goes with each expected outcome (audit: "fail" is 52).
STATUS = {"ok": 0, "nothing-to-do": 4, "fail": 1}


@dataclass(frozen=True)
class Scenario:
    """A scenario file: its fleet, the command line it maps to, what must come out."""

    name: str
    fleet: Fleet
    argv: list[str]
    verb: str
    expect: dict[str, Any]


def load_scenario(path: Path, fleet_file: Path, mode: str | None = None) -> Scenario:
    """Read a scenario and write its fleet part (the file minus the scenario
    keys); ``mode`` (default: the file's first) picks joint or parent-first."""
    text = path.read_text(encoding="utf-8")
    fleet, extras = parse_fleet_document(text, str(path), extra_keys=SCENARIO_KEYS)
    fleet_file.write_text(_fleet_text(text, path.parent), encoding="utf-8")
    op = extras["operation"]
    argv = [op["verb"], *op.get("args", []), "--fleet", str(fleet_file)]
    argv += ["--image", op.get("image", "global"), "--format", "json", "--no-cache"]
    argv += ["-r"] if op.get("recursive") else []
    argv += ["-G"] if op.get("global_only") else []
    argv += ["--parent-first"] if (mode or file_modes(path)[0]) == "parent-first" else []
    return Scenario(extras.get("name", path.stem), fleet, argv, op["verb"], extras["expect"])


def _fleet_text(text: str, base: Path) -> str:
    """The scenario without its scenario keys; source paths made absolute."""
    data = tomllib.loads(text)
    for key in SCENARIO_KEYS:
        if key != "source" or not isinstance(data.get(key), list):
            data.pop(key, None)
    for source in data.get("source", []):
        source["path"] = str((base / source["path"]).resolve())
    return tomli_w.dumps(data)


def installed_after(before: tuple[Fmri, ...], image: dict[str, Any]) -> list[Fmri]:
    """The packages installed after a plan: before + adds + changes - removes, by stem."""
    installed = {fmri.stem: fmri for fmri in before}
    for text in image["remove-packages"]:
        installed.pop(parse_fmri(text).stem, None)
    for _old, new in image["change-packages"]:
        installed[parse_fmri(new).stem] = parse_fmri(new)
    for text in image["add-packages"]:
        installed[parse_fmri(text).stem] = parse_fmri(text)
    return sorted(installed.values(), key=Fmri.sort_key)


def matches(fmri: Fmri, want: str) -> bool:
    """``stem`` (any version) or ``stem@version`` (at the precision written)."""
    stem, _, version = want.partition("@")
    if fmri.stem != stem:
        return False
    return not version or (fmri.version is not None and fmri.version.matches(parse_version(version)))


def check_installed(image: str, installed: list[Fmri], expected: list[str]) -> None:
    """Each expectation matches one installed package, and nothing else is installed."""
    shown = [str(f) for f in installed]
    unmatched = [want for want in expected if not any(matches(f, want) for f in installed)]
    extra = [str(f) for f in installed if not any(matches(f, want) for want in expected)]
    assert not unmatched and not extra, (
        f"image {image}: expected {expected}, installed {shown} (missing {unmatched}, unexpected {extra})"
    )


def run_scenario(
    run_cli: RunCli, path: Path, tmp_path: Path, mode: str | None = None
) -> tuple[Scenario, str]:
    """Run one scenario's command line; check exit status and outcome; return its JSON."""
    scenario = load_scenario(path, tmp_path / "fleet.toml", mode)
    run = run_cli(*scenario.argv)
    want = scenario.expect["outcome"]
    assert run.out, f"no JSON output (exit {run.code}); stderr:\n{run.err}"
    result = json.loads(run.out)
    kinds = [error["kind"] for error in result["errors"] if error["kind"] != "diverged"]
    assert "internal" not in kinds, f"zonesolve failed with a bug:\n{run.out}\n{run.err}"
    assert result["outcome"] == want, f"{scenario.argv}\n{run.out}"
    assert bool(kinds) == (want == "fail" and scenario.verb != "audit"), run.out
    status = 52 if scenario.verb == "audit" and want == "fail" else STATUS[want]
    assert run.code == status, f"exit {run.code}, expected {status}; stderr:\n{run.err}"
    return scenario, run.out


@pytest.mark.parametrize(("path", "mode"), CASES, ids=IDS)
def test_scenario(run_cli: RunCli, path: Path, mode: str, tmp_path: Path) -> None:
    """The command's JSON has the expected outcome and installed sets."""
    scenario, out = run_scenario(run_cli, path, tmp_path, mode)
    images = json.loads(out)["images"]
    for name, expected in scenario.expect.get("installed", {}).items():
        assert name in images, f"image {name} missing from the JSON"
        before = scenario.fleet.image(name).installed
        check_installed(name, installed_after(before, images[name]), expected)


@pytest.mark.parametrize(("path", "mode"), CASES, ids=IDS)
def test_scenario_is_deterministic(run_cli: RunCli, path: Path, mode: str, tmp_path: Path) -> None:
    """The same scenario twice gives byte-identical JSON."""
    _, first = run_scenario(run_cli, path, tmp_path, mode)
    _, second = run_scenario(run_cli, path, tmp_path, mode)
    assert first == second


def test_every_scenario_is_a_valid_fleet(tmp_path: Path) -> None:
    """Every scenario parses, and its fleet part alone is a valid fleet file."""
    from resolver.fleet import load_fleet

    assert FILES, f"no scenarios in {SCENARIOS}"
    for path in FILES:
        scenario = load_scenario(path, tmp_path / f"{path.stem}.toml")
        assert load_fleet(tmp_path / f"{path.stem}.toml").images == scenario.fleet.images
