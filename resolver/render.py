"""Results as text: JSON (the contract), pkg(1)'s parsable plan, and prose for people.

Pure functions of a :class:`~resolver.plan.Result`; nothing here prints. The
optional ``parents`` mapping (image name -> parent name, ``None`` for the
global zone) tells the text and parsable renderers which images are linked
children of the image the command ran in; without it every other image counts
as a child.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from resolver.bootenv import boot_environment
from resolver.errors import Diverged, Fact, Fix, InputErrors, InternalError, NoSolution, ZonesolveError
from resolver.fmri import Fmri
from resolver.model import Verb
from resolver.plan import HeldBack, ImagePlan, Outcome, Result

if TYPE_CHECKING:
    from resolver.why import ImageWhy, WhyReport

__all__ = [
    "blocking_errors",
    "diverged",
    "errors_text",
    "json_object",
    "outcome",
    "to_json",
    "to_pkg_parsable",
    "to_text",
    "why_json",
    "why_text",
]

JSON_VERSION = 1
#: Explanation steps shown without -v; the rest are counted.
FACTS_SHOWN = 6
#: Held-back packages listed per image without -v.
HELD_SHOWN = 5
#: Zone names listed in a group title without -v.
NAMES_SHOWN = 8
#: Fixes shown per explanation without -v (each was checked).
FIXES_SHOWN = 1

Parents = Mapping[str, str | None]
T = TypeVar("T")


# ---------------------------------------------------------------------------
# Shared


def blocking_errors(result: Result) -> list[ZonesolveError]:
    """The errors that stopped the command: all but audit's findings of diverged zones."""
    return [err for err in result.errors if not isinstance(err, Diverged)]


def diverged(result: Result) -> bool:
    """True if an audit found a diverged zone."""
    return "diverged" in result.audit.values() or len(blocking_errors(result)) < len(result.errors)


def outcome(result: Result) -> str:
    """The outcome as reported: for audit, any diverged zone (or error) is ``fail``."""
    if result.operation.verb is Verb.AUDIT:
        failed = blocking_errors(result) or diverged(result)
        return Outcome.FAIL.value if failed else Outcome.OK.value
    return result.outcome.value


def _primary(result: Result) -> str | None:
    """The image the command ran in (``None`` if unknown)."""
    if result.operation.image is not None:
        return result.operation.image
    return result.order[0] if result.order else None


def _children(result: Result, primary: str | None, parents: Parents | None) -> list[str]:
    """The children of the command's image (without ``parents``: every other image), sorted."""
    if parents is None:
        return sorted(name for name in result.images if name != primary)
    return sorted(name for name in result.images if parents.get(name) == primary)


def _error_list(errors: Iterable[ZonesolveError]) -> list[ZonesolveError]:
    """Errors with every bundle of input errors opened into its members."""
    out: list[ZonesolveError] = []
    for err in errors:
        out.extend(err.errors if isinstance(err, InputErrors) else [err])
    return out


# ---------------------------------------------------------------------------
# JSON (docs/interfaces.md, "--format json")


def to_json(result: Result, stats: bool = False) -> str:
    """The contract's JSON object: sorted keys and lists, byte-identical for equal input."""
    return json.dumps(json_object(result, stats), sort_keys=True, indent=2, default=str) + "\n"


def json_object(result: Result, stats: bool = False) -> dict[str, Any]:
    """The JSON object as Python data (``to_json`` serialises it)."""
    op = result.operation
    obj: dict[str, Any] = {
        "version": JSON_VERSION,
        "outcome": outcome(result),
        "operation": {
            "verb": op.verb.value,
            "args": list(op.args),
            "image": op.image,
            "recursive": op.recursive,
            "global_only": op.global_only,
            "parent_first": op.parent_first,
        },
        "images": {name: _image_json(plan) for name, plan in result.images.items()},
        "order": list(result.order),
        "errors": [err.to_json() for err in _error_list(result.errors)],
    }
    if op.to is not None:  # update --to LOCK
        obj["operation"]["to"] = op.to.path
    if op.verb is Verb.AUDIT:
        obj["audit"] = {
            name: {"status": status, "unmet": sorted(result.audit_details.get(name, []))}
            for name, status in result.audit.items()
        }
    if stats:
        obj["stats"] = result.stats
    return obj


