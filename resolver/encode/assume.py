"""What one image adds to its class's shared formula, as assumptions.

Each assumption literal comes with the Origin that says, for this image, why
it holds (as data: the rule, the package, the Reason): X is installed and
stays installed, the request installs Y, a freeze on Z excludes Z@2, ... An
image therefore costs a list of literals, not a formula, and a conflict reads
back through these origins (resolver.explain).
"""

from __future__ import annotations

from resolver.encode.context import ClassEncoding
from resolver.model import DepType, Package
from resolver.problem import ImageProblem
from resolver.reasons import Reason, Rule
from resolver.sat import Origin


class Assumptions:
    """The literals one image assumes, each with its origin; and what it excludes."""

    def __init__(self, enc: ClassEncoding, problem: ImageProblem) -> None:
        self.enc = enc
        self.problem = problem
        self.name = problem.image.name
        self.origins: dict[int, Origin] = {}
        # variables of versions this image may not choose, by when pkg(5)
        # excludes them: before its closure (early) or after it (late)
        self.early_out: set[int] = set()
        self.late_out: set[int] = set()
        self._build()
        self.excluded = self.early_out | self.late_out
        self._ladders: dict[str, list[int]] = {}

    @property
    def lits(self) -> list[int]:
        return list(self.origins)

    def _add(self, lit: int, origin: Origin) -> None:
        if -lit not in self.origins:
            self.origins.setdefault(lit, origin)

    def _exclude(self, pkg: Package, why: Reason, into: set[int]) -> None:
        lit = self.enc.x(pkg)
        into.add(lit)
        self._add(-lit, Origin(why.rule, self.name, pkg, stems=(pkg.stem,), reason=why))

    def _build(self) -> None:
        self._presence()
        self._floors()
        self._exclusions()
        self._optouts()
        self._drop_obsolete()

    def _presence(self) -> None:
        """Installed stems stay installed (but avoided ones: ``may_go``);
        requested stems get installed."""
        p, enc, name = self.problem, self.enc, self.name
        for stem, pkg in sorted(p.installed.items()):
            enc.live(stem)  # made now: the least-change stage asks for it during the search
            if stem not in p.removals and stem not in p.request.proposed and stem not in p.may_go:
                self._add(enc.present(stem), Origin(Rule.INSTALLED, name, pkg, stems=(stem,)))
        for stem in sorted(p.request.proposed):
            self._add(enc.present(stem), Origin(Rule.REQUEST, name, stems=(stem,)))

    def _floors(self) -> None:
        """No version older than the installed one, unless a downgrade is allowed."""
        p, enc = self.problem, self.enc
        for stem, inst in sorted(p.installed.items()):
            if stem in p.removals:
                continue
            k, older = enc.below(inst)
            if not k:
                continue
            origin = Origin(Rule.NO_DOWNGRADE, self.name, inst, stems=(stem,))
            if p.downgrades.get(stem) or stem in p.request.proposed:
                for v in enc.shared.candidates[stem][:k]:  # downgrades allowed: one by one
                    if p.older_than_installed(v):
                        self.early_out.add(enc.x(v))
                        self._add(-enc.x(v), origin)
            else:
                self._add(enc.floor(stem, k), origin)
                self.early_out.update(older)

    def _exclusions(self) -> None:
        """Every other reason a candidate is off limits for this image."""
        p, shared = self.problem, self.enc.shared
        stems = set(p.request.reject) | set(p.request.remove) | set(p.request.proposed) | set(p.freezes)
        stems |= {
            s for s, inst in p.installed.items() if _multi_publisher(shared.candidates.get(s, []), inst)
        }
        for inc in p.maintained.values():
            stems.add(inc.stem)
            stems |= {d.fmri.stem for d in p.deps(inc) if d.type is DepType.INCORPORATE}
        for stem in sorted(stems):
            for pkg in shared.candidates.get(stem, ()):
                if self.enc.x(pkg) not in self.early_out:
                    self._check(pkg)
        self._default_publishers(stems)
        for pkg in self.enc.special_candidates:
            if pkg.stem not in stems and self.enc.x(pkg) not in self.early_out:
                self._check(pkg)

    def _check(self, pkg: Package) -> None:
        """Exclude ``pkg`` if a rule forbids it, noting whether the rule is one
        pkg(5) applies before its closure (early) or after it (late)."""
        why = self.problem.why_excluded(pkg, late=False)
        if why:
            self._exclude(pkg, why, self.early_out)
            return
        why = self.problem.late_reason(pkg)
        if why:
            self._exclude(pkg, why, self.late_out)

    def _default_publishers(self, done: set[str]) -> None:
        """Stems offered by several publishers and untouched above: the
        best-ranked publisher only."""
        p = self.problem
        for stem in self.enc.multi_publisher_stems:
            if stem in done:
                continue
            for pkg in self.enc.shared.candidates[stem]:
                why = p.publisher_reason(pkg)
                if why:
                    self._exclude(pkg, why, self.early_out)

    def _optouts(self) -> None:
        """Group targets this image opted out of, or may not install at all."""
        p, enc = self.problem, self.enc
        opted = p.avoid | p.request.reject | p.request.remove  # uninstalling a group target opts out
        origin = Origin(Rule.SELECTOR, self.name)
        for stem, kind in enc.sorted_group_targets():
            versions = enc.versions(stem)
            if stem in opted:
                out = True
            elif self.early_out.isdisjoint(versions) and self.late_out.isdisjoint(versions):
                out = enc.default_optout(stem, kind)  # nothing excluded here: as for the class
            else:
                out = enc.opted_out(stem, kind, self.early_out, self.late_out)
            lit = enc.optout(stem, kind)
            self._add(lit if out else -lit, origin)

    def _drop_obsolete(self) -> None:
        """group-any: obsolete versions do not count when two or more targets
        remain for this image and one of them has no obsolete version."""
        p, enc = self.problem, self.enc
        for stems in sorted(enc.group_any_sets):
            opted_out = p.avoid | p.request.reject | p.request.remove
            remaining = [s for s in stems if s not in opted_out]
            drop = len(remaining) >= 2 and any(
                not any(v.obsolete for v in enc.shared.candidates.get(s, ())) for s in remaining
            )
            lit = enc.drop_obsolete(stems)
            self._add(lit if drop else -lit, Origin(Rule.SELECTOR, self.name, stems=stems))

    def ladder(self, stem: str) -> list[int]:
        """This image's candidates of ``stem`` as literals, least preferred
        first (memoised; callers do not change it)."""
        got = self._ladders.get(stem)
        if got is None:
            excluded = self.excluded
            got = self._ladders[stem] = [lit for lit in self.enc.versions(stem) if lit not in excluded]
        return got


def _multi_publisher(versions: list[Package], inst: Package) -> bool:
    return len({p.publisher for p in versions}) > 1
