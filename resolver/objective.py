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
5. ties fall to the order above: when several sets of changes are equally
   small, 3 keeps earlier stems (by name) unchanged first.

Auxiliary clauses of the search (cardinality counters, "one of these"
selectors) are the image's own: they are guarded by an activation literal
assumed in every call and retired by ``close``, and their variables are
numbered again for the next image (``Formula.open_scratch``), so a class's
solver is as large after its last image as after its first.

Each decision becomes an assumption for the next, so the result is optimal
for the order of criteria, not a local optimum. Every stage's answer is
defined by the formula and the decisions alone (a lexicographic optimum), so
a plan never depends on what a shared solver learned from other images, nor
on the order images are solved in. The stages certify their answers in bulk
(one call confirms many ladders at their top, or many literals forced), so
an image costs a few solver calls, not one or two per package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pysat.card import ITotalizer

from resolver.sat import Formula, Origin, SatSolver

#: Given a model (``model[v - 1]`` is v or -v), clauses that rule it out, or [] if it is fine.
Oracle = Callable[[list[int]], list[tuple[list[int], Origin]]]


class Unsatisfiable(Exception):
    """The image's own assumptions (before any preference) have no model: no
    plan exists. Its own class, so that no other error (a KeyError is a
    LookupError) can pass for it."""


class DeadLiterals:
    """Literals false in every model of the formula itself, whatever an image
    assumes: newest versions that need something no source has, and the like.
    Shared by the images of a class, so each is found once, not once per
    image (and one solver call each, as the greedy would otherwise find them:
    a failed call names one false assumption at a time).

    A literal is dead if propagation from it alone conflicts (this covers
    literals false at the root, which the solver's propagation does not
    report), or a solve assuming it fails with a core of that literal alone;
    then its negation is added to the solver as a unit (it is implied)."""

    def __init__(self, solver: SatSolver) -> None:
        self.solver = solver
        self._known: dict[int, bool] = {}

    def __call__(self, lit: int) -> bool:
        got = self._known.get(lit)
        if got is None:
            got = self._known[lit] = self.solver.refutes(lit)
        return got

    def known(self, lit: int) -> bool:
        """Known to be dead already (no check made)."""
        return self._known.get(lit, False)

    def learn(self, lit: int) -> None:
        """``lit`` failed with a core of itself alone."""
        if not self._known.get(lit):
            self._known[lit] = True
            self.solver.add([-lit])