def _changes(plan: ImagePlan) -> dict[str, Any]:
    """An image's changes as sorted full FMRIs (hollow registered packages count as added)."""
    return {
        "add-packages": sorted(map(str, plan.added)),
        "change-packages": sorted([str(old), str(new)] for old, new in plan.changed),
        "remove-packages": sorted(map(str, plan.removed)),
    }


def _image_json(plan: ImagePlan) -> dict[str, Any]:
    """One image in the JSON: its changes and its held-back packages."""
    held = [hb.to_json() for hb in sorted(plan.held_back, key=lambda h: h.stem)]
    skipped = {"skipped": plan.skipped} if plan.skipped else {}  # only for images not planned
    return {**_changes(plan), "held-back": held, **skipped}


# ---------------------------------------------------------------------------
# pkg(1) --parsable=0 (docs/ips-semantics.md 9.1)


def to_pkg_parsable(result: Result, parents: Parents | None = None) -> str:
    """pkg(1)'s plan object for the image the command ran in, compact, on one line."""
    primary = _primary(result)
    children = []
    for name in _children(result, primary, parents):
        plan = result.images[name]
        if plan.has_changes:  # a child image is not a live root: no boot environment
            children.append(_parsable_object(plan, f"zone:{name}", [], boot_environment(plan, False, False)))
    own = result.images.get(primary or "", ImagePlan(primary or "", {}, {}))
    in_global = bool(result.order) and primary == result.order[0]  # the order starts with the global zone
    obj = _parsable_object(own, None, children, boot_environment(own, True, in_global))
    return json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"


def _parsable_object(
    plan: ImagePlan, image_name: str | None, children: list[dict[str, Any]], boot: dict[str, Any]
) -> dict[str, Any]:
    """One ``--parsable=0`` plan object. The boot-environment fields are derived
    as pkg(5) does, where the manifests allow it (resolver.bootenv); what depends
    on file actions zonesolve does not keep (services, licenses, release notes,
    space) is empty, or null where pkg(5)'s schema allows it."""
    return {
        **_changes(plan),
        **boot,
        "affect-packages": [],
        "affect-services": [],
        "change-editables": [],
        "change-facets": [],
        "change-mediators": [],
        "change-variants": [],
        "child-images": children,
        "image-name": image_name,
        "item-messages": {},
        "licenses": [],
        "release-notes": [],
        "space-available": None,
        "space-required": None,
        "version": 0,
    }


# ---------------------------------------------------------------------------
# Text for people


def to_text(result: Result, verbose: bool = False, parents: Parents | None = None) -> str:
    """The plan in prose: the command's image first, then the other zones grouped."""
    if result.operation.verb is Verb.AUDIT:
        return _audit_text(result, verbose)
    if result.outcome is Outcome.FAIL:
        return errors_text(result.errors, verbose)
    primary = _primary(result)
    lines = [_headline(result)]
    if primary in result.images:
        lines += ["", *_image_block(primary, result.images[primary], verbose)]
        lines += _holding_zones(result.images[primary], verbose)
    lines += _zones_text(result, _children(result, primary, parents), verbose)
    lines += _order_text(result)
    return "\n".join(lines) + "\n"


def _command(result: Result) -> str:
    """The operation as a short command line, e.g. ``update -r``."""
    op = result.operation
    flags = [
        "-r" if op.recursive else "",
        "-G" if op.global_only else "",
        "--parent-first" if op.parent_first else "",
        f"--to {op.to.path}" if op.to is not None else "",
    ]
    return " ".join(part for part in (op.verb.value, *op.args, *flags) if part)


def _headline(result: Result) -> str:
    """One line: what was asked, where, and how many images change."""
    where = f" in {result.operation.image}" if result.operation.image else ""
    if result.outcome is Outcome.NOTHING:
        return f"{_command(result)}{where}: nothing to do; every image is as requested."
    changing = sum(plan.has_changes for plan in result.images.values())
    verb = "changes" if changing == 1 else "change"  # "1 of 3 images changes", "2 of 3 images change"
    return f"{_command(result)}{where}: {changing} of {_count(len(result.images), 'image')} {verb}."


