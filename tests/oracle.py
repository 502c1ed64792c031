"""A brute-force planner for one image, written from the semantics, for tests.

It enumerates every assignment (each stem: absent, or one of its allowed
versions), keeps those that satisfy every hard rule, and scores each with the
lexicographic objective of docs/interfaces.md ("Optimal plans") as
resolver/objective.py states it. It shares no planning code with the solver:
from ``resolver`` it uses only the data model (``Package``, ``Dependency``,
``Fmri``) and version ordering/matching (``Version.__lt__``,
``Version.matches``).

The subset of pkg(5) semantics covered (the test generators stay inside it)
--------------------------------------------------------------------------
* One image: a global zone, no linked zones, one publisher, no variants or
  facets, no freezes, no avoid list, no ``--reject``.
* Dependency types: require, require-any, optional, exclude, incorporate,
  conditional, group, group-any (ips-semantics 5). No origin, parent,
  renamed packages, explicit-install, install-holds or SVR4 parameters.
* Obsolete packages (``pkg.obsolete=true``, no dependencies): they never
  satisfy require / require-any / conditional (neither as target nor as
  predicate); they do satisfy group, and count for optional, exclude and
  incorporate; choosing one for a stem means the stem ends up absent.
* Requests: ``install`` of stem patterns (``pkg:/stem`` or
  ``pkg:/stem@RELEASE``, matched at the precision written), ``update`` of
  installed stems (same patterns), update-all, ``uninstall`` of installed stems.
* Installed packages are never obsolete.
* Not covered, so the generators never produce them:
  - maintained incorporations (ips-semantics 7.3): for any request but
    update-all, no installed package carries an ``incorporate`` dependency;
  - incorporation-driven downgrades (7.4): for every ``incorporate``
    dependency on an installed stem, either the installed version matches it
    or no version it allows is older than the installed one;
  - cycles of ``incorporate`` dependencies between stems (the priority order
    below is then a plain nesting depth).
  The only downgrade the oracle knows is the explicit one: a requested stem
  whose requested versions are all older than the installed one.

Hard rules (an assignment is *feasible* when all hold)
-----------------------------------------------------
Allowed versions: a stem being uninstalled has none; a requested stem only the
versions its patterns match (all patterns for the stem intersected); an
installed stem no version older than the installed one, unless it is
requested and every requested version is older (explicit downgrade). Only
stems of the *closure* can be chosen: installed (not uninstalled) and
requested stems, and, transitively, the targets of require, require-any,
conditional (the target, not the predicate), group and group-any
dependencies of their allowed versions (ips-semantics 7.2). A stem outside
the closure is never part of an optimal plan (nothing depends on it), so
leaving it out loses nothing.
Then: installed, not uninstalled stems have some version chosen (an obsolete
one counts: the stem is then removed); requested stems have a requested
version; and for every chosen package P, each dependency holds:
  require T@v      some non-obsolete T >= v is chosen
  require-any      the same for one of its fmris
  optional T@v     T chosen => T >= v (obsolete T included)
  exclude T@v      no T >= v chosen (any T if unversioned), except P itself
  incorporate T@v  T chosen => T's version matches v at v's precision
  conditional T@v predicate=Q@w
                   a non-obsolete Q >= w chosen => some non-obsolete T >= v chosen
  group T          some version of T chosen (obsolete too), unless T has no
                   allowed version
  group-any T U..  some allowed version of one of the stems with allowed
                   versions; if two or more such stems and one of them has
                   no obsolete version, obsolete versions do not count.

Objective (maximised lexicographically, as resolver/objective.py)
------------------------------------------------------------------
Requested stems R: the installed, not uninstalled stems for update-all; the
stems named for install/update; none for uninstall. Priority order of a set
of stems: by decreasing incorporation nesting depth, then by name. Depth is a
property of the catalog around the image, not of the request: 0 for a stem
none of whose versions carries an incorporate dependency, else 1 + the
deepest stem they incorporate, over every version of the stems in the *wide
closure* (the closure above taken over all versions, ignoring the
no-downgrade floor and the requested versions); other stems have depth 0.
So a stem counts as an incorporation even when only a version older than
the installed one incorporates (the solver's convention: the priority is
shared by all images that see the same catalog).
The vector ``Objective`` holds objective.py's stages 2 and 3:
  newest       (stage 2) for each stem of R in priority order, its chosen
               version (obsolete included; absent lowest), lexicographically;
  removed      (stage 3) fewest removed among the other installed stems (none
               chosen, or an obsolete version chosen);
  changed      then fewest changed among them (installed version not chosen);
  added        then fewest added: stems neither installed nor requested with
               a non-obsolete version chosen.
Stage 4 ("packages that moved or were added are as new as possible") depends
on which packages move, which can differ between optimal plans, so it is not
in the vector; ``stage4_ok`` checks a deliberately weak form of it: among the
optimal plans that remove, keep unchanged and add exactly the same stems as
the plan checked, none may give its moved stems (those not requested whose
choice is not the installed version, obsolete picks included) a newer
version, compared in priority order. Plans adding different stems are not
compared, and stage 5 (which of equal alternatives is taken) is not checked.

A solver's plan is only visible as its final installed set: ``assess`` finds
the feasible assignments whose final set it is (obsolete choices dropped)
and judges the best of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolver.fmri import Version, parse_version
from resolver.model import Dependency, DepType, Package

#: an assignment: stem -> chosen package (stems not present are absent)
Assignment = Mapping[str, Package]

INSTALL, UPDATE, UPDATE_ALL, UNINSTALL = "install", "update", "update-all", "uninstall"


@dataclass(frozen=True)
class Request:
    """What the command asks. ``patterns``: (stem, release text or None)."""

    kind: str
    patterns: tuple[tuple[str, str | None], ...] = ()
    #: uninstall: the stems to remove
    remove: tuple[str, ...] = ()

    def args(self) -> tuple[str, ...]:
        """The command-line arguments a pkg(1) user would type."""
        if self.kind == UNINSTALL:
            return tuple(f"pkg:/{s}" for s in self.remove)
        return tuple(f"pkg:/{s}" + (f"@{v}" if v else "") for s, v in self.patterns)


@dataclass(frozen=True, order=True)
class Objective:
    """Larger is better: stage 1, then minus the three counts."""

    newest: tuple[tuple[Any, ...], ...]
    neg_removed: int
    neg_changed: int
    neg_added: int

    @property
    def counts(self) -> tuple[int, int, int]:
        """(removed, changed, added)"""
        return (-self.neg_removed, -self.neg_changed, -self.neg_added)


@dataclass
class Outcome:
    """The oracle's answer for one problem."""

    feasible: bool
    best: Objective | None = None
    #: every assignment that is optimal for the objective vector
    optimal: list[dict[str, Package]] = field(default_factory=list)
    why: str = ""  # when infeasible before enumerating: no pattern match, ...


