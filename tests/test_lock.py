"""Lock files: ``zonesolve lock VERB ... -o fleet.lock`` and ``update --to fleet.lock``.

``update --to`` on a lock reproduces the plan the lock came from (every
scenario with a plan, the demo host, a generated fleet); a lock that cannot be
reached says why, at the lock's line where there is one.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from test_scenarios import FILES, load_scenario

from resolver.errors import InputError, InputErrors
from resolver.lock import LOCK_VERSION, load_lock

if TYPE_CHECKING:
    from conftest import RunCli

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "manifests" / "demo-fleet.toml"


def _planning(path: Path) -> bool:
    """A scenario that plans (not audit) and has a plan."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return bool(data["expect"]["outcome"] != "fail" and data["operation"]["verb"] != "audit")


PLANNING = [p for p in FILES if _planning(p)]
#: Plans whose state ``update --to`` (run in the global zone, where every zone
#: must follow) cannot reach, and why.
UNREACHABLE = {
    "ex-child-out-of-sync-install-leaves-installed-synced-alone": "the zone stays out of sync, which "
    "only an operation in that zone allows (pkg(5)'s retry ignoring installed parent dependencies)",
    "li-relax-blocked-by-incorporation-retry-leaves-synced": "the zone keeps B@1, which no longer "
    "matches the global zone: the same retry, in the zone's own operation only",
    "li-group-dep-unsatisfiable-in-child-skipped": "the zone gets solaris-small-server without its "
    "group target ipfilter, skipped by the zone's own install (its candidates need a package the "
    "global zone lacks); planned from the global zone the zone's group dependency is not excused",
    "li-attach-other-zone-with-broken-state-is-unaffected": "z1's installed set breaks a rule (app "
    "without the lib it requires) and attaching z2 leaves it so; planned from the global zone, z1 "
    "must end consistent, which its locked state is not",
}


def _changes(out: str) -> dict[str, Any]:
    """Per image: what is added, changed and removed (the plan itself)."""
    images = json.loads(out)["images"]
    keys = ("add-packages", "change-packages", "remove-packages")
    return {name: {k: image[k] for k in keys} for name, image in images.items()}


def _without_format(argv: list[str]) -> list[str]:
    i = argv.index("--format")
    return argv[:i] + argv[i + 2 :]


def _fleet_of(argv: list[str]) -> str:
    return argv[argv.index("--fleet") + 1]


@pytest.mark.parametrize("path", PLANNING, ids=[p.stem for p in PLANNING])
def test_update_to_a_lock_reproduces_its_plan(run_cli: RunCli, path: Path, tmp_path: Path) -> None:
    """lock VERB ... then update --to: the same packages added, changed, removed."""
    scenario = load_scenario(path, tmp_path / "fleet.toml")
    plan = run_cli(*scenario.argv)
    lock = tmp_path / "fleet.lock"
    made = run_cli("lock", *_without_format(scenario.argv), "-o", str(lock))
    assert made.code == plan.code, made.err
    again = run_cli("update", "--to", str(lock), "--fleet", _fleet_of(scenario.argv), "--format", "json")
    if path.stem in UNREACHABLE:
        assert again.code == 1 and _errors(again.out)[0]["kind"] == "no-solution"
        return
    assert again.code == plan.code, again.out + again.err
    assert _changes(again.out) == _changes(plan.out)
    assert json.loads(again.out)["operation"]["to"] == str(lock)


def test_update_to_reproduces_the_demo_plan(run_cli: RunCli, tmp_path: Path) -> None:
    """The demo host: update -r moves four of five images; the lock gets there again."""
    lock = tmp_path / "demo.lock"
    base = ["--fleet", str(DEMO), "--no-cache"]
    plan = run_cli("update", "-r", *base, "--format", "json")
    assert run_cli("lock", "update", "-r", *base, "-o", str(lock)).code == 0
    again = run_cli("update", "--to", str(lock), *base, "--format", "json")
    assert again.code == 0 and _changes(again.out) == _changes(plan.out)
    text = run_cli("update", "--to", str(lock), *base)
    assert text.out.startswith(f"update --to {lock} in global: 4 of 5 images change.")


