"""One class's formula and solver, and the optimisation of each of its images."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import compress
from typing import cast

from resolver.conflict import ConflictFinder
from resolver.encode.assume import Assumptions
from resolver.encode.context import ClassEncoding
from resolver.encode.deps import encode_dependencies
from resolver.encode.goals import encode_one_version_per_stem
from resolver.encode.zones import encode_parent_dependencies, encode_svr4_zone
from resolver.fmri import Fmri
from resolver.model import Brand, DepType, Package
from resolver.objective import DeadLiterals, Optimizer, Oracle
from resolver.plan import HeldBack
from resolver.problem import ImageProblem, SharedProblem
from resolver.reasons import ParentVar
from resolver.sat import Formula, SatSolver

_POSITIVE = (0).__lt__  # a model's literal is true
#: tries of the one-call update-all path (each failure that names one dead literal allows another)
_ATTEMPTS = 4


#: a Selection in transit from a worker: chosen and final package variables, held back
Packed = tuple[bytes, bytes, tuple[HeldBack, ...]]


@dataclass
class Selection:
    """The packages an image ends up with, before and after post-processing."""

    chosen: dict[str, Package]  # what the solver picked (obsolete and renamed included)
    final: dict[str, Package]  # installed after the plan
    held_back: tuple[HeldBack, ...] = ()


class ClassSolve:
    """The shared formula of one class of images, and its incremental solver."""

    def __init__(
        self,
        shared: SharedProblem,
        parent: str | None,
        parent_candidates: Mapping[str, Sequence[Package]],
        deadline: float | None = None,
    ) -> None:
        self.shared = shared
        self.formula = Formula()
        image = shared.image
        linked = image.linked or (image.brand is Brand.NATIVE and parent is not None)
        self.enc = ClassEncoding(shared, self.formula, image.name, parent if linked else None)
        encode_one_version_per_stem(self.enc)
        encode_dependencies(self.enc)
        if image.linked:
            encode_parent_dependencies(self.enc)
        if image.brand is Brand.NATIVE and parent is not None:
            encode_svr4_zone(self.enc, parent_candidates)
        self.interface = [
            (key.fmri, var) for key, var in self.formula.var_of.items() if isinstance(key, ParentVar)
        ]
        #: per candidate stem in name order, the literal "no version installed"
        #: (made now, with the other lasting variables, before any image's scratch)
        self.absent = [(s, -self.enc.any_of(s)) for s in sorted(shared.candidates)]
        self.formula.seal()  # worker processes may add only unkeyed variables
        self.solver = SatSolver(self.formula, deadline)
        self.solver.set_phases([-v for v in range(1, self.formula.nvars + 1)])
        self.deadline = deadline
        self._finder: ConflictFinder | None = None
        #: top rungs some image of the class could not reach, and least-change
        #: literals some image had to give up (likely so in the next image)
        self.failed_tops: set[int] = set()
        self.forced: set[int] = set()
        self.dead = DeadLiterals(self.solver)
        #: (stem, package) per candidate, in variable order (``chosen``)
        self._stems = [(p.stem, p) for p in self.enc.packages]
        self._requires: dict[tuple[int, ...], frozenset[str]] = {}
        #: package variable or any-of literal -> its stem (``forced_present``)
        self._stem_of = {v: stem for v, (stem, _) in enumerate(self._stems, start=1)}
        self._stem_of.update({-lit: stem for stem, lit in self.absent})
        self._parent_lits: tuple[set[Fmri], list[int]] | None = None

    def chosen(self, model: list[int]) -> dict[str, Package]:
        """The packages true in a model, by stem. The class's candidates are
        variables 1..N (resolver.encode.context), so they are the model's
        first N entries: one slice and a C-level filter (compress), although
        a model has tens of thousands of variables and this runs a few times
        per image."""
        count = len(self._stems)
        values = model[:count]
        if len(values) < count:  # variables the solver never saw are false
            values += [-1] * (count - len(values))
        return dict(compress(self._stems, map(_POSITIVE, values)))

    def pack(self, selection: Selection) -> Packed:
        """A selection as a worker sends it back: candidate indices as bytes
        (pickling packages or FMRIs cost more than solving, at 800 a zone).
        Indices, not variables: they mean the same in every process."""
        chosen = array("i", [self.enc.x(p) - 1 for p in selection.chosen.values()])
        final = array("i", [self.enc.x(p) - 1 for p in selection.final.values()])
        return chosen.tobytes(), final.tobytes(), selection.held_back

    def unpack(self, packed: Packed) -> Selection:
        """The Selection a worker packed."""
        chosen, final, held_back = packed
        packages = self.enc.packages

        def by_stem(data: bytes) -> dict[str, Package]:
            return {pkg.stem: pkg for pkg in map(packages.__getitem__, array("i", data))}

        return Selection(by_stem(chosen), by_stem(final), held_back)

    def forced_present(self, implied: set[int]) -> set[str]:
        """Stems every model of these propagated literals installs, as far as
        require dependencies show: a stem with a version or its any-of literal
        implied, then, to a fixpoint, every stem that all the remaining
        versions of a forced stem require. Propagation alone stops where a
        forced stem's version is still open; this follows it stem by stem (a
        newly required library whose every version needs another one), so the
        fewest-added stage need not find those one solver call at a time."""
        found = set(map(self._stem_of.get, implied))  # one C-level pass over ~10^4 literals
        found.discard(None)
        present = cast(set[str], found)
        todo = list(present)
        while todo:
            left = tuple(v for v in self.enc.versions(todo.pop()) if -v not in implied)
            for target in self._common_requires(left) - present:
                present.add(target)
                todo.append(target)
        return present

    def _common_requires(self, versions: tuple[int, ...]) -> frozenset[str]:
        """Stems every one of these package variables' require dependencies
        name (memoised: zones of a class share their remaining versions)."""
        got = self._requires.get(versions)
        if got is None:
            sets = [self.required_stems(self.enc.packages[v - 1]) for v in versions]
            got = self._requires[versions] = frozenset.intersection(*sets) if sets else frozenset()
        return got

    def required_stems(self, pkg: Package) -> frozenset[str]:
        """Stems pkg's require dependencies that apply to the class name."""
        return frozenset(d.fmri.stem for d in self.shared.deps(pkg) if d.type is DepType.REQUIRE)

    def parent_assumptions(self, parent_set: set[Fmri]) -> list[int]:
        """Values of the parent literals for a fixed global-zone plan (the
        last answer is kept: every zone of the class asks about the same plan)."""
        last = self._parent_lits
        if last is None or last[0] is not parent_set:
            lits = [var if fmri in parent_set else -var for fmri, var in self.interface]
            last = self._parent_lits = (parent_set, lits)
        return last[1]

    def interface_core(self, parent_lits: Sequence[int]) -> list[int]:
        """The last failed solve's core, restricted to the parent literals
        assumed: what a zone reports about the global zone (the parent
        variables are keyed, so they mean the same in every process)."""
        assumed = set(parent_lits)
        return [lit for lit in self.solver.core() if lit in assumed]

    def finder(self) -> ConflictFinder:
        """The explanations' index of this formula (built on first use)."""
        if self._finder is None:
            self._finder = ConflictFinder(self.formula, self.deadline)
        return self._finder


