"""Sentences: the one place where explanation steps become text.

A ``Step`` is one step of a conflict (resolver.conflict) as data: its rule,
the image, the package the rule belongs to, its dependency, the versions it
is about, and for zone rules what the other side (the global zone) has.
``fact`` makes the errors.Fact a person and a JSON reader see: the same data,
plus the sentence. Versions that share a cause are said once ("sys@2.0, @2.1
and 3 other versions"); nothing is padded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resolver.catalog import Catalog
from resolver.conflict import Item
from resolver.errors import Fact
from resolver.fmri import DEPEND_SELF, Fmri
from resolver.model import Dependency, Package
from resolver.plan import HeldBack
from resolver.problem import ImageProblem, Request
from resolver.reasons import PackageVar, ParentView, Reason, Rule, ZoneCut, version_lock_facet
from resolver.sat import Origin

if TYPE_CHECKING:
    from resolver.image_solver import ImageRun

#: versions named in a sentence before "and N other versions"
VERSIONS_SHOWN = 2
#: why a dependency or request has no version here, most telling first
_UNMET_ORDER = (Rule.VARIANT, Rule.PUBLISHER, Rule.STICKY, Rule.OBSOLETE, Rule.FREEZE, Rule.INCORPORATE)


@dataclass
class Step:
    """One step of an explanation, as data."""

    rule: Rule
    image: str
    stem: str
    #: the package the rule belongs to (the dependent, incorporation, installed one)
    owner: Package | None = None
    dep: Dependency | None = None
    #: the versions the step is about: the dependents of a dependency step,
    #: the versions an exclusion rules out, the zone's versions of a zone rule
    members: list[Package] = field(default_factory=list)
    #: dependency steps: each dependent with its dependency
    deps: list[tuple[Package, Dependency]] = field(default_factory=list)
    reason: Reason | None = None
    setting: str | None = None
    #: the stems a dependency step leads to (the chain's order)
    targets: tuple[str, ...] = ()
    #: member rules (an installed package that stays and is not downgraded)
    rules: frozenset[Rule] = frozenset()
    parent: ParentView | None = None
    cut: ZoneCut | None = None
    cut_origin: Origin | None = None
    #: a zone's cuts: the global-zone packages of each plan the zones
    #: rejected: (FMRI, True) one they cannot follow, (FMRI, False) one they need
    cut_plans: list[tuple[tuple[Fmri, bool], ...]] = field(default_factory=list)
    #: a zone cut step: its clauses (other zones' identical cuts block too)
    clauses: list[list[int]] = field(default_factory=list)
    request: Request | None = None
    #: decisions: the chosen package, or the one ruled out; an incorporation's
    chosen: bool = True
    incorporation: bool = False
    #: why nothing satisfies a dependency or request here: the reason, and
    #: the versions that exist but are off limits (variant, publisher, obsolete)
    unmet: tuple[Reason, list[Package]] | None = None
    #: targets of which no source has any version
    missing: tuple[str, ...] = ()

    @property
    def sort_text(self) -> str:
        return f"{self.stem}\0{self.owner.fmri if self.owner else ''}\0{self.rule}"

    @classmethod
    def of(cls, item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
        """The step a conflict's item stands for, in ``run``'s image."""
        build = _BUILD.get(str(item.key[0]))
        if build is not None:
            return build(item, run, parent, catalog)
        first = item.members[0].origin
        return Step(first.rule, run.name, first.stems[0] if first.stems else "", first.package)

    @classmethod
    def excluded(cls, image: str, pkg: Package, why: Reason, members: Sequence[Package] = ()) -> Step:
        """The versions one rule excludes in one image."""
        versions = list(members) or [pkg]
        return Step(why.rule, image, pkg.stem, why.by, why.dep, versions, reason=why, setting=why.setting)


def _vkey(pkg: Package) -> tuple[object, ...]:
    return (pkg.fmri.version.key if pkg.fmri.version else (), pkg.publisher)


def _origins(item: Item) -> list[Origin]:
    return [m.origin for m in item.members]


# ---------------------------------------------------------------------------
# Steps from a conflict's items, by kind (resolver.conflict.step_key)


def _zone_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    """Zones that cannot follow some global-zone plans: the packages of the
    plans they rejected (each cut's core)."""
    first = item.members[0].origin
    assert first.cut is not None
    plans = [o.cut.plan for o in _origins(item) if o.cut is not None]
    fmris = sorted({f for plan in plans for f, _ in plan}, key=lambda f: f.sort_key())
    members = [p for f in fmris if (p := catalog.get(f)) is not None]
    stem = fmris[0].stem if fmris else ""
    clauses = [c for m in item.members for c in m.clauses]
    return Step(
        Rule.ZONE,
        run.name,
        stem,
        members=members,
        cut=first.cut,
        cut_origin=first,
        cut_plans=plans,
        clauses=clauses,
    )


def _link_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    """A parent dependency or ALLZONES rule, with what the global zone has."""
    stem = str(item.key[1])
    origins = _origins(item)
    rules = frozenset(o.rule for o in origins)
    links = [o for o in origins if o.rule is Rule.PARENT and o.package is not None]
    if links:
        owner = links[0].package
        members = sorted({o.package for o in links if o.package}, key=_vkey)
        return Step(Rule.PARENT, run.name, stem, owner, links[0].dep, members, rules=rules, parent=parent)
    if Rule.SVR4_ALLZONES in rules:
        return Step(Rule.SVR4_ALLZONES, run.name, stem, rules=rules, parent=parent)
    return Step(Rule.PARENT_PLAN, parent.name if parent else "", stem, rules=rules, parent=parent)


def _installed_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    """An installed package that stays installed (and is not downgraded)."""
    origins = _origins(item)
    pkg = next(o.package for o in origins if o.package is not None)
    rules = frozenset(o.rule for o in origins)
    if any(run.problem.older_than_installed(p) for p in catalog.versions(pkg.stem)):
        rules |= {Rule.NO_DOWNGRADE}  # older versions are not even candidates here
    rule = Rule.INSTALLED if Rule.INSTALLED in rules else Rule.NO_DOWNGRADE
    return Step(rule, run.name, pkg.stem, pkg, members=[pkg], rules=rules)


def _request_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    """What the request asks of one stem (and the versions it does not name)."""
    origins = _origins(item)
    rules = frozenset(o.rule for o in origins)
    rule = Rule.UNINSTALL if Rule.UNINSTALL in rules and Rule.REQUEST not in rules else Rule.REQUEST
    stem = str(item.key[1])
    request = run.problem.request
    if rule is Rule.UNINSTALL:
        members = sorted((o.package for o in origins if o.package), key=_vkey)
    else:  # the versions the request names
        members = sorted(request.proposed.get(stem, ()), key=_vkey)
    step = Step(rule, run.name, stem, members=members, rules=rules, request=request)
    if rule is Rule.REQUEST and not run.cls.shared.candidates.get(stem):
        _explain_unmet(step, run, stem, None)  # no version of it can be installed here
    return step


def _decision_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    member = item.members[0]
    lit = member.lit or 0
    keyed = isinstance(run.cls.formula.keys[abs(lit)], PackageVar)
    pkg = run.cls.enc.packages[abs(lit) - 1] if keyed else None
    stems = member.origin.stems
    stem = stems[0] if stems else (pkg.stem if pkg else "")
    depth = run.cls.shared.incorporation_depth(stem) if stem else 0
    members = [pkg] if pkg else []
    return Step(Rule.DECISION, run.name, stem, pkg, members=members, chosen=lit > 0, incorporation=depth > 0)


def _excluded_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    origins = _origins(item)
    why = origins[0].reason
    members = sorted((o.package for o in origins if o.package), key=_vkey)
    assert why is not None and members
    step = Step.excluded(run.name, members[0], why, members)
    pin = why.dep.fmri if why.dep is not None and why.rule is Rule.INCORPORATE else None
    if pin is not None and pin.version is not None and not run.cls.shared.matching(pin.stem, pin.version):
        step.missing = (pin.stem,)  # the incorporation allows a version no source has
    return step


def _dep_step(item: Item, run: ImageRun, parent: ParentView | None, catalog: Catalog) -> Step:
    """A dependency of one or more versions of a package."""
    first = item.members[0].origin
    assert first.package is not None and first.dep is not None
    pairs = [(o.package, o.dep) for o in _origins(item) if o.package is not None and o.dep is not None]
    deps = sorted(pairs, key=lambda d: _vkey(d[0]))
    targets = tuple(f.stem for f in first.dep.fmris)
    step = Step(
        first.rule,
        run.name,
        first.package.stem,
        deps[0][0],
        deps[0][1],
        [p for p, _ in deps],
        deps=deps,
        targets=targets,
        setting=version_lock_facet(first.dep) if first.rule is Rule.VERSION_LOCK else None,
        missing=tuple(t for t in targets if not catalog.versions(t)),
    )
    if first.rule is Rule.REQUIRE and all(len(c) == 1 for m in item.members for c in m.clauses):
        _explain_unmet(step, run, first.dep.fmri.stem, first.dep)  # no version satisfies it here
    elif step.missing and len(step.missing) == len(targets):
        step.rule = Rule.MISSING  # no source has any of its targets
    return step


_BUILD: dict[str, Callable[[Item, ImageRun, ParentView | None, Catalog], Step]] = {
    "zone": _zone_step,
    "link": _link_step,
    "installed": _installed_step,
    "request": _request_step,
    "decision": _decision_step,
    "excluded": _excluded_step,
    "dep": _dep_step,
}


def _explain_unmet(step: Step, run: ImageRun, stem: str, dep: Dependency | None) -> None:
    """Why no version of ``stem`` (at least ``dep``'s) can be installed in
    this image: none exists, or those that do are off limits here (a
    variant, a publisher) or obsolete. The step takes that rule."""
    target = dep.fmri if dep is not None else None
    versions = [
        p
        for p in run.problem.catalog.versions(stem)
        if target is None or target.version is None or _vkey(p)[0] >= target.version.key  # type: ignore[operator]
    ]
    if not versions:
        step.rule = Rule.MISSING
        newer = target is not None and target.version is not None and run.problem.catalog.versions(stem)
        step.missing = (_at_least(target) if newer and target is not None else stem,)
        return
    reasons: dict[Rule, tuple[Reason, list[Package]]] = {}
    for pkg in versions:
        why = run.problem.reason_any(pkg)
        if why is None and pkg.obsolete:
            why = Reason(Rule.OBSOLETE)
        if why is not None:
            reasons.setdefault(why.rule, (why, []))[1].append(pkg)
    if reasons:
        rule = min(reasons, key=lambda r: _UNMET_ORDER.index(r) if r in _UNMET_ORDER else len(_UNMET_ORDER))
        step.rule = rule
        step.unmet = reasons[rule]


# ---------------------------------------------------------------------------
# Facts


def fact(step: Step, image: str) -> Fact:
    """The Fact for a step: its data and its sentence."""
    return Fact(
        step.rule.value,
        _text(step),
        step.image or image,
        str(step.owner.fmri) if step.owner else None,
        _dep_text(step.dep) if step.dep else None,
        tuple(str(p.fmri) for p in step.members),
        step.cut.zones if step.cut else (),
        step.setting,
    )


def _dep_text(dep: Dependency) -> str:
    return f"{dep.type.value} {', '.join(str(f) for f in dep.fmris)}"


def headline(problem: ImageProblem, names: Sequence[str]) -> str:
    """``install foo in the global zone: no plan satisfies every rule``."""
    where = "the global zone" if problem.image.is_global else f"zone {', '.join(names)}"
    return f"{asked(problem.request)} in {where}: no plan satisfies every rule"


def asked(request: Request) -> str:
    """What the request asked, as a person would say it."""
    if request.update_all:
        return "update"
    if request.kind == "sync":
        return "sync"
    if request.kind == "uninstall":
        return "uninstall " + " ".join(sorted(request.remove))
    return f"{request.kind} " + " ".join(sorted(set(request.proposed_by.values()) or request.proposed))


def unnarrowed(image: str, core: Iterable[Origin] = (), timed_out: bool = False) -> Fact:
    """The fact that stands in for a cause the search could not narrow down."""
    if timed_out:
        text = (
            "the time limit (--timeout) stopped the search for the shortest cause: "
            "some steps shown may not be needed"
        )
    else:
        count = len(list(core))
        text = "the cause was not narrowed down within the search's bounds" + (
            f" ({count} rules of this image take part)" if count else ""
        )
    return Fact(Rule.UNNARROWED.value, text, image)


def parent_held(image: str, stem: str, gz: HeldBack) -> Fact:
    """A zone's package held back because the global zone holds back the
    same package, or the one it follows (an incorporation, say)."""
    kept = f"{gz.stem}@{_short(gz.installed)} (held back there)"
    if stem == gz.stem:
        text = f"{stem} in zone {image} follows the global zone, which keeps {kept}"
    else:
        text = f"{stem} in zone {image} follows the global zone's {gz.stem}, which keeps {kept}"
    return Fact(Rule.PARENT_PLAN.value, text, image, str(gz.installed), versions=(str(gz.newest),))


def held_too(image: str, held: HeldBack) -> Fact:
    """An earlier choice that is itself held back, and why (in one line)."""
    return Fact(
        Rule.DECISION.value,
        f"{held.stem} is held back at {_short(held.installed)} itself: {held.because}",
        image,
        str(held.installed),
        versions=(str(held.newest),),
        zones=held.zones,
    )


def because(facts: Sequence[Fact], stem: str, image: str, zones: Sequence[str]) -> str:
    """A held-back package's reason in one line: the binding fact (where it
    holds, if elsewhere), and the step that ties it to ``stem`` if the
    binding fact does not name it; in joint mode, the zones first."""
    if not facts:
        return "held back"
    first = facts[0]
    if zones:
        who = f"zone {zones[0]}" if len(zones) == 1 else f"zones {', '.join(zones)}"
        return f"{who} {'holds' if len(zones) == 1 else 'hold'} it back: {first.text}"
    text = _where(first, image)
    if not _names(first, stem):
        link = next((f for f in facts[1:] if _names(f, stem)), None)
        if link is not None:
            text += "; " + _where(link, image)
    return text


def _where(fact: Fact, image: str) -> str:
    if not fact.image or fact.image == image or f"zone {fact.image}" in fact.text:
        return fact.text
    return f"{fact.text} (in {fact.image})"


def _names(fact: Fact, stem: str) -> bool:
    return f"{stem}@" in fact.text or f" {stem} " in f" {fact.text} " or f" {stem}," in f" {fact.text}"


def _short(fmri: Fmri) -> str:
    return fmri.version.short() if fmri.version else "?"


# ---------------------------------------------------------------------------
# Sentences


def versions_text(pkgs: Sequence[Package], limit: int = VERSIONS_SHOWN) -> str:
    """``sys@2.0``, ``sys@2.0 and @2.1``, ``sys@2.0, @2.1 and 3 other versions``
    (timestamps when the short forms are equal)."""
    if not pkgs:
        return "no version"
    ordered = sorted(pkgs, key=_vkey)
    shorts = [_version_of(p) for p in ordered]
    stamped = len(set(shorts)) < len(shorts)
    names = [_version_of(p, stamped) for p in ordered]
    head = f"{ordered[0].stem}@{names[0]}"
    if len(names) == 1:
        return head
    if len(names) <= limit:
        return head + "".join(f", @{v}" for v in names[1:-1]) + f" and @{names[-1]}"
    rest = len(names) - limit
    return head + "".join(f", @{v}" for v in names[1:limit]) + f" and {rest} other version{'s' * (rest > 1)}"


def _version_of(pkg: Package, stamped: bool = False) -> str:
    version = pkg.fmri.version
    if version is None:
        return "?"
    text = version.short()
    return f"{text}:{version.timestamp}" if stamped and version.timestamp else text


def _at_least(fmri: Fmri) -> str:
    return fmri.short() + (" or newer" if fmri.version else "")


def _ver(fmri: Fmri) -> str:
    return fmri.version.short() if fmri.version else "any version"


def _text(step: Step) -> str:
    say = _SAY.get(step.rule)
    if step.request is not None:
        return _request(step)
    if step.reason is not None and step.members:
        return _excluded_text(step)
    if step.deps:
        return _dependency(step)
    if say is not None:
        return say(step)
    return f"{step.rule.value}: {step.stem}"


def _installed(step: Step) -> str:
    assert step.owner is not None
    inst = step.owner.fmri.short()
    if step.rules >= {Rule.INSTALLED, Rule.NO_DOWNGRADE}:
        return f"{inst} is installed and stays installed, at this version or newer (no implicit downgrade)"
    if Rule.INSTALLED in step.rules:
        return f"{inst} is installed and stays installed"
    return f"{inst} is installed: older versions are not considered (no implicit downgrade)"


def _request(step: Step) -> str:
    request = step.request
    if request is None:
        return f"the request names {step.stem}"
    if step.rule is Rule.UNINSTALL:
        return f"the request: uninstall {step.stem}"
    pattern = request.proposed_by.get(step.stem, step.stem)
    return f"the request: {request.kind} {pattern}" + _unmet_text(step)


def _unmet_text(step: Step) -> str:
    """Why nothing satisfies a step here: ``, which no source has``, ``, but
    X@1.0 supports only variant.opensolaris.zone=global (z1 has nonglobal)``."""
    if step.missing:
        return f", but no source has {' or '.join(step.missing)}"
    if step.unmet is None:
        return ""
    why, pkgs = step.unmet
    versions = versions_text(pkgs)
    one = len(pkgs) == 1
    if why.rule is Rule.OBSOLETE:
        return f", but {versions} {'is' if one else 'are'} obsolete"
    if why.rule is Rule.VARIANT:
        name, _, have = (why.setting or "").partition("=")
        supports = "supports" if one else "support"
        return f", but {versions} {supports} only {name}={','.join(why.values)} ({step.image} has {have})"
    if why.rule is Rule.PUBLISHER and why.publisher == "unconfigured":
        return (
            f", but {versions} {'comes' if one else 'come'} from publisher '{pkgs[0].publisher}', "
            f"which {step.image} does not have"
        )
    sub = Step(why.rule, step.image, pkgs[0].stem, why.by, why.dep, pkgs, reason=why, setting=why.setting)
    return f", but {_excluded_text(sub)}"


def _decision(step: Step) -> str:
    if step.owner is None:
        return f"an earlier goal of the plan decided {step.stem}"
    why = (
        "incorporations are brought up to date before what they incorporate"
        if step.incorporation
        else "an earlier goal of the plan"
    )
    if step.chosen:
        return f"{step.owner.fmri.short()} is chosen first ({why})"
    return f"{step.owner.fmri.short()} is ruled out first ({why})"


def _dependency(step: Step) -> str:
    """A dependency of one or more versions of a package, versions folded:
    those with the same dependency are said once, and when each version
    names its own version of one target, that is said once too."""
    rule = Rule(step.deps[0][1].type.value)
    if rule is Rule.INCORPORATE and step.setting:
        rule = Rule.VERSION_LOCK
    by_dep: dict[str, list[Package]] = {}
    for pkg, dep in step.deps:
        by_dep.setdefault(_dep_phrase(rule, dep), []).append(pkg)
    if len(by_dep) > 2 and len({d.fmri.stem for _, d in step.deps}) == 1:
        text = _folded(rule, step)
    else:
        parts = [
            f"{versions_text(pkgs)} {phrase if len(pkgs) == 1 else _plural(phrase)}"
            for phrase, pkgs in by_dep.items()
        ]
        text = "; ".join(parts)
    return text + _unmet_text(step)


def _folded(rule: Rule, step: Step) -> str:
    """``osnet@0.5.11-151046.1, @0.5.11-151050.0 and 1 other version
    incorporate SUNWcs, each at its own version``."""
    pkgs = [p for p, _ in step.deps]
    target = step.deps[0][1].fmri.stem
    own = all(
        d.fmri.version is not None and p.fmri.version is not None and p.fmri.version.matches(d.fmri.version)
        for p, d in step.deps
    )
    verb = _plural(_dep_phrase(rule, step.deps[0][1])).split(" ", 1)[0]
    newer = " or newer" if rule in (Rule.REQUIRE, Rule.CONDITIONAL) else ""
    if own:
        return f"{versions_text(pkgs)} {verb} {target}, each at its own version{newer}"
    wanted = sorted({d.fmri.version.short() for _, d in step.deps if d.fmri.version})
    shown = ", ".join(wanted[:2]) + (f" and {len(wanted) - 2} more" if len(wanted) > 2 else "")
    return f"{versions_text(pkgs)} {verb} {target} (at {shown}{newer}, one version each)"


def _plural(phrase: str) -> str:
    head, _, rest = phrase.partition(" ")
    many = {
        "requires": "require",
        "needs": "need",
        "groups": "group",
        "incorporates": "incorporate",
        "locks": "lock",
    }
    return f"{many.get(head, head)} {rest}"


def _dep_phrase(rule: Rule, dep: Dependency) -> str:
    t = dep.fmri
    if rule is Rule.REQUIRE:
        return f"requires {_at_least(t)}"
    if rule is Rule.REQUIRE_ANY:
        return "requires one of " + ", ".join(_at_least(f) for f in dep.fmris)
    if rule is Rule.CONDITIONAL and dep.predicate is not None:
        return f"requires {_at_least(t)} when {_at_least(dep.predicate)} is installed"
    if rule is Rule.OPTIONAL:
        return f"needs {t.stem}, if installed, at {_at_least(t)}"
    if rule is Rule.EXCLUDE:
        what = _at_least(t) if t.version else f"any version of {t.stem}"
        return f"cannot be installed with {what}"
    if rule is Rule.INCORPORATE:
        return f"incorporates {t.short()} (only {t.short()}* is allowed)"
    if rule is Rule.VERSION_LOCK:
        return f"locks {t.stem} at {_ver(t)}* ({version_lock_facet(dep)}=true)"
    if rule is Rule.GROUP:
        return f"groups {t.stem}"
    if rule is Rule.GROUP_ANY:
        return "groups one of " + ", ".join(f.stem for f in dep.fmris)
    return f"{dep.type.value} {t}"


def _parent(step: Step) -> str:
    dep = step.dep
    zone = f"zone {step.image}"
    pkgs = versions_text(step.members)
    if dep is not None and dep.fmri.stem == DEPEND_SELF:
        verb = "must" if len(step.members) == 1 else "must each"
        text = f"{pkgs} in {zone} {verb} match the global zone's version exactly (parent dependency)"
    elif dep is not None:
        text = f"{pkgs} in {zone} needs {_at_least(dep.fmri)} in the global zone (parent dependency)"
    else:
        text = f"{step.stem} in {zone} follows the global zone (parent dependency)"
    return text + _other_side(step)


def _svr4(step: Step) -> str:
    return (
        f"{step.stem} is an ALLZONES package (SUNW_PKG_ALLZONES=true): zone {step.image} has it "
        "exactly when, and at the version, the global zone has it" + _other_side(step)
    )


def _parent_plan(step: Step) -> str:
    side = _other_side(step)
    return side[len(", but ") :] if side.startswith(", but ") else f"the global zone's plan for {step.stem}"


def _other_side(step: Step) -> str:
    """What the global zone has for the step's stem: ``, but the global zone
    has sys@1.1, older than 1.2`` (``would have`` for a plan it was asked about)."""
    parent = step.parent
    if parent is None:
        return ""
    has = "would have" if parent.hypothetical else "has"
    have = parent.plan.get(step.stem)
    if have is None:
        lacks = "would not have" if parent.hypothetical else "does not have"
        return f", but the global zone {lacks} {step.stem}"
    want = _wanted_version(step)
    if want is None or want.version is None or have.fmri.version is None:
        return f", but the global zone {has} {have.fmri.short()}"
    mine, theirs = want.version, have.fmri.version
    if theirs.short() != mine.short():
        relation = "older" if theirs.key < mine.key else "newer"
        return f", but the global zone {has} {have.fmri.short()}, {relation} than {mine.short()}"
    if theirs != mine:
        return (
            f", but the global zone {has} {have.fmri.short()} with another timestamp "
            f"({theirs.timestamp or 'none'}; this zone needs {mine.timestamp or 'none'})"
        )
    if want.publisher is not None and have.publisher != want.publisher:
        return f", but the global zone {has} {have.fmri.short()} from publisher '{have.publisher}'"
    return f", and the global zone {has} {have.fmri.short()}"


def _wanted_version(step: Step) -> Fmri | None:
    """The version a zone rule asks of the global zone (the newest member)."""
    dep = step.dep
    if dep is not None and dep.fmri.stem != DEPEND_SELF:
        return dep.fmri if dep.fmri.version is not None else None
    if step.members:
        return max(step.members, key=_vkey).fmri
    return None


def _zone_cut(step: Step) -> str:
    zones = step.cut.zones if step.cut else ()
    who = f"zone {zones[0]}" if len(zones) == 1 else f"zones {', '.join(zones)}"
    plans = [_cut_plan(plan) for plan in step.cut_plans[:2]]
    more = len(step.cut_plans) - len(plans)
    text = f"{who} cannot follow a global zone " + "; nor one ".join(plans)
    return text + (f" (nor {more} other plans)" if more > 0 else "")


def _cut_plan(plan: Sequence[tuple[Fmri, bool]]) -> str:
    """A rejected plan: the packages it has that the zones cannot follow
    (``with``), and those it lacks that they need (``without``)."""
    with_ = sorted((f for f, has in plan if has), key=lambda f: f.sort_key())
    without = sorted((f for f, has in plan if not has), key=lambda f: f.sort_key())
    parts = []
    if with_:
        parts.append("with " + " and ".join(f.short() for f in with_))
    if without:
        parts.append("without " + " or ".join(f.short() for f in without))
    return " and ".join(parts) or "at all"


def _excluded_text(step: Step) -> str:
    """An exclusion rule and the versions it rules out in this image."""
    why = step.reason
    assert why is not None
    rule, by = why.rule, why.by
    versions = versions_text(step.members)
    pkg = step.members[0]
    one = len(step.members) == 1
    if rule is Rule.INCORPORATE and by is not None and why.dep is not None:
        t = why.dep.fmri
        none = f" (no source has {t.short()})" if step.missing else ""
        return f"installed incorporation {by.fmri.short()} allows only {t.short()}*{none}, not {versions}"
    if rule is Rule.VERSION_LOCK and by is not None and why.dep is not None:
        t = why.dep.fmri
        return (
            f"installed incorporation {by.fmri.short()} locks {t.stem} at {_ver(t)}* "
            f"({why.setting}=true): not {versions}"
        )
    if rule is Rule.FREEZE:
        return f"{step.stem} is frozen at {_frozen_at(why.setting, by)}: not {versions}"
    if rule is Rule.INCORPORATION_KEPT and by is not None:
        return (
            f"installed incorporation {by.fmri.short()} keeps its version unless named on the "
            f"command line: not {versions}"
        )
    if rule is Rule.REQUEST_VERSION:
        return f"the request names {why.setting}: not {versions}"
    if rule is Rule.REJECT:
        return f"--reject {step.stem}: no version of {step.stem} may be installed"
    if rule is Rule.UNINSTALL:
        return f"the request uninstalls {step.stem}"
    if rule is Rule.ORIGIN and by is not None and why.dep is not None:
        return (
            f"{versions} {'needs' if one else 'need'} {why.dep.fmri.short()} or newer installed first "
            f"(upgrade path; {by.fmri.short()} is installed)"
        )
    if rule is Rule.EXPLICIT_INSTALL:
        verb = "is" if one else "are"
        return f"{versions} {verb} installed only when named on the command line (explicit-install)"
    if rule is Rule.STICKY and by is not None:
        return (
            f"{step.stem} is installed from sticky publisher '{by.publisher}': "
            f"not {versions} from '{pkg.publisher}'"
        )
    if rule is Rule.VARIANT:
        name, _, have = (why.setting or "").partition("=")
        supports = "supports" if one else "support"
        return f"{versions} {supports} only {name}={','.join(why.values)} ({step.image} has {have})"
    if rule is Rule.NO_DOWNGRADE and by is not None:
        verb = "is" if one else "are"
        return (
            f"{by.fmri.short()} is installed: older {versions} {verb} not considered (no implicit downgrade)"
        )
    if rule is Rule.PUBLISHER:
        return _publisher_text(step, versions, pkg)
    return f"{versions}: {rule.value}"


def _frozen_at(pattern: str | None, installed: Package | None) -> str:
    """The version a freeze names (``pkg freeze sys@1.0``), or the installed one."""
    if pattern and "@" in pattern:
        return pattern.split("@", 1)[1]
    if installed is not None and installed.fmri.version is not None:
        return installed.fmri.version.short()
    return "its version"


def _publisher_text(step: Step, versions: str, pkg: Package) -> str:
    why = step.reason
    assert why is not None
    if why.publisher == "installed" and why.by is not None:
        return (
            f"{why.by.fmri.short()} is installed from publisher '{why.setting}': the same version "
            f"from '{pkg.publisher}' does not replace it"
        )
    if why.publisher == "named":
        return f"the request names publisher '{why.setting}': not {versions} from '{pkg.publisher}'"
    if why.publisher == "chosen":
        return f"the request's versions come from '{why.setting}': not {versions} from '{pkg.publisher}'"
    if why.publisher == "unconfigured":
        return f"{versions} comes from publisher '{pkg.publisher}', which {step.image} does not have"
    return f"'{why.setting}' is ranked first for {step.stem}: not {versions} from '{pkg.publisher}'"


_SAY: dict[Rule, Callable[[Step], str]] = {
    Rule.INSTALLED: _installed,
    Rule.NO_DOWNGRADE: _installed,
    Rule.REQUEST: _request,
    Rule.UNINSTALL: _request,
    Rule.DECISION: _decision,
    Rule.PARENT: _parent,
    Rule.SVR4_ALLZONES: _svr4,
    Rule.PARENT_PLAN: _parent_plan,
    Rule.ZONE: _zone_cut,
}
