"""Dependency types as clauses: one small function per type (ips-semantics 5).

Notation: ``P`` is "the package carrying the dependency is installed", ``Tᵢ``
the candidate versions of the target. Every clause is recorded with its
origin (rule, package, dependency) so that a conflict reads as rules.
``origin`` and ``parent`` dependencies produce no clause here: origin is a
static exclusion (resolver.problem) and parent is a zone rule
(resolver.encode.zones).
"""

from __future__ import annotations

from collections.abc import Callable

from resolver.encode.context import ClassEncoding as ImageEncoding
from resolver.encode.zones import availability
from resolver.fmri import Fmri
from resolver.model import Dependency, DepType, Package
from resolver.reasons import Rule, version_lock_facet
from resolver.sat import Origin


def encode_require(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """require T@v — ¬P ∨ T₁ ∨ … ∨ Tₙ over non-obsolete T ≥ v (unit ¬P if
    none), and the clauses it implies for propagation (``_implied_by_require``)."""
    t = dep.fmri
    lits = enc.lits(
        ("ge", t.stem, t.version, False),
        lambda: enc.shared.at_least(t.stem, t.version, obsolete_ok=False),
    )
    origin = enc.origin(Rule.REQUIRE, pkg, dep)
    enc.add([-enc.x(pkg), *lits], origin)
    _implied_by_require(enc, [-enc.x(pkg)], t, lits, origin)


def _implied_by_require(
    enc: ImageEncoding, condition: list[int], t: Fmri, lits: list[int], origin: Origin
) -> None:
    """What a require of T@v implies, as clauses unit propagation can use at
    once (each follows from the require and one-version-per-stem):
    C ∨ A(T), "T is installed" (``any_of``), and C ∨ F(T, k), "no version of
    T older than v" (the ``floor`` ladder), where C is the condition of the
    require. Without them propagation waits until a version of T is chosen,
    and the least-change stages find each consequence with a solver call."""
    if len(lits) > 1:  # with one target, propagation already reaches A(T) through it
        enc.add([*condition, enc.any_of(t.stem)], origin)
    if lits and t.version is not None:
        older = enc.older(t.stem, t.version)
        if older:
            enc.add([*condition, enc.floor(t.stem, older)], origin)


def encode_require_any(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """require-any T@v U@w … — ¬P ∨ (non-obsolete T ≥ v) ∨ (U ≥ w) ∨ …"""
    lits: list[int] = []
    for t in dep.fmris:
        lits += enc.lits(
            ("ge", t.stem, t.version, False),
            lambda t=t: enc.shared.at_least(t.stem, t.version, obsolete_ok=False),  # type: ignore[misc]
        )
    enc.add([-enc.x(pkg), *dict.fromkeys(lits)], enc.origin(Rule.REQUIRE_ANY, pkg, dep))


def encode_optional(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """optional T@v — for each candidate T older than v: ¬P ∨ ¬T."""
    t = dep.fmri
    if t.version is None:
        return
    older = [p for p in enc.shared.candidates.get(t.stem, ()) if p.fmri.version < t.version]  # type: ignore[operator]
    origin = enc.origin(Rule.OPTIONAL, pkg, dep)
    for other in older:
        enc.add([-enc.x(pkg), -enc.x(other)], origin)


def encode_exclude(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """exclude T@v — for each candidate T ≥ v (every T if unversioned): ¬P ∨ ¬T."""
    t = dep.fmri
    hit = enc.shared.at_least(t.stem, t.version, obsolete_ok=True)
    origin = enc.origin(Rule.EXCLUDE, pkg, dep)
    for other in hit:
        if other is not pkg:
            enc.add([-enc.x(pkg), -enc.x(other)], origin)


def encode_incorporate(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """incorporate T@v — ¬P ∨ M, with M → ¬T for each candidate T not matching v
    at its precision. M ("T is absent or matches v") is shared by every
    incorporation that pins T at v, so each pin's negative clauses exist once."""
    t = dep.fmri
    if t.version is None:
        return
    rule = Rule.VERSION_LOCK if version_lock_facet(dep) else Rule.INCORPORATE
    enc.add([-enc.x(pkg), enc.pinned(t.stem, t.version)], enc.origin(rule, pkg, dep))


def encode_conditional(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """conditional T@v predicate=Q@w — for each non-obsolete Q ≥ w: ¬P ∨ ¬Q ∨ (non-obsolete T ≥ v),
    and what that implies for propagation (``_implied_by_require``)."""
    t, q = dep.fmri, dep.predicate
    if q is None:
        return
    targets = enc.lits(
        ("ge", t.stem, t.version, False),
        lambda: enc.shared.at_least(t.stem, t.version, obsolete_ok=False),
    )
    origin = enc.origin(Rule.CONDITIONAL, pkg, dep)
    for pred in enc.shared.at_least(q.stem, q.version, obsolete_ok=False):
        enc.add([-enc.x(pkg), -enc.x(pred), *targets], origin)
        _implied_by_require(enc, [-enc.x(pkg), -enc.x(pred)], t, targets, origin)


def _group_clauses(
    enc: ImageEncoding, pkg: Package, targets: list[Package], dep: Dependency, stems: tuple[str, ...]
) -> None:
    """¬P ∨ T₁ ∨ … ∨ Tₙ ∨ O, where the image sets the opt-out O when it avoids
    or rejects the target, or when versions survive its early exclusions
    (freeze, incorporations, requested versions, publishers) but none of them
    passes the late checks (upgrade path, explicit-install, or, in a linked
    zone, a parent dependency): pkg(5) then drops the dependency. With no
    version surviving the early exclusions, O is false and P cannot be
    installed (pkg(5) trims it). Targets with a parent dependency count when
    the global zone meets it (parent literal G): ¬P ∨ ¬G ∨ T₁ ∨ … ∨ Tₙ ∨ O'."""
    if not targets:
        return
    lits = [enc.x(p) for p in targets]
    origin = enc.origin(Rule(dep.type.value), pkg, dep, stems)
    conditions = [availability(enc, t) for t in targets]
    enc.add([-enc.x(pkg), *lits, _opted_out(enc, "plain", stems)], origin)
    conditional = dict.fromkeys(g for c in conditions if c for g in c)
    if conditional:
        out = _opted_out(enc, "parent", stems)
        for cond in conditional:
            enc.add([-enc.x(pkg), -cond, *lits, out], origin)


def _opted_out(enc: ImageEncoding, kind: str, stems: tuple[str, ...]) -> int:
    """The opt-out literal of one target stem, or of all of several."""
    if len(stems) == 1:
        return enc.optout(stems[0], kind)
    out = enc.formula.fresh()
    for stem in stems:
        enc.add([-out, enc.optout(stem, kind)], enc.origin(Rule.SELECTOR, stems=stems))
    return out


def encode_group(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """group T — ¬P ∨ T₁ ∨ … ∨ Tₙ over every candidate of T (obsolete too),
    unless the image opted out of T (see ``_group_clauses``)."""
    stem = dep.fmri.stem
    targets = list(enc.shared.candidates.get(stem, ()))
    _group_clauses(enc, pkg, targets, dep, (stem,))


def encode_group_any(enc: ImageEncoding, pkg: Package, dep: Dependency) -> None:
    """group-any T U … — ¬P ∨ (any candidate of the targets), unless the image
    opted out of all of them. pkg(5) does not count obsolete versions when at
    least two targets remain for the image and one of them has no obsolete
    version; the image decides that (selector D): ¬P ∨ ¬D ∨ (live candidates)."""
    per_stem = {f.stem: list(enc.shared.candidates.get(f.stem, ())) for f in dep.fmris}
    per_stem = {s: v for s, v in per_stem.items() if v}
    stems = tuple(sorted(per_stem))
    targets = [p for v in per_stem.values() for p in v]
    _group_clauses(enc, pkg, targets, dep, stems)
    live = [p for p in targets if not p.obsolete]
    if len(live) < len(targets) and len(stems) >= 2:
        drop = enc.drop_obsolete(stems)
        origin = enc.origin(Rule.GROUP_ANY, pkg, dep, stems)
        enc.add([-enc.x(pkg), -drop, *(enc.x(p) for p in live), _opted_out(enc, "plain", stems)], origin)


Encoder = Callable[[ImageEncoding, Package, Dependency], None]

#: One encoder per dependency type; origin and parent have none here.
ENCODERS: dict[DepType, Encoder] = {
    DepType.REQUIRE: encode_require,
    DepType.REQUIRE_ANY: encode_require_any,
    DepType.OPTIONAL: encode_optional,
    DepType.EXCLUDE: encode_exclude,
    DepType.INCORPORATE: encode_incorporate,
    DepType.CONDITIONAL: encode_conditional,
    DepType.GROUP: encode_group,
    DepType.GROUP_ANY: encode_group_any,
}


def encode_dependencies(enc: ImageEncoding) -> None:
    """Clauses for every dependency of every candidate of the class."""
    problem = enc.shared
    for stem in sorted(problem.candidates):
        for pkg in problem.candidates[stem]:
            for dep in problem.deps(pkg):
                encoder = ENCODERS.get(dep.type)
                if encoder is not None:
                    encoder(enc, pkg, dep)
