"""Fixes: the pkg(1) actions that would lift an explanation's cause, each
checked before it is offered.

Each binding step suggests its actions (a freeze: ``pkg unfreeze``; an
installed incorporation: name it on the command line, or the one that
incorporates it; a version-lock facet: ``pkg change-facet``; a zone's
parent dependency: update the global zone first; ...). An action is offered
only if it works:

- actions that change what the image asks or has (its freezes, the request,
  what the global zone has) are checked by rebuilding the image's
  assumptions with the action applied (resolver.encode.assume, on the same
  class formula) and solving once on the class's solver;
- actions that change the formula itself (a facet, a publisher's
  stickiness, a publisher added) are checked on the conflict's neighbourhood:
  solved again without the rules the action lifts.

For a held-back package the check also assumes its newest version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from resolver.conflict import Conflict
from resolver.encode.assume import Assumptions
from resolver.errors import Fix, ZonesolveError
from resolver.model import DepType, Image, Package
from resolver.problem import ImageProblem, Request, SharedProblem
from resolver.reasons import ParentView, Rule, version_lock_facet
from resolver.sat import Origin
from resolver.wording import Step

if TYPE_CHECKING:
    from resolver.explain import Explainer
    from resolver.image_solver import ImageRun

#: fixes offered per explanation
FIXES_SHOWN = 3


@dataclass
class Change:
    """What a fix changes, for its check: the image, the request, the
    global zone's packages (parent literals), or rules of the formula
    (``drop``: the origins it lifts; checked on the conflict's neighbourhood)."""

    image: Image | None = None
    request: Request | None = None
    parent_lits: list[int] | None = None
    drop: Callable[[Origin], bool] | None = None


@dataclass
class Candidate:
    fix: Fix
    change: Change


def checked(
    explainer: Explainer,
    run: ImageRun,
    parent: ParentView | None,
    conflict: Conflict | None,
    steps: Sequence[Step],
    top: int | None,
) -> list[Fix]:
    """The fixes of a conflict's steps that pass their check (at most
    FIXES_SHOWN); if no single one does, two of them together (a freeze
    lifted and an incorporation named, say)."""
    out: list[Fix] = []
    tried: dict[str, Candidate] = {}
    for step in steps:
        for candidate in candidates(step, run, parent):
            if len(out) >= FIXES_SHOWN:
                return out
            if candidate.fix.text in tried:
                continue
            tried[candidate.fix.text] = candidate
            if _checked(explainer, run, parent, conflict, candidate, top):
                out.append(candidate.fix)
    if not out:
        out = _pairs(explainer, run, parent, conflict, list(tried.values())[:PAIRED], top)
    if not out and top is None:
        out = _then(explainer, run, parent, [c for c in tried.values() if c.change.image is not None][:2])
    return out


def _then(
    explainer: Explainer, run: ImageRun, parent: ParentView | None, firsts: Sequence[Candidate]
) -> list[Fix]:
    """A fix that lifts this cause but meets another: the fix of the next
    cause too (``pkg unfreeze X, then pkg install X Y``), checked together."""
    for first in firsts:
        assumed = _assumed_with(explainer, run, first.change)
        if assumed is None:
            continue
        conflict = explainer.conflict_of(run, parent, assumed.origins)
        if conflict is None:
            continue
        steps = [Step.of(item, run, parent, explainer.catalog) for item in conflict.items]
        for step in steps:
            for then in candidates(step, run, parent):
                merged = _merge(first.change, then.change)
                if merged is not None and _works(explainer, run, parent, conflict, merged, None):
                    text = f"{first.fix.text}, then {then.fix.text}"
                    command = f"{first.fix.command}; {then.fix.command}"
                    return [Fix(f"{first.fix.action}+{then.fix.action}", command, run.name, text)]
    return []


#: single fixes combined two by two when none works alone
PAIRED = 4


def _pairs(
    explainer: Explainer,
    run: ImageRun,
    parent: ParentView | None,
    conflict: Conflict | None,
    tried: Sequence[Candidate],
    top: int | None,
) -> list[Fix]:
    """The first pair of fixes that works together: one changing the image,
    the other the request (the checks that can be combined)."""
    for i, a in enumerate(tried):
        for b in tried[i + 1 :]:
            merged = _merge(a.change, b.change)
            if merged is None or not _works(explainer, run, parent, conflict, merged, top):
                continue
            first, then = (a, b) if a.change.image is not None else (b, a)
            text = f"{first.fix.text}, then {then.fix.text}"
            command = f"{first.fix.command}; {then.fix.command}"
            return [Fix(f"{first.fix.action}+{then.fix.action}", command, run.name, text)]
    return []


def _merge(a: Change, b: Change) -> Change | None:
    if a.drop or b.drop or a.parent_lits is not None or b.parent_lits is not None:
        return None
    if (a.image is None) == (b.image is None) or (a.request is None) == (b.request is None):
        return None
    return Change(image=a.image or b.image, request=a.request or b.request)


def _checked(
    explainer: Explainer,
    run: ImageRun,
    parent: ParentView | None,
    conflict: Conflict | None,
    candidate: Candidate,
    top: int | None,
) -> bool:
    """``_works``, memoised per image and wanted literal (held-back packages
    of one image share their fixes), and for a fix that changes the formula
    per memoised conflict (checked on the neighbourhood it was found in)."""
    key = (id(run), candidate.fix.text, top)
    got = explainer.fix_checks.get(key)
    if got is None:
        saved = conflict.template if conflict is not None and candidate.change.drop is not None else None
        if saved is not None and candidate.fix.text in saved.lifted:
            got = saved.lifted[candidate.fix.text]
        else:
            got = _works(explainer, run, parent, conflict, candidate.change, top, candidate.fix.text)
            if saved is not None:
                saved.lifted[candidate.fix.text] = got
        explainer.fix_checks[key] = got
    return got


def _works(
    explainer: Explainer,
    run: ImageRun,
    parent: ParentView | None,
    conflict: Conflict | None,
    change: Change,
    top: int | None,
    name: str = "",
) -> bool:
    if change.drop is not None:
        if conflict is None or (conflict.reused and conflict.space is conflict.items):  # a neighbourhood
            conflict = explainer.conflict_for(run, parent, top)
        return conflict is not None and run.cls.finder().lifted(conflict, change.drop)
    if change.request is not None and _outside(run, change.request):
        return top is None and _fresh(explainer, run, parent, change.request)
    lits = _lits_with(explainer, run, change, name)
    if lits is None:
        return False
    parent_lits = change.parent_lits if change.parent_lits is not None else (parent.lits if parent else ())
    return run.cls.solver.solve([*lits, *parent_lits, *([top] if top is not None else [])])


def _outside(run: ImageRun, request: Request) -> bool:
    """The request names versions the class's formula does not have (older
    ones dropped as unreachable for the operation asked)."""
    candidates = run.cls.shared.candidates
    return any(
        not any(p is c for c in candidates.get(stem, ()))
        for stem, versions in request.proposed.items()
        for p in versions
    )


def _fresh(explainer: Explainer, run: ImageRun, parent: ParentView | None, request: Request) -> bool:
    """Check a request against a formula of its own for this image (the
    class's lacks versions it names): encoded and solved once, for a failure
    only (a held-back package's fixes do not pay for an encoding)."""
    from resolver.image_solver import ClassSolve, ImageRun

    problem = run.problem
    parent_pkgs = dict(parent.plan) if parent is not None else {}
    try:
        shared = SharedProblem(problem.catalog, problem.image)
        new = ImageProblem(
            shared,
            problem.image,
            request,
            explainer.index,
            {s: [p] for s, p in parent_pkgs.items()},
            frozenset(problem.seeds),
        )
        shared.close(new.seeds, new.extra_packages())
        new.compute_downgrades()
        shared.drop_unreachable([new])
        cls = ClassSolve(shared, parent.name if parent else None, {s: [p] for s, p in parent_pkgs.items()})
        fresh = ImageRun(cls, new)
        return fresh.feasible(cls.parent_assumptions({p.fmri for p in parent_pkgs.values()}))
    except ZonesolveError:
        return False


def _lits_with(explainer: Explainer, run: ImageRun, change: Change, name: str = "") -> list[int] | None:
    """The image's assumption literals with the change applied (None if the
    changed image is not valid input), memoised per image and fix ``name``."""
    if change.image is None and change.request is None:
        return run.assumed.lits
    key = (id(run), name)
    if name and key in explainer.fixed_lits:
        return explainer.fixed_lits[key]
    assumed = _assumed_with(explainer, run, change)
    lits = assumed.lits if assumed is not None else None
    if name:
        explainer.fixed_lits[key] = lits
    return lits


def _assumed_with(explainer: Explainer, run: ImageRun, change: Change) -> Assumptions | None:
    """The image's assumptions with the change applied, on the class's formula."""
    problem = run.problem
    try:
        new = ImageProblem(
            problem.shared,
            change.image or problem.image,
            change.request or problem.request,
            explainer.index,
            problem.parent_candidates,
            frozenset(problem.seeds),
        )
        new.compute_downgrades()
        return Assumptions(run.cls.enc, new)
    except ZonesolveError:
        return None


# ---------------------------------------------------------------------------
# What each rule suggests


def candidates(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    """The actions that could lift one step, in the order they are tried."""
    suggest = _SUGGEST.get(step.rule)
    return suggest(step, run, parent) if suggest else []


def _where(image: Image) -> str:
    return "" if image.is_global else f" (in zone {image.name})"


def _unfreeze(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    image = run.problem.image
    if step.setting is None or step.image != image.name:
        return []
    frozen = tuple(f for f in image.frozen if f != step.setting)
    command = f"pkg unfreeze {step.stem}"
    fix = Fix("unfreeze", command, image.name, command + _where(image))
    return [Candidate(fix, Change(image=replace(image, frozen=frozen)))]


def _incorporation(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    """An installed incorporation that holds a version back: name it on the
    command line (at the version that allows the one wanted, or any), or
    the incorporations that incorporate it too, outward; else uninstall it."""
    inc = step.owner
    if inc is None or inc.stem not in run.problem.installed:
        return []
    return [*_name_incorporation(step, run, inc), *_uninstall_incorporation(run, inc)]


def _name_incorporation(step: Step, run: ImageRun, inc: Package) -> list[Candidate]:
    """Name the incorporation on the command line: at the version that
    allows what is wanted, or at any; then with the incorporations that
    incorporate it, outward (``pkg install app osnet entire``)."""
    request = run.problem.request
    if request.kind not in ("install", "update") or request.update_all:
        return []
    catalog = run.problem.catalog
    # an incorporation the request already names keeps the version it names
    chain = [p for p in _incorporation_chain(run, inc) if p.stem not in request.proposed]
    named = [(p.stem, p.stem, list(catalog.versions(p.stem))) for p in chain]
    options = [named[:k] for k in range(1, len(named) + 1)]
    allowing = _allowing(run, inc, step)
    if allowing is not None:
        exact = (inc.stem, f"{inc.stem}@{allowing.fmri.version}", [allowing])
        options = [[exact], *options, *([[exact, *named[1:]]] if len(named) > 1 else [])]
    out = []
    for names in options:
        proposed = {**request.proposed, **{stem: versions for stem, _, versions in names}}
        by = {**request.proposed_by, **{stem: text for stem, text, _ in names}}
        new = replace(request, proposed=proposed, proposed_by=by)
        args = [*sorted(set(request.proposed_by.values()) or request.proposed), *(t for _, t, _ in names)]
        command = f"pkg {request.kind} {' '.join(args)}"
        fix = Fix("name", command, run.name, command + _where(run.problem.image))
        out.append(Candidate(fix, Change(request=new)))
    return out


def _allowing(run: ImageRun, inc: Package, step: Step) -> Package | None:
    """The newest version of incorporation ``inc`` that allows one of the
    versions the step is about (an upgrade, or a downgrade, of the pin)."""
    wanted = [p for p in step.members if p.stem != inc.stem]
    best: Package | None = None
    for cand in run.problem.catalog.versions(inc.stem):
        for dep in run.problem.deps(cand):
            if dep.type is not DepType.INCORPORATE or dep.fmri.version is None:
                continue
            if any(p.stem == dep.fmri.stem and p.fmri.version.matches(dep.fmri.version) for p in wanted):  # type: ignore[union-attr]
                best = cand
    return best if best is not None and best is not inc else None


def _uninstall_incorporation(run: ImageRun, inc: Package) -> list[Candidate]:
    request = run.problem.request
    where = _where(run.problem.image)
    if request.kind in ("install", "update") and not request.update_all:
        args = " ".join(sorted(set(request.proposed_by.values()) or request.proposed))
        command = f"pkg {request.kind} {args} --reject {inc.stem}"
        new = replace(request, reject=request.reject | {inc.stem})
        return [Candidate(Fix("reject", command, run.name, command + where), Change(request=new))]
    remove = (request.remove if request.kind == "uninstall" else frozenset()) | {inc.stem}
    command = f"pkg uninstall {' '.join(sorted(remove))}"
    new = Request("uninstall", remove=frozenset(remove), reject=request.reject)
    fix = Fix("uninstall", command, run.name, command + _where(run.problem.image))
    return [Candidate(fix, Change(request=new))]


def _incorporation_chain(run: ImageRun, inc: Package) -> list[Package]:
    """``inc``, then the installed incorporations that incorporate it, outward."""
    installed = run.problem.installed
    chain = [inc]
    seen = {inc.stem}
    while len(chain) < 4:
        outer = [
            p
            for p in installed.values()
            if p.stem not in seen
            and any(
                d.type is DepType.INCORPORATE and d.fmri.stem == chain[-1].stem for d in run.problem.deps(p)
            )
        ]
        if not outer:
            break
        chain.append(sorted(outer, key=lambda p: p.stem)[0])
        seen.add(chain[-1].stem)
    return chain


def _change_facet(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    facet = step.setting
    if facet is None and step.dep is not None:
        facet = version_lock_facet(step.dep)
    if facet is None:
        return []

    def drop(origin: Origin) -> bool:
        if origin.rule is not Rule.VERSION_LOCK:
            return False
        dep = origin.dep or (origin.reason.dep if origin.reason else None)
        return dep is not None and version_lock_facet(dep) == facet

    command = f"pkg change-facet {facet}=false"
    fix = Fix("change-facet", command, step.image, command + _where(run.problem.image))
    return [Candidate(fix, Change(drop=drop))]


def _update_parent(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    """A zone needs a version the global zone does not have (older, or
    missing): update the global zone first; when the global zone's plan is
    this operation's, run the operation in the zone too (-r)."""
    if parent is None or parent.hypothetical:
        return []
    if parent.planned:
        return _recursive(step, run, parent)
    want = _wanted(step, run)
    have = parent.plan.get(step.stem)
    if want is None or (have is not None and _at_least(have, want)):
        return []
    lits = []
    for fmri, var in run.cls.interface:
        if fmri.stem == step.stem:
            lits.append(var if fmri == want.fmri else -var)
        else:
            lits.append(var if var in set(parent.lits) else -var)
    command = f"pkg update {step.stem}"
    fix = Fix(
        "update-parent", command, parent.name, f"update the global zone first: {command} (in the global zone)"
    )
    return [Candidate(fix, Change(parent_lits=lits))]


def _at_least(have: Package, want: Package) -> bool:
    a, b = have.fmri.version, want.fmri.version
    return a is not None and b is not None and a.key >= b.key


def _recursive(step: Step, run: ImageRun, parent: ParentView) -> list[Candidate]:
    """A zone that cannot follow what the global zone's operation does:
    the same operation in the zone (pkg VERB -r)."""
    request = parent.request
    if not isinstance(request, Request) or request.kind == "sync":
        return []
    installed = set(run.problem.installed)
    if request.kind == "uninstall":
        remove = request.remove & installed
        if not remove:
            return []
        new = Request("uninstall", remove=frozenset(remove), reject=request.reject)
        args = " ".join(sorted(request.remove))
    elif request.update_all:
        new = Request("update", update_all=True, reject=request.reject)
        args = ""
    else:
        proposed = (
            dict(request.proposed)
            if request.kind == "install"
            else {s: v for s, v in request.proposed.items() if s in installed}
        )
        if not proposed:
            return []
        new = Request(request.kind, proposed, reject=request.reject, proposed_by=request.proposed_by)
        args = " ".join(sorted(set(request.proposed_by.values()) or request.proposed))
    command = " ".join(p for p in ("pkg", "update" if request.update_all else request.kind, "-r", args) if p)
    fix = Fix("recursive", command, parent.name, f"{command} (in the global zone: zone {run.name} too)")
    return [Candidate(fix, Change(request=new))]


def _wanted(step: Step, run: ImageRun) -> Package | None:
    """The global-zone version a zone rule asks for: the zone's own version
    (self), else the newest version of the target the zone may refer to."""
    dep = step.dep
    if dep is not None and dep.fmri.stem != "feature/package/dependency/self":
        newest = [f for f, _ in run.cls.interface if f.stem == dep.fmri.stem]
        if not newest:
            return None
        best = max(newest, key=lambda f: f.version.key if f.version else ())
        return run.problem.catalog.get(best)
    return (
        max(step.members, key=lambda p: p.fmri.version.key if p.fmri.version else ())
        if step.members
        else None
    )


def _uninstall_too(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    """Staying installed is the conflict: remove that package too."""
    request = run.problem.request
    pkg = step.owner
    if pkg is None or step.image != run.name or pkg.stem in request.proposed:
        return []
    where = _where(run.problem.image)
    if request.kind == "uninstall":
        command = f"pkg uninstall {' '.join(sorted(request.remove | {pkg.stem}))}"
        new = replace(request, remove=request.remove | {pkg.stem})
        return [Candidate(Fix("uninstall", command, run.name, command + where), Change(request=new))]
    if request.kind in ("install", "update") and not request.update_all:
        args = " ".join(sorted(set(request.proposed_by.values()) or request.proposed))
        command = f"pkg {request.kind} {args} --reject {pkg.stem}"
        new = replace(request, reject=request.reject | {pkg.stem})
        return [Candidate(Fix("reject", command, run.name, command + where), Change(request=new))]
    if request.kind == "sync" or request.update_all:  # a zone following its global zone
        command = f"pkg uninstall {pkg.stem}"
        new = Request("uninstall", remove=frozenset({pkg.stem}), reject=request.reject)
        return [Candidate(Fix("uninstall", command, run.name, command + where), Change(request=new))]
    return []


def _drop_reject(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    request = run.problem.request
    if step.stem not in request.reject:
        return []
    new = replace(request, reject=request.reject - {step.stem})
    text = f"drop --reject {step.stem}"
    return [Candidate(Fix("drop-reject", text, run.name, text), Change(request=new))]


def _name_it(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    """explicit-install: the package installs only when named."""
    request = run.problem.request
    if not step.members or request.kind not in ("install", "update") or request.update_all:
        return []
    stem = step.stem
    proposed = {**request.proposed, stem: list(run.problem.catalog.versions(stem))}
    new = replace(request, proposed=proposed, proposed_by={**request.proposed_by, stem: stem})
    args = " ".join([*sorted(set(request.proposed_by.values()) or request.proposed), stem])
    command = f"pkg {request.kind} {args}"
    return [
        Candidate(Fix("name", command, run.name, command + _where(run.problem.image)), Change(request=new))
    ]


def _non_sticky(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    by = step.owner
    if by is None:
        return []
    stem = step.stem
    command = f"pkg set-publisher --non-sticky {by.publisher}"
    fix = Fix("non-sticky", command, run.name, command + _where(run.problem.image))
    return [
        Candidate(
            fix,
            Change(drop=lambda o: o.rule is Rule.STICKY and o.package is not None and o.package.stem == stem),
        )
    ]


def _add_publisher(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    why = step.reason
    if why is None or why.publisher != "unconfigured" or not step.members:
        return []
    publisher = step.members[0].publisher
    command = f"pkg set-publisher -g URI {publisher}"
    where = "the global zone" if run.problem.image.is_global else f"zone {run.name}"
    text = f"add publisher '{publisher}' to {where}: {command}"

    def drop(origin: Origin) -> bool:
        reason = origin.reason
        return (
            reason is not None
            and reason.publisher == "unconfigured"
            and origin.package is not None
            and origin.package.publisher == publisher
        )

    return [Candidate(Fix("add-publisher", command, run.name, text), Change(drop=drop))]


def _origin_first(step: Step, run: ImageRun, parent: ParentView | None) -> list[Candidate]:
    why = step.reason
    if why is None or why.dep is None:
        return []
    target = why.dep.fmri
    command = f"pkg update {target.short()}"
    stem = step.stem

    def drop(origin: Origin) -> bool:
        return origin.rule is Rule.ORIGIN and origin.package is not None and origin.package.stem == stem

    fix = Fix("update-first", command, run.name, f"first {command}{_where(run.problem.image)}, then retry")
    return [Candidate(fix, Change(drop=drop))]


_SUGGEST: dict[Rule, Callable[[Step, ImageRun, ParentView | None], list[Candidate]]] = {
    Rule.FREEZE: _unfreeze,
    Rule.INCORPORATE: _incorporation,
    Rule.INCORPORATION_KEPT: _incorporation,
    Rule.VERSION_LOCK: _change_facet,
    Rule.PARENT: _update_parent,
    Rule.SVR4_ALLZONES: _update_parent,
    Rule.PARENT_PLAN: _update_parent,
    Rule.INSTALLED: _uninstall_too,
    Rule.REJECT: _drop_reject,
    Rule.EXPLICIT_INSTALL: _name_it,
    Rule.STICKY: _non_sticky,
    Rule.PUBLISHER: _add_publisher,
    Rule.ORIGIN: _origin_first,
}
