"""Explanations, built in one place: why no plan exists, why a package is
held back, why a zone cannot follow the global zone; each with its fixes.

Reasons stay data until the end. The pieces:

- resolver.conflict finds the fewest *steps* (rules a person reads as one
  fact) that cannot hold together, starting from the solver's own core and
  searching a bounded neighbourhood of its packages;
- resolver.wording makes a step a Fact (rule, image, package, dependency,
  versions, and the sentence);
- resolver.fixes suggests the pkg(1) actions that lift a step and checks
  each one before it is offered.

What this module adds is what to explain and in which order: the binding
constraint first, the dependency chain back to the request after it, the
request last; for a zone, what the global zone has; for the global zone in
joint mode, the zones that hold it back, with their own rules (a zone cut
carries its zones and core, and the zone's conflict under the plan it
rejected is part of the explanation). Held-back explanations are memoised
per class of images: a conflict found for one image serves every image of
the class that has all of its assumptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from resolver import fixes as fixes_
from resolver import wording
from resolver.catalog import Catalog
from resolver.conflict import (
    BINDING_ORDER,
    CHAIN_RULES,
    REQUEST_RULES,
    Conflict,
    Item,
    Member,
    Template,
    reuse,
    template,
)
from resolver.errors import Fact, Fix, NoSolution, SolveTimeout
from resolver.model import Image, Package
from resolver.patterns import StemIndex
from resolver.plan import HeldBack
from resolver.reasons import PackageVar, ParentVar, ParentView, Rule
from resolver.sat import Origin

if TYPE_CHECKING:
    from resolver.image_solver import ClassSolve, ImageRun, Selection
    from resolver.objective import Optimizer

_LINK_RULES = frozenset({Rule.PARENT, Rule.SVR4_ALLZONES, Rule.PARENT_PLAN})
#: zones blocking alike whose fixes are checked one by one (more: named, no fix)
ZONES_CHECKED = 8
T = TypeVar("T")


@dataclass
class Explained:
    """An explanation: its facts (binding rule first), fixes, blocking zones."""

    facts: list[Fact]
    fixes: list[Fix]
    zones: tuple[str, ...] = ()


class Explainer:
    """Every explanation of one planning run. One per FleetSolver; worker
    processes inherit a copy (and memoise for their own zones)."""

    def __init__(self, catalog: Catalog, index: StemIndex, deadline: float | None = None) -> None:
        self.catalog = catalog
        self.index = index
        self.deadline = deadline
        #: the zone runs behind the global zone's cuts, by their zones (resolver.solve sets them)
        self.zone_runs: dict[tuple[str, ...], ImageRun] = {}
        self._held_memo: dict[tuple[int, str, int], list[Template]] = {}
        self._cut_memo: dict[int, Explained] = {}
        #: fix checks by (run, fix, wanted literal), and an image's assumption
        #: literals with a fix applied by (run, fix): many held-back packages
        #: of one image share a fix (resolver.fixes)
        self.fix_checks: dict[tuple[int, str, int | None], bool] = {}
        self.fixed_lits: dict[tuple[int, str], list[int] | None] = {}
        #: this image's held-back packages explained so far (an earlier one
        #: may be why a later one is held back)
        self._done: dict[str, HeldBack] = {}
        #: this image's newest versions it could have under another global-zone plan
        self._alone: set[int] = set()
        #: when set, every conflict explained is kept (tests check their minimality)
        self.keep_conflicts = False
        self.conflicts: list[tuple[ClassSolve, Conflict]] = []

    # -- failures ------------------------------------------------------------------

    def failure(
        self, run: ImageRun, parent: ParentView | None, explain: bool, members: Sequence[Image] | None = None
    ) -> NoSolution:
        """The NoSolution error of an image whose request cannot be met."""
        names = tuple(m.name for m in members) if members else (run.name,)
        head = wording.headline(run.problem, names)
        if not explain:
            return NoSolution(head, [], image=run.name)
        try:
            got = self._failure(run, parent)
        except SolveTimeout:
            got = Explained([wording.unnarrowed(run.name, timed_out=True)], [])
        return NoSolution(head, got.facts, image=run.name, fixes=tuple(got.fixes), zones=got.zones)

    def _failure(self, run: ImageRun, parent: ParentView | None) -> Explained:
        candidates, fixed = self._assumptions(run, parent)
        solver = run.cls.solver
        if solver.solve([*fixed, *candidates]):
            return Explained([wording.unnarrowed(run.name)], [])
        if not solver.core():  # the formula alone: a zone that cannot follow any plan
            empty = self._empty_cuts(run)
            if empty is not None:
                return self._report(run, parent, empty, None)
        request = run.problem.request
        focus = set(request.proposed) | set(request.remove)
        return self._explain(run, parent, candidates, fixed, self._core_stems(run, candidates), focus)

    def _empty_cuts(self, run: ImageRun) -> Conflict | None:
        """Zones' cuts that rule out every plan of the global zone (their
        clause is empty: the global zone's class cannot have what they need)."""
        formula = run.cls.formula
        members = [
            Member(origin, [clause], gid=i)
            for i, (clause, origin) in enumerate(zip(formula.clauses, formula.origins, strict=True))
            if not clause and origin.cut is not None
        ]
        if not members:
            return None
        items = [Item(("zone", m.origin.cut.zones), 4, [m]) for m in members if m.origin.cut is not None]
        return Conflict(items[:1], items[:1], [], [])

    def conflict_for(self, run: ImageRun, parent: ParentView | None, top: int | None) -> Conflict | None:
        """A conflict of the image's assumptions with ``top`` (a held-back
        package's newest version), for checking a fix against."""
        candidates, fixed = self._assumptions(run, parent)
        wanted = [top] if top is not None else []
        if run.cls.solver.solve([*fixed, *candidates, *wanted]):
            return None
        seeds = self._core_stems(run, candidates)
        focus = run.cls.finder().stems_of_lit(top, None) if top is not None else ()
        return self._search(run, candidates, [*fixed, *wanted], seeds, focus)

    def _core_stems(self, run: ImageRun, origins: Mapping[int, Origin]) -> set[str]:
        """The stems of the last failed solve's core: where to search."""
        finder = run.cls.finder()
        return {s for lit in run.cls.solver.core() for s in finder.stems_of_lit(lit, origins.get(lit))}

    def conflict_of(
        self, run: ImageRun, parent: ParentView | None, origins: Mapping[int, Origin]
    ) -> Conflict | None:
        """The conflict of other assumptions on ``run``'s class (a fix applied),
        or None if they hold together."""
        candidates, fixed = self._assumptions(run, parent, origins)
        if run.cls.solver.solve([*fixed, *candidates]):
            return None
        request = run.problem.request
        focus = set(request.proposed) | set(request.remove)
        return self._search(run, candidates, fixed, self._core_stems(run, candidates), focus)

    def _assumptions(
        self, run: ImageRun, parent: ParentView | None, origins: Mapping[int, Origin] | None = None
    ) -> tuple[dict[int, Origin], list[int]]:
        """An image's assumptions as search candidates (literal -> origin), and
        those always assumed (selectors, whose meaning is elsewhere)."""
        candidates: dict[int, Origin] = {}
        fixed: list[int] = []
        for lit, origin in (run.assumed.origins if origins is None else origins).items():
            if origin.rule is Rule.SELECTOR:
                fixed.append(lit)
            else:
                candidates[lit] = origin
        if parent is not None:
            for lit in parent.lits:
                candidates[lit] = Origin(Rule.PARENT_PLAN, parent.name)
        return candidates, fixed

    def _search(
        self,
        run: ImageRun,
        candidates: Mapping[int, Origin],
        fixed: Sequence[int],
        seeds: Iterable[str],
        focus: Iterable[str],
    ) -> Conflict | None:
        """The conflict among these assumptions, searched around the seeds'
        packages (and the focus), preferring steps near the ``focus``."""
        focus = set(focus)
        return run.cls.finder().search(candidates, fixed, {*seeds, *focus}, focus)

    def _explain(
        self,
        run: ImageRun,
        parent: ParentView | None,
        candidates: Mapping[int, Origin],
        fixed: Sequence[int],
        seeds: Iterable[str],
        focus: Iterable[str] = (),
        top: int | None = None,
    ) -> Explained:
        conflict = self._search(run, candidates, fixed, seeds, focus)
        if conflict is None:
            return Explained([wording.unnarrowed(run.name, core=candidates.values())], [])
        return self._report(run, parent, conflict, top)

    def _report(
        self, run: ImageRun, parent: ParentView | None, conflict: Conflict, top: int | None
    ) -> Explained:
        """A conflict as facts, binding rule first, with its checked fixes.
        A zone's cut brings the zone's own explanation; a zone's link to a
        package the global zone holds back brings the global zone's reason."""
        if self.keep_conflicts:
            self.conflicts.append((run.cls, conflict))
        steps = ordered(wording.Step.of(item, run, parent, self.catalog) for item in conflict.items)
        facts: list[Fact] = []
        fixes: list[Fix] = []
        zones: list[str] = []
        theirs = False
        for step in steps:
            if step.cut is not None:
                sub = self.cut(step.cut_origin)
                facts.extend(sub.facts)
                others = [
                    o
                    for o in run.cls.finder().cuts_like(step.clauses)
                    if o.cut and o.cut.zones != step.cut.zones
                ]
                fixes.extend(self._zones_fixes(sub, others))
                zones.extend(step.cut.zones)
                zones.extend(z for o in others if o.cut for z in o.cut.zones)
            held = parent.held.get(step.stem) if parent is not None and step.rule in _LINK_RULES else None
            if held is not None:  # the global zone keeps it: its reason is the real one
                facts.extend(held.facts)
                fixes.extend(held.fixes)
                zones.extend(held.zones)
                theirs = True
            facts.append(wording.fact(step, run.name))
            first = self._done.get(step.stem) if step.rule is Rule.DECISION and step.chosen else None
            if first is not None:  # chosen first, itself held back: why
                facts.append(wording.held_too(run.name, first))
                fixes.extend(first.fixes)
                zones.extend(first.zones)
        if not conflict.minimal:
            facts.append(wording.unnarrowed(run.name, timed_out=True))
        if not theirs:  # the global zone's fixes, else this image's own
            fixes.extend(fixes_.checked(self, run, parent, conflict, steps, top))
        return Explained(_binding_first(facts), _unique(fixes)[: fixes_.FIXES_SHOWN], tuple(_unique(zones)))

    # -- joint mode: a zone's cut ---------------------------------------------------

    def cut(self, origin: Origin | None) -> Explained:
        """Why the zones of a cut cannot follow the global-zone plan they
        rejected: their own conflict under that plan (memoised per cut)."""
        if origin is None or origin.cut is None:
            return Explained([], [])
        got = self._cut_memo.get(id(origin))
        if got is not None:
            return got
        cut = origin.cut
        run = self.zone_runs.get(cut.zones)
        if run is None:
            return Explained([], [], cut.zones)
        parent = self._cut_view(run, cut.assignment)
        candidates, fixed = self._assumptions(run, None)
        blamed = set(cut.core)
        for lit in cut.assignment:
            if lit in blamed:
                candidates[lit] = Origin(Rule.PARENT_PLAN, parent.name)
            else:
                fixed.append(lit)
        focus = [s for lit in cut.core for s in run.cls.finder().stems_of_lit(lit, None)]
        try:
            if run.cls.solver.solve([*fixed, *candidates]):
                return Explained([wording.unnarrowed(run.name)], [], cut.zones)
            got = self._explain(run, parent, candidates, fixed, self._core_stems(run, candidates), focus)
        except SolveTimeout:
            got = Explained([wording.unnarrowed(run.name, timed_out=True)], [])
        got.zones = cut.zones
        if len(cut.zones) > 1:  # zones alike share a run: its fixes are for each of them
            alike = f"(in zones {', '.join(cut.zones)})"
            got.fixes = [replace(f, text=f.text.replace(f"(in zone {run.name})", alike)) for f in got.fixes]
        self._cut_memo[id(origin)] = got
        return got

    def _zones_fixes(self, first: Explained, others: Sequence[Origin]) -> list[Fix]:
        """Fixes for zones that all reject the same global-zone plans: one
        fix per zone, together (each checked on its zone); none if some
        zone has none, or too many zones to check."""
        if not others:
            return list(first.fixes)
        if len(others) >= ZONES_CHECKED or not first.fixes:
            return []
        chosen = [first.fixes[0]]
        for origin in others:
            sub = self.cut(origin)
            if not sub.fixes:
                return []
            chosen.append(sub.fixes[0])
        command = "; ".join(dict.fromkeys(f.command + f" (in {f.image})" for f in chosen))
        text = "; ".join(f.text for f in chosen)
        return [Fix("zones", command, None, text)]

    def _cut_view(self, run: ImageRun, assignment: Sequence[int]) -> ParentView:
        """The global-zone plan a zone rejected, as that zone sees it."""
        keys = run.cls.formula.keys
        plan: dict[str, Package] = {}
        for lit in assignment:
            key = keys[abs(lit)]
            if lit > 0 and isinstance(key, ParentVar):
                pkg = self.catalog.get(key.fmri)
                if pkg is not None:
                    plan[pkg.stem] = pkg
        return ParentView(run.problem.image.parent or "", plan, assignment, hypothetical=True)

    # -- held back -------------------------------------------------------------------

    def held_back(
        self, run: ImageRun, selection: Selection, opt: Optimizer, parent: ParentView | None, explain: bool
    ) -> tuple[HeldBack, ...]:
        """Requested packages left below the newest version the image can see,
        each with its binding rule, where it lives, and its fixes."""
        out = []
        assumed: list[tuple[dict[int, Origin], list[int]]] = []  # built on first need
        self._done = {}
        depth = run.cls.shared.incorporation_depth
        held_stems = []
        for stem in sorted(run.requested(), key=lambda s: (-depth(s), s)):  # the objective's order
            pkg = selection.final.get(stem)
            newest = run.newest_visible(stem)
            if pkg is not None and newest is not None and newest.fmri.version > pkg.fmri.version:  # type: ignore[operator]
                held_stems.append((stem, pkg, newest))
        self._alone = self._alone_feasible(run, parent, [n for _, _, n in held_stems]) if explain else set()
        for stem, pkg, newest in held_stems:
            if not explain:
                out.append(HeldBack(stem, pkg.fmri, newest.fmri, "held back"))
                continue
            try:
                got = self._held(run, stem, newest, opt, parent, assumed)
            except SolveTimeout:
                got = Explained([wording.unnarrowed(run.name, timed_out=True)], [])
            because = wording.because(got.facts, stem, run.name, got.zones)
            held = HeldBack(
                stem, pkg.fmri, newest.fmri, because, tuple(got.facts), tuple(got.fixes), got.zones
            )
            self._done[stem] = held
            out.append(held)
        self._done = {}
        self._alone = set()
        return tuple(sorted(out, key=lambda h: h.stem))

    def _alone_feasible(
        self, run: ImageRun, parent: ParentView | None, newest: Sequence[Package]
    ) -> set[int]:
        """The newest versions a zone could have together, whatever the
        global zone had (one solver call for all of them, usually): those
        that are held back by the global zone's plan."""
        if parent is None or parent.hypothetical or not parent.held:
            return set()
        candidates = run.cls.shared.candidates
        tops = [run.x(p) for p in newest if any(p is c for c in candidates.get(p.stem, ()))]
        if tops and run.cls.solver.solve([*run.assumed.lits, *tops]):
            return set(tops)
        return {t for t in tops if run.cls.solver.solve([*run.assumed.lits, t])}

    def _held(
        self,
        run: ImageRun,
        stem: str,
        newest: Package,
        opt: Optimizer,
        parent: ParentView | None,
        assumed: list[tuple[dict[int, Origin], list[int]]],
    ) -> Explained:
        problem = run.problem
        is_candidate = any(newest is c for c in run.cls.shared.candidates.get(stem, ()))
        why = problem.why_excluded(newest) if is_candidate else problem.reason_any(newest)
        top = run.x(newest) if is_candidate else None
        if why is not None:  # the newest version is off limits here: that is the binding rule
            step = wording.Step.excluded(run.name, newest, why)
            fixes = fixes_.checked(self, run, parent, None, [step], top)
            return Explained([wording.fact(step, run.name)], fixes)
        assert top is not None
        core = opt.blocking_core(top)
        if core is None:
            if run.cls.solver.solve([*opt.assumptions, top]):
                return Explained([wording.unnarrowed(run.name)], [])
            core = run.cls.solver.core()
        held = self._held_by_parent(run, stem, top, opt, parent, core)
        if held is not None:
            return held
        if not assumed:
            assumed.append(self._assumptions(run, parent))
        return self._held_by_core(run, stem, top, opt, parent, core, *assumed[0])

    def _held_by_parent(
        self,
        run: ImageRun,
        stem: str,
        top: int,
        opt: Optimizer,
        parent: ParentView | None,
        core: Sequence[int],
    ) -> Explained | None:
        """A zone's package held back because it follows a package the global
        zone holds back (the same stem, or the incorporation that pins it):
        the global zone's reason is the real one, its facts and fixes. Checked
        with one solver call: without the global zone's plan, the zone could
        have the newer version."""
        if parent is None or parent.hypothetical or not parent.held:
            return None
        theirs = set(parent.lits)
        keys = run.cls.formula.keys
        blamed = [k.fmri.stem for lit in core if lit in theirs and isinstance(k := keys[abs(lit)], ParentVar)]
        held = sorted({s for s in blamed if s in parent.held}, key=lambda s: (s != stem, s))
        if not held or top not in self._alone:
            return None  # held back here whatever the global zone has
        gz = parent.held[held[0]]
        return Explained([*gz.facts, wording.parent_held(run.name, stem, gz)], list(gz.fixes), gz.zones)

    def _held_by_core(
        self,
        run: ImageRun,
        stem: str,
        top: int,
        opt: Optimizer,
        parent: ParentView | None,
        core: Sequence[int],
        candidates: dict[int, Origin],
        fixed: list[int],
    ) -> Explained:
        """The conflict behind a ladder's failed top: from the optimiser's
        core, memoised per (class, stem, top) across the class's images."""
        own = set(run.cls.enc.versions(stem))
        base = set(candidates) | set(fixed)
        # earlier decisions are candidates too, but none about this stem (trivial)
        decisions = [lit for lit in opt.assumptions if lit not in base and abs(lit) not in own]
        decided = set(decisions)
        fixed = [*fixed, top]
        finder = run.cls.finder()
        core = _smaller_core(run, core, top)
        seeds = {s for lit in core for s in finder.stems_of_lit(lit, candidates.get(lit))}
        memo = self._held_memo.setdefault((id(run.cls), stem, top), [])

        def origin_of(lit: int) -> Origin | None:
            if lit in candidates:
                return candidates[lit]
            return self._decision(run, lit) if lit in decided else None

        for saved in memo:
            conflict = reuse(finder, saved, origin_of, fixed)
            if conflict is not None:
                return self._report(run, parent, conflict, top)
        conflict = finder.search(
            candidates, fixed, seeds | {stem}, {stem}, decisions, lambda lit: self._decision(run, lit)
        )
        if conflict is None:
            return Explained([wording.unnarrowed(run.name, core=candidates.values())], [])
        memo.append(template(conflict))
        return self._report(run, parent, conflict, top)

    def _decision(self, run: ImageRun, lit: int) -> Origin:
        """An earlier decision of the objective, as a step's origin."""
        if isinstance(run.cls.formula.keys[abs(lit)], PackageVar):
            pkg = run.cls.enc.packages[abs(lit) - 1]
            return Origin(Rule.DECISION, run.name, pkg, stems=(pkg.stem,))
        return Origin(Rule.DECISION, run.name)