def _pick_key(pkg: Package | None) -> tuple[Any, ...]:
    """Order of choices for one stem: absent below any version."""
    if pkg is None:
        return (0,)
    assert pkg.fmri.version is not None
    return (1, pkg.fmri.version.key)


def _ver(pkg: Package) -> Version:
    assert pkg.fmri.version is not None
    return pkg.fmri.version


def _ge(pkg: Package, want: Version | None) -> bool:
    return want is None or not (_ver(pkg) < want)


class Problem:
    """One image, its installed packages and a request."""

    def __init__(self, packages: Iterable[Package], installed: Iterable[Package], request: Request) -> None:
        self.versions: dict[str, list[Package]] = {}
        seen: set[tuple[str, tuple[Any, ...]]] = set()
        for pkg in packages:
            key = (pkg.stem, _ver(pkg).key)
            if key not in seen:
                seen.add(key)
                self.versions.setdefault(pkg.stem, []).append(pkg)
        for versions in self.versions.values():
            versions.sort(key=lambda p: _ver(p).key)
        self.installed: dict[str, Package] = {p.stem: p for p in installed}
        self.request = request
        self.error = ""
        self.removed = frozenset(request.remove) if request.kind == UNINSTALL else frozenset()
        self.wanted = self._wanted()  # requested stem -> requested versions
        if request.kind == UPDATE_ALL:
            self.requested = frozenset(s for s in self.installed if s not in self.removed)
        else:
            self.requested = frozenset(self.wanted)
        self.allowed = {s: self._allowed(s) for s in self.versions}
        self.closure = self._closure(lambda stem: self.allowed.get(stem, []))
        #: the same closure over every version (floors and requested versions
        #: ignored): the catalog around the image, where nesting depth is read
        self.wide_closure = self._closure(lambda stem: self.versions.get(stem, []))
        self._depth: dict[str, int] = {}

    # -- the request ---------------------------------------------------------------

    def _wanted(self) -> dict[str, list[Package]]:
        req = self.request
        if req.kind == UNINSTALL:
            for stem in req.remove:
                if stem not in self.installed:
                    self.error = f"{stem} is not installed"
            return {}
        if req.kind not in (INSTALL, UPDATE):
            return {}
        out: dict[str, list[Package]] = {}
        for stem, text in req.patterns:
            if req.kind == UPDATE and stem not in self.installed:
                self.error = f"{stem} is not installed"
                continue
            want = parse_version(text) if text else None
            match = [p for p in self.versions.get(stem, ()) if want is None or _ver(p).matches(want)]
            if stem in out:
                match = [p for p in out[stem] if p in match]
            if not match:
                self.error = f"no version of {stem} matches {text}"
            out[stem] = match
        return out

    def _allowed(self, stem: str) -> list[Package]:
        if stem in self.removed:
            return []
        versions = self.wanted.get(stem, self.versions[stem])
        inst = self.installed.get(stem)
        if inst is None:
            return list(versions)
        explicit_downgrade = stem in self.wanted and all(_ver(p) < _ver(inst) for p in versions)
        if explicit_downgrade:
            return list(versions)
        return [p for p in versions if not (_ver(p) < _ver(inst))]

    def _closure(self, versions_of: Callable[[str], list[Package]]) -> list[str]:
        todo = [s for s in self.installed if s not in self.removed] + list(self.requested)
        seen = set(todo)
        follow = (
            DepType.REQUIRE,
            DepType.REQUIRE_ANY,
            DepType.CONDITIONAL,
            DepType.GROUP,
            DepType.GROUP_ANY,
        )
        while todo:
            stem = todo.pop()
            for pkg in versions_of(stem):
                for dep in pkg.depends:
                    if dep.type in follow:
                        for f in dep.fmris:
                            if f.stem not in seen:
                                seen.add(f.stem)
                                todo.append(f.stem)
        return sorted(seen)

    def candidates(self, stem: str) -> list[Package]:
        """Allowed versions of a closure stem (none outside the closure)."""
        return self.allowed.get(stem, []) if stem in self.closure else []

    # -- hard rules ------------------------------------------------------------------

    def feasible(self, a: Assignment) -> bool:
        for stem in self.installed:
            if stem not in self.removed and stem not in a:
                return False
        for stem in self.requested:
            if stem not in a:
                return False
        return all(self._dep_ok(a, pkg, dep) for pkg in a.values() for dep in pkg.depends)

    def _dep_ok(self, a: Assignment, pkg: Package, dep: Dependency) -> bool:
        t = dep.fmri
        have = a.get(t.stem)
        kind = dep.type
        if kind is DepType.REQUIRE:
            return have is not None and not have.obsolete and _ge(have, t.version)
        if kind is DepType.REQUIRE_ANY:
            return any(
                (h := a.get(f.stem)) is not None and not h.obsolete and _ge(h, f.version) for f in dep.fmris
            )
        if kind is DepType.OPTIONAL:
            return have is None or _ge(have, t.version)
        if kind is DepType.EXCLUDE:
            return have is None or have is pkg or not _ge(have, t.version)
        if kind is DepType.INCORPORATE:
            return have is None or t.version is None or _ver(have).matches(t.version)
        if kind is DepType.CONDITIONAL:
            q = dep.predicate
            assert q is not None
            pred = a.get(q.stem)
            triggered = pred is not None and not pred.obsolete and _ge(pred, q.version)
            return not triggered or (have is not None and not have.obsolete and _ge(have, t.version))
        if kind is DepType.GROUP:
            return not self.candidates(t.stem) or have is not None
        if kind is DepType.GROUP_ANY:
            per_stem = {f.stem: self.candidates(f.stem) for f in dep.fmris}
            per_stem = {s: v for s, v in per_stem.items() if v}
            if not per_stem:
                return True
            live_only = len(per_stem) >= 2 and any(not any(p.obsolete for p in v) for v in per_stem.values())
            return any((h := a.get(s)) is not None and not (live_only and h.obsolete) for s in per_stem)
        raise AssertionError(f"dependency type {kind} is outside the oracle's subset")

    # -- objective -------------------------------------------------------------------

    def depth(self, stem: str) -> int:
        """Incorporation nesting depth (no cycles in the subset)."""
        if stem not in self._depth:
            versions = self.versions.get(stem, []) if stem in self.wide_closure else []
            inner = {d.fmri.stem for p in versions for d in p.depends if d.type is DepType.INCORPORATE}
            self._depth[stem] = 1 + max((self.depth(s) for s in inner), default=0) if inner else 0
        return self._depth[stem]

    def priority(self, stems: Iterable[str]) -> list[str]:
        return sorted(stems, key=lambda s: (-self.depth(s), s))

    def others(self) -> list[str]:
        return sorted(s for s in self.installed if s not in self.requested and s not in self.removed)

    def objective(self, a: Assignment) -> Objective:
        newest = tuple(_pick_key(a.get(s)) for s in self.priority(self.requested))
        removed = changed = 0
        for stem in self.others():
            pick = a.get(stem)
            removed += pick is None or pick.obsolete
            changed += pick is not self.installed[stem]
        added = sum(
            1 for s, p in a.items() if s not in self.installed and s not in self.requested and not p.obsolete
        )
        return Objective(newest, -removed, -changed, -added)

    def stage3_literals(self, a: Assignment) -> tuple[frozenset[str], ...]:
        """Which stems are removed, kept unchanged, added: what stages 2-4 decided."""
        others = self.others()
        removed = frozenset(s for s in others if s not in a or a[s].obsolete)
        unchanged = frozenset(s for s in others if a.get(s) is self.installed[s])
        added = frozenset(
            s for s, p in a.items() if s not in self.installed and s not in self.requested and not p.obsolete
        )
        return removed, unchanged, added

    def moved(self, a: Assignment) -> list[str]:
        """Not-requested stems whose choice differs from the installed version."""
        return self.priority(
            s for s, p in a.items() if s not in self.requested and p is not self.installed.get(s)
        )

    # -- enumeration -----------------------------------------------------------------

    def assignments(self) -> Iterable[dict[str, Package]]:
        stems = [s for s in self.closure if self.candidates(s)]
        choices = [[None, *self.candidates(s)] for s in stems]
        for combo in itertools.product(*choices):
            yield {s: p for s, p in zip(stems, combo, strict=True) if p is not None}

    def feasible_assignments(self) -> list[dict[str, Package]]:
        if self.error:
            return []
        return [a for a in self.assignments() if self.feasible(a)]

    def solve(self) -> Outcome:
        if self.error:
            return Outcome(False, why=self.error)
        scored = [(self.objective(a), a) for a in self.feasible_assignments()]
        if not scored:
            return Outcome(False, why="no assignment satisfies the hard rules")
        best = max(o for o, _ in scored)
        return Outcome(True, best, [a for o, a in scored if o == best])

    def stage4_ok(self, plan: Assignment, optimal: Sequence[Assignment]) -> Assignment | None:
        """A plan among ``optimal`` with the same stage-3 decisions whose moved
        stems are newer, in priority order, than ``plan``'s; None if there is none."""
        moved = self.moved(plan)
        mine = tuple(_pick_key(plan.get(s)) for s in moved)
        lits = self.stage3_literals(plan)
        for other in optimal:
            if self.stage3_literals(other) == lits and tuple(_pick_key(other.get(s)) for s in moved) > mine:
                return other
        return None


