"""The fuzzer's quick profile, and byte-identical output under shuffled input.

``make fuzz`` runs the long profile (tests/fuzz.py, 100,000 cases); this
runs a few hundred cases of the same fuzzer in every ``make test``, always
the same ones (a fixed range of seeds: a finding is reproducible with
``python -m tests.fuzz --replay SEED``).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fuzz
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from conftest import RunCli

#: The quick profile: its cases and the first seed (the long one starts at 0).
QUICK_CASES, QUICK_SEED = 500, 14_000_000


def test_fuzz_quick_profile() -> None:
    """Mutated manifests, fleet files, catalogs, repositories and command
    lines: exit 1 or 2 with a located message (or a plan), never an internal
    error, never a hang."""
    report = fuzz.run(QUICK_CASES, seed=QUICK_SEED, jobs=2)
    assert report.count == QUICK_CASES
    assert not report.findings and not report.hangs, report.text()


def test_fuzz_cases_are_reproducible() -> None:
    """The same seed builds the same case (so --replay shows what the run saw)."""
    for seed in range(QUICK_SEED, QUICK_SEED + 20):
        assert fuzz.build_case(seed) == fuzz.build_case(seed)
    assert fuzz.build_case(1) != fuzz.build_case(2)


def test_fuzz_judges_what_it_must() -> None:
    """The fuzzer's own judge: an internal error, a stray exit status and an
    unlocated input error are findings; a located one is not."""
    here = Path("/tmp/case")
    bug = json.dumps({"errors": [{"kind": "internal", "message": "KeyError: 1"}]})
    assert fuzz.judge(1, bug, "", [], here)
    assert fuzz.judge(3, "", "", [], here)
    assert fuzz.judge(1, "", "internal error: ValueError\nzonesolve: this is a bug in zonesolve\n", [], here)
    unlocated = json.dumps({"errors": [{"kind": "input", "message": "bad FMRI 'x'"}]})
    assert fuzz.judge(1, unlocated, "", ["update"], here)
    located = json.dumps({"errors": [{"kind": "input", "message": "/tmp/case/fleet.toml:3:1: bad FMRI 'x'"}]})
    assert not fuzz.judge(1, located, "", ["update"], here)
    assert not fuzz.judge(1, unlocated, "", ["install", "x"], here)  # about the argument 'x'


# ---------------------------------------------------------------------------
# Byte-identical output whatever the order of the input

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.toml"))
_LINE = re.compile(r"fleet\.toml:\d+(?::\d+)?|#\d+ |m\d+\.p5m")


def _shuffled(fleet: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """The same fleet, its [[image]] and [[manifest]] tables and every installed list shuffled."""
    fleet = json.loads(json.dumps(fleet))
    for key in ("image", "manifest", "source"):
        rnd.shuffle(fleet.get(key, []))
    for image in fleet.get("image", []):
        rnd.shuffle(image.get("installed", []))
    return fleet


def _as_files(fleet: dict[str, Any], directory: Path, names: list[int]) -> dict[str, Any]:
    """The fleet with its [[manifest]] tables as files of a directory source
    (manifest i in file m{names[i]}.p5m: the order files are read in)."""
    fleet = json.loads(json.dumps(fleet))
    (directory / "pkgs").mkdir(parents=True)
    for i, manifest in enumerate(fleet.pop("manifest", [])):
        (directory / "pkgs" / f"m{names[i]}.p5m").write_text(manifest["text"], encoding="utf-8")
    fleet["source"] = [{"path": "pkgs", "publisher": "test"}]
    return fleet


def _run(run_cli: RunCli, directory: Path, fleet: dict[str, Any], argv: tuple[str, ...]) -> str:
    directory.mkdir(exist_ok=True)
    (directory / "fleet.toml").write_text(tomli_w.dumps(fleet), encoding="utf-8")
    run = run_cli(*argv, "--fleet", str(directory / "fleet.toml"), "--format", "json", "--no-cache")
    assert run.out, run.err
    # messages may name the file and a line in it: where, not what
    return _LINE.sub("fleet.toml:L ", run.out.replace(str(directory), "DIR"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(SCENARIOS), rnd=st.randoms(use_true_random=False), files=st.booleans())
def test_shuffled_input_gives_byte_identical_output(
    run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory, path: Path, rnd: random.Random, files: bool
) -> None:
    """Shuffling [[image]] tables, installed lists and [[manifest]] tables (or,
    with ``files``, the order in which a directory source's manifest files are
    read) changes no byte of the JSON: order, plans, held-back reasons,
    explanations."""
    scenario = fuzz._scenario(path)
    base = tmp_path_factory.mktemp("shuffle")
    fleet, shuffled = scenario.fleet, _shuffled(scenario.fleet, rnd)
    if files:
        count = len(scenario.fleet.get("manifest", []))
        fleet = _as_files(fleet, base / "a", list(range(count)))
        shuffled = _as_files(shuffled, base / "b", rnd.sample(range(count), count))
    want = _run(run_cli, base / "a", fleet, scenario.argv)
    got = _run(run_cli, base / "b", shuffled, scenario.argv)
    assert got == want, path.name