def test_update_to_reproduces_a_generated_fleet(run_cli: RunCli, tmp_path: Path) -> None:
    """bench.fleetgen small: 500 stems, 16 zones of mixed brands."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench import fleetgen

    fleetgen.generate("small", 3, tmp_path / "small")
    base = ["--fleet", str(tmp_path / "small" / "fleet.toml"), "--no-cache"]
    plan = run_cli("update", "-r", *base, "--format", "json")
    assert plan.code == 0, plan.err
    lock = tmp_path / "small.lock"
    assert run_cli("lock", "update", "-r", *base, "-o", str(lock)).code == 0
    locked = load_lock(str(lock))
    assert len(locked.images) == len(json.loads(plan.out)["images"])
    again = run_cli("update", "--to", str(lock), *base, "--format", "json")
    assert again.code == 0, again.err
    assert _changes(again.out) == _changes(plan.out)


# ---------------------------------------------------------------------------
# The format

FLEET = """
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@1.0\\ndepend type=require fmri=lib@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@2.0\\ndepend type=require fmri=lib@2.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/lib@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/lib@2.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/tool@1.0"
[[image]]
name = "global"
publishers = ["test"]
installed = ["pkg://test/app@1.0", "pkg://test/lib@1.0", "pkg://test/tool@1.0"]
FROZEN
[[image]]
name = "z1"
parent = "global"
brand = "ipkg"
publishers = ["test"]
installed = ["pkg://test/lib@1.0"]
"""


def _fleet(tmp_path: Path, frozen: str = "") -> str:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET.replace("FROZEN", frozen), encoding="utf-8")
    return str(path)


def _lock(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fleet.lock"
    path.write_text(body, encoding="utf-8")
    return str(path)


GOOD = """version = 1
[[image]]
name = "global"
packages = ["pkg://test/app@2.0", "pkg://test/lib@2.0"]
[[image]]
name = "z1"
packages = ["pkg://test/lib@2.0"]
"""


def test_update_to_plans_exactly_the_lock(run_cli: RunCli, tmp_path: Path) -> None:
    """Locked versions installed, unlocked stems removed, in every image (an ipkg zone too)."""
    fleet, lock = _fleet(tmp_path), _lock(tmp_path, GOOD)
    run = run_cli("update", "--to", lock, "--fleet", fleet, "--format", "json", "--no-cache")
    assert run.code == 0, run.out
    assert _changes(run.out) == {
        "global": {
            "add-packages": [],
            "change-packages": [
                ["pkg://test/app@1.0", "pkg://test/app@2.0"],
                ["pkg://test/lib@1.0", "pkg://test/lib@2.0"],
            ],
            "remove-packages": ["pkg://test/tool@1.0"],
        },
        "z1": {
            "add-packages": [],
            "change-packages": [["pkg://test/lib@1.0", "pkg://test/lib@2.0"]],
            "remove-packages": [],
        },
    }
    lock_again = tmp_path / "again.lock"
    assert (
        run_cli("lock", "update", "--to", lock, "--fleet", fleet, "--no-cache", "-o", str(lock_again)).code
        == 0
    )
    assert load_lock(str(lock_again)).images == load_lock(lock).images


def test_lock_file_format(run_cli: RunCli, tmp_path: Path) -> None:
    """version = 1, one [[image]] per image (global zone first), sorted exact FMRIs,
    and the commands that made and apply it as comments."""
    fleet = _fleet(tmp_path)
    run = run_cli("lock", "update", "-r", "--fleet", fleet, "--no-cache")
    assert run.code == 0, run.err
    data = tomllib.loads(run.out)
    assert data == {
        "version": LOCK_VERSION,
        "image": [
            {
                "name": "global",
                "packages": ["pkg://test/app@2.0", "pkg://test/lib@2.0", "pkg://test/tool@1.0"],
            },
            {"name": "z1", "packages": ["pkg://test/lib@1.0"]},
        ],
    }
    assert f"# made by:  zonesolve lock update -r --fleet {fleet} --no-cache\n" in run.out
    assert f"# apply it: zonesolve update --to LOCK --fleet {fleet}\n" in run.out


def test_nothing_to_do_when_the_lock_is_installed(run_cli: RunCli, tmp_path: Path) -> None:
    """A lock of what is installed now: nothing to do (exit 4), and it locks the same again."""
    fleet = _fleet(tmp_path)
    now = _lock(
        tmp_path,
        "version = 1\n[[image]]\nname = 'global'\n"
        "packages = ['pkg://test/app@1.0', 'pkg://test/lib@1.0', 'pkg://test/tool@1.0']\n"
        "[[image]]\nname = 'z1'\npackages = ['pkg://test/lib@1.0']\n",
    )
    run = run_cli("update", "--to", now, "--fleet", fleet, "--no-cache")
    assert run.code == 4 and "nothing to do" in run.out
    again = tmp_path / "again.lock"
    assert run_cli("lock", "update", "--to", now, "--fleet", fleet, "--no-cache", "-o", str(again)).code == 4
    assert load_lock(str(again)).images == load_lock(now).images


# ---------------------------------------------------------------------------
# Why a lock cannot be reached


def _errors(run_out: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(run_out)["errors"]
    return out


def test_a_locked_version_no_source_has(run_cli: RunCli, tmp_path: Path) -> None:
    body = GOOD.replace('pkg://test/lib@2.0"]\n[[image]]', 'pkg://test/lib@3.0"]\n[[image]]')
    lock = _lock(tmp_path, body)
    run = run_cli("update", "--to", lock, "--fleet", _fleet(tmp_path), "--format", "json", "--no-cache")
    assert run.code == 1
    assert [e["message"] for e in _errors(run.out)] == [
        f"{lock}:4: [[image]] 'global': pkg://test/lib@3.0 is in no source of {tmp_path / 'fleet.toml'}: "
        "the lock cannot be reached"
    ]


def test_images_missing_on_either_side(run_cli: RunCli, tmp_path: Path) -> None:
    body = GOOD.replace('name = "z1"', 'name = "z9"')
    lock = _lock(tmp_path, body)
    run = run_cli("update", "--to", lock, "--fleet", _fleet(tmp_path), "--format", "json", "--no-cache")
    assert run.code == 1
    messages = [e["message"] for e in _errors(run.out)]
    assert messages[0].startswith(f"{lock}:5: [[image]] 'z9': image 'z9' is in the lock but not in ")
    assert (
        messages[1]
        == f"{lock}: image 'z1' of {tmp_path / 'fleet.toml'} is not in the lock (a lock names every image)"
    )


def test_a_locked_state_that_breaks_a_rule(run_cli: RunCli, tmp_path: Path) -> None:
    """A freeze holds app at 1.0: the usual explanation, titled by the lock."""
    fleet, lock = _fleet(tmp_path, 'frozen = ["app@1.0"]'), _lock(tmp_path, GOOD)
    run = run_cli("update", "--to", lock, "--fleet", fleet, "--format", "json", "--no-cache")
    assert run.code == 1
    (error,) = _errors(run.out)
    assert error["kind"] == "no-solution"
    assert error["message"] == f"update --to {lock} in the global zone: no plan satisfies every rule"
    assert error["explanation"][0]["rule"] == "freeze", error["explanation"]
    assert "frozen" in error["explanation"][0]["text"]


def test_a_lock_that_removes_a_dependency(run_cli: RunCli, tmp_path: Path) -> None:
    """The lock dropped the installed lib from the global zone, which app needs."""
    body = GOOD.replace('"pkg://test/app@2.0", "pkg://test/lib@2.0"', '"pkg://test/app@2.0"')
    lock = _lock(tmp_path, body)
    run = run_cli("update", "--to", lock, "--fleet", _fleet(tmp_path), "--format", "json", "--no-cache")
    assert run.code == 1
    (error,) = _errors(run.out)
    assert error["message"] == f"update --to {lock} in the global zone: no plan satisfies every rule"
    assert {"require", "uninstall"} <= {fact["rule"] for fact in error["explanation"]}, error


def test_a_lock_that_lacks_a_new_dependency(run_cli: RunCli, tmp_path: Path) -> None:
    """app@3.0 needs a package nothing has installed and the lock does not name:
    the plan would add it, so the lock's state cannot be reached exactly."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        FLEET.replace("FROZEN", "")
        + """
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/app@3.0\\ndepend type=require fmri=extra@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/extra@1.0"
""",
        encoding="utf-8",
    )
    lock = _lock(tmp_path, GOOD.replace("pkg://test/app@2.0", "pkg://test/app@3.0"))
    run = run_cli("update", "--to", lock, "--fleet", str(fleet), "--format", "json", "--no-cache")
    assert run.code == 1, run.out
    (error,) = _errors(run.out)
    assert error["message"] == f"update --to {lock}: the locked state cannot be reached exactly"
    assert error["explanation"] == [
        {
            "rule": "lock",
            "text": "pkg://test/extra@1.0 is needed too, and the lock does not have it",
            "image": "global",
            "package": "pkg://test/extra@1.0",
            "dependency": None,
            "versions": ["pkg://test/extra@1.0"],
            "zones": [],
            "setting": None,
        }
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "version = 2\n[[image]]\nname = 'g'\npackages = []\n",
            "1: lock format version 2: this zonesolve reads version 1",
        ),
        ("[[image]]\nname = 'g'\npackages = []\n", "lock format version missing"),
        ("version = 1\n", "no [[image]] tables: a lock names every image"),
        (
            "version = 1\nextra = 1\n[[image]]\nname='g'\npackages=[]\n",
            "unknown key 'extra' in the top level",
        ),
        (
            "version = 1\n[[image]]\nname='g'\npackages=['pkg://p/a']\n",
            "4: [[image]] 'g': 'pkg://p/a' is not exact",
        ),
        (
            "version = 1\n[[image]]\nname='g'\npackages=['a@1']\n",
            "'a@1' is not exact: write pkg://PUBLISHER/STEM@VERSION",
        ),
        ("version = 1\n[[image]]\nname='g'\npackages=['pkg://p/a@1', 'pkg://p/a@2']\n", "locks 'a' twice"),
        ("version = 1\n[[image]]\nname='g'\npackages=['pkg://p/a@x']\n", "bad FMRI 'pkg://p/a@x'"),
        (
            "version = 1\n[[image]]\nname='g'\npackages=[]\n[[image]]\nname='g'\npackages=[]\n",
            "image 'g' is locked twice",
        ),
        ("version = 1\n[[image]]\npackages=[]\n", "an [[image]] needs a 'name'"),
        ("version = 1\n[[image]]\nname='g'\npackages='x'\n", "'packages' must be an array of FMRI strings"),
        ("version = \n", "fleet.lock:1:"),
    ],
)
def test_bad_lock_files(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_lock(_lock(tmp_path, body))
    errors = caught.value.errors if isinstance(caught.value, InputErrors) else [caught.value]
    assert any(message in e.message for e in errors), [e.message for e in errors]


def test_update_to_usage_errors(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("update", "foo", "--to", "x.lock").code == 2
    assert run_cli("update", "-r", "-Z", "z1", "--to", "x.lock").code == 2
    run = run_cli("lock", "update", "--format", "json")
    assert run.code == 2 and "lock writes a TOML lock file" in run.err


def test_update_to_runs_in_the_global_zone(run_cli: RunCli, tmp_path: Path) -> None:
    fleet, lock = _fleet(tmp_path), _lock(tmp_path, GOOD)
    run = run_cli("update", "--to", lock, "--fleet", fleet, "--image", "z1", "--format", "json", "--no-cache")
    assert run.code == 1 and "run it in the global zone" in _errors(run.out)[0]["message"]


def test_lock_of_a_failed_plan_writes_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    run = run_cli(
        "lock", "install", "nothing-like-this", "--fleet", _fleet(tmp_path), "--no-cache", "-o", str(lock)
    )
    assert run.code == 1 and "no package matches" in run.err and not lock.exists()


@pytest.mark.parametrize("command", [["lock"], ["lock", "update"], ["schema"], ["cache"]])
def test_help_of_the_new_commands(run_cli: RunCli, command: list[str]) -> None:
    run = run_cli(*command, "--help")
    assert run.code == 0 and f"usage: zonesolve {' '.join(command)}" in run.out and "examples:" in run.out