def final(a: Assignment) -> dict[str, Package]:
    """What is installed after the plan: obsolete choices dropped."""
    return {s: p for s, p in a.items() if not p.obsolete}


@dataclass
class Verdict:
    """How a solver's plan compares with the oracle."""

    ok: bool
    message: str = ""
    objective: Objective | None = None


def assess(problem: Problem, outcome: Outcome, after: Mapping[str, Package] | None) -> Verdict:
    """Judge a solver's answer: ``after`` is its final installed set, or None
    when it found no plan."""
    if after is None:
        if outcome.feasible:
            return Verdict(
                False,
                f"solver found no plan; the oracle's optimum is {describe(outcome.optimal[0])}",
            )
        return Verdict(True)
    if not outcome.feasible:
        return Verdict(False, f"solver found a plan but the oracle says none exists ({outcome.why})")
    want = {s: p.fmri for s, p in after.items()}
    readings = [a for a in problem.feasible_assignments() if {s: p.fmri for s, p in final(a).items()} == want]
    if not readings:
        return Verdict(False, "the solver's plan breaks a hard rule (no feasible assignment has that result)")
    best = max(problem.objective(a) for a in readings)
    assert outcome.best is not None
    if best != outcome.best:
        return Verdict(
            False,
            f"objective {best} but the optimum is {outcome.best}: {describe(outcome.optimal[0])}",
            best,
        )
    complaints = []
    for reading in readings:
        if problem.objective(reading) != best:
            continue
        better = problem.stage4_ok(reading, outcome.optimal)
        if better is None:
            return Verdict(True, objective=best)
        complaints.append(f"moved packages could be newer: {describe(better)}")
    return Verdict(False, "; ".join(complaints), best)


