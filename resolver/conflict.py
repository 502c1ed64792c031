"""The search behind every explanation: a minimal set of *steps* that
cannot hold together, in one class's formula.

A step is what a person reads as one fact: the clauses and assumptions that
share a key (``step_key``): a dependency of every version of a package; the
versions one freeze, incorporation or publisher rule excludes; a parent
dependency with what the global zone has; a zone's cuts. The search keeps or
drops a step whole, so no step of its answer can be removed without losing
the conflict, and versions that share a cause are one step.

The search starts from the seeds (the packages of the solver's own core),
in a neighbourhood that widens a few times (``RADII``), never past
``MAX_CLAUSES``: a conflict it cannot narrow down is reported as such by the
caller, not searched for in a whole formula. Its answer is the preferred
minimal conflict (resolver.sat.find_mus): the one made of the most wanted
steps, those nearest the focus (the request's packages) and, among equals,
exclusions and dependencies before installed packages staying, the
objective's decisions last. So the explanation stays close to what was
asked, and padding appears only when it is part of the cause.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from resolver.fmri import DEPEND_SELF
from resolver.reasons import PackageVar, ParentVar, Rule
from resolver.sat import Formula, Origin, find_mus, satisfiable

#: neighbourhood radii tried in turn (steps from the core's packages) ...
RADII = (1, 2, 4, 8, 16)
#: ... while the neighbourhood has at most this many clauses (the bounded last step)
MAX_CLAUSES = 200_000
#: steps with more members than this are not shrunk member by member
SHRINK_LIMIT = 64

#: clauses that are never a step: their meaning is in the assumption that
#: switches them on (selectors), or obvious (one version per stem)
_BASE_RULES = frozenset({Rule.SELECTOR, Rule.ONE_VERSION})
CHAIN_RULES = frozenset(
    {Rule.REQUIRE, Rule.REQUIRE_ANY, Rule.CONDITIONAL, Rule.GROUP, Rule.GROUP_ANY, Rule.OPTIONAL}
)
REQUEST_RULES = frozenset({Rule.REQUEST, Rule.UNINSTALL})
#: the order binding constraints are shown in (most actionable first)
BINDING_ORDER: tuple[Rule, ...] = (
    Rule.FREEZE,
    Rule.VERSION_LOCK,
    Rule.REJECT,
    Rule.AVOID,
    Rule.EXCLUDE,
    Rule.INCORPORATION_KEPT,
    Rule.INCORPORATE,
    Rule.STICKY,
    Rule.PUBLISHER,
    Rule.VARIANT,
    Rule.ORIGIN,
    Rule.EXPLICIT_INSTALL,
    Rule.MISSING,
    Rule.OBSOLETE,
    Rule.PARENT,
    Rule.SVR4_ALLZONES,
    Rule.ZONE,
    Rule.INSTALLED,
    Rule.NO_DOWNGRADE,
    Rule.PARENT_PLAN,
    Rule.DECISION,
    Rule.UNNARROWED,
    Rule.REQUEST_VERSION,
)


# ---------------------------------------------------------------------------
# Steps: the unit of an explanation


@dataclass(eq=False)
class Member:
    """One origin in a step: a clause group of the formula, or an assumption."""

    origin: Origin
    clauses: list[list[int]]
    lit: int | None = None  # the assumption literal (None: a clause group)
    gid: int | None = None  # the clause group (None: an assumption)


@dataclass(eq=False)
class Item:
    """The members of one step, removed or kept together."""

    key: tuple[object, ...]
    rank: int
    members: list[Member] = field(default_factory=list)
    #: steps from the focus (the request's packages) in the neighbourhood's graph
    distance: int = 0

    @property
    def clauses(self) -> list[list[int]]:
        return [c for m in self.members for c in m.clauses]

    @property
    def rules(self) -> set[Rule]:
        return {m.origin.rule for m in self.members}


@dataclass
class Conflict:
    """A minimal set of steps that cannot hold together (``minimal`` False if
    the deadline cut the shrinking short), and the neighbourhood it was found
    in (to check fixes against)."""

    items: list[Item]
    space: list[Item]
    base: list[list[int]]
    fixed: list[int]
    minimal: bool = True
    #: memoised from another image of the class: its space is its own steps only
    reused: bool = False
    #: the template it was kept as, or made from (fix checks are memoised on it)
    template: Template | None = None


class _Assumed:
    """A search's candidate assumptions (and decisions) indexed by stem, once:
    each widening of the neighbourhood takes those about its stems."""

    def __init__(
        self, finder: ConflictFinder, candidates: Mapping[int, Origin], decisions: Sequence[int]
    ) -> None:
        self.candidates = candidates
        self._by_stem: dict[str, list[int]] = defaultdict(list)
        self._always: list[int] = []  # about no stem in particular
        self._stems: dict[int, tuple[str, ...]] = {}
        for lit, origin in candidates.items():
            self._add(lit, finder.stems_of_lit(lit, origin))
        for lit in decisions:
            about = finder.stems_of_lit(lit, None)
            if about:
                self._add(lit, about)

    def _add(self, lit: int, about: tuple[str, ...]) -> None:
        self._stems[lit] = about
        if not about:
            self._always.append(lit)
        for stem in about:
            self._by_stem[stem].append(lit)

    def about(self, stems: Iterable[str]) -> list[tuple[int, tuple[str, ...]]]:
        """The literals about these stems (and those about none), each once, in a stable order."""
        lits = dict.fromkeys(self._always)
        for stem in sorted(stems):
            lits.update(dict.fromkeys(self._by_stem.get(stem, ())))
        return [(lit, self._stems[lit]) for lit in lits]


def _target_stem(origin: Origin) -> str:
    dep, pkg = origin.dep, origin.package
    if dep is None or pkg is None:
        return origin.stems[0] if origin.stems else ""
    return pkg.stem if dep.fmri.stem == DEPEND_SELF else dep.fmri.stem


def step_key(origin: Origin, lit: int | None, keys: Sequence[object]) -> tuple[object, ...]:
    """Origins with equal keys are one step (and one sentence)."""
    rule = origin.rule
    if rule is Rule.ZONE and origin.cut is not None:
        return ("zone", origin.cut.zones)
    if rule in (Rule.PARENT, Rule.SVR4_ALLZONES):
        return ("link", _target_stem(origin))
    if rule is Rule.PARENT_PLAN and lit is not None:
        key = keys[abs(lit)]
        return ("link", key.fmri.stem if isinstance(key, ParentVar) else "")
    if rule in (Rule.INSTALLED, Rule.NO_DOWNGRADE):
        return ("installed", origin.stems[0] if origin.stems else "")
    if rule in (Rule.REQUEST, Rule.DECISION):
        return (rule.value, origin.stems[0] if origin.stems else "")
    if rule in (Rule.REQUEST_VERSION, Rule.UNINSTALL) and origin.package is not None:
        return ("request", origin.package.stem)  # the request names other versions, or none
    reason = origin.reason
    if reason is not None and origin.package is not None:
        by = reason.by.fmri if reason.by is not None else None
        return ("excluded", reason.rule.value, origin.package.stem, by, reason.setting, reason.publisher)
    pkg, dep = origin.package, origin.dep
    if pkg is not None and dep is not None:
        predicate = dep.predicate.stem if dep.predicate else None
        return ("dep", rule.value, pkg.stem, tuple(f.stem for f in dep.fmris), predicate)
    return (rule.value, origin.stems)


def step_rank(origin: Origin, is_clause: bool) -> int:
    """How much a step is wanted in an explanation: the request most, then
    a rule that excludes versions, a dependency, ..., an installed package
    staying, and the objective's decisions least. The search prefers steps
    near the focus first (``Item.distance``), then by this rank."""
    rule = origin.rule
    if rule is Rule.DECISION:
        return 0
    if rule in (Rule.INSTALLED, Rule.NO_DOWNGRADE):
        return 1
    if rule is Rule.INCORPORATION_KEPT:
        return 2
    if rule in CHAIN_RULES:
        return 3
    if is_clause:
        return 4
    if rule in REQUEST_RULES or rule is Rule.REQUEST_VERSION:
        return 6
    return 5


def _order(item: Item) -> tuple[int, int, int, str]:
    """The search's preference, most wanted first: the request, then steps
    by their distance from the focus (nearest first) and rank, the
    objective's decisions last (a hard reason is better than a preference)."""
    klass = 0 if item.rank >= 6 else 2 if item.rank == 0 else 1
    return (klass, item.distance, -item.rank, repr(item.key))


