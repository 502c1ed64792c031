"""The library entry point: plan one operation for a fleet.

``plan(fleet, catalog, op)`` returns a Result: a plan for every image, or the
errors that prevent one (no solution, unmatched patterns, publisher
configuration, SVR4 rules, timeout). Invalid input raises InputError; a plan
that fails the independent verifier raises InternalError.
"""

from __future__ import annotations

import time

from resolver import lock
from resolver.bootenv import reboot_needed
from resolver.catalog import Catalog
from resolver.errors import (
    Diverged,
    InternalError,
    MatchError,
    NoSolution,
    NotAllowedError,
    PublisherConfigError,
    SolveTimeout,
    ZonesolveError,
)
from resolver.fmri import DEPEND_SELF
from resolver.image_solver import Selection
from resolver.model import Brand, DepType, Fleet, Image, Operation, Package, Verb
from resolver.patterns import StemIndex
from resolver.plan import ImagePlan, Outcome, Result
from resolver.problem import Request, installed_packages
from resolver.progress import Progress
from resolver.requests import build_requests, run_image
from resolver.solve import FleetSolver, check_publishers, parent_dep_met
from resolver.varcet import VarcetFilter
from resolver.verify import Verifier

_PLAN_ERRORS = (NoSolution, MatchError, PublisherConfigError, NotAllowedError, SolveTimeout)


