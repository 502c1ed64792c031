"""Hostile input (issue 14): each behaviour that broke a promise, as a regression.

Every test runs the command line in-process and checks the user's side:
exit 1 (or 2 for the command line) with a message that says where, never an
internal error, never a hang. The fault tests (kills, damaged caches, the
timeout on a cold cache, -o onto special files) are in test_faults.py; the
fuzzer that found most of these is tests/fuzz.py (test_fuzz.py).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from resolver.fleet import SCENARIO_KEYS, parse_fleet_document

if TYPE_CHECKING:
    from conftest import CliRun, RunCli

HUGE = "9" * 5000
GLOBAL = '[[image]]\nname = "global"\npublishers = ["test"]\ninstalled = []\n'
FOO = "set name=pkg.fmri value=pkg://test/foo@1.0,5.11-0\n"


def fleet_with(tmp_path: Path, text: str, name: str = "fleet.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def inline(manifest: str) -> str:
    return f"[[manifest]]\ntext = '''\n{manifest}'''\n\n"


def clean_error(run: CliRun, *where: str) -> str:
    """Exit 1, no internal error, and the message names every ``where``."""
    assert run.code == 1, (run.code, run.out, run.err)
    text = run.out + run.err
    assert "internal error" not in text and "Traceback" not in text and "this is a bug" not in text, text
    for place in where:
        assert place in text, (place, text)
    return text


def json_errors(run: CliRun) -> list[dict[str, object]]:
    errors: list[dict[str, object]] = json.loads(run.out)["errors"]
    assert errors and all(e["kind"] != "internal" for e in errors), errors
    return errors


# ---------------------------------------------------------------------------
# 1. Integers of more than 4,300 digits in a version


def test_item1_huge_version_in_a_manifest(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = fleet_with(tmp_path, inline(f"set name=pkg.fmri value=pkg://test/foo@{HUGE},5.11-0\n") + GLOBAL)
    run = run_cli("install", "foo", "--fleet", str(fleet), "--no-cache")
    text = clean_error(run, f"{fleet}:3:", "a component has 5,000 digits (at most 64)")
    assert len(text) < 1000  # the 5,000 digits are cut in the message


def test_item1_huge_version_in_a_pattern(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = fleet_with(tmp_path, inline(FOO) + GLOBAL)
    run = run_cli("install", f"foo@{HUGE}", "--fleet", str(fleet), "--no-cache", "--format", "json")
    (error,) = json_errors(run)
    assert error["kind"] == "input" and "illegal package pattern 'foo@999" in str(error["message"])


def test_item1_huge_integer_in_catalog_attrs(run_cli: RunCli, tmp_path: Path) -> None:
    catalog = tmp_path / "cat"
    catalog.mkdir()
    (catalog / "catalog.attrs").write_text('{\n "version": ' + HUGE + "\n}\n")
    (catalog / "catalog.base.C").write_text("{}")
    (catalog / "catalog.dependency.C").write_text("{}")
    fleet = fleet_with(tmp_path, '[[source]]\npath = "cat"\n' + GLOBAL)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{catalog / 'catalog.attrs'}:2:13: invalid JSON: a number with more than 64 digits")


def test_item1_huge_version_in_an_installed_fmri(run_cli: RunCli, tmp_path: Path) -> None:
    text = GLOBAL.replace("installed = []", f'installed = ["pkg://test/foo@{HUGE}"]')
    fleet = fleet_with(tmp_path, inline(FOO) + text)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{fleet}:", "key 'installed' [1]", "at most 64")


# ---------------------------------------------------------------------------
# 2. Deep nesting


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("[" * 500 + "]" * 500, "6:69"),  # arrays: the 65th '[' (after 'y = ')
        ("{a = " * 500 + "1" + "}" * 500, "6:325"),  # inline tables: the 65th '{'
        ("1\ny" + ".a" * 100_000 + " = 1", "7:130"),  # dotted key parts (tomllib is quadratic in them)
    ],
    ids=["arrays", "inline-tables", "dotted-key"],
)
def test_item2_deep_toml(run_cli: RunCli, tmp_path: Path, value: str, where: str) -> None:
    fleet = fleet_with(tmp_path, GLOBAL + "[x]\ny = " + value + "\n")
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{fleet}:{where}: nested more than 64 levels deep")


def test_item2_deep_catalog_json(run_cli: RunCli, tmp_path: Path) -> None:
    catalog = tmp_path / "cat"
    catalog.mkdir()
    (catalog / "catalog.attrs").write_text('{"version": 1}')
    (catalog / "catalog.base.C").write_text("[" * 100_000 + "]" * 100_000)
    (catalog / "catalog.dependency.C").write_text("{}")
    fleet = fleet_with(tmp_path, '[[source]]\npath = "cat"\n' + GLOBAL)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{catalog / 'catalog.base.C'}:1:65: invalid JSON: nested more than 64 levels deep")


# ---------------------------------------------------------------------------
# 3. A NUL byte in a source path; 4. over-long names


def test_item3_nul_in_a_source_path(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = fleet_with(tmp_path, '[[source]]\npath = "pkgs\\u0000x"\n' + GLOBAL)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{fleet}:2:1: [[source]] #1, key 'path': the path contains a NUL byte")


def test_item3_nul_in_a_path_argument(run_cli: RunCli) -> None:
    run = run_cli("update", "--fleet", "fleet\0.toml")
    assert run.code == 2 and "the path contains a NUL byte" in run.err


def test_item4_long_fleet_file_name(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("update", "--fleet", str(tmp_path / ("f" * 300 + ".toml")))
    clean_error(run, "cannot read the fleet file: File name too long")


def test_item4_long_source_path(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = fleet_with(tmp_path, '[[source]]\npath = "' + "d" * 5000 + '"\n' + GLOBAL)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    text = clean_error(run, f"{fleet}:2:1: [[source]] #1, key 'path'", "File name too long")
    assert len(text) < 1000  # the path is cut in the message


def test_item4_long_lint_path(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("lint", str(tmp_path / ("m" * 300 + ".p5m")))
    assert run.code == 1 and "cannot read: File name too long" in run.out


# ---------------------------------------------------------------------------
# 5. --timeout inf, 1e309, nan


@pytest.mark.parametrize("value", ["inf", "1e309", "nan", "-inf", "1e7", "0"])
def test_item5_timeout_out_of_range(run_cli: RunCli, value: str) -> None:
    run = run_cli("update", "--timeout", value)
    assert run.code == 2 and "argument --timeout" in run.err and "Traceback" not in run.err


def test_item5_jobs_with_thousands_of_digits(run_cli: RunCli) -> None:
    run = run_cli("update", "--jobs", HUGE)
    assert run.code == 2 and "must be at most 1024" in run.err


# ---------------------------------------------------------------------------
# 7. An inconsistent installed state (scenarios li-*-broken-state-*, li-attach-zone-with-unrepairable-*)


def test_item7_unrepairable_zone_names_the_zone_and_the_dependency(run_cli: RunCli, tmp_path: Path) -> None:
    scenario = Path(__file__).parent / "scenarios" / "li-attach-zone-with-unrepairable-state-fails.toml"
    text = scenario.read_text(encoding="utf-8")
    parse_fleet_document(text, str(scenario), extra_keys=SCENARIO_KEYS)  # a valid fleet
    body = text[text.index("[[manifest]]") : text.index("[operation]")]  # the fleet part
    fleet = fleet_with(tmp_path, body)
    run = run_cli("attach", "--image", "z1", "--fleet", str(fleet), "--no-cache")
    clean_error(
        run,
        "sync in zone z1: no plan",
        "app@1.0 requires lib@1.0 or newer",
        "but no source has lib",
    )
    audit = run_cli("audit", "-v", "--fleet", str(fleet), "--no-cache")
    assert (
        audit.code == 52 and "z1  diverged" in audit.out and "require dependency on pkg:/lib@1.0" in audit.out
    )
    other = run_cli("attach", "--image", "z2", "--fleet", str(fleet), "--no-cache")
    assert other.code == 4, other.err


# ---------------------------------------------------------------------------
# 8. The zone pool on a small fleet (fixed on main by the lead; the fuzzer's case)


def test_item8_zone_pool_on_a_small_fleet(run_cli: RunCli, tmp_path: Path) -> None:
    """Two zones, --jobs 2, a package with no dependencies: was KeyError in the
    zone pool (fuzz seed 107643, before e05d340)."""
    text = inline("set name=pkg.fmri value=pkg://test/app@1.0\n") + GLOBAL
    for zone in ("z1", "z2"):
        text += f'[[image]]\nname = "{zone}"\nparent = "global"\nbrand = "lipkg"\npublishers = ["test"]\n'
    text = text.replace('name = "z1"\nparent = "global"\nbrand = "lipkg"\npublishers = ["test"]\n',
                        'name = "z1"\nparent = "global"\nbrand = "lipkg"\npublishers = ["test"]\n'
                        'installed = ["pkg://test/app@1.0"]\n')  # fmt: skip
    fleet = fleet_with(tmp_path, text)
    run = run_cli("update", "--jobs", "2", "--fleet", str(fleet), "--no-cache", "--format", "json")
    assert run.code == 4, run.out


# ---------------------------------------------------------------------------
# 9. lint on a FIFO, lint ""


def _mkfifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(path)
    return path


def lint_within(run_cli: RunCli, *paths: str, seconds: float = 30.0) -> CliRun:
    """Lint in a thread; fail (instead of hanging) if it does not finish."""
    result: list[CliRun] = []
    thread = threading.Thread(target=lambda: result.append(run_cli("lint", *paths)), daemon=True)
    thread.start()
    thread.join(seconds)
    if not result:  # unblock it: open the FIFOs for writing, so its read ends
        for path in paths:
            if Path(path).is_fifo():
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"lint {paths} blocked for {seconds} s")
    return result[0]


def test_item9_lint_a_fifo_named_as_a_fleet_file(run_cli: RunCli, tmp_path: Path) -> None:
    fifo = _mkfifo(tmp_path / "fleet.toml")
    run = lint_within(run_cli, str(fifo))
    assert run.code == 1 and f"{fifo}: cannot read: not a regular file (a FIFO)" in run.out


def test_item9_lint_a_fifo_manifest_in_a_directory(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "good.p5m").write_text(FOO)
    fifo = _mkfifo(tmp_path / "pipe.p5m")
    run = lint_within(run_cli, str(tmp_path))
    assert run.code == 1 and run.out.splitlines() == [
        f"{fifo}: cannot read: not a regular file (a FIFO)",
        "2 files, 1 error",
    ]


def test_item9_a_fifo_manifest_in_a_source_is_skipped(run_cli: RunCli, tmp_path: Path) -> None:
    """The loader reads regular *.p5m files only (as it always did): the FIFO is not a package."""
    (tmp_path / "pkgs").mkdir()
    (tmp_path / "pkgs" / "foo.p5m").write_text(FOO)
    _mkfifo(tmp_path / "pkgs" / "pipe.p5m")
    fleet = fleet_with(tmp_path, '[[source]]\npath = "pkgs"\n' + GLOBAL)
    assert run_cli("install", "foo", "--fleet", str(fleet), "--no-cache").code == 0


def test_item9_lint_an_empty_path(run_cli: RunCli) -> None:
    run = run_cli("lint", "")
    assert run.code == 2 and "argument PATH: an empty path" in run.err


# ---------------------------------------------------------------------------
# 10. order in the JSON does not follow the file


def test_item10_order_is_global_then_zones_by_name(run_cli: RunCli, tmp_path: Path) -> None:
    zones = "".join(
        f'[[image]]\nname = "{name}"\nparent = "global"\nbrand = "lipkg"\npublishers = ["test"]\n'
        for name in ("web2", "db1", "web10", "app")
    )
    outputs = []
    for i, text in enumerate((zones + GLOBAL, GLOBAL + zones)):
        fleet = fleet_with(tmp_path, inline(FOO) + text, f"f{i}.toml")
        run = run_cli("install", "-r", "foo", "--fleet", str(fleet), "--no-cache", "--format", "json")
        assert run.code == 0, run.err
        assert json.loads(run.out)["order"] == ["global", "app", "db1", "web10", "web2"]
        outputs.append(run.out.replace(str(fleet), "FLEET"))
    assert outputs[0] == outputs[1]


# ---------------------------------------------------------------------------
# Patterns in frozen and avoid, located


@pytest.mark.parametrize(
    ("key", "bad", "reason"),
    [
        ("frozen", "pkg:foo@1", "illegal package pattern 'pkg:foo@1'"),
        ("avoid", "pkg:foo@1", "illegal package pattern 'pkg:foo@1'"),
        ("frozen", "foo@*", "a freeze names a version, not a wildcard"),  # was found while planning
    ],
)
def test_bad_patterns_in_frozen_and_avoid_are_located(
    run_cli: RunCli, tmp_path: Path, key: str, bad: str, reason: str
) -> None:
    text = GLOBAL + f'{key} = ["foo", "{bad}"]\n'
    fleet = fleet_with(tmp_path, inline(FOO) + text)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{fleet}:10:", f"[[image]] #1 \"global\", key '{key}' [2]", reason)


# ---------------------------------------------------------------------------
# Shapes the fuzzer found beyond the 13


def test_header_regex_does_not_backtrack_on_a_long_line(run_cli: RunCli, tmp_path: Path) -> None:
    """A line of '[' and spaces made the table-header scan cubic (2,000 spaces: 7 s)."""
    fleet = fleet_with(tmp_path, GLOBAL + "colour = [\n[" + " " * 20_000 + "1]]\n")
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{fleet}:5:1:", "unknown key")


def test_thousands_of_bad_values_on_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    """Each error located itself by scanning the line again: quadratic."""
    (tmp_path / "x.p5m").write_text(FOO + "depend type=require" + " fmri=b@x" * 20_000 + "\n")
    run = run_cli("lint", str(tmp_path / "x.p5m"))
    assert run.code == 1 and run.out.endswith("1 file, 20000 errors\n")
    assert run.out.splitlines()[-2].startswith(f"{tmp_path / 'x.p5m'}:2:")


def test_repository_config_without_a_section(run_cli: RunCli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "publisher" / "test" / "pkg").mkdir(parents=True)
    (repo / "pkg5.repository").write_text("prefix = test\n")
    fleet = fleet_with(tmp_path, '[[source]]\npath = "repo"\n' + GLOBAL)
    run = run_cli("update", "--fleet", str(fleet), "--no-cache")
    clean_error(run, f"{repo / 'pkg5.repository'}:1: not a valid pkg5.repository file")


def test_lint_a_deep_toml_file(run_cli: RunCli, tmp_path: Path) -> None:
    """lint asks of every .toml whether it is a site file: the same limits apply
    (that look parsed the TOML without them: RecursionError)."""
    path = fleet_with(tmp_path, "x = " + "[" * 2000 + "]" * 2000 + "\n")
    run = run_cli("lint", str(path))
    assert run.code == 1 and f"{path}:1:69: nested more than 64 levels deep" in run.out


def test_site_file_past_the_limits(run_cli: RunCli, tmp_path: Path) -> None:
    path = fleet_with(tmp_path, "[[host]]\nx = " + "{a = " * 500 + "1" + "}" * 500 + "\n", "site.toml")
    run = run_cli("site", "update", "--site", str(path), "--workers", "0")
    clean_error(run, f"{path}:2:325: nested more than 64 levels deep")


def test_lint_a_fifo_site_or_fleet_file(run_cli: RunCli, tmp_path: Path) -> None:
    fifo = _mkfifo(tmp_path / "site.toml")
    run = lint_within(run_cli, str(fifo))
    assert run.code == 1 and f"{fifo}: cannot read: not a regular file (a FIFO)" in run.out
