"""One image's formula, its optimisation, and the selection it yields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from resolver.catalog import Catalog
from resolver.encode.context import PARENT, ImageEncoding
from resolver.encode.deps import encode_dependencies
from resolver.encode.goals import encode_goals
from resolver.encode.zones import encode_parent_dependencies, encode_svr4_zone
from resolver.explain import ConflictFinder, facts_from_conflict
from resolver.fmri import Fmri
from resolver.model import Brand, DepType, Package
from resolver.objective import Optimizer, Oracle
from resolver.plan import HeldBack
from resolver.problem import ImageProblem
from resolver.sat import Formula, Origin, SatSolver

#: dependency types through which a package keeps a renamed one installed
_NEEDS = frozenset(
    {DepType.REQUIRE, DepType.REQUIRE_ANY, DepType.CONDITIONAL, DepType.GROUP, DepType.GROUP_ANY}
)


@dataclass
class Selection:
    """The packages an image ends up with, before and after post-processing."""

    chosen: dict[str, Package]  # what the solver picked (obsolete and renamed included)
    final: dict[str, Package]  # installed after the plan
    held_back: tuple[HeldBack, ...] = ()


class ImageSolve:
    """Encode one image (with its zone rules) and optimise its plan."""

    def __init__(
        self,
        problem: ImageProblem,
        catalog: Catalog,
        parent: str | None,
        parent_candidates: Mapping[str, Sequence[Package]],
        deadline: float | None = None,
    ) -> None:
        self.problem = problem
        self.catalog = catalog
        self.formula = Formula()
        image = problem.image
        linked = image.linked or image.brand is Brand.NATIVE
        self.enc = ImageEncoding(problem, self.formula, parent if linked else None)
        encode_goals(self.enc)
        encode_dependencies(self.enc)
        if image.linked:
            encode_parent_dependencies(self.enc)
        if image.brand is Brand.NATIVE and parent is not None:
            encode_svr4_zone(self.enc, parent_candidates)
        self.interface = [
            (key[2], var)
            for key, var in self.formula.var_of.items()
            if isinstance(key, tuple) and key[0] == PARENT
        ]
        self.solver = SatSolver(self.formula, deadline)
        self.solver.set_phases(self._phases())
        self.deadline = deadline

    # -- interface with the parent ------------------------------------------------

    def parent_assumptions(self, parent_set: set[Fmri]) -> list[int]:
        """Values of the parent literals for a fixed global-zone plan."""
        return [var if fmri in parent_set else -var for fmri, var in self.interface]

    def parent_origins(self, parent_set: set[Fmri], parent: str) -> dict[int, Origin]:
        out: dict[int, Origin] = {}
        for fmri, var in self.interface:
            if fmri in parent_set:
                out[var] = Origin("parent-plan", parent, f"the global zone's plan has {fmri.short()}")
            else:
                out[-var] = Origin("parent-plan", parent, f"the global zone's plan has no {fmri}")
        return out

    # -- optimisation ---------------------------------------------------------------

    def _phases(self) -> list[int]:
        problem, x = self.problem, self.enc.x
        phases: list[int] = []
        requested = self.requested()
        for stem, versions in problem.candidates.items():
            if not versions:
                continue
            ranked = problem.rank_order(stem)
            if stem in requested:
                best = ranked[-1]
            else:
                best = problem.installed.get(stem)  # type: ignore[assignment]
            phases.extend(x(p) if p is best else -x(p) for p in versions)
        return phases

    def requested(self) -> set[str]:
        problem = self.problem
        if problem.request.update_all:
            return {s for s in problem.installed if s not in problem.removals}
        return set(problem.request.proposed)

    def feasible(self, base: Sequence[int], oracle: Oracle | None = None) -> bool:
        return Optimizer(self.formula, self.solver, oracle, list(base)).feasible()

    def optimise(self, base: Sequence[int], oracle: Oracle | None = None) -> tuple[Selection, Optimizer]:
        """Run the objective's stages; the result is optimal for them."""
        opt = Optimizer(self.formula, self.solver, oracle, list(base))
        if not opt.feasible():
            raise LookupError("infeasible")
        problem, x = self.problem, self.enc.x
        requested = self.requested()
        ladders = {s: [x(p) for p in problem.rank_order(s)] for s in problem.candidates}
        for stem in self._priority(requested):
            opt.maximize(ladders[stem])
        self._least_change(opt, requested)
        moved = [s for s in self._priority(set(problem.candidates) - requested) if self._moved(opt, s)]
        for stem in moved:
            opt.maximize(ladders[stem])
        chosen = self._chosen(opt.model)
        return Selection(chosen, self._post_process(chosen)), opt

    def _least_change(self, opt: Optimizer, requested: set[str]) -> None:
        problem, x = self.problem, self.enc.x
        others = [s for s in sorted(problem.installed) if s not in requested and s not in problem.removals]
        kept_installed = []
        for stem in others:
            live = [x(p) for p in problem.candidates.get(stem, ()) if not p.obsolete]
            if live:
                keep = self.formula.fresh()
                self.solver.add([-keep, *live])
                kept_installed.append(keep)
        opt.satisfy_most(kept_installed)
        unchanged = [x(problem.installed[s]) for s in others if _is_candidate(problem, problem.installed[s])]
        opt.satisfy_most(unchanged)
        absent = []
        for stem in sorted(problem.candidates):
            if stem in problem.installed or stem in requested:
                continue
            added = self.formula.fresh()
            for p in problem.candidates[stem]:
                if not p.obsolete:
                    self.solver.add([-x(p), added])
            absent.append(-added)
        opt.satisfy_most(absent)

    def _moved(self, opt: Optimizer, stem: str) -> bool:
        inst = self.problem.installed.get(stem)
        picked = [p for p in self.problem.candidates[stem] if self.enc.x(p) in opt.model]
        return bool(picked) and (inst is None or picked[0] is not inst)

    def _priority(self, stems: set[str]) -> list[str]:
        """Incorporations first, outermost first; then by name."""
        depth: dict[str, int] = {}

        def level(stem: str, trail: frozenset[str]) -> int:
            if stem in depth:
                return depth[stem]
            inner = {
                d.fmri.stem
                for p in self.problem.candidates.get(stem, ())
                for d in self.problem.deps(p)
                if d.type is DepType.INCORPORATE
            }
            if not inner:
                depth[stem] = 0
                return 0
            depth[stem] = 1 + max((level(s, trail | {stem}) for s in inner - trail), default=0)
            return depth[stem]

        return sorted(stems, key=lambda s: (-level(s, frozenset()), s))

    # -- results ---------------------------------------------------------------------

    def _chosen(self, model: set[int]) -> dict[str, Package]:
        x = self.enc.x
        return {
            stem: p
            for stem, versions in self.problem.candidates.items()
            for p in versions
            if x(p) in model
        }

    def _post_process(self, chosen: dict[str, Package]) -> dict[str, Package]:
        """Drop obsolete packages, and renamed ones nothing needs (ips-semantics 6.1, 7.6)."""
        live = {s: p for s, p in chosen.items() if not p.obsolete}
        needed: set[str] = set()
        changed = True
        while changed:
            changed = False
            for stem, pkg in live.items():
                if pkg.renamed and stem not in needed:
                    continue
                for dep in self.problem.deps(pkg):
                    if dep.type in _NEEDS:
                        for f in dep.fmris:
                            if f.stem not in needed and f.stem in live and live[f.stem].renamed:
                                needed.add(f.stem)
                                changed = True
        return {s: p for s, p in live.items() if not p.renamed or s in needed}

    def held_back(self, selection: Selection, opt: Optimizer, explain: bool) -> tuple[HeldBack, ...]:
        """Requested packages left below the newest version the image can see."""
        out = []
        for stem in sorted(self.requested()):
            pkg = selection.final.get(stem)
            newest = self._newest_visible(stem)
            if pkg is None or newest is None or newest.fmri.version <= pkg.fmri.version:  # type: ignore[operator]
                continue
            because = self._because(stem, newest, opt) if explain else "held back"
            out.append(HeldBack(stem, pkg.fmri, newest.fmri, because))
        return tuple(out)

    def _newest_visible(self, stem: str) -> Package | None:
        problem = self.problem
        pool = [*problem.candidates.get(stem, ()), *(p for p, _ in problem.excluded.get(stem, ()))]
        pool = [p for p in pool if not p.obsolete and not problem.filter.package_mismatch(p)]
        return max(pool, key=lambda p: p.fmri.version.key, default=None)  # type: ignore[union-attr]

    def _because(self, stem: str, newest: Package, opt: Optimizer) -> str:
        for pkg, why in self.problem.excluded.get(stem, ()):
            if pkg is newest:
                return f"{newest.fmri.short()}: {why}"
        ladder_top = self.enc.x(self.problem.rank_order(stem)[-1])
        core = opt.blocked.get(ladder_top)
        if not core:
            return "newer versions conflict with the rest of the plan"
        return self._core_reason(stem, newest, core)

    def _core_reason(self, stem: str, newest: Package, core: list[int]) -> str:
        keys = self.formula.keys
        assumptions: dict[int, Origin] = {}
        for lit in core:
            key = keys[abs(lit)]
            if isinstance(key, tuple) and key and isinstance(key[-1], Fmri):
                what = key[-1].short() if lit > 0 else f"no {key[-1].short()}"
                where = "the global zone" if key[0] == PARENT else self.problem.image.name
                rule = "wanted" if key[-1].stem == stem else "decided"
                assumptions[lit] = Origin(rule, self.problem.image.name, f"{where} has {what}")
        seeds = {stem} | {k[-1].stem for lit in core if isinstance(k := keys[abs(lit)], tuple) and k and isinstance(k[-1], Fmri)}
        finder = ConflictFinder(self.formula, self.deadline)
        origins = finder.minimal(assumptions, seeds)
        if not origins:
            return "newer versions conflict with the rest of the plan"
        facts = facts_from_conflict(
            [o for o in origins if o.rule != "wanted"], {self.problem.image.name: self.problem}, limit=1
        )
        return "; ".join(f.text for f in facts if f.rule not in ("one-version",)) or "conflict"


def _is_candidate(problem: ImageProblem, pkg: Package) -> bool:
    return any(p is pkg for p in problem.candidates.get(pkg.stem, ()))