def describe(a: Assignment) -> str:
    return (
        ", ".join(f"{s}@{_ver(p)}{' (obsolete)' if p.obsolete else ''}" for s, p in sorted(a.items())) or "-"
    )


# -- building packages for tests ---------------------------------------------------------

PUBLISHER = "test"


def manifest(stem: str, version: str, depends: Sequence[str] = (), obsolete: bool = False) -> str:
    """Manifest text for ``stem@version,5.11-0``. ``depends``: "TYPE TARGET..."
    with TARGET as ``stem[@release]``; a conditional writes ``conditional T if Q``."""
    lines = [f"set name=pkg.fmri value=pkg://{PUBLISHER}/{stem}@{version},5.11-0"]
    if obsolete:
        lines.append("set name=pkg.obsolete value=true")
    for spec in depends:
        kind, *targets = spec.split()
        predicate = ""
        if "if" in targets:
            i = targets.index("if")
            predicate = f" predicate=pkg:/{targets[i + 1]}"
            targets = targets[:i]
        fmris = " ".join(f"fmri=pkg:/{t}" for t in targets)
        lines.append(f"depend type={kind} {fmris}{predicate}")
    return "\n".join(lines) + "\n"


def package(stem: str, version: str, depends: Sequence[str] = (), obsolete: bool = False) -> Package:
    from resolver.manifest import parse_package

    text = manifest(stem, version, depends, obsolete)
    return parse_package(text, f"<{stem}@{version}>", PUBLISHER)