def plan(
    fleet: Fleet,
    catalog: Catalog,
    op: Operation,
    *,
    explain: bool = True,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Result:
    """Plan ``op`` on ``fleet`` with packages from ``catalog``. ``jobs``: worker
    processes for the zones (None: one per CPU when there are enough zones);
    the plan is the same for any number. ``progress`` hears about encoding and
    solving."""
    started = time.perf_counter()
    deadline = time.monotonic() + op.timeout if op.timeout else None
    index = StemIndex(catalog.stems())
    here = run_image(fleet, op)
    before = {i.name: catalog.installed(i.installed) for i in fleet.images}
    try:
        check_publishers(fleet, _checked_images(fleet, here))
        if op.verb is Verb.AUDIT:
            return audit(fleet, catalog, op, before, index)
        requests = _requests(fleet, catalog, index, op, here)
        solver = FleetSolver(fleet, catalog, index, op, requests, deadline, jobs, progress)
        fleet_plan = solver.plan(here, explain)
    except _PLAN_ERRORS as err:
        if op.to is not None and isinstance(err, NoSolution):
            err = lock.retitled(err, op.to)
        return _failed(fleet, op, before, err)
    after = {name: dict(pkgs) for name, pkgs in before.items()}
    chosen = {}
    for name, selection in fleet_plan.selections.items():
        after[name] = selection.final
        chosen[name] = selection.chosen
    problems = Verifier(fleet, catalog, index, requests, before, after, chosen).run(jobs)
    if problems:
        raise InternalError(
            "the plan failed the independent verifier (a zonesolve bug; please report it):\n  "
            + "\n  ".join(problems[:20])
        )
    images = {
        i.name: _image_plan(i, before[i.name], after[i.name], fleet_plan.selections.get(i.name))
        for i in fleet.images
    }
    missed = lock.unreached(op.to, images) if op.to is not None else None
    if missed is not None:
        return _failed(fleet, op, before, missed)
    outcome = Outcome.OK if any(p.has_changes for p in images.values()) else Outcome.NOTHING
    stats: dict[str, object] = dict(fleet_plan.stats)
    stats["plan-seconds"] = round(time.perf_counter() - started, 4)
    return Result(op, outcome, images, _order(fleet), [], stats)


def _requests(
    fleet: Fleet, catalog: Catalog, index: StemIndex, op: Operation, here: Image
) -> dict[str, Request]:
    """What the operation asks of each image: its command line, or a lock file (``update --to``)."""
    if op.to is not None:
        return lock.lock_requests(fleet, catalog, op.to, here)
    return build_requests(fleet, catalog, index, op)


def _checked_images(fleet: Fleet, here: Image) -> list[Image]:
    """pkg(5) checks a zone's publishers when it runs there, and all zones from the global zone."""
    return list(fleet.images) if here.is_global else [here]


def _order(fleet: Fleet) -> list[str]:
    """The order to apply the images' changes in: the global zone, then the
    zones by name (canonical: the order of [[image]] tables changes no byte)."""
    return [fleet.global_zone.name, *sorted(i.name for i in fleet.images if not i.is_global)]


def _image_plan(
    image: Image, before: dict[str, Package], after: dict[str, Package], sel: Selection | None
) -> ImagePlan:
    registered = frozenset(
        s
        for s, p in after.items()
        if image.brand is Brand.NATIVE and image.parent is not None and p.svr4 is not None and p.svr4.hollow
    )
    return ImagePlan(
        image.name,
        {s: p.fmri for s, p in before.items()},
        {s: p.fmri for s, p in after.items()},
        sel.held_back if sel else (),
        registered,
        _skipped(image),
        reboot_needed=reboot_needed(before, after),
    )


def _skipped(image: Image) -> str | None:
    """Why an image is left out of planning (a zone brand without packages)."""
    if image.planned or image.brand is None:
        return None
    return f"brand {image.brand.value} has no pkg(5) image: not planned"


def _failed(
    fleet: Fleet, op: Operation, before: dict[str, dict[str, Package]], err: ZonesolveError
) -> Result:
    images = {i.name: _image_plan(i, before[i.name], before[i.name], None) for i in fleet.images}
    return Result(op, Outcome.FAIL, images, _order(fleet), [err])


def audit(
    fleet: Fleet,
    catalog: Catalog,
    op: Operation,
    before: dict[str, dict[str, Package]],
    index: StemIndex | None = None,
) -> Result:
    """Are linked zones in sync with their parents? (pkg audit-linked -a)

    A zone also counts as diverged when its own installed set breaks a rule
    (a required package missing, ...): that is what a sync of the zone
    (``attach``) would repair or refuse, so audit and attach agree.
    """
    index = index if index is not None else StemIndex(catalog.stems())
    verifier = Verifier(fleet, catalog, index, {}, before, before, {})
    result = Result(op, Outcome.OK)
    result.images = {i.name: _image_plan(i, before[i.name], before[i.name], None) for i in fleet.images}
    result.order = _order(fleet)
    here = run_image(fleet, op)
    zones = [here] if not here.is_global else [i for i in fleet.images if i.parent is not None]
    parents: dict[str, dict[str, Package]] = {}
    for zone in zones:
        if zone.parent is None or not (zone.linked or zone.brand is Brand.NATIVE):
            continue
        # a package no source holds would be audited as missing: say so instead
        if zone.parent not in parents:
            parents[zone.parent] = installed_packages(fleet.image(zone.parent), catalog, "audit")
        unmet = _unmet(zone, installed_packages(zone, catalog, "audit"), parents[zone.parent])
        unmet += _broken(verifier, zone, before)
        result.audit[zone.name] = "diverged" if unmet else "synced"
        if unmet:
            result.audit_details[zone.name] = unmet
            result.errors.append(
                Diverged(f"zone {zone.name} has diverged: " + "; ".join(unmet), image=zone.name)
            )
    if result.errors:
        result.outcome = Outcome.FAIL
    return result


def _broken(verifier: Verifier, zone: Image, installed: dict[str, dict[str, Package]]) -> list[str]:
    """The rules a zone's installed set breaks by itself (the verifier's
    check, without the parent dependencies ``_unmet`` words)."""
    prefix = f"image {zone.name}: "
    found = verifier.consistency(zone, installed, parents=False)
    return sorted(p.removeprefix(prefix) for p in found)


def _unmet(zone: Image, mine: dict[str, Package], parent: dict[str, Package]) -> list[str]:
    """The zone's installed packages whose parent dependencies or SVR4 rules fail."""
    filt = VarcetFilter.for_image(zone)
    out = []
    for pkg in mine.values():
        for dep in pkg.depends:
            applies = zone.linked and dep.type is DepType.PARENT and filt.allows(dep.tags)
            if applies and not parent_dep_met(pkg, dep, parent):
                have = parent.get(pkg.stem if dep.fmri.stem == DEPEND_SELF else dep.fmri.stem)
                want = str(pkg.fmri) if dep.fmri.stem == DEPEND_SELF else f"{dep.fmri.short()} or newer"
                out.append(
                    f"{pkg.fmri.short()} needs {want} in the global zone "
                    f"(it has {have.fmri if have else 'none'})"
                )
        if zone.brand is Brand.NATIVE and pkg.svr4 is not None and pkg.svr4.allzones:
            have = parent.get(pkg.stem)
            if have is not None and have.fmri.version != pkg.fmri.version:
                here, there = pkg.fmri.version, have.fmri.version
                out.append(f"ALLZONES {pkg.stem} is at {here} here but {there} in the global zone")
    if zone.brand is Brand.NATIVE:
        for stem, have in parent.items():
            if have.svr4 and have.svr4.allzones and stem not in mine:
                out.append(f"ALLZONES package {stem} is missing here")
    return sorted(out)