# ---------------------------------------------------------------------------
# The search


class ConflictFinder:
    """Minimal sets of steps that cannot hold together, in one class's formula.

    Clause groups (clauses sharing an Origin) are indexed by the stems they
    are about, once, as the formula grows; a search takes the groups within
    a few steps of its seeds' stems."""

    def __init__(self, formula: Formula, deadline: float | None = None) -> None:
        self.formula = formula
        self.deadline = deadline
        self._groups: dict[int, list[int]] = {}  # group (its first clause) -> clause indices
        self._origin: dict[int, Origin] = {}
        self._group_of: dict[int, int] = {}  # id(origin) -> group
        self._stems: dict[int, tuple[str, ...]] = {}
        self._by_stem: dict[str, list[int]] = defaultdict(list)
        self._keys: dict[int, tuple[object, ...]] = {}  # id(origin) -> step key (clause groups)
        self._cuts: dict[tuple[int, ...], list[Origin]] = defaultdict(list)  # zones' cuts by clause
        self._size = 0
        self.refresh()

    def refresh(self) -> None:
        """Index the clauses added since the last call (zone cuts, selectors)."""
        clauses, origins = self.formula.clauses, self.formula.origins
        fresh: list[int] = []
        for i in range(self._size, len(clauses)):
            origin = origins[i]
            gid = self._group_of.get(id(origin))
            if gid is None:
                gid = self._group_of[id(origin)] = i
                self._groups[gid] = [i]
                self._origin[gid] = origin
                fresh.append(gid)
            else:
                self._groups[gid].append(i)
            if origin.cut is not None:
                self._cuts[tuple(clauses[i])].append(origin)
        self._size = len(clauses)
        for gid in fresh:
            stems = self._group_stems(gid)
            self._stems[gid] = stems
            for stem in self._from_stems(gid, stems):
                self._by_stem[stem].append(gid)

    def _from_stems(self, gid: int, stems: tuple[str, ...]) -> tuple[str, ...]:
        """The stems through which a search reaches a group: a package's
        dependency only through the package (it acts only when the package
        is installed, and then leads to its targets); anything else through
        any of its stems. So a stem many packages depend on does not pull
        every dependent into a neighbourhood."""
        origin = self._origin[gid]
        if origin.package is not None and origin.dep is not None:
            return (origin.package.stem,)
        return stems

    def _group_stems(self, gid: int) -> tuple[str, ...]:
        origin = self._origin[gid]
        stems = set(origin.stems)
        if origin.package is not None:
            stems.add(origin.package.stem)
        if origin.dep is not None:
            stems.update(f.stem for f in origin.dep.fmris if f.stem != DEPEND_SELF)
            if origin.dep.predicate is not None:
                stems.add(origin.dep.predicate.stem)
        if not stems or origin.rule is Rule.ZONE:
            keys = self.formula.keys
            for lit in self.formula.clauses[gid]:
                key = keys[abs(lit)]
                if isinstance(key, PackageVar | ParentVar):
                    stems.add(key.fmri.stem)
        return tuple(sorted(stems))

    def neighbourhood(self, seeds: Iterable[str], radius: int | None) -> list[int]:
        """Groups within ``radius`` steps of the seeds' stems (None: every
        group): reached through a stem (a dependency through its package,
        see ``_from_stems``), leading to all the stems they are about."""
        if radius is None:
            return sorted(self._origin)
        stems = set(seeds)
        frontier = set(stems)
        groups: set[int] = set()
        for _ in range(radius):
            new = {g for s in frontier for g in self._by_stem.get(s, ())} - groups
            if not new:
                break
            groups |= new
            frontier = {s for g in new for s in self._stems[g]} - stems
            stems |= frontier
        return sorted(groups)

    def cuts_like(self, clauses: Iterable[list[int]]) -> list[Origin]:
        """Every zone's cut with one of these clauses: zones that reject the
        same global-zone plans (any of them holds the global zone back)."""
        self.refresh()
        out: dict[int, Origin] = {}
        for clause in clauses:
            for origin in self._cuts.get(tuple(clause), ()):
                out.setdefault(id(origin), origin)
        return list(out.values())

    def member(self, gid: int) -> Member:
        """A clause group as a step member."""
        return Member(self._origin[gid], [self.formula.clauses[i] for i in self._groups[gid]], gid=gid)

    def stems_of_lit(self, lit: int, origin: Origin | None) -> tuple[str, ...]:
        key = self.formula.keys[abs(lit)]
        if isinstance(key, PackageVar | ParentVar):
            return (key.fmri.stem,)
        if origin is not None:
            return origin.stems or ((origin.package.stem,) if origin.package else ())
        return ()

    def search(
        self,
        candidates: Mapping[int, Origin],
        fixed: Sequence[int],
        seeds: Iterable[str],
        focus: Iterable[str] = (),
        decisions: Sequence[int] = (),
        decision: Callable[[int], Origin] | None = None,
    ) -> Conflict | None:
        """A minimal conflict among the formula's steps, the ``candidates``
        (assumption literal -> origin; those about the neighbourhood's
        packages take part) and the ``fixed`` literals (always assumed),
        searched around the ``seeds``' stems; steps near the ``focus`` stems
        are kept in preference to far ones. None if none was found within the
        bounds (RADII, MAX_CLAUSES). ``decisions`` are literals the objective
        decided, candidates too; ``decision`` makes the origin of those the
        neighbourhood needs (most never are)."""
        self.refresh()
        seeds = set(seeds)
        focus = set(focus) or seeds
        about = _Assumed(self, candidates, decisions if decision is not None else ())
        previous: list[int] | None = None
        for radius in RADII:
            gids = self.neighbourhood(seeds, radius)
            if gids == previous:
                break  # the neighbourhood stopped growing
            previous = gids
            if sum(len(self._groups[g]) for g in gids) > MAX_CLAUSES:
                return None
            items, base = self._items(gids, about, focus, decision)
            mus = find_mus([item.clauses for item in items], base, fixed, self.deadline, self.formula.nvars)
            if mus is not None:
                kept = [items[i] for i in mus.indices]
                minimal = mus.minimal and self._shrink(kept, base, fixed)
                return Conflict(kept, items, base, list(fixed), minimal)
        return None

    def _distances(self, gids: Sequence[int], focus: set[str]) -> dict[str, int]:
        """Steps from the focus stems, through the groups of a neighbourhood."""
        by_stem: dict[str, list[int]] = defaultdict(list)
        for gid in gids:
            for stem in self._stems[gid]:
                by_stem[stem].append(gid)
        distance = dict.fromkeys(focus, 0)
        frontier = list(focus)
        while frontier:
            reached = []
            for stem in frontier:
                for gid in by_stem.get(stem, ()):
                    for other in self._stems[gid]:
                        if other not in distance:
                            distance[other] = distance[stem] + 1
                            reached.append(other)
            frontier = reached
        return distance

    def _items(
        self,
        gids: Sequence[int],
        assumed: _Assumed,
        focus: set[str],
        decision: Callable[[int], Origin] | None = None,
    ) -> tuple[list[Item], list[list[int]]]:
        """The steps of a neighbourhood (least wanted first) and its base clauses."""
        keys = self.formula.keys
        clauses = self.formula.clauses
        items: dict[tuple[object, ...], Item] = {}
        base: list[list[int]] = []
        distance = self._distances(gids, focus)
        far = len(distance) + 1

        def near(stems: Iterable[str]) -> int:
            return min((distance.get(s, far) for s in stems), default=far)

        for gid in gids:
            origin = self._origin[gid]
            group = [clauses[i] for i in self._groups[gid]]
            if origin.rule in _BASE_RULES:
                base.extend(group)
                continue
            key = self._keys.get(gid)
            if key is None:
                key = self._keys[gid] = step_key(origin, None, keys)
            item = items.setdefault(key, Item(key, step_rank(origin, True), distance=far))
            item.members.append(Member(origin, group, gid=gid))
            item.distance = min(item.distance, near(self._stems[gid]))
        stems = {s for g in gids for s in self._stems[g]} | focus
        for lit, about in assumed.about(stems):
            known = assumed.candidates.get(lit)
            if known is None:
                assert decision is not None
                known = decision(lit)
            key = step_key(known, lit, keys)
            item = items.setdefault(key, Item(key, step_rank(known, False), distance=far))
            item.rank = max(item.rank, step_rank(known, False))
            item.members.append(Member(known, [[lit]], lit=lit))
            item.distance = min(item.distance, near(about))
        return sorted(items.values(), key=_order), base

    def _shrink(self, kept: list[Item], base: list[list[int]], fixed: Sequence[int]) -> bool:
        """Drop the members of kept steps the conflict does not need (which
        versions a step is about). False if the deadline cut it short."""
        multi = [it for it in kept if 1 < len(it.members) <= SHRINK_LIMIT]
        if not multi:
            return True
        rest = [c for it in kept if it not in multi for c in it.clauses]
        members = [(it, m) for it in multi for m in it.members]
        mus = find_mus(
            [m.clauses for _, m in members], [*base, *rest], fixed, self.deadline, self.formula.nvars
        )
        if mus is None:  # cannot happen: the steps conflict
            return True
        keep = {id(members[i][1]) for i in mus.indices}
        for it in multi:
            it.members = [m for m in it.members if id(m) in keep] or it.members
        return mus.minimal

    def lifted(self, conflict: Conflict, drop: Callable[[Origin], bool]) -> bool:
        """True if the conflict's neighbourhood, without the members ``drop``
        selects, is satisfiable: a fix that lifts those rules lifts this cause."""
        groups = []
        for item in conflict.space:
            clauses = [
                c
                for m in item.members
                if m.origin.rule is not Rule.DECISION and not drop(m.origin)
                for c in m.clauses
            ]
            if clauses:
                groups.append(clauses)
        return satisfiable(groups, conflict.base, conflict.fixed, self.deadline, self.formula.nvars)


