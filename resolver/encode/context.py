"""The encoding of one class of images: the shared formula and its variables.

Variable keys say what a variable means (resolver.reasons):
``PackageVar(class, fmri)`` for "the image has this package version
installed", ``ParentVar(parent, fmri)`` for "the parent image has it" (linked
and SVR4 zones refer to the global zone only through these).

Numbering is fixed when the class is encoded: the class's candidates are
variables 1..N, in candidate order (stems by name, versions oldest first),
and every other keyed variable exists once the clauses are made; then the
formula is sealed (``Formula.seal``). Worker processes forked afterwards
create only unkeyed auxiliary variables of their own, so a package variable
means the same package in every process (resolver.workers).

Everything an image of the class adds is an assumption on a *selector*:
``present`` (the stem must be installed), ``floor`` (no version below the
k-th: how "not older than installed" is said without a clause per image),
``defpub`` (the default publisher rule), ``optout`` (a group target the image
opted out of). The clauses behind selectors carry no text of their own; the
assumption that switches them on says, per image, why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from resolver.fmri import Version
from resolver.model import Dependency, DepType, Package
from resolver.problem import SharedProblem
from resolver.reasons import PackageVar, ParentVar, Rule
from resolver.sat import Formula, Origin

_SILENT = Rule.SELECTOR  # rule of clauses whose meaning the assumption states


class ClassEncoding:
    """Variables and clause helpers for one class of images inside a formula."""

    def __init__(self, shared: SharedProblem, formula: Formula, name: str, parent: str | None) -> None:
        self.shared = shared
        self.problem = shared  # the encoders read candidates and deps from here
        self.formula = formula
        self.name = name
        self.parent = parent
        self._lits: dict[int, int] = {}
        self._parent_lits: dict[int, int] = {}
        self._cache: dict[tuple[object, ...], list[int]] = {}
        self._selectors: dict[tuple[str, str, int], int] = {}
        self._pins: dict[tuple[str, str, Version], int] = {}
        self._below: dict[int, tuple[int, tuple[int, ...]]] = {}
        self._older: dict[tuple[str, Version], int] = {}
        self._versions: dict[str, tuple[int, ...]] = {}
        self._sorted_targets: list[tuple[str, str]] | None = None
        self._default_optouts: dict[tuple[str, str], bool] = {}
        self.group_targets: set[tuple[str, str]] = set()
        self.group_any_sets: set[tuple[str, ...]] = set()
        #: stems with an ``any_of`` literal, in the order they were made
        self.any_of_stems: list[str] = []
        #: every candidate, in variable order: ``packages[v - 1]`` is variable v's
        self.packages: list[Package] = []
        self._number_candidates()

    def _number_candidates(self) -> None:
        """Variables 1..N for the class's candidates, before anything else."""
        assert self.formula.nvars == 0, "candidates are numbered first"
        for stem in sorted(self.shared.candidates):
            for pkg in self.shared.candidates[stem]:
                self._lits[id(pkg)] = self.formula.var(PackageVar(self.name, pkg.fmri))
                self.packages.append(pkg)

    @cached_property
    def special_candidates(self) -> list[Package]:
        """Candidates whose exclusion depends on the image's installed set:
        packages with origin dependencies and explicit-install packages."""
        return [
            pkg
            for versions in self.shared.candidates.values()
            for pkg in versions
            if pkg.explicit_install or any(d.type is DepType.ORIGIN for d in self.shared.deps(pkg))
        ]

    @cached_property
    def multi_publisher_stems(self) -> list[str]:
        """Stems more than one publisher offers (the publisher rules matter)."""
        return sorted(s for s, v in self.shared.candidates.items() if len({p.publisher for p in v}) > 1)

    def x(self, pkg: Package) -> int:
        """Literal: the image has ``pkg`` (a candidate of the class) installed."""
        return self._lits[id(pkg)]

    def versions(self, stem: str) -> tuple[int, ...]:
        """The literals of stem's candidates, oldest first (memoised)."""
        got = self._versions.get(stem)
        if got is None:
            got = self._versions[stem] = tuple(self.x(p) for p in self.shared.candidates.get(stem, ()))
        return got

    def below(self, inst: Package) -> tuple[int, tuple[int, ...]]:
        """How many candidates of inst's stem are older than ``inst``, and their
        literals (memoised per package: zones share installed packages)."""
        got = self._below.get(id(inst))
        if got is None:
            versions = self.shared.candidates.get(inst.stem, [])
            k = 0
            while k < len(versions) and versions[k].fmri.version < inst.fmri.version:  # type: ignore[operator]
                k += 1
            got = self._below[id(inst)] = (k, tuple(self.x(v) for v in versions[:k]))
        return got

    def in_parent(self, pkg: Package) -> int:
        """Literal: the parent image has ``pkg`` installed (memoised per package)."""
        got = self._parent_lits.get(id(pkg))
        if got is None:
            assert self.parent is not None
            got = self._parent_lits[id(pkg)] = self.formula.var(ParentVar(self.parent, pkg.fmri))
        return got

    def lits(self, key: tuple[object, ...], make: Callable[[], list[Package]]) -> list[int]:
        """Literals of a candidate set, memoised by ``key`` (shared by many deps)."""
        got = self._cache.get(key)
        if got is None:
            got = [self.x(p) for p in make()]
            self._cache[key] = got
        return got

    def origin(
        self,
        rule: Rule,
        pkg: Package | None = None,
        dep: Dependency | None = None,
        stems: tuple[str, ...] = (),
    ) -> Origin:
        """The origin of clauses the class shares (no image of its own)."""
        return Origin(rule, "", pkg, dep, stems)

    def add(self, clause: list[int], origin: Origin) -> None:
        self.formula.add(clause, origin)

    # -- selectors ---------------------------------------------------------------

    def _selector(self, kind: str, stem: str, k: int, build: Callable[[int], None]) -> int:
        key = (kind, stem, k)
        sel = self._selectors.get(key)
        if sel is None:
            sel = self.formula.fresh()
            self._selectors[key] = sel
            build(sel)
        return sel

    def present(self, stem: str) -> int:
        """Selector: some version of ``stem`` is installed (¬s ∨ T₁ ∨ … ∨ Tₙ)."""

        def build(sel: int) -> None:
            lits = [self.x(p) for p in self.shared.candidates.get(stem, ())]
            self.add([-sel, *lits], Origin(_SILENT, stems=(stem,)))

        return self._selector("present", stem, 0, build)

    def live(self, stem: str) -> int:
        """Selector: a non-obsolete version of ``stem`` is installed."""

        def build(sel: int) -> None:
            lits = [self.x(p) for p in self.shared.candidates.get(stem, ()) if not p.obsolete]
            self.add([-sel, *lits], Origin(_SILENT, stems=(stem,)))

        return self._selector("live", stem, 0, build)

    def any_of(self, stem: str) -> int:
        """Literal implied by any non-obsolete version of ``stem`` (Tᵢ → a)."""

        def build(sel: int) -> None:
            self.any_of_stems.append(stem)
            origin = Origin(_SILENT, stems=(stem,))
            for p in self.shared.candidates.get(stem, ()):
                if not p.obsolete:
                    self.add([-self.x(p), sel], origin)

        return self._selector("any", stem, 0, build)

    def pinned(self, stem: str, version: Version) -> int:
        """Selector: ``stem`` is absent or at a version matching ``version``
        (M → ¬T for every candidate T that does not match)."""
        key = ("pinned", stem, version)
        sel = self._pins.get(key)
        if sel is None:
            sel = self._pins[key] = self.formula.fresh()
            origin = Origin(_SILENT, stems=(stem,))
            for p in self.shared.candidates.get(stem, ()):
                if not p.fmri.version.matches(version):  # type: ignore[union-attr]
                    self.add([-sel, -self.x(p)], origin)
        return sel

    def floor(self, stem: str, k: int) -> int:
        """Selector: no candidate of ``stem`` below index k (a ladder:
        f_k → f_{k-1}, f_k → ¬T_{k-1})."""
        versions = self.shared.candidates[stem]

        def build(sel: int) -> None:
            origin = Origin(_SILENT, stems=(stem,))
            self.add([-sel, -self.x(versions[k - 1])], origin)
            if k > 1:
                self.add([-sel, self.floor(stem, k - 1)], origin)

        return self._selector("floor", stem, k, build)

    def older(self, stem: str, version: Version) -> int:
        """How many candidates of ``stem`` are older than ``version`` (they
        come first: candidates are sorted by version)."""
        got = self._older.get((stem, version))
        if got is None:
            keys = [p.fmri.version.key for p in self.shared.candidates.get(stem, ())]  # type: ignore[union-attr]
            got = self._older[stem, version] = sum(1 for key in keys if key < version.key)
        return got

    def optout(self, stem: str, kind: str) -> int:
        """Literal: the image opted out of group target ``stem`` (avoid, --reject,
        or no version of the ``kind`` — "plain", or "parent": with a parent
        dependency — it may install); group clauses are off when it holds."""
        self.group_targets.add((stem, kind))
        return self._selector("optout-" + kind, stem, 0, lambda sel: None)

    def drop_obsolete(self, stems: tuple[str, ...]) -> int:
        """Selector: obsolete versions do not count for a group-any on ``stems``."""
        self.group_any_sets.add(stems)
        return self._selector("drop-obsolete", "\0".join(stems), 0, lambda sel: None)

    def sorted_group_targets(self) -> list[tuple[str, str]]:
        """``group_targets`` in order (they are all known once the class is encoded)."""
        if self._sorted_targets is None or len(self._sorted_targets) != len(self.group_targets):
            self._sorted_targets = sorted(self.group_targets)
        return self._sorted_targets

    def default_optout(self, stem: str, kind: str) -> bool:
        """Whether an image that excludes no version of ``stem`` opts out of it."""
        key = (stem, kind)
        got = self._default_optouts.get(key)
        if got is None:
            got = self._default_optouts[key] = self.opted_out(stem, kind, set(), set())
        return got

    def opted_out(self, stem: str, kind: str, early_out: set[int], late_out: set[int]) -> bool:
        """An image with these exclusions may install no version of group
        target ``stem`` that counts for a group of this ``kind`` ("parent": one
        with a parent dependency)."""
        early = [v for v in self.shared.candidates.get(stem, ()) if self.x(v) not in early_out]
        wanted = kind == "parent"
        usable = any(self.x(v) not in late_out and self.has_parent_dependency(v) == wanted for v in early)
        return not usable and (bool(early) or wanted)

    def has_parent_dependency(self, pkg: Package) -> bool:
        """pkg counts for a group only if the global zone meets its parent dependency."""
        return (
            self.parent is not None
            and self.shared.linked
            and any(d.type is DepType.PARENT for d in self.shared.deps(pkg))
        )