def _count(n: int, noun: str) -> str:
    """``1 package``, ``2 packages``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cut(items: Sequence[T], limit: int, verbose: bool) -> list[T]:
    """The first ``limit`` items, or all of them if verbose or if only one would be left out."""
    return list(items) if verbose or len(items) <= limit + 1 else list(items[:limit])


def _summary(plan: ImagePlan) -> str:
    """``2 to install, 1 to update, 3 held back`` or ``no changes``."""
    parts = [
        f"{len(items)} to {verb}"
        for verb, items in (
            ("install", plan.added),
            ("update", plan.changed),
            ("remove", plan.removed),
        )
        if items
    ]
    if plan.held_back:
        parts.append(f"{len(plan.held_back)} held back")
    return ", ".join(parts) or "no changes"


def _image_block(title: str, plan: ImagePlan, verbose: bool) -> list[str]:
    """An image's title line and one line per change and held-back package."""
    if plan.skipped:
        return [f"{title}: {plan.skipped}"]
    lines = [f"{title}: {_summary(plan)}"]
    for fmri in plan.added:
        note = " (registered only: SVR4 hollow package)" if fmri.stem in plan.registered else ""
        lines.append(f"  install    {fmri.short()}{note}")
    for old, new in plan.changed:
        verb = "downgrade" if _is_downgrade(old, new) else "update"
        lines.append(f"  {verb:<10} {_change(old, new)}")
    lines += [f"  remove     {fmri.short()}" for fmri in plan.removed]
    return lines + _held_text(plan.held_back, verbose, plan.name)


def _is_downgrade(old: Fmri, new: Fmri) -> bool:
    """True if the new version is older than the old one."""
    return old.version is not None and new.version is not None and new.version < old.version


def _version_text(fmri: Fmri, timestamp: bool) -> str:
    """The short version (release-branch), with ``:timestamp`` if asked and present."""
    if fmri.version is None:
        return "?"
    stamp = fmri.version.timestamp if timestamp else None
    return fmri.version.short() + (f":{stamp}" if stamp else "")


def _change(old: Fmri, new: Fmri) -> str:
    """``stem@old -> new``, with timestamps when the short forms are equal."""
    stamps = _version_text(old, False) == _version_text(new, False)
    text = f"{old.stem}@{_version_text(old, stamps)} -> {_version_text(new, stamps)}"
    if old.publisher != new.publisher:
        text += f" (publisher {old.publisher} -> {new.publisher})"
    return text


def _held_text(held: Sequence[HeldBack], verbose: bool, image: str | None = None) -> list[str]:
    """Held-back packages and why (the binding rule), with the first fix;
    only the first few unless verbose, which also shows every step and fix."""
    shown = _cut(sorted(held, key=lambda h: h.stem), HELD_SHOWN, verbose)
    lines = []
    for hb in shown:
        lines.append(
            f"  held back  {hb.stem}@{_version_text(hb.installed, False)}"
            f" (newest {_version_text(hb.newest, False)}): {hb.because}"
        )
        if verbose:
            lines += [f"               - {_fact_line(fact, image)}" for fact in hb.facts]
        lines += _fixes_lines(hb.fixes, verbose, "             ")
    if len(held) > len(shown):
        lines.append(f"  ... and {len(held) - len(shown)} more held back (-v lists them)")
    return lines


def _fixes_lines(fixes: Sequence[Fix], verbose: bool, indent: str) -> list[str]:
    """``fix: pkg unfreeze sys (in zone z1)``, one line per fix shown."""
    shown = list(fixes) if verbose else list(fixes[:FIXES_SHOWN])
    return [f"{indent}{'fix' if i == 0 else 'or '}: {fix.text}" for i, fix in enumerate(shown)]


def _fact_line(fact: Fact, image: str | None) -> str:
    """A step's sentence, naming its image when that is not ``image``."""
    text = fact.text
    if fact.image and fact.image != image and fact.image not in text:
        text += f" (in {fact.image})"
    return text


def _holding_zones(plan: ImagePlan, verbose: bool) -> list[str]:
    """Joint mode: which zones hold the global zone's packages back, and by
    which rule: ``2 zones hold back 3 packages: db1 (freeze on ...), web1 (...)``."""
    by_zone: dict[str, list[HeldBack]] = {}
    for hb in plan.held_back:
        for zone in hb.zones:
            by_zone.setdefault(zone, []).append(hb)
    if not by_zone:
        return []
    held = {hb.stem for hbs in by_zone.values() for hb in hbs}
    zones = _cut(sorted(by_zone), NAMES_SHOWN, verbose)
    named = ", ".join(f"{z} ({_rules_of(z, by_zone[z])})" for z in zones)
    if len(zones) < len(by_zone):
        named += f", ... {len(by_zone) - len(zones)} more"
    verb = "holds" if len(by_zone) == 1 else "hold"
    where = f"in {plan.name}" if plan.name else "here"
    return [f"  {_count(len(by_zone), 'zone')} {verb} back {_count(len(held), 'package')} {where}: {named}"]


