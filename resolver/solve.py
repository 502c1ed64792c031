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
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from resolver.catalog import Catalog
from resolver.encode.context import PARENT
from resolver.encode.zones import svr4_shared_stems
from resolver.errors import Fact, NoSolution, PublisherConfigError
from resolver.explain import ConflictFinder, facts_from_conflict
from resolver.fmri import Fmri
from resolver.image_solver import ImageSolve, Selection
from resolver.model import Brand, Fleet, Image, Operation, Package
from resolver.patterns import StemIndex
from resolver.problem import ImageProblem, Request
from resolver.sat import Origin


@dataclass
class FleetPlan:
    """Per image: the selection (images without a request are unchanged)."""

    selections: dict[str, Selection] = field(default_factory=dict)
    stats: dict[str, float | int] = field(default_factory=dict)


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
        image.parent, image.brand, image.publishers, image.variants, image.facets,
        tuple(sorted(map(str, image.installed))), image.frozen, image.avoid,
        request.kind, request.update_all, proposed, request.remove, request.reject,
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
    ) -> None:
        self.fleet = fleet
        self.catalog = catalog
        self.index = index
        self.op = op
        self.requests = requests
        self.deadline = deadline
        self.stats: dict[str, float | int] = {}
        self._nogood_source: dict[int, tuple[ImageSolve, list[int]]] = {}

    # -- entry points -----------------------------------------------------------------

    def plan(self, here: Image, explain: bool = True) -> FleetPlan:
        if here.is_global:
            return self._plan_from_global(here, explain)
        return self._plan_in_zone(here, explain)

    def _plan_in_zone(self, zone: Image, explain: bool) -> FleetPlan:
        """An operation run inside a zone never changes the global zone."""
        assert zone.parent is not None
        parent = self.fleet.image(zone.parent)
        parent_pkgs = self._installed(parent)
        parent_problem = ImageProblem(parent, self.catalog, Request("sync"), self.index)
        problem = ImageProblem(
            zone, self.catalog, self.requests[zone.name], self.index, parent_pkgs,
            seed_stems=svr4_shared_stems(parent_problem.candidates) if zone.brand is Brand.NATIVE else frozenset(),
        )
        solve = ImageSolve(problem, self.catalog, parent.name, parent_problem.candidates, self.deadline)
        parent_set = {p.fmri for p in parent_pkgs.values()}
        selection = self._solve_zone(solve, parent_set, parent.name, explain)
        return FleetPlan({zone.name: selection}, self.stats)

    def _plan_from_global(self, gz: Image, explain: bool) -> FleetPlan:
        t0 = time.perf_counter()
        gz_problem = ImageProblem(gz, self.catalog, self.requests[gz.name], self.index)
        gz_pkgs = self._installed(gz)
        zones = [z for z in self.fleet.children(gz.name) if z.name in self.requests]
        groups: dict[Hashable, list[Image]] = {}
        for zone in zones:
            groups.setdefault(_signature(zone, self.requests[zone.name]), []).append(zone)
        zone_solves: dict[Hashable, ImageSolve] = {}
        for sig, members in groups.items():
            zone = members[0]
            seeds = svr4_shared_stems(gz_problem.candidates) if zone.brand is Brand.NATIVE else frozenset()
            problem = ImageProblem(zone, self.catalog, self.requests[zone.name], self.index, gz_pkgs, seeds)
            zone_solves[sig] = ImageSolve(problem, self.catalog, gz.name, gz_problem.candidates, self.deadline)
        gz_solve = ImageSolve(gz_problem, self.catalog, None, {}, self.deadline)
        self.stats.update(
            images=1 + len(zones), distinct_zones=len(groups), encode_s=time.perf_counter() - t0,
            variables=gz_solve.formula.nvars + sum(z.formula.nvars for z in zone_solves.values()),
            clauses=len(gz_solve.formula.clauses) + sum(len(z.formula.clauses) for z in zone_solves.values()),
        )
        t1 = time.perf_counter()
        oracle = None if self.op.parent_first else self._oracle(gz_solve, zone_solves, groups)
        gz_selection = self._solve_global(gz_solve, oracle, explain, zone_solves, groups)
        gz_set = {p.fmri for p in gz_selection.final.values()}
        plan = FleetPlan({gz.name: gz_selection}, self.stats)
        for sig, solve in zone_solves.items():
            selection = self._solve_zone(solve, gz_set, gz.name, explain, groups[sig])
            for member in groups[sig]:
                plan.selections[member.name] = selection
        self.stats["solve_s"] = time.perf_counter() - t1
        return plan

    # -- the global zone -------------------------------------------------------------------

    def _oracle(
        self, gz_solve: ImageSolve, zone_solves: dict[Hashable, ImageSolve], groups: dict[Hashable, list[Image]]
    ):  # type: ignore[no-untyped-def]
        gz_name = gz_solve.problem.image.name
        memo: dict[tuple[Hashable, tuple[int, ...]], list[int] | None] = {}

        def oracle(model: set[int]) -> list[tuple[list[int], Origin]]:
            gz_set = self._final_set(gz_solve, model)
            cuts: list[tuple[list[int], Origin]] = []
            for sig, solve in zone_solves.items():
                assumptions = tuple(solve.parent_assumptions(gz_set))
                key = (sig, assumptions)
                if key not in memo:
                    memo[key] = None if solve.feasible(assumptions) else solve.solver.core()
                core = memo[key]
                if core is None:
                    continue
                clause = self._nogood(gz_solve, solve, core)
                names = ", ".join(m.name for m in groups[sig])
                text = f"zone {names} cannot follow the global zone with " + (
                    ", ".join(_lit_text(gz_solve, -lit) for lit in clause) or "any plan"
                )
                origin = Origin("zone", groups[sig][0].name, text)
                self._nogood_source[id(origin)] = (solve, [lit for lit in core if lit in set(assumptions)])
                cuts.append((clause, origin))
                self.stats["zone_cuts"] = int(self.stats.get("zone_cuts", 0)) + 1
            _ = gz_name
            return cuts

        return oracle

    def _nogood(self, gz_solve: ImageSolve, zone: ImageSolve, core: list[int]) -> list[int]:
        """The zone's core over interface literals, as a clause over global-zone variables."""
        keys = zone.formula.keys
        gz_name = gz_solve.problem.image.name
        clause: list[int] = []
        for lit in core:
            key = keys[abs(lit)]
            if not (isinstance(key, tuple) and key and key[0] == PARENT):
                continue
            gz_var = gz_solve.formula.var_of.get((gz_name, key[2]))
            if lit > 0:
                assert gz_var is not None
                clause.append(-gz_var)
            elif gz_var is not None:
                clause.append(gz_var)
        return sorted(set(clause))

    def _final_set(self, solve: ImageSolve, model: set[int]) -> set[Fmri]:
        chosen = solve._chosen(model)
        return {p.fmri for p in solve._post_process(chosen).values()}

    def _solve_global(
        self, gz_solve: ImageSolve, oracle, explain: bool,  # type: ignore[no-untyped-def]
        zone_solves: dict[Hashable, ImageSolve], groups: dict[Hashable, list[Image]],
    ) -> Selection:
        try:
            selection, opt = gz_solve.optimise([], oracle)
        except LookupError:
            raise self._no_solution(gz_solve, {}, explain) from None
        selection.held_back = gz_solve.held_back(selection, opt, explain)
        return selection

    # -- zones --------------------------------------------------------------------------

    def _solve_zone(
        self, solve: ImageSolve, parent_set: set[Fmri], parent: str, explain: bool, members: list[Image] | None = None
    ) -> Selection:
        base = solve.parent_assumptions(parent_set)
        try:
            selection, opt = solve.optimise(base)
        except LookupError:
            origins = solve.parent_origins(parent_set, parent)
            raise self._no_solution(solve, origins, explain, members) from None
        selection.held_back = solve.held_back(selection, opt, explain)
        return selection

    # -- failures ------------------------------------------------------------------------

    def _no_solution(
        self, solve: ImageSolve, assumptions: dict[int, Origin], explain: bool, members: list[Image] | None = None
    ) -> NoSolution:
        image = solve.problem.image.name
        names = ", ".join(m.name for m in members) if members else image
        where = "the global zone" if solve.problem.image.is_global else f"zone {names}"
        head = f"{_asked(solve.problem.request)} in {where}: no plan satisfies every rule"
        if not explain:
            return NoSolution(head, [], image=image)
        seeds = set(solve.problem.request.proposed) | set(solve.problem.installed)
        finder = ConflictFinder(solve.formula, self.deadline)
        origins = finder.minimal(assumptions, seeds) or []
        problems = {image: solve.problem}
        facts = facts_from_conflict([o for o in origins if o.rule != "parent-plan"], problems)
        facts += [Fact("parent-plan", o.text, o.image) for o in origins if o.rule == "parent-plan"]
        for origin in origins:
            if origin.rule == "zone" and id(origin) in self._nogood_source:
                facts.extend(self._zone_facts(*self._nogood_source[id(origin)]))
        return NoSolution(head, facts, image=image)

    def _zone_facts(self, zone: ImageSolve, core: list[int]) -> list[Fact]:
        keys = zone.formula.keys
        assumptions = {}
        for lit in core:
            key = keys[abs(lit)]
            fmri = key[2]  # type: ignore[index]
            text = f"the global zone has {fmri.short()}" if lit > 0 else f"the global zone has no {fmri}"
            assumptions[lit] = Origin("parent-plan", zone.problem.image.parent or "", text)
        origins = ConflictFinder(zone.formula, self.deadline).minimal(assumptions, set(zone.problem.installed)) or []
        return facts_from_conflict([o for o in origins if o.rule != "parent-plan"], {zone.problem.image.name: zone.problem})

    def _installed(self, image: Image) -> dict[str, Package]:
        out = {}
        for fmri in image.installed:
            pkg = self.catalog.get(fmri)
            if pkg is not None:
                out[pkg.stem] = pkg
        return out


def _asked(request: Request) -> str:
    """What the request asked, as a person would say it."""
    if request.update_all:
        return "update"
    if request.kind == "sync":
        return "sync"
    if request.kind == "uninstall":
        return "uninstall " + " ".join(sorted(request.remove))
    return f"{request.kind} " + " ".join(sorted(set(request.proposed_by.values()) or request.proposed))


def _lit_text(solve: ImageSolve, lit: int) -> str:
    key = solve.formula.keys[abs(lit)]
    if isinstance(key, tuple) and len(key) >= 2 and isinstance(key[-1], Fmri):
        return key[-1].short() if lit > 0 else f"not {key[-1].short()}"
    return "?"