@dataclass
class Template:
    """A conflict kept for other images of a class: per step its key, rank
    and members (an assumption literal, or a clause group), and the
    neighbourhood's base clauses (for checking fixes against it)."""

    steps: list[tuple[tuple[object, ...], int, list[tuple[int | None, int | None]]]]
    base: list[list[int]]
    #: the neighbourhood it was found in (fixes that change the formula are checked on it)
    space: list[Item] = field(default_factory=list)
    #: fixes that change the formula, checked once on the neighbourhood it was found in
    lifted: dict[str, bool] = field(default_factory=dict)


def template(conflict: Conflict) -> Template:
    steps = [(it.key, it.rank, [(m.lit, m.gid) for m in it.members]) for it in conflict.items]
    conflict.template = Template(steps, conflict.base, conflict.space)
    return conflict.template


def reuse(
    finder: ConflictFinder,
    saved: Template,
    origin_of: Callable[[int], Origin | None],
    fixed: Sequence[int],
) -> Conflict | None:
    """A saved conflict for an image that has every assumption it uses (then
    it is this image's conflict too: the formula is the class's); None if
    some assumption is missing (``origin_of`` gives None). Its neighbourhood
    is the conflict itself: fixes are checked against the steps it has."""
    items: list[Item] = []
    for key, rank, members in saved.steps:
        item = Item(key, rank)
        for lit, gid in members:
            if lit is None:
                assert gid is not None
                item.members.append(finder.member(gid))
                continue
            origin = origin_of(lit)
            if origin is None:
                return None
            item.members.append(Member(origin, [[lit]], lit=lit))
        items.append(item)
    return Conflict(items, saved.space or items, saved.base, list(fixed), reused=True, template=saved)
