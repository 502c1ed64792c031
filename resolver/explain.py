"""Why no plan exists, or why a package is held back: from the solver's own
unsatisfiable core, reduced to a minimal one, rendered as a short chain of
facts (the request, the package versions, the rule that blocks, the image).

The search for a minimal core starts from the clauses around the packages in
question and widens only if that neighbourhood is satisfiable on its own, so
explaining a conflict in a 100,000-variable formula stays cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

from resolver.errors import Fact
from resolver.fmri import Fmri
from resolver.problem import ImageProblem
from resolver.sat import Formula, Origin, find_mus

#: rules that are constraints (root causes) rather than links of the chain
_ROOT_RULES = ("request", "installed")
_RADII = (1, 2, 4)
#: exclusions that are never the cause of a conflict (the request chose them)
_NOT_CAUSES = frozenset({"not a version the request names"})


def _stem_of(key: Hashable | None) -> str | None:
    if isinstance(key, tuple) and key and isinstance(key[-1], Fmri):
        return key[-1].stem
    return None


class ConflictFinder:
    """Minimal sets of clause groups (by origin) that cannot hold together."""

    def __init__(self, formula: Formula, deadline: float | None = None) -> None:
        self.formula = formula
        self.deadline = deadline
        # groups are keyed by their first clause's index: a deterministic order
        self._groups: dict[int, list[int]] = defaultdict(list)  # group -> clause indices
        self._origin: dict[int, Origin] = {}
        self._group_of: dict[int, int] = {}  # id(origin) -> group
        self._stems_of_group: dict[int, set[str]] = defaultdict(set)
        self._groups_of_stem: dict[str, set[int]] = defaultdict(set)
        self._index()

    @property
    def size(self) -> int:
        return self._size

    def _index(self) -> None:
        self._size = len(self.formula.clauses)
        keys = self.formula.keys
        for i, (clause, origin) in enumerate(zip(self.formula.clauses, self.formula.origins, strict=True)):
            gid = self._group_of.setdefault(id(origin), i)
            self._groups[gid].append(i)
            self._origin[gid] = origin
            for lit in clause:
                stem = _stem_of(keys[abs(lit)])
                if stem is not None:
                    self._stems_of_group[gid].add(stem)
                    self._groups_of_stem[stem].add(gid)

    def _neighbourhood(self, seeds: set[str], radius: int) -> set[int]:
        stems = set(seeds)
        groups: set[int] = set()
        for _ in range(radius):
            new = {g for s in stems for g in self._groups_of_stem.get(s, ())} - groups
            groups |= new
            stems |= {s for g in new for s in self._stems_of_group[g]}
        return groups

    def minimal(self, assumptions: Mapping[int, Origin], seeds: set[str]) -> list[Origin] | None:
        """A minimal conflict among the formula's groups and ``assumptions``
        (literal -> its origin), or None if there is none."""
        for radius in (*_RADII, None):
            gids = sorted(self._origin) if radius is None else sorted(self._neighbourhood(seeds, radius))
            # deletion tries groups in order: requests last, so a core keeps them
            gids.sort(key=lambda g: self._origin[g].rule == "request")
            groups = [[self.formula.clauses[i] for i in self._groups[g]] for g in gids]
            origins = [self._origin[g] for g in gids]
            for lit, origin in assumptions.items():
                groups.append([[lit]])
                origins.append(origin)
            mus = find_mus(groups, deadline=self.deadline)
            if mus is not None:
                return [origins[i] for i in mus]
        return None


def facts_from_conflict(
    origins: Sequence[Origin], problems: Mapping[str, ImageProblem], limit: int = 3, image: str = ""
) -> list[Fact]:
    """Order a conflict as a chain, root cause first: the request (or the
    installed package that must stay), then the dependencies that lead from it,
    then the rule that blocks; for each target, why its other versions do not
    count."""
    ordered = _chain(origins)
    facts: list[Fact] = []
    said: set[str] = set()
    seen_stems: set[tuple[str, str]] = set()
    for origin in ordered:
        if not origin.text:
            continue
        where = origin.image or image
        pkg = str(origin.package.fmri) if origin.package else None
        if origin.text not in said:
            said.add(origin.text)
            facts.append(Fact(origin.rule, origin.text, where or None, pkg))
        problem = problems.get(where)
        for stem in origin.stems:
            if problem is None or (where, stem) in seen_stems:
                continue
            seen_stems.add((where, stem))
            for fact in _exclusion_facts(problem, stem, limit):
                if fact.text not in said:
                    said.add(fact.text)
                    facts.append(fact)
    return facts


def _chain(origins: Sequence[Origin]) -> list[Origin]:
    roots = [o for o in origins if o.rule in _ROOT_RULES]
    rest = [o for o in origins if o.rule not in _ROOT_RULES]
    ordered: list[Origin] = []
    frontier = sorted(roots, key=lambda o: (o.rule != "request", o.text))
    while frontier:
        ordered.extend(frontier)
        stems = {s for o in frontier for s in o.stems}
        frontier = sorted(
            (o for o in rest if o not in ordered and o.package is not None and o.package.stem in stems),
            key=lambda o: o.text,
        )
    ordered.extend(sorted((o for o in rest if o not in ordered), key=lambda o: o.text))
    return ordered


def _exclusion_facts(problem: ImageProblem, stem: str, limit: int) -> list[Fact]:
    """Why versions of ``stem`` that exist cannot be chosen in this image."""
    image = problem.image.name
    facts: list[Fact] = []
    excluded = problem.excluded(stem)
    by_reason: dict[str, list[str]] = defaultdict(list)
    for pkg, why in excluded:
        if why not in _NOT_CAUSES:
            by_reason[why].append(pkg.fmri.short())
    for why, names in list(by_reason.items())[:limit]:
        more = f" (and {len(names) - 1} other versions)" if len(names) > 1 else ""
        facts.append(Fact(_rule_of(why), f"{names[-1]}{more}: {why}", image, None))
    note = problem.note(stem)
    if note:
        facts.append(Fact("installed", note, image, None))
    if not problem.catalog.versions(stem):
        facts.append(Fact("missing", f"no source has any version of {stem}", image, None))
    return facts


def _rule_of(reason: str) -> str:
    for word, rule in (
        ("freeze", "freeze"),
        ("incorporation", "incorporate"),
        ("publisher", "publisher"),
        ("supports variant", "variant"),
        ("--reject", "reject"),
        ("upgrade path", "origin"),
        ("explicit-install", "explicit-install"),
        ("uninstalls", "request"),
    ):
        if word in reason:
            return rule
    return "excluded"
