"""Planning a whole fleet: the global zone and its zones.

Joint solving (the default) optimises the global zone's objective subject to
"every zone can follow": the global zone is solved alone, each zone is checked
against that choice through its interface literals (the global zone's
package versions its parent dependencies and SVR4 rules name), and a zone
that cannot follow returns its unsatisfiable core over those literals, which
becomes a clause of the global problem ("not this combination"). The loop
ends with the global zone's optimum under all zones' constraints without
encoding every zone into one formula. Zones identical in everything the
solver sees share one formula and one answer. Then each zone is optimised
against the global zone's final plan; zones are independent of each other.

``--parent-first`` reproduces pkg(5): the global zone alone, then each zone
against it, failing if one cannot follow.

Zones live in worker processes (resolver.workers.Pool): each worker owns a
share of them, answers the oracle's checks for its zones and then plans them.
Every zone's plan is a canonical optimum, so the answer is the same for any
number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from resolver.catalog import Catalog
from resolver.encode.zones import svr4_shared_stems
from resolver.errors import NoSolution, PublisherConfigError
from resolver.explain import Explainer
from resolver.fmri import DEPEND_SELF, Fmri
from resolver.image_solver import ClassSolve, ImageRun, Packed, Selection
from resolver.model import Brand, Dependency, DepType, Fleet, Image, Operation, Package
from resolver.objective import Oracle, Unsatisfiable
from resolver.patterns import StemIndex
from resolver.plan import HeldBack
from resolver.problem import ImageProblem, Request, SharedProblem, class_key, installed_packages
from resolver.progress import Progress
from resolver.reasons import PackageVar, ParentVar, ParentView, Rule, ZoneCut
from resolver.sat import Origin
from resolver.varcet import VarcetFilter
from resolver.workers import Pool


@dataclass
class FleetPlan:
    """Per image: the selection (images without a request are unchanged)."""

    selections: dict[str, Selection] = field(default_factory=dict)
    stats: dict[str, float | int] = field(default_factory=dict)


@dataclass
class Prepared:
    """Every class encoded: the global zone's run and one run per distinct zone."""

    gz_run: ImageRun
    zones: list[ImageRun]
    members: dict[int, list[Image]]  # id(run) -> the zones it stands for


def check_publishers(fleet: Fleet, images: list[Image]) -> None:
    """A linked zone's publishers start with its parent's: same names, order, stickiness."""
    for zone in images:
        if not zone.linked or zone.parent is None:
            continue
        parent = fleet.image(zone.parent)
        want = [(p.name, p.sticky) for p in parent.publishers]
        have = [(p.name, p.sticky) for p in zone.publishers]
        if have[: len(want)] != want:
            raise PublisherConfigError(
                f"zone '{zone.name}': invalid publisher configuration: a linked zone's publishers "
                f"must start with the global zone's, in order and stickiness.\n"
                f"  global zone '{parent.name}': {_pubs(want)}\n  zone '{zone.name}': {_pubs(have)}",
                image=zone.name,
            )


