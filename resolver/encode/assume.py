"""What one image adds to its class's shared formula, as assumptions.

Each assumption literal comes with the Origin that says, for this image, why
it holds: "X is installed and stays installed", "the request: install Y",
"excluded by a freeze on Z", ... An image therefore costs a list of literals,
not a formula, and a conflict reads back through these origins.
"""

from __future__ import annotations

from resolver.encode.context import ClassEncoding
from resolver.model import DepType, Package
from resolver.problem import ImageProblem
from resolver.sat import Origin


class Assumptions:
    """The literals one image assumes, each with its origin; and what it excludes."""

    def __init__(self, enc: ClassEncoding, problem: ImageProblem) -> None:
        self.enc = enc
        self.problem = problem
        self.name = problem.image.name
        self.origins: dict[int, Origin] = {}
        self.excluded: set[int] = set()  # variables of versions this image may not choose
        self._build()

    @property
    def lits(self) -> list[int]:
        return list(self.origins)

    def _add(self, lit: int, origin: Origin) -> None:
        if -lit not in self.origins:
            self.origins.setdefault(lit, origin)

    def _exclude(self, pkg: Package, why: str) -> None:
        lit = self.enc.x(pkg)
        self.excluded.add(lit)
        self._add(-lit, Origin("excluded", self.name, f"{pkg.fmri.short()}: {why}", stems=()))

    def _build(self) -> None:
        self._presence()
        self._floors()
        self._exclusions()
        self._optouts()
        self._drop_obsolete()

    def _presence(self) -> None:
        """Installed stems stay installed; requested stems get installed."""
        p, enc = self.problem, self.enc
        for stem, pkg in sorted(p.installed.items()):
            if stem not in p.removals and stem not in p.request.proposed:
                text = f"{pkg.fmri.short()} is installed and must stay installed (at this or another version)"
                self._add(enc.present(stem), Origin("installed", self.name, text, pkg, stems=(stem,)))
        for stem in sorted(p.request.proposed):
            pattern = p.request.proposed_by.get(stem, stem)
            text = f"the request: {p.request.kind} '{pattern}' in image {self.name}"
            self._add(enc.present(stem), Origin("request", self.name, text, stems=(stem,)))

    def _floors(self) -> None:
        """No version older than the installed one, unless a downgrade is allowed."""
        p, enc = self.problem, self.enc
        for stem, inst in sorted(p.installed.items()):
            versions = enc.shared.candidates.get(stem, [])
            older = [v for v in versions if p.older_than_installed(v)]
            if not older:
                continue
            note = p.note(stem) or ""
            k = next(i for i, v in enumerate(versions) if v.fmri.version >= inst.fmri.version)  # type: ignore[operator]
            if len(older) == k:
                self._add(enc.floor(stem, k), Origin("installed", self.name, note, inst, stems=()))
                self.excluded.update(enc.x(v) for v in versions[:k])
            else:
                for v in older:
                    self.excluded.add(enc.x(v))
                    self._add(-enc.x(v), Origin("installed", self.name, note, inst, stems=()))

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
                why = None if p.older_than_installed(pkg) else p.why_excluded(pkg)
                if why:
                    self._exclude(pkg, why)
        self._default_publishers(stems)
        for pkg in self.enc.special_candidates:
            if pkg.stem not in stems and not p.older_than_installed(pkg):
                why = p.why_excluded(pkg)
                if why:
                    self._exclude(pkg, why)

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
                    self._exclude(pkg, why)

    def _optouts(self) -> None:
        """Group targets this image opted out of, or may not install at all."""
        p, enc = self.problem, self.enc
        for stem, kind in sorted(enc.group_targets):
            early = [v for v in enc.shared.candidates.get(stem, ()) if self._early_ok(v)]
            if stem in p.avoid or stem in p.request.reject or stem in p.request.remove:
                out = True  # uninstalling a group target opts out of it, as avoid does
            elif kind == "plain":
                out = bool(early) and not any(
                    self._late_ok(v) and not enc.has_parent_dependency(v) for v in early
                )
            else:
                out = not any(self._late_ok(v) and enc.has_parent_dependency(v) for v in early)
            lit = enc.optout(stem, kind)
            self._add(lit if out else -lit, Origin("selector", self.name, ""))

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
            self._add(lit if drop else -lit, Origin("selector", self.name, ""))

    def _early_ok(self, pkg: Package) -> bool:
        """Survives the exclusions pkg(5) applies before its closure."""
        return (
            not self.problem.older_than_installed(pkg) and self.problem.why_excluded(pkg, late=False) is None
        )

    def _late_ok(self, pkg: Package) -> bool:
        """Also passes the checks pkg(5) applies after it (origin, explicit-install)."""
        return self.problem.why_excluded(pkg) is None

    def ladder(self, stem: str) -> list[int]:
        """This image's candidates of ``stem`` as literals, least preferred first."""
        return [
            lit
            for pkg in self.enc.shared.candidates.get(stem, ())
            if (lit := self.enc.x(pkg)) not in self.excluded
        ]


def _multi_publisher(versions: list[Package], inst: Package) -> bool:
    return len({p.publisher for p in versions}) > 1
