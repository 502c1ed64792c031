"""The scenarios (tests/scenarios/*.toml, format in its README.md), run through the CLI.

Each scenario is a fleet file with a few more keys: its [operation] becomes one
command line, run in-process with ``--format json``, and the JSON must show the
expected outcome and, per image listed in [expect.installed], exactly the
expected packages installed after the plan.

A failing scenario states its error ([expect.error]: the kind, and for a
no-solution error the actionable parts of its explanation: the binding rule
first, with the stem and image it is about, the zones that block, a fix);
a held-back package can be pinned the same way ([[expect.held-back]]). Every
explanation, pinned or not, must start with a binding rule and the image it
holds in, and never read "with not".
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w

from resolver.conflict import BINDING_ORDER
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


#: rules an explanation may start with: the binding constraints
BINDING = frozenset(rule.value for rule in BINDING_ORDER)


def fact_stems(fact: dict[str, Any]) -> set[str]:
    """The stems a fact is about: its package, its versions, its dependency's targets."""
    texts = [fact["package"], *fact["versions"]]
    if fact["dependency"]:
        texts += [t.strip() for t in fact["dependency"].split(" ", 1)[1].split(",")]
    return {parse_fmri(t).stem for t in texts if t}


def fact_matches(fact: dict[str, Any], want: dict[str, str]) -> bool:
    """A fact has the rule, and is about the stem in the image, an expectation names."""
    if fact["rule"] != want["rule"]:
        return False
    if "image" in want and fact["image"] != want["image"]:
        return False
    return "stem" not in want or want["stem"] in fact_stems(fact)


def check_explanation(what: str, facts: list[dict[str, Any]], wants: list[dict[str, str]]) -> None:
    """The first expectation is the first fact (the binding rule); every
    other one is some fact of the explanation."""
    shown = [(f["rule"], f["image"], sorted(fact_stems(f)), f["text"]) for f in facts]
    assert facts, f"{what}: no explanation"
    if wants:
        assert fact_matches(facts[0], wants[0]), f"{what}: the first fact is not {wants[0]}: {shown}"
    for want in wants[1:]:
        assert any(fact_matches(f, want) for f in facts), f"{what}: no fact {want}: {shown}"


def check_quality(what: str, facts: list[dict[str, Any]]) -> None:
    """Any explanation: a binding rule first, with its image; no "with not"."""
    assert facts, f"{what}: no explanation"
    first = facts[0]
    assert first["rule"] in BINDING, (
        f"{what}: starts with {first['rule']!r}, not a binding rule: {first['text']}"
    )
    assert first["image"], f"{what}: the first fact names no image"
    for fact in facts:
        assert "with not" not in fact["text"], f"{what}: {fact['text']}"


def check_fix(what: str, fixes: list[dict[str, Any]], want: str | None) -> None:
    if want is not None:
        commands = [f["command"] for f in fixes]
        assert any(want in c for c in commands), f"{what}: no fix with {want!r}: {commands}"


def check_errors(scenario: Scenario, result: dict[str, Any]) -> None:
    """[expect.error]: the first error's kind and image, its explanation's
    actionable parts, the blocking zones and a fix."""
    want = scenario.expect.get("error")
    errors = [e for e in result["errors"]]
    for error in errors:
        if error["kind"] == "no-solution":
            check_quality(f"{scenario.name}: error", error["explanation"])
    if want is None:
        return
    assert errors, f"{scenario.name}: no error"
    error = errors[0]
    assert error["kind"] == want["kind"], f"{scenario.name}: error kind {error['kind']}: {error['message']}"
    if "image" in want:
        assert error["image"] == want["image"], f"{scenario.name}: error in {error['image']}"
    if error["kind"] == "no-solution":
        check_explanation(f"{scenario.name}: error", error["explanation"], want.get("explains", []))
        assert error["zones"] == want.get("zones", []), f"{scenario.name}: blocking zones {error['zones']}"
        check_fix(f"{scenario.name}: error", error["fixes"], want.get("fix"))


def check_held_back(scenario: Scenario, images: dict[str, Any]) -> None:
    """[[expect.held-back]]: each held-back package named, with its binding
    rule, the image that rule lives in, the zones that hold it back, a fix."""
    held = {(name, h["stem"]): h for name, plan in images.items() for h in plan["held-back"]}
    for (name, stem), h in held.items():
        check_quality(f"{scenario.name}: {stem} held back in {name}", h["explanation"])
    for want in scenario.expect.get("held-back", []):
        key = (want["image"], want["stem"])
        assert key in held, f"{scenario.name}: {key} is not held back (held: {sorted(held)})"
        h = held[key]
        first = h["explanation"][0]
        what = f"{scenario.name}: {want['stem']} held back in {want['image']}"
        assert first["rule"] == want["rule"], f"{what}: binding rule {first['rule']}: {first['text']}"
        if "in" in want:
            assert first["image"] == want["in"], (
                f"{what}: the rule holds in {first['image']}: {first['text']}"
            )
        assert h["zones"] == want.get("zones", []), f"{what}: held back by zones {h['zones']}"
        check_fix(what, h["fixes"], want.get("fix"))


@pytest.mark.parametrize(("path", "mode"), CASES, ids=IDS)
def test_scenario(run_cli: RunCli, path: Path, mode: str, tmp_path: Path) -> None:
    """The command's JSON has the expected outcome, installed sets, errors
    and held-back packages, each explained."""
    scenario, out = run_scenario(run_cli, path, tmp_path, mode)
    result = json.loads(out)
    images = result["images"]
    for name, expected in scenario.expect.get("installed", {}).items():
        assert name in images, f"image {name} missing from the JSON"
        before = scenario.fleet.image(name).installed
        check_installed(name, installed_after(before, images[name]), expected)
    check_errors(scenario, result)
    check_held_back(scenario, images)


def test_every_failing_scenario_states_its_error(tmp_path: Path) -> None:
    """A failing scenario says which error an admin must see ([expect.error])."""
    missing = [
        path.stem
        for path in FILES
        if (s := load_scenario(path, tmp_path / "f.toml")).expect["outcome"] == "fail"
        and "kind" not in s.expect.get("error", {})
    ]
    assert not missing, f"failing scenarios without [expect.error] kind: {missing}"


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
