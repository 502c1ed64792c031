"""Zone rules as clauses: how a zone refers to its global zone.

A zone's formula talks about the global zone only through "parent" literals
(``ParentVar(parent, fmri)``): "the global zone has this exact package version". A
joint solve links them to the global zone's own variables (same fmri); a zone
checked against a fixed global plan assumes their values. Either way the zone
sees the global zone only through these interface literals.

Linked zones (lipkg, sparse, pkgsrc; ips-semantics 8): parent dependencies.
Native zones (Solaris 10 SVR4): ALLZONES packages are installed in a zone
exactly when, and at the version that, the global zone has them. (Other
packages are at one version in the global zone and its zones when the
global zone's pkgadd or patchadd put them there: that is which zones an
operation reaches, resolver.svr4; -G and zone-local operations may differ.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from resolver.encode.context import ClassEncoding as ImageEncoding
from resolver.fmri import DEPEND_SELF
from resolver.model import Brand, Dependency, DepType, Package
from resolver.reasons import Rule


def encode_parent_dependencies(enc: ImageEncoding) -> None:
    """Every parent dependency of every candidate of a class of linked zones."""
    problem = enc.shared
    for stem in sorted(problem.candidates):
        for pkg in problem.candidates[stem]:
            if id(pkg) in problem.lax_parent:
                continue  # out-of-sync retry: installed packages are left as they are
            for dep in problem.deps(pkg):
                if dep.type is DepType.PARENT:
                    _encode_parent(enc, pkg, dep)


def parent_lits(enc: ImageEncoding, pkg: Package, dep: Dependency) -> list[int]:
    """The parent literals of which at least one must hold for ``dep``:
    self — G(P), the global zone has exactly P (publisher, version, timestamp);
    T@v — G(T₁) ∨ … over every version of T ≥ v (at the publisher, if named)."""
    if dep.fmri.stem == DEPEND_SELF:
        return [enc.in_parent(pkg)]
    target = dep.fmri
    return [
        enc.in_parent(p)
        for p in enc.shared.catalog.versions(target.stem)
        if (target.version is None or p.fmri.version.key >= target.version.key)  # type: ignore[union-attr]
        and (target.publisher is None or p.publisher == target.publisher)
    ]


def availability(enc: ImageEncoding, pkg: Package) -> list[int] | None:
    """None if ``pkg`` has no parent dependency here; else literals of which one
    must hold for the global zone to allow it (its first parent dependency)."""
    if enc.parent is None or not enc.shared.linked:
        return None
    for dep in enc.shared.deps(pkg):
        if dep.type is DepType.PARENT:
            return parent_lits(enc, pkg, dep)
    return None


def _encode_parent(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """parent — ¬P ∨ G(…): see ``parent_lits``."""
    enc.add([-enc.x(pkg), *parent_lits(enc, pkg, dep)], enc.origin(Rule.PARENT, pkg, dep))


def svr4_shared_stems(parent_candidates: Mapping[str, Sequence[Package]]) -> frozenset[str]:
    """Stems a native zone must consider because the global zone may have them
    as ALLZONES packages."""
    return frozenset(
        s for s, versions in parent_candidates.items() if any(p.svr4 and p.svr4.allzones for p in versions)
    )


def encode_svr4_zone(enc: ImageEncoding, parent_candidates: Mapping[str, Sequence[Package]]) -> None:
    """The Solaris 10 zone rules of a native zone, against its global zone."""
    if enc.shared.image.brand is not Brand.NATIVE:
        return
    problem = enc.shared
    for stem in sorted(set(problem.candidates) | set(parent_candidates)):
        mine = problem.candidates.get(stem, [])
        theirs = parent_candidates.get(stem, ())
        if any(p.svr4 and p.svr4.allzones for p in (*mine, *theirs)):
            _allzones(enc, stem, mine, theirs)


def _allzones(enc: ImageEncoding, stem: str, mine: Sequence[Package], theirs: Sequence[Package]) -> None:
    """ALLZONES — for each version V: Z(V) ↔ G(V) (in every native zone, same version)."""
    origin = enc.origin(Rule.SVR4_ALLZONES, stems=(stem,))
    mine_ids = {id(p) for p in mine}
    for pkg in mine:
        enc.add([-enc.x(pkg), enc.in_parent(pkg)], origin)
    for pkg in theirs:
        if id(pkg) in mine_ids:
            enc.add([-enc.in_parent(pkg), enc.x(pkg)], origin)
        else:
            enc.add([-enc.in_parent(pkg)], origin)