@dataclass
class Optimizer:
    """Drives one solver through the stages, keeping decisions as assumptions."""

    formula: Formula
    solver: SatSolver
    oracle: Oracle | None = None
    assumptions: list[int] = field(default_factory=list)
    #: the class's dead literals (None: not tracked)
    dead: DeadLiterals | None = None
    #: the last model found; always a model of ``assumptions`` (decisions are
    #: only ever taken from it), so a literal true in it is not forced false
    model: list[int] = field(default_factory=list)
    #: for each ladder that could not reach its top: the core of that attempt
    blocked: dict[int, list[int]] = field(default_factory=dict)
    #: tops confirmed in bulk (no core of their own): how many decisions there were
    _failed_at: dict[int, int] = field(default_factory=dict)
    _implied_cache: set[int] | None = None
    #: the activation literal of this search's auxiliary clauses, once there are any
    _active: int | None = None
    #: the solver's revision when ``model`` was found
    _revision: tuple[int, int] = (-1, -1)

    def feasible(self, extra: Sequence[int] = ()) -> bool:
        """Satisfiable with the decisions so far plus ``extra``? Keeps the model.
        Models the oracle rejects are cut off and the solve repeated. The
        current model answers without a call when it has every literal of
        ``extra`` and no clause came since it was found (it is a model of
        the decisions so far, which only ever grow by literals it has)."""
        fresh = self.model and self._revision == self.solver.revision
        if fresh and all(self._holds(lit, self.model) for lit in extra):
            return True
        while True:
            if not self.solver.solve([*self.assumptions, *extra]):
                return False
            model = self.solver.model()
            cuts = self.oracle(model) if self.oracle else []
            if not cuts:
                self.model = model
                self._revision = self.solver.revision
                return True
            for clause, origin in cuts:
                if any(self._holds(lit, model) for lit in clause):
                    raise AssertionError(f"a zone cut does not exclude the model it answers: {origin.cut}")
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

    def implied(self) -> set[int]:
        """Literals propagation derives from the decisions so far."""
        return self._implied()

    def implied_with(self, extra: Sequence[int]) -> set[int] | None:
        """Literals propagation derives from the decisions and ``extra``; None on a conflict."""
        return self.solver.implied([*self.assumptions, *extra])

    def decide(self, lits: Sequence[int]) -> None:
        """Fix ``lits`` as decisions (the caller checked they hold together,
        and ``model`` has them)."""
        self.assumptions.extend(lits)
        self._implied_cache = None

    def note_dead(self, lit: int) -> None:
        """``lit`` is dead (false in every model): its reason is found on its own."""
        self._failed_at.setdefault(lit, 0)

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

        1. every top is assumed at once; a model means the greedy gives each
           ladder its top (each is feasible with everything before it);
        2. else some top is *failed*: infeasible with the decisions so far
           alone, and so after any later decision too. Tops in ``suspects``
           (failed in similar images) are confirmed together: no model with any
           of them (one call); a model that has one clears it. The other tops
           are assumed at once again; a core naming one top alone adds it to
           the failed ones;
        3. that model's rungs of the failed ladders are their greedy rungs if no
           model of the decisions so far has any of them higher (one call).

        When a step cannot conclude (a core naming two tops, or a failed ladder
        that could climb), the ladders go one by one as before. Returns the
        failed tops, for the caller's ``suspects``."""
        implied = self._implied()
        live = [[lit for lit in ladder if -lit not in implied] for ladder in ladders]
        if self.dead is not None:
            for rungs in live:
                while rungs and self.dead(rungs[-1]):
                    self._failed_at[rungs.pop()] = 0  # explained on its own
        tops = {i: rungs[-1] for i, rungs in enumerate(live) if rungs}
        if not tops and self.model:  # nothing can be true: the decisions are known to hold
            for ladder in ladders:
                self._fix(ladder, -1)
            return set()
        failed: set[int] = set()
        suspected = [top for top in tops.values() if top in suspects and not self.value(top)]
        while not self.feasible([top for i, top in tops.items() if i not in failed]):
            core = set(self.solver.core())
            hit = [i for i in tops if i not in failed and tops[i] in core]
            if not hit:
                raise Unsatisfiable("the decisions so far are unsatisfiable")
            if suspected:  # some top fails: try the usual suspects first
                never = self._never_true(suspected)
                failed |= {i for i, top in tops.items() if top in never}
                self._failed_at.update(dict.fromkeys(never, len(self.assumptions)))
                suspected = []
            elif len(hit) == 1:
                failed.add(hit[0])
                self.blocked[tops[hit[0]]] = sorted(core)
                if self.dead is not None and core == {tops[hit[0]]}:
                    self.dead.learn(tops[hit[0]])
            else:
                return self._one_by_one(ladders, failed, tops)
        above = [lit for i in sorted(failed) for lit in live[i][self._rung(live[i]) + 1 : -1]]
        if above and self._any_feasible(above):
            return self._one_by_one(ladders, failed, tops)
        for ladder in ladders:
            self._fix(ladder, self._rung(ladder))
        return {tops[i] for i in failed}

    def _any_feasible(self, lits: Sequence[int]) -> bool:
        """Is some model of the decisions so far one with at least one of ``lits``?
        (The selector's clause is harmless once not assumed, and goes with ``close``.)"""
        selector = self._scratch()
        self._add_scratch([-selector, *lits])
        return self.feasible([selector])

    # -- auxiliary clauses: this search's own ---------------------------------------------

    def _scratch(self, count: int = 1) -> int:
        """The first of ``count`` scratch variables (opening the region, and
        making the activation literal, on first use)."""
        if self._active is None:
            self._active = self.formula.fresh()  # lasting: it is retired, never reused
            self.assumptions.append(self._active)
            self.formula.open_scratch()
        return self.formula.scratch(count)

    def _add_scratch(self, clause: list[int]) -> None:
        assert self._active is not None
        self.solver.add([*clause, -self._active])

    def close(self) -> None:
        """Retire this search's auxiliary clauses (call when done with it,
        explanations included); the next image reuses their variables."""
        if self._active is not None:
            self.solver.add([-self._active])
            self.formula.close_scratch()
            self._active = None

    def _one_by_one(
        self, ladders: Sequence[Sequence[int]], failed: set[int], tops: dict[int, int]
    ) -> set[int]:
        for i, ladder in enumerate(ladders):
            self.maximize(ladder, known_failed=i in failed)
        return {tops[i] for i in failed}

    def blocking_core(self, top: int) -> list[int] | None:
        """Why ``top`` could not be reached: the core recorded when it failed,
        or, for a top confirmed in bulk, the core of a solve made now with
        the decisions of that moment (for explanations only)."""
        if top in self.blocked:
            return self.blocked[top]
        count = self._failed_at.get(top)
        if count is None or self.solver.solve([*self.assumptions[:count], top]):
            return None
        self.blocked[top] = self.solver.core()
        return self.blocked[top]

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
            if not higher or not self._any_feasible(higher):
                break
            current = self._rung(ladder)
        return current

    def satisfy_most(
        self,
        wanted: Sequence[int],
        suspects: set[int] | None = None,
        entailed: Callable[[set[int]], set[int]] | None = None,
    ) -> set[int]:
        """Make as many ``wanted`` literals true as possible; fix that optimum.
        Returns those that had to be false.

        1. Forced literals, false in every solution: those propagation rules
           out, and those ``entailed`` (the caller's domain knowledge) derives
           from what propagation gives; those false in the current model (or, before there is one,
           ``suspects``: forced in similar images) that no model can make true,
           confirmed together (as in ``maximize_all``); and those a core names
           alone during the search;
        2. core-guided linear search for the fewest false among the rest: a
           larger core makes its literals relaxable, counted by a totalizer
           whose bound rises only when a core holds no new literal;
        3. when some must be false, which ones is canonical, not whatever the
           search met first: earlier literals of ``wanted`` are kept true first
           (``_keep_first``). The answer depends on the formula and the
           decisions alone, never on what the solver learned before."""
        if not wanted:
            return set()
        self._implied_cache = None
        implied = self._implied()
        forced = {w for w in wanted if -w in implied}
        if entailed is not None:
            forced |= entailed(implied) & set(wanted)
        rest = [w for w in wanted if w not in forced]
        if self.feasible([*(-w for w in forced), *rest]):  # the common case: nothing more to give up
            self.assumptions.extend([*(-w for w in forced), *rest])
            return forced
        # Those false in the current model (a model of the decisions so far)
        # are likely forced: confirm them together. Without a model yet, the
        # suspects (forced in similar images) are the guess.
        self.solver.prefer(rest)  # models that keep the most of them: fewer rounds below
        if self.model:
            maybe = [w for w in rest if not self.value(w)]
        else:
            maybe = [w for w in rest if suspects and w in suspects]
        forced |= self._never_true(maybe)
        self.assumptions.extend(-w for w in wanted if w in forced)
        rest = [w for w in wanted if w not in forced]
        bound = self._fewest_false(rest, forced)
        rest = [w for w in rest if w not in forced]
        if not bound:
            self.assumptions.extend(rest)
            return forced
        return forced | self._keep_first(rest, bound)

    def _never_true(self, maybe: list[int]) -> set[int]:
        """Those of ``maybe`` that no model of the decisions so far makes true,
        confirmed together by one call. A model that makes some true clears
        them; after a few such models the rest are left to the caller."""
        for _ in range(3):
            if not maybe:
                break
            if not self._any_feasible(maybe):
                return set(maybe)
            maybe = [lit for lit in maybe if not self.value(lit)]
        return set()

    def _fewest_false(self, rest: list[int], forced: set[int]) -> int:
        """The fewest of ``rest`` that must be false (stage 2 of satisfy_most).
        Literals a core names alone move to ``forced`` (and are fixed false)."""
        relaxed: list[int] = []
        bound = 0
        totalizer: ITotalizer | None = None
        while True:
            relaxed_set = set(relaxed)
            held = [w for w in rest if w not in relaxed_set and w not in forced]
            limit = [-totalizer.rhs[bound]] if totalizer and bound < len(relaxed) else []
            if self.feasible([*held, *limit]):
                return bound
            core = set(self.solver.core())
            fresh = [w for w in held if w in core]
            if len(fresh) == 1 and not (set(limit) & core):
                self.assumptions.append(-fresh[0])  # false in every solution
                forced.add(fresh[0])
            elif fresh:
                relaxed.extend(fresh)
                totalizer = self._totalizer([-w for w in relaxed], len(relaxed))
            else:
                bound += 1
                if bound > len(relaxed):
                    raise AssertionError("the decisions so far became unsatisfiable")

    def _keep_first(self, rest: list[int], bound: int) -> set[int]:
        """Fix the canonical optimum: exactly ``bound`` of ``rest`` false, and
        each literal true if it can be, given the ones before it (the
        lexicographic choice). The longest prefix that can all be true is
        found core-guided; the literal after it must be false."""
        totalizer = self._totalizer([-w for w in rest], bound)
        fixed = [-totalizer.rhs[bound]]  # at most ``bound`` false
        false: set[int] = set()
        i = 0
        while i < len(rest):
            if len(false) == bound:
                fixed.extend(rest[i:])
                break
            fits = self._longest_prefix(rest[i:], fixed)
            fixed.extend(rest[i : i + fits])
            i += fits
            if i < len(rest):
                fixed.append(-rest[i])
                false.add(rest[i])
                i += 1
        if not self.feasible(fixed):
            raise AssertionError("the canonical choice became unsatisfiable")
        self.assumptions.extend(fixed)
        return false

    def _longest_prefix(self, lits: list[int], fixed: list[int]) -> int:
        """The largest k such that lits[:k] can all be true with ``fixed``. When
        lits[:hi] cannot, the last of them in the core ends every longer
        prefix, so the next try stops before it."""
        hi = len(lits)
        while not self.feasible([*fixed, *lits[:hi]]):
            core = set(self.solver.core())
            in_core = [j for j in range(hi) if lits[j] in core]
            if not in_core:
                raise AssertionError("the decisions so far became unsatisfiable")
            hi = in_core[-1]
        return hi

    def _totalizer(self, lits: list[int], ubound: int) -> ITotalizer:
        """Counts how many of ``lits`` are true, up to ``ubound``: ``rhs[k]`` is
        implied when more than k are. Scratch: it goes with ``close``."""
        base = self._scratch(0) - 1
        tot = ITotalizer(lits=lits, ubound=ubound, top_id=base)
        self.formula.scratch(tot.top_id - base)
        for clause in tot.cnf.clauses:
            self._add_scratch(clause)
        return tot
