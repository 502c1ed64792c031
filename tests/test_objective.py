"""The objective's building blocks against brute force: ``maximize`` and
``maximize_all`` give every ladder its lexicographically greatest rung (the
newest-first greedy), and ``satisfy_most`` keeps the most wanted literals."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.objective import DeadLiterals, Optimizer
from resolver.sat import Formula, Origin, SatSolver

RULE = Origin("test", "", "")

Problem = tuple[list[list[int]], list[list[int]]]  # ladders (variables), extra clauses


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Up to 5 ladders of 1-3 rungs (at most one rung each) and random clauses."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=5))
    ladders, v = [], 1
    for size in sizes:
        ladders.append(list(range(v, v + size)))
        v += size
    nvars = v - 1
    lit = st.integers(1, nvars).flatmap(lambda x: st.sampled_from([x, -x]))
    clauses = draw(st.lists(st.lists(lit, min_size=1, max_size=3), max_size=8))
    return ladders, clauses


def _formula(problem: Problem) -> Formula:
    ladders, clauses = problem
    formula = Formula()
    formula.keys.extend([None] * sum(len(lad) for lad in ladders))
    for ladder in ladders:
        formula.at_most_one(ladder, RULE)
    for clause in clauses:
        formula.add(list(clause), RULE)
    return formula


def _models(problem: Problem) -> list[set[int]]:
    """Every assignment of the ladders' variables that satisfies the problem."""
    ladders, clauses = problem
    n = sum(len(lad) for lad in ladders)
    out = []
    for bits in itertools.product([False, True], repeat=n):
        true = {v + 1 for v in range(n) if bits[v]}
        holds = all(any((abs(x) in true) == (x > 0) for x in c) for c in clauses)
        if holds and all(len(true & set(lad)) <= 1 for lad in ladders):
            out.append(true)
    return out


def _rungs(ladders: list[list[int]], true: set[int]) -> tuple[int, ...]:
    return tuple(max((i for i, v in enumerate(lad) if v in true), default=-1) for lad in ladders)


def _fixed_rungs(opt: Optimizer, ladders: list[list[int]]) -> tuple[int, ...]:
    assert opt.feasible()
    return _rungs(ladders, {lit for lit in opt.model if lit > 0})


@settings(max_examples=400, deadline=None)
@given(problems(), st.data())
def test_maximize_all_is_the_greedy(problem: Problem, data: st.DataObject) -> None:
    ladders, _ = problem
    models = _models(problem)
    if not models:
        return
    best = max(_rungs(ladders, m) for m in models)  # the lexicographic maximum
    one = _formula(problem)
    seq = Optimizer(one, SatSolver(one))
    for ladder in ladders:
        seq.maximize(ladder)
    assert _fixed_rungs(seq, ladders) == best
    tops = [lad[-1] for lad in ladders]
    suspects = set(data.draw(st.lists(st.sampled_from(tops), max_size=len(tops))))
    two = _formula(problem)
    bulk = Optimizer(two, SatSolver(two))
    failed = bulk.maximize_all(ladders, suspects)
    assert _fixed_rungs(bulk, ladders) == best
    assert failed == {lad[-1] for lad, r in zip(ladders, best, strict=True) if r != len(lad) - 1} & failed
    for top in failed:  # each has a reason, confirmed in bulk or not
        core = bulk.blocking_core(top)
        assert core is not None and top in core
    three = _formula(problem)
    solver = SatSolver(three)
    dead = DeadLiterals(solver)
    shared = Optimizer(three, solver, dead=dead)
    shared.maximize_all(ladders, suspects)
    assert _fixed_rungs(shared, ladders) == best  # dead tops skipped, same greedy
    shared.close()
    for lit in {v for lad in ladders for v in lad}:
        assert dead(lit) <= all(lit not in m for m in models)  # dead means false in every model
    again = Optimizer(three, solver, dead=dead)  # a second image on the same class solver
    again.maximize_all(ladders, suspects)
    assert _fixed_rungs(again, ladders) == best


@settings(max_examples=300, deadline=None)
@given(problems(), st.data())
def test_satisfy_most_keeps_the_most(problem: Problem, data: st.DataObject) -> None:
    ladders, _ = problem
    models = _models(problem)
    if not models:
        return
    n = sum(len(lad) for lad in ladders)
    lit = st.integers(1, n).flatmap(lambda x: st.sampled_from([x, -x]))
    wanted = data.draw(st.lists(lit, min_size=1, max_size=5, unique_by=abs))

    def kept(true: set[int]) -> tuple[bool, ...]:
        return tuple((abs(w) in true) == (w > 0) for w in wanted)

    formula = _formula(problem)
    opt = Optimizer(formula, SatSolver(formula))
    for ladder in ladders[: data.draw(st.integers(0, len(ladders)))]:
        opt.maximize(ladder)  # some history on the solver: the choice must not depend on it
    decided = [a for a in opt.assumptions if abs(a) <= n]  # not the search's own activation literal
    models = [m for m in models if all((abs(a) in m) == (a > 0) for a in decided)]
    fewest = min(kept(m).count(False) for m in models)
    first = max(kept(m) for m in models if kept(m).count(False) == fewest)  # earlier ones kept first
    suspects = set(data.draw(st.lists(st.sampled_from(wanted), max_size=len(wanted))))
    # the caller's knowledge: some of the literals that are false in every model
    never = [w for w in wanted if all((abs(w) in m) != (w > 0) for m in models)]
    known = set(data.draw(st.lists(st.sampled_from(never), max_size=len(never)))) if never else set()
    entailed = (lambda implied: known) if data.draw(st.booleans()) else None
    assert len(opt.satisfy_most(wanted, suspects, entailed)) == fewest
    assert opt.feasible()
    assert kept({x for x in opt.model if x > 0}) == first


@settings(max_examples=200, deadline=None)
@given(problems(), st.data())
def test_an_images_scratch_does_not_outlive_it(problem: Problem, data: st.DataObject) -> None:
    """Images of a class share one solver: each image's auxiliary variables
    (totalizers, selectors) are numbered again for the next one and their
    clauses retired, so the solver does not grow image after image and an
    image's answer does not depend on the images before it."""
    ladders, _ = problem
    if not _models(problem):
        return
    n = sum(len(lad) for lad in ladders)
    lit = st.integers(1, n).flatmap(lambda x: st.sampled_from([x, -x]))
    wanted = data.draw(st.lists(lit, min_size=1, max_size=5, unique_by=abs))
    formula = _formula(problem)
    solver = SatSolver(formula)
    sizes, answers = [], []
    for _ in range(4):  # four images, one after the other
        opt = Optimizer(formula, solver)
        opt.maximize_all(ladders, set())
        answers.append((tuple(sorted(opt.satisfy_most(wanted))), _fixed_rungs(opt, ladders)))
        opt.close()
        assert formula.scratch_top is None
        sizes.append(solver._solver.nof_vars())
    assert len(set(answers)) == 1
    # the first image may set the high-water mark; a later one adds at most its
    # activation literal (lasting: it is retired by a unit clause, never reused)
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(sizes[1:]))
    assert formula.nvars <= n + 4
