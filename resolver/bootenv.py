"""Boot environments: what pkg(5) would decide for a plan, as far as the manifests tell.

pkg(5)'s parsable plan (``--parsable=0``; client/plandesc.py
``get_parsable_plan``) reports boot-environment and space fields that come
from the actions a plan changes, not from the packages alone. What pkg(5)
does (client/api.py ``__set_be_creation``, client/actuator.py,
client/imageplan.py):

- only the image pkg runs on (its live root) gets a boot environment; child
  images (zones, planned from the global zone) never do;
- ``create-new-be``: the image's be-policy is ``always-new``, or the plan
  *updates or removes* an action carrying ``reboot-needed=true``
  (``Actuator.reboot_needed``; installing one only "advises" a reboot);
- ``create-backup-be``: no new BE, be-policy ``default`` or
  ``create-backup``, and some package is updated (both an origin and a
  destination version);
- ``be-name``: named by the image's ``auto-be-name`` template or after the
  current BE; ``backup-be-name``: only from ``--backup-be-name``;
- ``boot-archive-rebuild``: the image has a boot archive (a global zone) and
  a changed action's path is in its ramdisk file list.

zonesolve keeps, per package, whether any of its actions carries
``reboot-needed=true`` (``Package.reboot_needed``; unknown for packages
from a catalog/1 source, which has no file actions), not the actions:

- a package that is updated or removed and has (or gets) such an action
  counts as changing it. pkg(5) compares the actions themselves, so an update
  that leaves every reboot-needed action identical would not need a new BE
  there; packages are rebuilt with their files, so this is rare;
- the be-policy is taken to be pkg(5)'s ``default`` (zonesolve is not told
  the image's policy);
- what it cannot know is ``None`` (JSON null), as pkg(5)'s own schema
  allows for these fields: ``create-new-be`` when a changed package's
  actions are unknown, ``be-name`` of a new BE, ``boot-archive-rebuild`` of a
  global zone whose packages change (no file paths are kept).
"""

from __future__ import annotations

from collections.abc import Mapping

from resolver.model import Package
from resolver.plan import ImagePlan

__all__ = ["boot_environment", "reboot_needed"]


def reboot_needed(before: Mapping[str, Package], after: Mapping[str, Package]) -> bool | None:
    """Does the change from ``before`` to ``after`` (packages by stem) update or
    remove a package with a reboot-needed action? None if that is unknown."""
    unknown = False
    for stem, old in before.items():
        new = after.get(stem)
        if new is not None and new.fmri == old.fmri:
            continue  # unchanged: none of its actions change
        flags = {old.reboot_needed} if new is None else {old.reboot_needed, new.reboot_needed}
        if True in flags:
            return True
        unknown = unknown or None in flags
    return None if unknown else False


def boot_environment(plan: ImagePlan, live: bool, global_zone: bool) -> dict[str, bool | str | None]:
    """The boot-environment fields of pkg(5)'s parsable plan for one image.
    ``live``: the image the command runs in (else a child image);
    ``global_zone``: it has a boot archive."""
    if not live or not plan.has_changes:
        return {
            "activate-be": True,
            "backup-be-name": None,
            "be-name": None,
            "boot-archive-rebuild": False,
            "create-backup-be": False,
            "create-new-be": False,
        }
    new_be = plan.reboot_needed
    updated = bool(plan.changed)
    backup: bool | None = False if new_be is True else (updated if new_be is False or not updated else None)
    return {
        "activate-be": True,
        "backup-be-name": None,
        "be-name": None,  # pkg(5) names it from the image's auto-be-name or the current BE
        "boot-archive-rebuild": None if global_zone else False,
        "create-backup-be": backup,
        "create-new-be": new_be,
    }