def _pubs(pubs: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{n}{'' if s else ' (non-sticky)'}" for n, s in pubs) or "(none)"


def _signature(image: Image, request: Request) -> Hashable:
    """Equal for zones the solver cannot tell apart."""
    proposed = tuple(sorted((s, tuple(str(p.fmri) for p in v)) for s, v in request.proposed.items()))
    return (
        class_key(image),
        tuple(sorted(map(str, image.installed))),
        image.frozen,
        image.avoid,
        request.kind,
        request.update_all,
        proposed,
        request.remove,
        request.reject,
    )


class FleetSolver:
    """Plans one operation for the fleet."""

    def __init__(
        self,
        fleet: Fleet,
        catalog: Catalog,
        index: StemIndex,
        op: Operation,
        requests: Mapping[str, Request],
        deadline: float | None = None,
        jobs: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.jobs = jobs  # worker processes for the zones (None: as many as CPUs)
        self.progress = progress
        self.fleet = fleet
        self.catalog = catalog
        self.index = index
        self.op = op
        self.requests = requests
        self.deadline = deadline
        self.stats: dict[str, float | int] = {}
        #: every explanation of the run (failures, held back, zones' cuts)
        self.explainer = Explainer(catalog, index, deadline)
        self._view: tuple[set[Fmri], dict[str, Package]] | None = None

    # -- building -------------------------------------------------------------------------

    def _runs(
        self,
        images: list[Image],
        parent: Image | None,
        parent_candidates: Mapping[str, Sequence[Package]],
    ) -> dict[str, ImageRun]:
        """One ImageRun per image: images of a class share a formula; images
        the solver cannot tell apart share one run."""
        classes: dict[Hashable, list[Image]] = {}
        for image in images:
            classes.setdefault(class_key(image), []).append(image)
        runs: dict[str, ImageRun] = {}
        for members in classes.values():
            shared = SharedProblem(self.catalog, members[0])
            distinct: dict[Hashable, list[Image]] = {}
            for image in members:
                distinct.setdefault(_signature(image, self.requests[image.name]), []).append(image)
            problems = []
            for same in distinct.values():
                image = same[0]
                seeds = svr4_shared_stems(parent_candidates) if image.brand is Brand.NATIVE else frozenset()
                problems.append(
                    (
                        same,
                        ImageProblem(
                            shared,
                            image,
                            self.requests[image.name],
                            self.index,
                            parent_candidates,
                            seeds,
                        ),
                    )
                )
            shared.close(
                (s for _, p in problems for s in p.seeds),
                [pkg for _, p in problems for pkg in p.extra_packages()],
            )
            for _, problem in problems:
                if problem.request.lax_parent:
                    shared.lax_parent |= {id(pkg) for pkg in problem.installed.values()}
            for _, problem in problems:
                problem.compute_downgrades()
            shared.drop_unreachable([problem for _, problem in problems])
            cls = ClassSolve(shared, parent.name if parent else None, parent_candidates, self.deadline)
            for same, problem in problems:
                run = ImageRun(cls, problem)
                for image in same:
                    runs[image.name] = run
                if self.progress:
                    self.progress("encoding", len(runs), len(images))
        return runs

    # -- entry points -----------------------------------------------------------------

    def plan(self, here: Image, explain: bool = True) -> FleetPlan:
        if here.is_global:
            return self._plan_from_global(here, explain)
        return self._plan_in_zone(here, explain)

    def _plan_in_zone(self, zone: Image, explain: bool) -> FleetPlan:
        """An operation run inside a zone never changes the global zone."""
        assert zone.parent is not None
        parent = self.fleet.image(zone.parent)
        parent_pkgs = installed_packages(parent, self.catalog)  # the parent's manifests tell what it has
        parent_candidates: dict[str, list[Package]] = {s: [p] for s, p in parent_pkgs.items()}
        run = self._runs([zone], parent, parent_candidates)[zone.name]
        parent_set = {p.fmri for p in parent_pkgs.values()}
        try:
            selection = self._solve_zone(run, parent_set, parent.name, explain)
        except NoSolution as first:
            request = self.requests[zone.name]
            if not (
                zone.linked
                and request.kind in _RETRIED
                and not request.update_all
                and out_of_sync(zone, self.catalog, parent_pkgs)
            ):
                raise
            # pkg(5) retries an already out-of-sync zone ignoring its installed
            # packages' parent dependencies (ips-semantics 7.1)
            # (when that fails too, the first attempt's explanation is the one
            # to act on: it is the one with the zone's holds relaxed, 7.2)
            request.lax_parent = True
            run = self._runs([zone], parent, parent_candidates)[zone.name]
            try:
                selection = self._solve_zone(run, parent_set, parent.name, explain)
            except NoSolution:
                raise first from None
        return FleetPlan({zone.name: selection}, self.stats)

    def _plan_from_global(self, gz: Image, explain: bool) -> FleetPlan:
        return self.solve(self.prepare(gz), explain)

    def prepare(self, gz: Image) -> Prepared:
        """Build and encode every class of images (the "encode" phase)."""
        t0 = time.perf_counter()
        gz_run = self._runs([gz], None, {})[gz.name]
        zones = [z for z in self.fleet.children(gz.name) if z.name in self.requests]
        zone_runs = self._runs(zones, gz, gz_run.cls.shared.candidates)
        distinct = list({id(r): r for r in zone_runs.values()}.values())
        members = {id(r): [z for z in zones if zone_runs[z.name] is r] for r in distinct}
        classes = list({id(r.cls): r.cls for r in [gz_run, *distinct]}.values())
        self.stats.update(
            {
                "planned-images": 1 + len(zones),
                "zone-classes": len(classes) - 1,
                "distinct-zones": len(distinct),
                "encode-seconds": round(time.perf_counter() - t0, 4),
                "variables": sum(c.formula.nvars for c in classes),
                "clauses": sum(len(c.formula.clauses) for c in classes),
            }
        )
        return Prepared(gz_run, distinct, members)

    def solve(self, prepared: Prepared, explain: bool = True) -> FleetPlan:
        """Optimise the global zone (jointly unless parent-first), then each zone.
        Zones live in worker processes (each owns a share of them) from the
        global zone's zone checks to the zones' own plans."""
        t1 = time.perf_counter()
        gz_run, zones = prepared.gz_run, prepared.zones
        classes = list({id(run.cls): run.cls for run in zones}.values())
        class_of = [next(k for k, c in enumerate(classes) if c is run.cls) for run in zones]

        def task(kind: str, arg: object, share: list[int], tick: Callable[[], None]) -> dict[int, object]:
            """In a worker: check ("check", per-class parent literals) or plan
            ("solve": the global zone's final FMRIs and held-back packages) the
            zones it owns."""
            out: dict[int, object] = {}
            for i in share:
                run = zones[i]
                if kind == "check":
                    lits = cast(tuple[tuple[int, ...], ...], arg)[class_of[i]]
                    out[i] = None if run.feasible(lits) else run.cls.interface_core(lits)
                    continue
                try:
                    members = prepared.members[id(run)]
                    gz_set, held = cast(tuple[set[Fmri], dict[str, HeldBack]], arg)
                    selection = self._solve_zone(run, gz_set, gz_run.name, explain, members, held, gz_run)
                except NoSolution as err:
                    out[i] = (False, err)
                    break  # a serial run stops at the first failure; the parent takes the lowest
                out[i] = (True, run.cls.pack(selection))
                tick()
            return out

        with Pool(task, len(zones), self.jobs) as pool:
            oracle = None
            if not self.op.parent_first:
                oracle = self._oracle(gz_run, zones, prepared.members, classes, pool)
            gz_selection = self._solve_global(gz_run, oracle, explain)
            gz_set = {p.fmri for p in gz_selection.final.values()}
            held = {h.stem: h for h in gz_selection.held_back}
            results = pool.run("solve", (gz_set, held), self.progress, "solving zones")
        plan = FleetPlan({gz_run.name: gz_selection}, self.stats)
        outcomes = cast(dict[int, tuple[bool, object]], results)
        failed = sorted(i for i, (ok, _) in outcomes.items() if not ok)
        if failed:
            err = outcomes[failed[0]][1]
            assert isinstance(err, NoSolution)
            raise err
        for i, run in enumerate(zones):
            selection = run.cls.unpack(cast(Packed, outcomes[i][1]))
            for member in prepared.members[id(run)]:
                plan.selections[member.name] = selection
        self.stats["solve-seconds"] = round(time.perf_counter() - t1, 4)
        return plan

    # -- the global zone -------------------------------------------------------------------

    def _oracle(
        self,
        gz_run: ImageRun,
        zones: list[ImageRun],
        members: dict[int, list[Image]],
        classes: list[ClassSolve],
        pool: Pool,
    ) -> Oracle:
        memo: dict[tuple[tuple[int, ...], ...], dict[int, object]] = {}
        class_of = [next(k for k, c in enumerate(classes) if c is run.cls) for run in zones]

        def oracle(model: list[int]) -> list[tuple[list[int], Origin]]:
            gz_set = self._final_set(gz_run, model)
            per_class = tuple(tuple(cls.parent_assumptions(gz_set)) for cls in classes)
            if per_class not in memo:
                memo[per_class] = pool.run("check", per_class)
            cuts: list[tuple[list[int], Origin]] = []
            for i, run in enumerate(zones):
                core = memo[per_class][i]
                if core is None:
                    continue
                assert isinstance(core, list)
                clause = self._nogood(gz_run, run, core)
                names = tuple(m.name for m in members[id(run)])
                self.explainer.zone_runs[names] = run
                lits = per_class[class_of[i]]
                keys = run.cls.formula.keys
                plan = tuple((cast(ParentVar, keys[abs(lit)]).fmri, lit > 0) for lit in core)
                cut = ZoneCut(names, tuple(core), lits, plan)
                cuts.append((clause, Origin(Rule.ZONE, gz_run.name, cut=cut)))
                self.stats["zone-cuts"] = int(self.stats.get("zone-cuts", 0)) + 1
            return cuts

        return oracle

    def _nogood(self, gz_run: ImageRun, zone: ImageRun, core: list[int]) -> list[int]:
        """The zone's core over interface literals, as a clause over global-zone variables."""
        keys = zone.cls.formula.keys
        gz_vars = gz_run.cls.formula.var_of
        gz_name = gz_run.cls.enc.name
        clause: list[int] = []
        for lit in core:
            key = keys[abs(lit)]
            assert isinstance(key, ParentVar)
            gz_var = gz_vars.get(PackageVar(gz_name, key.fmri))
            if lit > 0:
                assert gz_var is not None
                clause.append(-gz_var)
            elif gz_var is not None:
                clause.append(gz_var)
        return sorted(set(clause))

    def _final_set(self, run: ImageRun, model: list[int]) -> set[Fmri]:
        return {p.fmri for p in run.post_process(run.chosen(model)).values()}

    def _solve_global(self, gz_run: ImageRun, oracle: Oracle | None, explain: bool) -> Selection:
        try:
            selection, opt = gz_run.optimise((), oracle)
        except Unsatisfiable:
            raise self.explainer.failure(gz_run, None, explain) from None
        try:
            selection.held_back = self.explainer.held_back(gz_run, selection, opt, None, explain)
        finally:
            opt.close()
        return selection

    # -- zones --------------------------------------------------------------------------

    def _solve_zone(
        self,
        run: ImageRun,
        parent_set: set[Fmri],
        parent: str,
        explain: bool,
        members: list[Image] | None = None,
        held: dict[str, HeldBack] | None = None,
        planned: ImageRun | None = None,
    ) -> Selection:
        """A zone against a fixed global-zone plan: what the global zone has
        installed, or (``planned``: its run) its plan in this operation."""
        lits = run.cls.parent_assumptions(parent_set)
        try:
            selection, opt = run.optimise(lits)
        except Unsatisfiable:
            view = self._parent_view(parent, parent_set, lits, held, planned)
            raise self.explainer.failure(run, view, explain, members) from None
        view = self._parent_view(parent, parent_set, lits, held, planned)
        try:
            selection.held_back = self.explainer.held_back(run, selection, opt, view, explain)
        finally:
            opt.close()
        return selection

    def _parent_view(
        self,
        parent: str,
        parent_set: set[Fmri],
        lits: list[int],
        held: dict[str, HeldBack] | None,
        planned: ImageRun | None,
    ) -> ParentView:
        """The global zone's plan as a zone's explanations see it (its
        packages by stem are looked up once per plan)."""
        if self._view is None or self._view[0] is not parent_set:
            plan = {pkg.stem: pkg for f in parent_set if (pkg := self.catalog.get(f)) is not None}
            self._view = (parent_set, plan)
        request = planned.problem.request if planned is not None else None
        return ParentView(
            parent, self._view[1], lits, held=held or {}, planned=planned is not None, request=request
        )


_RETRIED = frozenset({"install", "update", "uninstall"})


def out_of_sync(zone: Image, catalog: Catalog, parent: Mapping[str, Package]) -> bool:
    """Some installed package's parent dependency is not met by the parent's packages."""
    filt = VarcetFilter.for_image(zone)
    for fmri in zone.installed:
        pkg = catalog.get(fmri)
        if pkg is None:
            continue
        for dep in pkg.depends:
            if dep.type is DepType.PARENT and filt.allows(dep.tags) and not parent_dep_met(pkg, dep, parent):
                return True
    return False


def parent_dep_met(pkg: Package, dep: Dependency, parent: Mapping[str, Package]) -> bool:
    """ips-semantics 5 (parent): self means the exact FMRI; otherwise T at v or newer."""
    if dep.fmri.stem == DEPEND_SELF:
        have = parent.get(pkg.stem)
        return have is not None and have.fmri == pkg.fmri
    have = parent.get(dep.fmri.stem)
    if have is None or (dep.fmri.publisher is not None and have.publisher != dep.fmri.publisher):
        return False
    return dep.fmri.version is None or have.fmri.version.key >= dep.fmri.version.key  # type: ignore[union-attr]
