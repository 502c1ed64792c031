"""What each command accepts and refuses, on real fleet files (run in-process).

Flags that do not apply to the images named exit 2 (``-G`` on a pkg(5)
image, ``attach -r``, ``-z`` naming a zone ``-r`` cannot reach); requests that
do not apply exit 1 (``patch`` of an IPS package); pkg(1)'s ``-n`` is
accepted; zones of brands without packages are listed, not planned; ``lint``
reads every source kind; and a package the global zone has but no source
holds is named, as ``update -r`` names it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w

if TYPE_CHECKING:
    from conftest import RunCli

FIXTURES = Path(__file__).parent / "fixtures"
SELF = "depend type=parent fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal"
MANIFESTS = {
    "foo@1.0": "",
    "foo@2.0": "",
    "foo@2.1": "",
    "sys@1.0": SELF,
    "sys@2.0": SELF,
}


def fmri(short: str) -> str:
    return f"pkg://test/{short},5.11-0"


def image(name: str, installed: list[str], **extra: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"name": name, "publishers": ["test"], "installed": [fmri(i) for i in installed]}
    return {**table, **extra}


def zone(name: str, brand: str, installed: list[str]) -> dict[str, Any]:
    return image(name, installed, parent="global", brand=brand)


def write_fleet(tmp_path: Path, images: list[dict[str, Any]], manifests: dict[str, str] = MANIFESTS) -> str:
    """A fleet file with ``images`` and one inline manifest per ``stem@version``."""
    texts = [
        {"text": f"set name=pkg.fmri value={fmri(short)}\n" + (extra + "\n" if extra else "")}
        for short, extra in manifests.items()
    ]
    path = tmp_path / "fleet.toml"
    path.write_text(tomli_w.dumps({"manifest": texts, "image": images}), encoding="utf-8")
    return str(path)


def ips_fleet(tmp_path: Path) -> str:
    """A global zone, a linked zone and an ipkg zone, all with foo@1.0 and sys@1.0."""
    return write_fleet(
        tmp_path,
        [
            image("global", ["foo@1.0", "sys@1.0"]),
            zone("z1", "lipkg", ["foo@1.0", "sys@1.0"]),
            zone("ip1", "ipkg", ["foo@1.0"]),
        ],
    )


def plan_json(run_cli: RunCli, *argv: str) -> tuple[int, dict[str, Any]]:
    run = run_cli(*argv, "--format", "json", "--no-cache")
    return run.code, json.loads(run.out)


# ---------------------------------------------------------------------------
# Flags and verbs that do not apply


def test_install_g_on_an_ips_zone_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = ips_fleet(tmp_path)
    run = run_cli("install", "-G", "foo@2.0", "--image", "z1", "--fleet", fleet, "--no-cache")
    assert run.code == 2, run.err
    assert "-G" in run.err and "pkg(5) image" in run.err and "Traceback" not in run.err
    code, result = plan_json(run_cli, "install", "-G", "foo@2.0", "--image", "z1", "--fleet", fleet)
    assert code == 2 and [e["kind"] for e in result["errors"]] == ["usage"]


def test_g_in_an_ips_global_zone_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("update", "-G", "--fleet", ips_fleet(tmp_path), "--no-cache")
    assert run.code == 2 and "-G" in run.err


def test_attach_r_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("attach", "-r", "--image", "z1", "--fleet", ips_fleet(tmp_path))
    assert run.code == 2
    assert "usage:" in run.err and "-r does not apply to attach" in run.err


def test_patch_of_an_ips_package_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    """patch is Solaris 10 patchadd; on a pkg(5) image it used to run as update."""
    fleet = ips_fleet(tmp_path)
    run = run_cli("patch", "foo@2.0", "--fleet", fleet, "--no-cache")
    assert run.code == 1
    assert "patchadd" in run.err and "zonesolve update foo@2.0" in run.err
    code, result = plan_json(run_cli, "patch", "foo@2.0", "--fleet", fleet)
    assert code == 1 and result["outcome"] == "fail"
    assert [e["kind"] for e in result["errors"]] == ["not-allowed"]


def test_r_z_naming_an_ipkg_zone_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    """-r never reaches an ipkg zone: say so, instead of "zone ip1: no changes"."""
    fleet = ips_fleet(tmp_path)
    run = run_cli("update", "-r", "-z", "ip1", "--fleet", fleet, "--no-cache")
    assert run.code == 2
    assert "ipkg zone" in run.err and "not linked" in run.err and "--image ip1" in run.err
    assert run_cli("update", "--image", "ip1", "--fleet", fleet, "--no-cache").code == 0  # it has updates


def test_r_z_naming_the_global_zone_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("update", "-r", "-Z", "global", "--fleet", ips_fleet(tmp_path), "--no-cache")
    assert run.code == 2 and "not a zone of image 'global'" in run.err


def test_r_z_naming_a_linked_zone_plans(run_cli: RunCli, tmp_path: Path) -> None:
    code, result = plan_json(run_cli, "update", "-r", "-z", "z1", "--fleet", ips_fleet(tmp_path))
    assert code == 0 and result["images"]["z1"]["change-packages"]


@pytest.mark.parametrize("flags", [["-n"], ["-nv"], ["-n", "-v"]])
def test_pkg_dry_run_flag_is_accepted(run_cli: RunCli, tmp_path: Path, flags: list[str]) -> None:
    """zonesolve never applies anything: -n is the default, so it changes nothing."""
    fleet = ips_fleet(tmp_path)
    verbose = "v" in "".join(flags)
    plain = run_cli("update", "-r", "--fleet", fleet, "--no-cache", *(["-v"] if verbose else []))
    dry = run_cli("update", "-r", *flags, "--fleet", fleet, "--no-cache")
    assert dry.code == plain.code == 0
    assert dry.out == plain.out


def test_dry_run_flag_on_every_planning_verb(run_cli: RunCli) -> None:
    for verb in ("install", "update", "uninstall", "attach", "patch"):
        assert "-n" in run_cli(verb, "--help").out


# ---------------------------------------------------------------------------
# Zone brands without packages


def vm_fleet(tmp_path: Path) -> str:
    return write_fleet(
        tmp_path,
        [
            image("global", ["foo@1.0"]),
            {"name": "vm1", "parent": "global", "brand": "bhyve"},
            {"name": "lx1", "parent": "global", "brand": "lx"},
        ],
    )


@pytest.mark.parametrize("brand", ["bhyve", "kvm", "emu", "lx", "illumos"])
def test_brands_without_an_image_are_accepted(run_cli: RunCli, tmp_path: Path, brand: str) -> None:
    fleet = write_fleet(tmp_path, [image("global", []), {"name": "vm1", "parent": "global", "brand": brand}])
    assert run_cli("lint", fleet).code == 0


def test_zones_without_an_image_are_listed_not_planned(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = vm_fleet(tmp_path)
    code, result = plan_json(run_cli, "update", "-r", "--fleet", fleet)
    assert code == 0
    vm = result["images"]["vm1"]
    assert vm["skipped"] == "brand bhyve has no pkg(5) image: not planned"
    assert vm["add-packages"] == vm["change-packages"] == vm["remove-packages"] == []
    assert "skipped" not in result["images"]["global"]
    text = run_cli("update", "-r", "--fleet", fleet, "--no-cache").out
    assert "zone vm1: brand bhyve has no pkg(5) image: not planned" in text
    assert "2 zones: 0 to change, 0 unchanged, 2 not planned" in text


def test_planning_in_a_zone_without_an_image_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("update", "--image", "vm1", "--fleet", vm_fleet(tmp_path), "--no-cache")
    assert run.code == 2 and "bhyve zone has no pkg(5) image" in run.err


def test_audit_leaves_zones_without_an_image_out(run_cli: RunCli, tmp_path: Path) -> None:
    code, result = plan_json(run_cli, "audit", "--fleet", vm_fleet(tmp_path))
    assert code == 0 and result["audit"] == {}


def test_package_keys_on_a_zone_without_an_image_are_errors(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path, [image("global", []), zone("vm1", "kvm", ["foo@1.0"])])
    run = run_cli("lint", fleet)
    assert run.code == 1
    assert "key 'installed': a kvm zone has no pkg(5) image: 'installed' does not apply" in run.out
    assert "key 'publishers'" in run.out


# ---------------------------------------------------------------------------
# Nested zones


def test_nested_zone_is_an_input_error(run_cli: RunCli, tmp_path: Path) -> None:
    images = [image("global", []), zone("z1", "lipkg", []), {**zone("z2", "lipkg", []), "parent": "z1"}]
    fleet = write_fleet(tmp_path, images)
    run = run_cli("lint", fleet)
    assert run.code == 1
    assert f"{fleet}:" in run.out and "[[image]] #3 \"z2\", key 'parent'" in run.out
    assert "zones do not nest" in run.out
    assert run_cli("update", "-r", "--fleet", fleet, "--no-cache").code == 1
    assert run_cli("audit", "--fleet", fleet, "--no-cache").code == 1


# ---------------------------------------------------------------------------
# A global-zone package no source holds


def unknown_gz_fleet(tmp_path: Path) -> str:
    """The global zone has sys@3.0, which no source holds; the zone has sys@1.0."""
    return write_fleet(tmp_path, [image("global", ["sys@3.0"]), zone("z1", "lipkg", ["sys@1.0"])])


@pytest.mark.parametrize(
    "argv",
    [["update", "-r"], ["audit"], ["attach", "--image", "z1"], ["install", "foo", "--image", "z1"]],
    ids=["update-r", "audit", "attach", "install-in-zone"],
)
def test_global_package_in_no_source_is_named(run_cli: RunCli, tmp_path: Path, argv: list[str]) -> None:
    run = run_cli(*argv, "--fleet", unknown_gz_fleet(tmp_path), "--no-cache")
    assert run.code == 1
    assert f"image 'global': installed package {fmri('sys@3.0')} is not in any source" in run.err
    assert "has none" not in run.err and "Traceback" not in run.err


# ---------------------------------------------------------------------------
# lint reads every source kind the fleet file accepts


@pytest.mark.parametrize(("kind", "files"), [("repo", 5), ("catalog1", 3)])
def test_lint_repository_and_catalog(run_cli: RunCli, kind: str, files: int) -> None:
    run = run_cli("lint", str(FIXTURES / kind))
    assert run.code == 0, run.out
    assert run.out == f"{files} files, 0 errors\n"


def test_lint_reports_a_broken_repository_manifest(run_cli: RunCli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "repo", repo)
    manifest = sorted(p for p in (repo / "publisher").rglob("*") if p.is_file())[0]
    manifest.write_text(manifest.read_text() + "depend type=frob fmri=x\n")
    run = run_cli("lint", str(repo))
    assert run.code == 1
    assert run.out.startswith(f"{manifest}:") and "unknown dependency type 'frob'" in run.out


def test_lint_reports_a_broken_catalog(run_cli: RunCli, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog1"
    shutil.copytree(FIXTURES / "catalog1", catalog)
    (catalog / "catalog.base.C").write_text("{\n")
    run = run_cli("lint", str(catalog))
    assert run.code == 1 and run.out.startswith(f"{catalog / 'catalog.base.C'}:2:")


# ---------------------------------------------------------------------------
# Wording


def test_one_image_changes(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path, [image("global", ["foo@1.0"])])
    run = run_cli("update", "--fleet", fleet, "--no-cache")
    assert run.out.splitlines()[0] == "update in global: 1 of 1 image changes."


def test_audit_of_one_linked_zone(run_cli: RunCli, tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path, [image("global", ["sys@1.0"]), zone("z1", "lipkg", ["sys@1.0"])])
    run = run_cli("audit", "--fleet", fleet, "--no-cache")
    assert run.code == 0 and run.out.splitlines()[0] == "audit of global: the linked zone is in sync"


def test_install_at_the_named_version_holds_nothing_back(run_cli: RunCli, tmp_path: Path) -> None:
    """foo@2.1 exists, but install foo@2.0 asked for 2.0: nothing is held back."""
    fleet = write_fleet(tmp_path, [image("global", ["foo@1.0"])])
    code, result = plan_json(run_cli, "install", "foo@2.0", "--fleet", fleet)
    assert code == 0 and result["images"]["global"]["held-back"] == []
    code, result = plan_json(run_cli, "install", "foo@2", "--fleet", fleet)  # 2.0 and 2.1 match
    assert code == 0 and result["images"]["global"]["change-packages"][0][1] == fmri("foo@2.1")
