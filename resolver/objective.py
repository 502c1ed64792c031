"""Preferences: the lexicographic objective of docs/interfaces.md, solved to
optimality with one incremental SAT solver and assumptions.

1. hard rules hold (the formula);
2. requested packages as new as possible, one stem at a time in priority
   order (incorporations first, outermost first, then by name): each stem gets
   the newest version that every earlier decision allows, so no requested
   package could be newer without an earlier one being older;
3. packages not requested change as little as possible: fewest removed, then
   fewest changed, then fewest newly installed (each an exact minimum found
   by core-guided linear search over a totalizer);
4. packages that moved or were added are as new as possible (as in 2), and
   so are the alternatives of require-any and group-any dependencies (ties go
   to the first stem); repeated until no stem is newly added;
5. ties fall to the order above and to a canonical formula, so the same
   input always gives the same plan. (Known limit: when several sets of
   changed packages are equally small, which one 3 picks can depend on what
   the shared solver learned from earlier images of its class.)

Each decision becomes an assumption for the next, so the result is optimal
for the order of criteria, not a local optimum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pysat.card import ITotalizer

from resolver.sat import Formula, Origin, SatSolver

#: Given a model (``model[v - 1]`` is v or -v), clauses that rule it out, or [] if it is fine.
Oracle = Callable[[list[int]], list[tuple[list[int], Origin]]]


@dataclass
class Optimizer:
    """Drives one solver through the stages, keeping decisions as assumptions."""

    formula: Formula
    solver: SatSolver
    oracle: Oracle | None = None
    assumptions: list[int] = field(default_factory=list)
    model: list[int] = field(default_factory=list)
    #: for each ladder that could not reach its top: the core of that attempt
    blocked: dict[int, list[int]] = field(default_factory=dict)
    _implied_cache: set[int] | None = None

    def feasible(self, extra: Sequence[int] = ()) -> bool:
        """Satisfiable with the decisions so far plus ``extra``? Keeps the model.
        Models the oracle rejects are cut off and the solve repeated."""
        while True:
            if not self.solver.solve([*self.assumptions, *extra]):
                return False
            model = self.solver.model()
            cuts = self.oracle(model) if self.oracle else []
            if not cuts:
                self.model = model
                return True
            for clause, origin in cuts:
                if any(self._holds(lit, model) for lit in clause):
                    raise AssertionError(f"a zone cut does not exclude the model it answers: {origin.text}")
                self.formula.add(clause, origin)
            if any(not clause for clause, _ in cuts):
                return False  # some zone cannot follow any plan

    @staticmethod
    def _holds(lit: int, model: list[int]) -> bool:
        v = abs(lit)
        return v <= len(model) and (model[v - 1] > 0) == (lit > 0)

    def value(self, lit: int) -> bool:
        """The literal's value in the current model (unknown variables are false)."""
        return self._holds(lit, self.model)

    def refresh(self) -> None:
        """Recompute what the decisions imply (after decisions that pin much,
        such as incorporations); until then a stale, smaller set is used."""
        self._implied_cache = None

    def _implied(self) -> set[int]:
        """Literals the decisions so far imply (a subset, as decisions only grow)."""
        if self._implied_cache is None:
            self._implied_cache = self.solver.implied(self.assumptions) or set()
        return self._implied_cache

    def maximize(self, ladder: Sequence[int], known_failed: bool = False) -> int:
        """Make the highest possible rung of ``ladder`` (literals, least preferred
        first) true, given the decisions so far; fix it. Returns its index, or
        -1 when no rung can be true (then all are fixed false)."""
        if not ladder:
            return -1
        top = len(ladder) - 1
        current = self._rung(ladder)
        if current != top:
            if known_failed or -ladder[top] in self._implied():
                current = self._climb(ladder, current)
            elif self.feasible([ladder[top]]):
                current = top
            else:
                self.blocked[ladder[top]] = self.solver.core()
                current = self._climb(ladder, current)
        self._fix(ladder, current)
        return current

    def maximize_all(self, ladders: Sequence[Sequence[int]], suspects: set[int]) -> set[int]:
        """``maximize`` on each ladder in turn (priority order), with the same
        result, in a few solver calls instead of one or two per ladder.

        The result of the greedy is the lexicographic maximum of the rungs, and
        it can be certified in bulk:

        1. a top rung is *failed* when it is infeasible with the decisions so far
           alone; then it is infeasible after any later decision too. Tops in
           ``suspects`` (failed in similar images) are confirmed together: no
           model with any of them (one call); a model that has one clears it;
        2. every other top is assumed at once; a core naming one top alone adds
           it to the failed ones; a model means the greedy gives all of them
           their top (each is feasible with everything before it);
        3. that model's rungs of the failed ladders are their greedy rungs if no
           model of the decisions so far has any of them higher (one call).

        When a step cannot conclude (a core naming two tops, or a failed ladder
        that could climb), the ladders go one by one as before. Returns the
        failed tops, for the caller's ``suspects``."""
        implied = self._implied()
        live = [[lit for lit in ladder if -lit not in implied] for ladder in ladders]
        tops = {i: rungs[-1] for i, rungs in enumerate(live) if rungs}
        failed = self._confirm_failed([i for i, top in tops.items() if top in suspects], tops)
        while True:
            trial = [top for i, top in tops.items() if i not in failed]
            if self.feasible(trial):
                break
            core = set(self.solver.core())
            hit = [i for i in tops if i not in failed and tops[i] in core]
            if len(hit) != 1:
                if not hit:
                    raise LookupError("the decisions so far are unsatisfiable")
                return self._one_by_one(ladders, failed, tops)
            failed.add(hit[0])
            self.blocked[tops[hit[0]]] = sorted(core)
        above = [lit for i in sorted(failed) for lit in live[i][self._rung(live[i]) + 1 : -1]]
        if above and self._any_feasible(above):
            return self._one_by_one(ladders, failed, tops)
        for ladder in ladders:
            self._fix(ladder, self._rung(ladder))
        return {tops[i] for i in failed}

    def _confirm_failed(self, maybe: list[int], tops: dict[int, int]) -> set[int]:
        """Those of ``maybe`` whose top no model of the decisions so far has."""
        while maybe:
            if not self._any_feasible([tops[i] for i in maybe]):
                return set(maybe)
            maybe = [i for i in maybe if not self.value(tops[i])]
        return set()

    def _any_feasible(self, lits: Sequence[int]) -> bool:
        """Is some model of the decisions so far one with at least one of ``lits``?"""
        selector = self.formula.fresh()
        self.solver.add([-selector, *lits])
        try:
            return self.feasible([selector])
        finally:
            self.solver.add([-selector])

    def _one_by_one(
        self, ladders: Sequence[Sequence[int]], failed: set[int], tops: dict[int, int]
    ) -> set[int]:
        for i, ladder in enumerate(ladders):
            self.maximize(ladder, known_failed=i in failed)
        return {tops[i] for i in failed}

    def _fix(self, ladder: Sequence[int], current: int) -> None:
        if current < 0:
            self.assumptions.extend(-lit for lit in ladder)
        else:
            self.assumptions.append(ladder[current])

    def _rung(self, ladder: Sequence[int]) -> int:
        for i in range(len(ladder) - 1, -1, -1):
            if self.value(ladder[i]):
                return i
        return -1

    def _climb(self, ladder: Sequence[int], current: int) -> int:
        """Step up while some higher rung is reachable."""
        implied = self._implied()
        while current < len(ladder) - 2:
            higher = [lit for lit in ladder[current + 1 : -1] if -lit not in implied]
            if not higher:
                break
            selector = self.formula.fresh()
            self.solver.add([-selector, *higher])
            found = self.feasible([selector])
            self.solver.add([-selector])
            if not found:
                break
            current = self._rung(ladder)
        return current

    def satisfy_most(self, wanted: Sequence[int]) -> int:
        """Make as many ``wanted`` literals true as possible; fix that optimum.
        Returns how many had to be false.

        Core-guided linear search: a core of one wanted literal alone proves it
        false in every solution (fixed at once, as most forced changes are); a
        larger core makes its literals relaxable, counted by a totalizer whose
        bound rises only when a core holds no new literal."""
        self._implied_cache = None
        implied = self._implied()
        forced = [w for w in wanted if -w in implied]
        self.assumptions.extend(-w for w in forced)
        forced_set = set(forced)
        wanted = [w for w in wanted if w not in forced_set]
        relaxed: list[int] = []
        bound = 0
        totalizer: ITotalizer | None = None
        while True:
            relaxed_set = set(relaxed)
            held = [w for w in wanted if w not in relaxed_set]
            limit = [-totalizer.rhs[bound]] if totalizer and bound < len(relaxed) else []
            if self.feasible([*held, *limit]):
                self.assumptions.extend([*held, *limit])
                return len(forced) + bound
            core = set(self.solver.core())
            fresh = [w for w in held if w in core]
            if len(fresh) == 1 and not (set(limit) & core):
                self.assumptions.append(-fresh[0])  # false in every solution
                forced.append(fresh[0])
                wanted = [w for w in wanted if w != fresh[0]]
            elif fresh:
                relaxed.extend(fresh)
                totalizer = self._totalizer([-w for w in relaxed])
            else:
                bound += 1
                if bound > len(relaxed):
                    raise AssertionError("the decisions so far became unsatisfiable")

    def _totalizer(self, lits: list[int]) -> ITotalizer:
        tot = ITotalizer(lits=lits, ubound=len(lits), top_id=self.formula.nvars)
        self.formula.keys.extend([None] * (tot.top_id - self.formula.nvars))
        for clause in tot.cnf.clauses:
            self.solver.add(clause)
        return tot