def _rules_of(zone: str, held: Sequence[HeldBack]) -> str:
    """The binding rules a zone holds packages back with, briefly."""
    labels = []
    for hb in held:
        fact = next((f for f in hb.facts if f.image == zone), None) or next(
            (f for f in hb.facts if f.image in hb.zones), None
        )
        labels.append(_rule_label(fact) if fact else "zone rules")
    unique = list(dict.fromkeys(labels))
    return ", ".join(unique[:3]) + (f", +{len(unique) - 3}" if len(unique) > 3 else "")


def _rule_label(fact: Fact) -> str:
    """``freeze on sys``, ``facet.version-lock.web/curl``, ``parent dependency of sys``."""
    stem = _stem_of(fact)
    if fact.rule == "freeze":
        return f"freeze on {fact.setting or stem}"
    if fact.rule == "version-lock" and fact.setting:
        return fact.setting
    if fact.rule in ("incorporate", "incorporation-kept"):
        return f"incorporation {_stem_of(fact, owner=True)}"
    if fact.rule == "parent":
        return f"parent dependency of {stem}"
    if fact.rule == "exclude":
        return f"{_stem_of(fact, owner=True)} excludes {_target_of(fact) or stem}"
    if fact.rule in ("variant", "missing", "obsolete") and fact.dependency:
        return f"{fact.rule} ({_target_of(fact)})"
    return f"{fact.rule} ({stem})"


def _target_of(fact: Fact) -> str | None:
    """The target stem of a fact's dependency (``require pkg:/lib@2.0`` -> ``lib``)."""
    if not fact.dependency:
        return None
    from resolver.fmri import parse_fmri

    return parse_fmri(fact.dependency.split(" ", 1)[1].split(",")[0].strip()).stem


def _stem_of(fact: Fact, owner: bool = False) -> str:
    text = fact.package if owner or not fact.versions else fact.versions[0]
    if text is None:
        return "?"
    from resolver.fmri import parse_fmri

    return parse_fmri(text).stem


def _group_key(plan: ImagePlan) -> tuple[object, ...]:
    """Equal for images whose text blocks would be equal apart from the name."""
    held = tuple((hb.stem, str(hb.installed), str(hb.newest), hb.because) for hb in plan.held_back)
    return (plan.signature(), tuple(sorted(held)), tuple(sorted(plan.registered)), plan.skipped)


def _zones_text(result: Result, names: Sequence[str], verbose: bool) -> list[str]:
    """The other images, those with identical plans grouped under one title."""
    if not names:
        return []
    groups: dict[tuple[object, ...], list[str]] = {}
    for name in names:
        groups.setdefault(_group_key(result.images[name]), []).append(name)
    changing = sum(result.images[name].has_changes for name in names)
    skipped = sum(result.images[name].skipped is not None for name in names)
    tally = f"{_count(len(names), 'zone')}: {changing} to change, {len(names) - changing - skipped} unchanged"
    lines = ["", tally + (f", {skipped} not planned" if skipped else "")]
    for members in sorted(groups.values(), key=lambda g: (not result.images[g[0]].has_changes, g)):
        lines += _image_block(_group_title(members, verbose), result.images[members[0]], verbose)
    return lines


def _group_title(names: Sequence[str], verbose: bool) -> str:
    """``zone web1`` or ``zones web1, web2 (2)``; long lists cut short unless verbose."""
    if len(names) == 1:
        return f"zone {names[0]}"
    shown = _cut(names, NAMES_SHOWN, verbose)
    listed = ", ".join(shown)
    if len(shown) < len(names):
        listed += f", ... {len(names) - len(shown)} more"
    return f"zones {listed} ({len(names)})"


def _order_text(result: Result) -> list[str]:
    """The order to apply the changes in, when more than one image changes."""
    changing = [name for name in result.order if name in result.images and result.images[name].has_changes]
    return ["", "apply in order: " + ", ".join(changing)] if len(changing) > 1 else []


def errors_text(errors: Sequence[ZonesolveError], verbose: bool = False) -> str:
    """Each error on its own line; a no-solution error's explanation indented below it."""
    if not errors:
        return "error: no plan (no reason was given)\n"
    lines: list[str] = []
    for err in _error_list(errors):
        label = "internal error" if isinstance(err, InternalError) else "error"
        where = f" in {err.image}" if err.image and err.image not in err.message else ""
        lines.append(f"{label}{where}: {err.message}")
        if isinstance(err, NoSolution):
            lines += _facts_text(err, verbose)
    return "\n".join(lines) + "\n"


