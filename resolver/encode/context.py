"""The encoding context of one image: its problem, the formula, its variables.

Variable keys are readable: ``(image, fmri)`` for "this image has this
package version installed", ``("^", parent, fmri)`` for "the parent image has
it" (linked zones and SVR4 zones refer to the global zone through these).
"""

from __future__ import annotations

from collections.abc import Callable

from resolver.model import Package
from resolver.problem import ImageProblem
from resolver.sat import Formula, Origin

PARENT = "^"


class ImageEncoding:
    """Variables and clause helpers for one image inside a formula."""

    def __init__(self, problem: ImageProblem, formula: Formula, parent: str | None) -> None:
        self.problem = problem
        self.formula = formula
        self.name = problem.image.name
        self.parent = parent
        self._lits: dict[int, int] = {}
        self._cache: dict[tuple[object, ...], list[int]] = {}

    def x(self, pkg: Package) -> int:
        """Literal: this image has ``pkg`` installed."""
        lit = self._lits.get(id(pkg))
        if lit is None:
            lit = self.formula.var((self.name, pkg.fmri))
            self._lits[id(pkg)] = lit
        return lit

    def in_parent(self, pkg: Package) -> int:
        """Literal: the parent image has ``pkg`` installed."""
        assert self.parent is not None
        return self.formula.var((PARENT, self.parent, pkg.fmri))

    def lits(self, key: tuple[object, ...], make: Callable[[], list[Package]]) -> list[int]:
        """Literals of a candidate set, memoised by ``key`` (shared by many deps)."""
        got = self._cache.get(key)
        if got is None:
            got = [self.x(p) for p in make()]
            self._cache[key] = got
        return got

    def origin(self, rule: str, text: str, pkg: Package | None = None, **kw: object) -> Origin:
        return Origin(rule, self.name, text, pkg, **kw)  # type: ignore[arg-type]

    def add(self, clause: list[int], origin: Origin) -> None:
        self.formula.add(clause, origin)