def _smaller_core(run: ImageRun, core: Sequence[int], top: int) -> list[int]:
    """The optimiser's core, shrunk by solving again on it (twice at most):
    fewer packages to search around."""
    lits = [lit for lit in core if lit != top]
    for _ in range(2):
        if run.cls.solver.solve([*lits, top]):
            break  # cannot happen: a core stays unsatisfiable
        smaller = [lit for lit in run.cls.solver.core() if lit != top]
        if len(smaller) >= len(lits):
            break
        lits = smaller
    return lits


def ordered(steps: Iterable[wording.Step]) -> list[wording.Step]:
    """Binding constraints first (in BINDING_ORDER), then the dependency
    chain from the binding end back to the request, the request last."""
    steps = list(steps)
    rank = {rule: i for i, rule in enumerate(BINDING_ORDER)}
    depth = _depths(steps)

    def key(step: wording.Step) -> tuple[int, int, str]:
        if step.rule in REQUEST_RULES:
            return (2, 0, step.sort_text)
        if step.rule in rank:
            return (0, rank[step.rule], step.sort_text)
        return (1, -depth.get(step.stem, 0), step.sort_text)

    return sorted(steps, key=key)


def _depths(steps: Sequence[wording.Step]) -> dict[str, int]:
    """How far each dependency step's package is from the request's stems."""
    depth = {s.stem: 0 for s in steps if s.rule in REQUEST_RULES}
    edges = [(s.stem, s.targets) for s in steps if s.rule in CHAIN_RULES]
    for _ in range(len(edges)):
        changed = False
        for stem, targets in edges:
            if stem not in depth:
                continue
            for target in targets:
                if depth.get(target, len(edges) + 1) > depth[stem] + 1:
                    depth[target] = depth[stem] + 1
                    changed = True
        if not changed:
            break
    return {stem: depth.get(stem, 0) for stem in {s.stem for s in steps}}


def _binding_first(facts: Sequence[Fact]) -> list[Fact]:
    """Facts of binding rules before the chain and the request (stable)."""
    binding = {r.value for r in BINDING_ORDER}
    unique = _unique(facts)
    return [f for f in unique if f.rule in binding] + [f for f in unique if f.rule not in binding]


def _unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))