class ImageRun:
    """One image on its class's solver: assumptions, optimisation, selection."""

    def __init__(self, cls: ClassSolve, problem: ImageProblem) -> None:
        self.cls = cls
        self.problem = problem
        self.x = cls.enc.x

    @cached_property
    def assumed(self) -> Assumptions:
        """This image's assumptions, built on first use (in the worker that owns it)."""
        return Assumptions(self.cls.enc, self.problem)

    @property
    def name(self) -> str:
        return self.problem.image.name

    def base(self, parent_lits: Sequence[int] = ()) -> list[int]:
        return [*self.assumed.lits, *parent_lits]

    def feasible(self, parent_lits: Sequence[int] = (), oracle: Oracle | None = None) -> bool:
        opt = self._optimizer(parent_lits, oracle)
        try:
            return opt.feasible()
        finally:
            opt.close()

    def _optimizer(self, parent_lits: Sequence[int], oracle: Oracle | None) -> Optimizer:
        return Optimizer(self.cls.formula, self.cls.solver, oracle, self.base(parent_lits), self.cls.dead)

    def requested(self) -> set[str]:
        p = self.problem
        if p.request.update_all:
            return {s for s in p.installed if s not in p.removals and s not in p.may_go}
        return set(p.request.proposed)

    # -- optimisation ---------------------------------------------------------------------

    def optimise(
        self, parent_lits: Sequence[int] = (), oracle: Oracle | None = None
    ) -> tuple[Selection, Optimizer]:
        """Run the objective's stages; the result is optimal for them, and
        independent of what the class's solver did before."""
        opt = self._optimizer(parent_lits, oracle)
        try:
            return self._stages(opt)
        except BaseException:
            opt.close()
            raise

    def _stages(self, opt: Optimizer) -> tuple[Selection, Optimizer]:
        # this image's installed versions first, then newer ones: models
        # close to the answer (the class default is "not installed")
        self.cls.solver.unprefer()
        staying = [p for s, p in self.problem.installed.items() if s not in self.problem.removals]
        self.cls.solver.prefer([self.x(pkg) for pkg in staying])
        requested = self.requested()
        done = set(requested)
        added = self._all_at_once(opt, requested)
        if added is None:
            self._maximize(opt, self._priority(requested))
            self._least_change(opt, requested)
        else:
            done |= added
        while todo := self._movable(opt, done):
            self._maximize(opt, self._priority(todo))  # a choice may add stems: repeat
            done |= todo
        chosen = self.chosen(opt.model)
        return Selection(chosen, self.post_process(chosen)), opt

    def _all_at_once(self, opt: Optimizer, requested: set[str]) -> set[str] | None:
        """update-all in one solver call, when the answer is the obvious one.

        Every requested stem at its highest rung that can be true at all (not
        ruled out by propagation, not known dead); then, of the stems not
        installed, exactly those ``forced_present`` shows every model must
        add, each at its highest such rung that needs nothing kept absent. If
        the image's assumptions allow all of that together, it is what the
        stages would fix: the greedy of stage 2 gives each stem its highest
        feasible rung (this joint model witnesses each), stage 3 can keep no
        more stems absent (the added ones are forced), and stage 4's greedy
        gives the added stems those rungs. The decisions are recorded as the
        stages would record them. (Under the joint oracle the same holds: a
        model it accepts satisfies every zone's constraints.)

        A failed call whose core is one literal has found a literal no model
        has (the class learns it: ``DeadLiterals``); the attempt is made again
        without it, a few times. Returns the added stems, or None (nothing
        decided) when the case is not this one: a request other than
        update-all, avoided stems, or a call that fails otherwise."""
        p = self.problem
        if not p.request.update_all or p.may_go:
            return None
        pairs = [(s, a) for s, a in self.cls.absent if s not in p.installed and s not in requested]
        for _ in range(_ATTEMPTS):
            obvious = self._obvious(opt, requested, pairs)
            if obvious is None:
                return None
            decisions, added = obvious
            if not decisions:
                continue  # dead tops found: try again without them
            if opt.feasible(decisions):
                opt.decide(decisions)
                return added
            core = self.cls.solver.core()
            if len(core) != 1:
                return None
            self.cls.dead.learn(core[0])
        return None

    def _obvious(
        self, opt: Optimizer, requested: set[str], pairs: list[tuple[str, int]]
    ) -> tuple[list[int], set[str]] | None:
        """The decisions of ``_all_at_once``, and the stems they add; None when
        a stem has no rung left or propagation refutes the tops together; no
        decisions when it refutes some of them alone (they are dead now)."""
        p = self.problem
        implied = opt.implied()
        rungs = [self._top(opt, self.assumed.ladder(stem), implied) for stem in self._priority(requested)]
        if None in rungs:
            return None
        tops = cast(list[int], rungs)
        with_tops = opt.implied_with(tops)
        if with_tops is None:  # some top propagation refutes on its own? then it is dead: again
            return ([], set()) if any([self.cls.dead(top) for top in tops]) else None
        implied = with_tops
        present = self.cls.forced_present(implied)
        forced = {a for s, a in pairs if s in present or -a in implied}
        added = sorted((s for s, a in pairs if a in forced), key=self._priority_key)
        staying = present | p.installed.keys()

        def fits(lit: int) -> bool:  # it needs nothing stage 3 keeps absent
            return self.cls.required_stems(self.cls.enc.packages[lit - 1]) <= staying

        added_rungs = [self._top(opt, self.assumed.ladder(stem), implied, fits) for stem in added]
        if None in added_rungs:
            return None
        stage3 = [*(-a for _, a in pairs if a in forced), *(a for _, a in pairs if a not in forced)]
        return [*tops, *stage3, *cast(list[int], added_rungs)], set(added)

    def _top(
        self,
        opt: Optimizer,
        ladder: Sequence[int],
        implied: set[int],
        fits: Callable[[int], bool] | None = None,
    ) -> int | None:
        """The highest rung of ``ladder`` that propagation does not rule out,
        that ``fits`` (if given) and that is not known dead (dead ones are
        noted for held-back reports). Only what the class already knows: a
        check here for every new top would cost more than the call it saves."""
        for lit in reversed(ladder):
            if -lit in implied or (fits is not None and not fits(lit)):
                continue
            if not self.cls.dead.known(lit):
                return lit
            opt.note_dead(lit)
        return None

    def _maximize(self, opt: Optimizer, stems: list[str]) -> None:
        """Each stem as new as possible, in priority order."""
        if not stems and opt.model:
            return  # nothing to do, and feasibility is known
        ladders = [self.assumed.ladder(stem) for stem in stems]
        self.cls.failed_tops |= opt.maximize_all(ladders, self.cls.failed_tops)

    def _least_change(self, opt: Optimizer, requested: set[str]) -> None:
        """Fewest removed, then fewest changed, then fewest added; then avoided
        packages (``may_go``) removed where nothing requires them any more
        (their removal is pkg(5)'s outcome, not a change to avoid)."""
        p, enc = self.problem, self.cls.enc
        others = [s for s in sorted(p.installed) if s not in requested and s not in p.removals]
        kept = [enc.live(s) for s in others if s not in p.may_go and self.assumed.ladder(s)]
        same = [self.x(p.installed[s]) for s in others if s not in p.may_go]
        same = [lit for lit in same if lit not in self.assumed.excluded]
        same += [] if p.request.update_all else self._not_moved(p.may_go)  # update-all moves them (_movable)
        pairs = [(s, a) for s, a in self.cls.absent if s not in p.installed and s not in requested]
        absent = [lit for _, lit in pairs]
        pairs += [(s, a) for s, a in self.cls.absent if s in p.may_go]
        gone = [lit for s, lit in pairs if s in p.may_go]

        def added(implied: set[int]) -> set[int]:
            present = self.cls.forced_present(implied)
            return {lit for s, lit in pairs if s in present}

        for wanted, entailed in ((kept, None), (same, None), (absent, added), (gone, added)):
            self.cls.forced |= opt.satisfy_most(wanted, self.cls.forced, entailed)

    def _not_moved(self, stems: frozenset[str]) -> list[int]:
        """For installed stems that may be absent: "at no other version"."""
        installed = self.problem.installed
        return [-lit for s in sorted(stems) for lit in self.assumed.ladder(s) if lit != self.x(installed[s])]

    def _movable(self, opt: Optimizer, done: set[str]) -> set[str]:
        """Stems the last stage makes as new as possible: those that moved or
        were added, and the alternatives of require-any and group-any
        dependencies of the chosen packages (ties go to the first stem)."""
        chosen = self.chosen(opt.model)
        installed = self.problem.installed
        out = {s for s, pkg in chosen.items() if pkg is not installed.get(s)}
        if self.problem.request.update_all:  # avoided packages still required: updated too
            out |= self.problem.may_go & chosen.keys()
        alternatives = self.cls.shared.alternatives()
        for pkg in chosen.values():
            stems = alternatives.get(id(pkg))
            if stems:
                out.update(s for s in stems if s not in installed)
        return out - done

    def _priority(self, stems: set[str]) -> list[str]:
        """Incorporations first, outermost first; then by name."""
        return sorted(stems, key=self._priority_key)

    def _priority_key(self, stem: str) -> tuple[int, str]:
        return (-self.cls.shared.incorporation_depth(stem), stem)

    # -- results ---------------------------------------------------------------------------

    def chosen(self, model: list[int]) -> dict[str, Package]:
        """The packages true in a model."""
        return self.cls.chosen(model)

    def post_process(self, chosen: dict[str, Package]) -> dict[str, Package]:
        """Drop obsolete packages, and renamed ones nothing needs (ips-semantics
        6.1, 7.6): a renamed package stays while a kept package needs it."""
        live = {s: p for s, p in chosen.items() if not p.obsolete}
        renamed = {s for s, p in live.items() if p.renamed}
        if not renamed:
            return live
        needs = self.cls.shared.needs
        needed: set[str] = set()
        todo = [p for p in live.values() if not p.renamed]
        while todo:
            for stem in needs(todo.pop()):
                if stem in renamed and stem not in needed:
                    needed.add(stem)
                    todo.append(live[stem])
        return {s: p for s, p in live.items() if s not in renamed or s in needed}

    def newest_visible(self, stem: str) -> Package | None:
        """The newest version the image could have; for a stem the request
        names with a version, the newest of those (install foo@2.0 holds
        nothing back when foo@2.1 exists: 2.1 was not asked for)."""
        newest = self.cls.shared.newest_live(stem)
        proposed = self.problem.request.proposed.get(stem)
        if not proposed or newest is None or any(p is newest for p in proposed):
            return newest
        asked = [p for p in proposed if not p.obsolete and any(p is v for v in self.cls.shared.visible(stem))]
        return max(asked, key=lambda p: p.fmri.version.key, default=None)  # type: ignore[union-attr]
