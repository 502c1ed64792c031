"""The boot-environment fields of the pkg-parsable plan, derived as pkg(5) does.

pkg(5) creates a new boot environment when a plan updates or removes an
action with reboot-needed=true (client/actuator.py reboot_needed, client/api.py
__set_be_creation), a backup BE when it updates packages otherwise; children
never get one. What zonesolve cannot know is null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from resolver.bootenv import boot_environment, reboot_needed
from resolver.fmri import parse_fmri
from resolver.model import Package
from resolver.plan import ImagePlan

if TYPE_CHECKING:
    from conftest import RunCli


def pkg(text: str, reboot: bool | None = False) -> Package:
    return Package(parse_fmri(f"pkg://p/{text}"), reboot_needed=reboot)


KERNEL1, KERNEL2 = pkg("kernel@1", True), pkg("kernel@2", True)
APP1, APP2 = pkg("app@1"), pkg("app@2")
CAT1, CAT2 = pkg("cat@1", None), pkg("cat@2", None)


@pytest.mark.parametrize(
    ("before", "after", "want"),
    [
        ([KERNEL1, APP1], [KERNEL1, APP2], False),  # the kernel does not change
        ([KERNEL1], [KERNEL2], True),  # updated
        ([KERNEL1, APP1], [APP1], True),  # removed
        ([APP1], [APP1, KERNEL1], False),  # installed: pkg(5) only advises a reboot
        ([APP1], [APP2], False),
        ([CAT1], [CAT2], None),  # a catalog/1 package: its actions are unknown
        ([CAT1, KERNEL1], [CAT2, KERNEL2], True),
        ([CAT1, APP1], [CAT1, APP2], False),  # the unknown one does not change
        ([APP1], [pkg("app@2", True)], True),  # the new version has one: counted as changed
    ],
)
def test_reboot_needed(before: list[Package], after: list[Package], want: bool | None) -> None:
    assert reboot_needed({p.stem: p for p in before}, {p.stem: p for p in after}) is want


def plan(changed: bool, reboot: bool | None) -> ImagePlan:
    old, new = parse_fmri("pkg://p/a@1"), parse_fmri("pkg://p/a@2")
    after = {"a": new} if changed else {"a": old, "b": parse_fmri("pkg://p/b@1")}
    return ImagePlan("global", {"a": old}, after, reboot_needed=reboot)


def fields(plan: ImagePlan, live: bool = True, global_zone: bool = True) -> dict[str, Any]:
    out = boot_environment(plan, live, global_zone)
    return {k: out[k] for k in ("create-new-be", "create-backup-be", "boot-archive-rebuild")}


def test_boot_environment_fields() -> None:
    """New BE when needed; else a backup BE when packages are updated; unknown stays null."""
    assert fields(plan(True, True)) == {
        "create-new-be": True,
        "create-backup-be": False,
        "boot-archive-rebuild": None,
    }
    assert fields(plan(True, False))["create-backup-be"] is True
    assert fields(plan(False, False))["create-backup-be"] is False  # only added: no backup
    assert fields(plan(True, None)) == {
        "create-new-be": None,
        "create-backup-be": None,
        "boot-archive-rebuild": None,
    }
    assert fields(plan(False, None))["create-backup-be"] is False  # no update: no backup either way
    assert fields(plan(True, True), global_zone=False)["boot-archive-rebuild"] is False  # zones have none
    assert set(fields(plan(True, True), live=False).values()) == {False}  # a child image
    nothing = ImagePlan("global", {}, {})
    assert set(fields(nothing).values()) == {False}
    assert boot_environment(plan(True, True), True, True)["be-name"] is None
    assert boot_environment(plan(True, True), True, True)["activate-be"] is True


FLEET = """
[[manifest]]
text = '''
set name=pkg.fmri value=pkg://test/system/kernel@1.0
file 0a1b path=kernel/amd64/genunix reboot-needed=true mode=0755 owner=root group=sys
'''
[[manifest]]
text = '''
set name=pkg.fmri value=pkg://test/system/kernel@2.0
file 2c3d path=kernel/amd64/genunix reboot-needed=true mode=0755 owner=root group=sys
depend type=parent fmri=feature/package/dependency/self variant.opensolaris.zone=nonglobal
'''
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/web/curl@1.0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://test/web/curl@2.0"
[[image]]
name = "global"
publishers = ["test"]
installed = ["pkg://test/system/kernel@1.0", "pkg://test/web/curl@1.0"]
[[image]]
name = "z1"
parent = "global"
brand = "lipkg"
publishers = ["test"]
installed = ["pkg://test/system/kernel@1.0"]
"""


def parsable(run_cli: RunCli, tmp_path: Path, *args: str) -> dict[str, Any]:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET, encoding="utf-8")
    run = run_cli(*args, "--fleet", str(fleet), "--format", "pkg-parsable", "--no-cache")
    assert run.code == 0, run.err
    out: dict[str, Any] = json.loads(run.out)
    return out


def test_a_kernel_update_needs_a_new_boot_environment(run_cli: RunCli, tmp_path: Path) -> None:
    """The kernel's reboot-needed file changes: a new BE for the global zone, none for the zone."""
    obj = parsable(run_cli, tmp_path, "update", "-r")
    assert (obj["create-new-be"], obj["create-backup-be"], obj["be-name"]) == (True, False, None)
    (zone,) = obj["child-images"]
    assert (zone["image-name"], zone["create-new-be"], zone["create-backup-be"]) == ("zone:z1", False, False)


def test_an_ordinary_update_makes_a_backup_boot_environment(run_cli: RunCli, tmp_path: Path) -> None:
    obj = parsable(run_cli, tmp_path, "update", "web/curl")
    assert (obj["create-new-be"], obj["create-backup-be"], obj["boot-archive-rebuild"]) == (False, True, None)
    assert obj["space-required"] is None and obj["space-available"] is None
