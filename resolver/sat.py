"""CNF with origins, and the SAT solver. The only module that imports pysat.

Every clause records its ``Origin``: the rule, the image, the package and the
dependency it encodes (data, no sentence: resolver.explain words it). A core
of clauses therefore reads back as packages and rules, never as numbers.
Keyed variables say what they mean too (resolver.reasons: ``PackageVar``,
``ParentVar``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from pysat.solvers import Solver

from resolver.errors import SolveTimeout
from resolver.model import Dependency, Package
from resolver.reasons import Reason, Rule, ZoneCut

#: MapleChrono: Minisat-family CDCL with chronological backtracking. Zones
#: are solved with thousands of assumptions each; after a conflict it does not
#: re-decide them all, which made zone solving about 25% faster than Glucose 4
#: (plans are identical with either: every objective stage is canonical).
SOLVER_NAME = "maplechrono"


@dataclass(slots=True, eq=False)  # not frozen: made thousands of times per image, and never changed
class Origin:
    """Where a group of clauses, or an assumption, comes from: the rule, the
    image ("" for the class's shared clauses), the package and dependency it
    encodes, and for an assumption excluding a version the ``Reason``; a
    zone's cut of a global-zone plan carries the zones and their core."""

    rule: Rule
    image: str = ""
    package: Package | None = None
    dep: Dependency | None = None
    #: stems the rule is about beyond the package and its dependency (the
    #: neighbourhood of an explanation's search)
    stems: tuple[str, ...] = ()
    reason: Reason | None = None
    cut: ZoneCut | None = None


@dataclass
class Formula:
    """Variables by key, and clauses each with its origin."""

    #: per variable, what it means (a PackageVar or ParentVar), None for auxiliaries
    keys: list[Hashable | None] = field(default_factory=lambda: [None])
    var_of: dict[Hashable, int] = field(default_factory=dict)
    clauses: list[list[int]] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    #: no new keyed variable after this (see ``seal``)
    sealed: bool = False
    #: the last scratch variable handed out, while a scratch region is open
    scratch_top: int | None = None

    def var(self, key: Hashable) -> int:
        """The variable for ``key``, created on first use (never once sealed)."""
        v = self.var_of.get(key)
        if v is None:
            if self.sealed:
                raise AssertionError(f"keyed variable {key!r} created after the formula was sealed")
            v = len(self.keys)
            self.var_of[key] = v
            self.keys.append(key)
        return v

    def seal(self) -> None:
        """Fix the keyed variables: from now on only ``fresh`` ones may be made.
        Keyed variables are what crosses process boundaries (resolver.workers):
        one created later, in a forked worker, would be numbered differently
        in each process."""
        self.sealed = True

    def fresh(self) -> int:
        """An auxiliary variable with no key, for good (a selector)."""
        if self.scratch_top is not None:
            raise AssertionError("a lasting variable was made while a scratch region was open")
        self.keys.append(None)
        return len(self.keys) - 1

    # -- scratch: variables of one image's search, numbered again for the next image

    def open_scratch(self) -> None:
        """Start handing out scratch variables, just above the lasting ones.
        Their clauses live in a solver only, guarded by an activation literal
        (resolver.objective), and when the region is closed the same numbers
        serve the next image: a class's solver does not grow with its images."""
        assert self.scratch_top is None, "one scratch region at a time"
        self.scratch_top = self.nvars

    def scratch(self, count: int = 1) -> int:
        """The first of ``count`` new scratch variables."""
        assert self.scratch_top is not None, "no scratch region is open"
        first = self.scratch_top + 1
        self.scratch_top += count
        return first

    def close_scratch(self) -> None:
        self.scratch_top = None

    @property
    def nvars(self) -> int:
        return len(self.keys) - 1

    def add(self, clause: list[int], origin: Origin) -> None:
        self.clauses.append(clause)
        self.origins.append(origin)

    def at_most_one(self, lits: Sequence[int], origin: Origin) -> None:
        """At most one of ``lits``: pairwise for few, a sequential counter for many."""
        if len(lits) <= 6:
            for i, a in enumerate(lits):
                for b in lits[i + 1 :]:
                    self.add([-a, -b], origin)
            return
        prev = self.fresh()
        self.add([-lits[0], prev], origin)
        for lit in lits[1:-1]:
            cur = self.fresh()
            self.add([-lit, cur], origin)
            self.add([-prev, cur], origin)
            self.add([-lit, -prev], origin)
            prev = cur
        self.add([-lits[-1], -prev], origin)


class SatSolver:
    """An incremental solver over a Formula, with assumptions and a deadline."""

    def __init__(self, formula: Formula, deadline: float | None = None) -> None:
        self._solver = Solver(name=SOLVER_NAME, bootstrap_with=formula.clauses)
        self._added = len(formula.clauses)
        self._formula = formula
        self.deadline = deadline
        self.calls = 0
        self.solver_clauses = 0  # added with ``add``, beyond the formula's
        self._preferred: list[int] = []

    def sync(self) -> None:
        """Load clauses added to the formula since the last call."""
        for clause in self._formula.clauses[self._added :]:
            if not clause:  # the empty clause: make the solver unsatisfiable
                self._solver.add_clause([1])
                self._solver.add_clause([-1])
            else:
                self._solver.add_clause(clause)
        self._added = len(self._formula.clauses)

    def add(self, clause: Iterable[int]) -> None:
        """A clause for this solver only (not recorded in the formula)."""
        self._solver.add_clause(list(clause))
        self.solver_clauses += 1

    @property
    def revision(self) -> tuple[int, int]:
        """Changes when a clause is added (to the formula or the solver): a
        model found at one revision satisfies every clause of that revision."""
        return len(self._formula.clauses), self.solver_clauses

    def set_phases(self, lits: Sequence[int]) -> None:
        """Preferred polarities: the solver decides these variables this way
        first (they stay until set again)."""
        self._solver.set_phases(list(lits))

    def prefer(self, lits: Sequence[int]) -> None:
        """Prefer ``lits`` true for now, on top of the default (every variable
        false); ``unprefer`` puts the default back. Hints only: which model is
        found, never whether one exists."""
        positive = [lit for lit in lits if lit > 0]
        self._preferred.extend(positive)
        self._solver.set_phases(list(lits))

    def unprefer(self) -> None:
        """Back to the default polarity (false) for what ``prefer`` made true."""
        if self._preferred:
            self._solver.set_phases([-v for v in self._preferred])
            self._preferred.clear()

    def solve(self, assumptions: Sequence[int] = ()) -> bool:
        self.sync()
        self.calls += 1
        if self.deadline is None:
            return bool(self._solver.solve(assumptions=list(assumptions)))
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SolveTimeout("the time limit (--timeout) was reached while solving")
        timer = threading.Timer(left, self._solver.interrupt)
        timer.start()
        try:
            answer = self._solver.solve_limited(assumptions=list(assumptions), expect_interrupt=True)
        finally:
            timer.cancel()
        if answer is None:
            raise SolveTimeout("the time limit (--timeout) was reached while solving")
        self._solver.clear_interrupt()
        return bool(answer)

    def implied(self, assumptions: Sequence[int]) -> set[int] | None:
        """Literals unit propagation derives from ``assumptions``; None on conflict."""
        self.sync()
        ok, lits = self._solver.propagate(assumptions=list(assumptions))
        return set(lits) if ok else None

    def refutes(self, lit: int) -> bool:
        """Does unit propagation from ``lit`` alone reach a conflict (or is
        ``lit`` false at the root)? Then no model has it."""
        self.sync()
        ok, _ = self._solver.propagate(assumptions=[lit])
        return not ok

    def model(self) -> list[int]:
        """The last model: ``model[v - 1]`` is v or -v."""
        return list(self._solver.get_model() or [])

    def core(self) -> list[int]:
        return list(self._solver.get_core() or [])

    def delete(self) -> None:
        self._solver.delete()


@dataclass(frozen=True, slots=True)
class Mus:
    """Indices of an unsatisfiable subset of groups; ``minimal`` is False when
    the deadline stopped the search (the best found so far)."""

    indices: list[int]
    minimal: bool = True


def _selected(
    groups: Sequence[list[list[int]]],
    base: Sequence[list[int]],
    assumptions: Sequence[int],
    nvars: int | None = None,
) -> tuple[Formula, list[int]]:
    """A formula with one selector per group (``group -> selector``);
    ``nvars``: the highest variable used, if the caller knows it."""
    formula = Formula()
    formula.keys.extend([None] * (nvars if nvars is not None else _max_var(groups, base, assumptions)))
    selectors: list[int] = []
    for clauses in groups:
        sel = formula.fresh()
        selectors.append(sel)
        for clause in clauses:
            formula.add([*clause, -sel], _MUS_ORIGIN)
    for clause in base:
        formula.add(list(clause), _MUS_ORIGIN)
    return formula, selectors


def satisfiable(
    groups: Sequence[list[list[int]]],
    base: Sequence[list[int]] = (),
    assumptions: Sequence[int] = (),
    deadline: float | None = None,
    nvars: int | None = None,
) -> bool:
    """Do all groups, ``base`` and ``assumptions`` hold together?"""
    formula, _ = _selected([], [*(c for g in groups for c in g), *base], assumptions, nvars)
    solver = SatSolver(formula, deadline)
    try:
        return solver.solve(assumptions)
    finally:
        solver.delete()


def find_mus(
    groups: Sequence[list[list[int]]],
    base: Sequence[list[int]] = (),
    assumptions: Sequence[int] = (),
    deadline: float | None = None,
    nvars: int | None = None,
) -> Mus | None:
    """The preferred minimal unsatisfiable subset of ``groups`` (indices),
    given ``base`` and ``assumptions``; None if everything is satisfiable.

    ``groups`` come most wanted first, and the answer is the MUS that uses
    the earliest groups it can (lexicographically preferred): the shortest
    unsatisfiable prefix is found by bisection (each unsatisfiable solve's
    core narrows it), its last group belongs to every conflict within the
    prefix, so it is kept and the search repeats on the groups before it.
    About |MUS| x log(groups) small solves. If the deadline passes, the
    unsatisfiable subset reached so far is returned, marked not minimal.
    """
    formula, selectors = _selected(groups, base, assumptions, nvars)
    solver = SatSolver(formula, deadline)
    position = {s: i for i, s in enumerate(selectors)}
    try:
        if solver.solve([*assumptions, *selectors]):
            return None
        kept: list[int] = []
        rest = list(range(len(groups)))
        try:
            while True:
                fixed = [*assumptions, *(selectors[i] for i in kept)]
                if not solver.solve(fixed):
                    return Mus(sorted(kept))
                if solver.solve([*fixed, *(selectors[i] for i in rest)]):
                    raise AssertionError("the groups kept and those left no longer conflict")
                lo, hi = 0, _prefix_bound(solver, rest, position, len(rest))
                while hi - lo > 1:  # fixed + rest[:lo] holds, fixed + rest[:hi] does not
                    mid = (lo + hi) // 2
                    if solver.solve([*fixed, *(selectors[i] for i in rest[:mid])]):
                        lo = mid
                    else:
                        hi = _prefix_bound(solver, rest, position, mid)
                kept.append(rest[hi - 1])
                rest = rest[: hi - 1]
        except SolveTimeout:
            return Mus(sorted({*kept, *rest}), minimal=False)
    finally:
        solver.delete()


def _prefix_bound(solver: SatSolver, rest: list[int], position: dict[int, int], hi: int) -> int:
    """After an unsatisfiable solve over ``rest[:hi]`` (and the kept groups):
    the shortest prefix that contains its core's groups."""
    at = {g: k for k, g in enumerate(rest[:hi])}
    used = [at[position[lit]] for lit in solver.core() if lit in position and position[lit] in at]
    return max(used) + 1 if used else 1


_MUS_ORIGIN = Origin(Rule.SELECTOR)


def _max_var(groups: Sequence[list[list[int]]], base: Sequence[list[int]], assumptions: Sequence[int]) -> int:
    top = max((abs(x) for x in assumptions), default=0)
    for clauses in (*groups, base):
        for clause in clauses:
            for lit in clause:
                top = max(top, abs(lit))
    return top