def _facts_text(err: NoSolution, verbose: bool) -> list[str]:
    """The explanation, root cause first: a few steps, all of them with -v;
    then the fixes (each checked), the first one unless verbose.

    A step names its image when that is not the error's own image.
    """
    facts = _cut(err.facts, FACTS_SHOWN, verbose)
    lines = ["  because:"] if facts else []
    for fact in facts:
        first, *rest = _fact_line(fact, err.image).splitlines() or [""]
        lines += [f"    - {first}", *(f"      {more}" for more in rest)]
    if len(err.facts) > len(facts):
        more = _count(len(err.facts) - len(facts), "more step")
        lines.append(f"    ... {more} (-v shows every step)")
    return lines + _fixes_lines(err.fixes, verbose, "  ")


def _in_sync(n: int) -> str:
    """``all 3 linked zones in sync``, ``the linked zone is in sync``, ``no linked zones``."""
    if n == 0:
        return "no linked zones"
    return "the linked zone is in sync" if n == 1 else f"all {n} linked zones in sync"


def _audit_text(result: Result, verbose: bool) -> str:
    """Per linked zone: synced or diverged; with -v, the parent dependencies not met."""
    if blocking_errors(result):
        return errors_text(blocking_errors(result), verbose)
    count = sum(status == "diverged" for status in result.audit.values())
    zones = _count(len(result.audit), "linked zone")
    where = f" of {result.operation.image}" if result.operation.image else ""
    summary = f"{count} of {zones} diverged" if count else _in_sync(len(result.audit))
    lines = [f"audit{where}: {summary}"]
    width = max((len(name) for name in result.audit), default=0)
    for name in sorted(result.audit):
        lines.append(f"  {name:<{width}}  {result.audit[name]}")
        if verbose:
            lines += [f"    - {unmet}" for unmet in sorted(result.audit_details.get(name, []))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# why


def why_json(report: WhyReport | None, errors: Sequence[ZonesolveError]) -> str:
    """``why --format json``: per image, the installed and newest versions,
    what holds it at its version, and why not newer (facts, fixes)."""
    why = None
    if report is not None:
        why = {
            "package": report.stem,
            "pattern": report.pattern,
            "images": {w.image: w.to_json() for w in report.images},
        }
    obj = {
        "version": JSON_VERSION,
        "outcome": Outcome.FAIL.value if errors else Outcome.OK.value,
        "why": why,
        "errors": [err.to_json() for err in _error_list(errors)],
    }
    return json.dumps(obj, sort_keys=True, indent=2) + "\n"


def why_text(report: WhyReport, verbose: bool = False) -> str:
    """``why`` for people: per image, at this version because ..., not newer
    because ..., and the first fix (every step and fix with -v)."""
    lines: list[str] = []
    for why in report.images:
        if lines:
            lines.append("")
        lines += _why_image(report.stem, why, verbose)
    return "\n".join(lines) + "\n"


def _why_image(stem: str, why: ImageWhy, verbose: bool) -> list[str]:
    have = f"{_version_text(why.installed, False)} installed" if why.installed else "not installed"
    if why.newest is None:
        newest = "no version visible here"
    elif why.possible is None:
        newest = "the newest"
    else:
        newest = f"newest {_version_text(why.newest, False)}"
    lines = [f"{stem} in {why.image}: {have} ({newest})"]
    if why.because:
        lines.append("  at this version because:")
        lines += [f"    - {_fact_line(f, why.image)}" for f in _cut(why.because, FACTS_SHOWN, verbose)]
        if len(why.because) > FACTS_SHOWN + 1 and not verbose:
            lines.append(
                f"    ... {_count(len(why.because) - FACTS_SHOWN, 'more step')} (-v shows every step)"
            )
    if why.possible is not None:
        title = "not installed because:" if why.installed is None else "not newer because:"
        lines.append(f"  {title if not why.possible else 'newer:'}")
        shown = _cut(why.explanation, FACTS_SHOWN, verbose)
        lines += [f"    - {_fact_line(f, why.image)}" for f in shown]
        if len(why.explanation) > len(shown):
            lines.append(
                f"    ... {_count(len(why.explanation) - len(shown), 'more step')} (-v shows every step)"
            )
        lines += _fixes_lines(why.fixes, verbose, "  ")
    return lines
