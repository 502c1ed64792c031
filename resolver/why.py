"""``zonesolve why PKG``: why a package is at its version in an image, and
why it is not newer (or not installed at all), per image.

- *At this version*: the chain that requires or pins it, read from the
  installed packages: what requires it (and what requires that, up to a
  package nothing requires), the incorporations that pin it (or would, but
  for a version-lock facet), a freeze, a zone's parent dependency.
- *Not newer / not installed*: the binding constraint of the newest version
  the image can see, from the solver: ``install PKG@NEWEST`` planned in that
  image (with its zones, as pkg(5) would), and its explanation and fixes if
  it fails (resolver.explain). If it would succeed, nothing stops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from resolver.catalog import Catalog
from resolver.errors import Fact, Fix, MatchError, NoSolution
from resolver.fmri import DEPEND_SELF, Fmri
from resolver.model import CLOSURE_TYPES, Dependency, DepType, Fleet, Image, Operation, Package, Verb
from resolver.patterns import StemIndex, parse_pattern
from resolver.reasons import Rule, version_lock_facet
from resolver.varcet import VarcetFilter

#: how far up the chain of dependents ``why`` follows the first one
CHAIN_DEPTH = 4
#: dependents named per image
DEPENDENTS_SHOWN = 5


@dataclass
class ImageWhy:
    """The answer for one image."""

    image: str
    installed: Fmri | None
    newest: Fmri | None
    #: why it is at its installed version: what requires or pins it
    because: list[Fact] = field(default_factory=list)
    #: None when the installed version is the newest; else whether installing
    #: the newest would work as things are, and if not why (binding rule first)
    possible: bool | None = None
    explanation: list[Fact] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        newer: dict[str, object] | None = None
        if self.possible is not None:
            newer = {
                "possible": self.possible,
                "explanation": [f.to_json() for f in self.explanation],
                "fixes": [f.to_json() for f in self.fixes],
            }
        return {
            "image": self.image,
            "installed": str(self.installed) if self.installed else None,
            "newest": str(self.newest) if self.newest else None,
            "because": [f.to_json() for f in self.because],
            "not-newer": newer,
        }


@dataclass
class WhyReport:
    """``why`` for one package, in one image or in every image of a fleet."""

    stem: str
    pattern: str
    images: list[ImageWhy]


def explain_why(
    fleet: Fleet,
    catalog: Catalog,
    pattern: str,
    image: str | None = None,
    jobs: int | None = None,
) -> WhyReport:
    """Why ``pattern``'s package is at its version (and not newer), in
    ``image`` or in every image of the fleet (the global zone first)."""
    stem = _stem(pattern, catalog)
    images = (
        [fleet.image(image)] if image else [fleet.global_zone, *(i for i in fleet.images if not i.is_global)]
    )
    return WhyReport(stem, pattern, [_one(fleet, catalog, stem, img, jobs) for img in images])


def _stem(pattern: str, catalog: Catalog) -> str:
    """The one stem a pattern names (as pkg(1) matches it)."""
    parsed = parse_pattern(pattern)
    stems = StemIndex(catalog.stems()).lookup(parsed)
    if not stems:
        raise MatchError(f"no package matches '{pattern}'")
    if len(stems) > 1 and not parsed.is_wildcard:
        exact = [s for s in stems if s == parsed.name]
        if len(exact) != 1:
            raise MatchError(
                f"'{pattern}' matches multiple packages: {', '.join(sorted(stems))}; give the full name"
            )
        stems = exact
    if len(stems) > 1:
        raise MatchError(f"'{pattern}' matches multiple packages: {', '.join(sorted(stems))}; name one")
    return stems[0]


def _one(fleet: Fleet, catalog: Catalog, stem: str, image: Image, jobs: int | None) -> ImageWhy:
    installed = catalog.installed(image.installed)
    have = installed.get(stem)
    newest = _newest_visible(catalog, image, stem)
    answer = ImageWhy(image.name, have.fmri if have else None, newest.fmri if newest else None)
    if have is not None:
        answer.because = _because(fleet, catalog, image, installed, have)
    if newest is None or (have is not None and have.fmri.version >= newest.fmri.version):  # type: ignore[operator]
        return answer
    _not_newer(answer, fleet, catalog, image, newest, jobs)
    return answer


def _newest_visible(catalog: Catalog, image: Image, stem: str) -> Package | None:
    """The newest non-obsolete version from the image's publishers its variants allow."""
    publishers = {p.name for p in image.publishers}
    filt = VarcetFilter.for_image(image)
    live = [
        p
        for p in catalog.versions(stem)
        if p.publisher in publishers and not p.obsolete and not filt.package_mismatch(p)
    ]
    return max(live, key=lambda p: p.fmri.version.key, default=None)  # type: ignore[union-attr]


def _not_newer(
    answer: ImageWhy, fleet: Fleet, catalog: Catalog, image: Image, newest: Package, jobs: int | None
) -> None:
    """Plan ``install PKG@NEWEST`` in the image; its failure is the answer."""
    from resolver.api import plan

    assert newest.fmri.version is not None
    op = Operation(Verb.INSTALL, (newest.fmri.short(),), image.name)
    result = plan(fleet, catalog, op, jobs=jobs)
    failures = [e for e in result.errors if isinstance(e, NoSolution)]
    if not result.errors:
        answer.possible = True
        verb = "update" if answer.installed else "install"
        answer.explanation = [
            Fact(
                Rule.REQUEST.value,
                f"nothing stops it: pkg {verb} {newest.stem} would {verb} {newest.fmri.short()}",
                image.name,
                str(newest.fmri),
            )
        ]
        return
    answer.possible = False
    if failures:
        answer.explanation = list(failures[0].facts)
        answer.fixes = list(failures[0].fixes)
    else:
        err = result.errors[0]
        answer.explanation = [Fact(err.kind, err.message, err.image or image.name)]


# ---------------------------------------------------------------------------
# At this version: what requires or pins it


def _because(
    fleet: Fleet, catalog: Catalog, image: Image, installed: dict[str, Package], pkg: Package
) -> list[Fact]:
    filt = VarcetFilter.for_image(image)
    facts = [*_pins(image, installed, pkg, filt), *_parent(fleet, catalog, image, pkg, filt)]
    dependents = _dependents(installed, pkg.stem, filt)
    for dependent, dep in dependents[:DEPENDENTS_SHOWN]:
        facts.append(_dep_fact(image, dependent, dep))
    if len(dependents) > DEPENDENTS_SHOWN:
        rest = len(dependents) - DEPENDENTS_SHOWN
        facts.append(
            Fact(Rule.REQUIRE.value, f"and {rest} other installed packages depend on {pkg.stem}", image.name)
        )
    if dependents:
        facts += _chain(image, installed, dependents[0][0], filt)
    elif not facts:
        text = f"{pkg.fmri.short()} is installed on its own: nothing installed depends on it"
        facts.append(Fact(Rule.INSTALLED.value, text, image.name, str(pkg.fmri)))
    return facts


def _pins(image: Image, installed: dict[str, Package], pkg: Package, filt: VarcetFilter) -> list[Fact]:
    """Freezes and incorporations that hold ``pkg`` at its version (and those
    a version-lock facet switches off)."""
    facts = []
    for text in image.frozen:
        if parse_pattern(text).matches_stem(pkg.stem):
            facts.append(
                Fact(
                    Rule.FREEZE.value,
                    f"{pkg.stem} is frozen ({text})",
                    image.name,
                    str(pkg.fmri),
                    setting=text,
                )
            )
    for inc in sorted(installed.values(), key=lambda p: p.stem):
        for dep in inc.depends:
            if dep.type is not DepType.INCORPORATE or dep.fmri.stem != pkg.stem or dep.fmri.version is None:
                continue
            facet = version_lock_facet(dep)
            if filt.allows(dep.tags):
                rule = Rule.VERSION_LOCK if facet else Rule.INCORPORATE
                text = f"installed incorporation {inc.fmri.short()} allows only {dep.fmri.short()}*"
            else:
                rule = Rule.VERSION_LOCK
                text = f"{inc.fmri.short()} would lock it at {dep.fmri.short()}*, but {facet} is false here"
            facts.append(
                Fact(rule.value, text, image.name, str(inc.fmri), _dep(dep), (str(pkg.fmri),), setting=facet)
            )
    return facts


def _parent(fleet: Fleet, catalog: Catalog, image: Image, pkg: Package, filt: VarcetFilter) -> list[Fact]:
    """A zone's parent dependency that ties the version to the global zone's."""
    if not image.linked or image.parent is None:
        return []
    parent = catalog.installed(fleet.image(image.parent).installed)
    facts = []
    for dep in pkg.depends:
        if dep.type is not DepType.PARENT or not filt.allows(dep.tags):
            continue
        target = pkg.stem if dep.fmri.stem == DEPEND_SELF else dep.fmri.stem
        have = parent.get(target)
        has = (
            f"the global zone has {have.fmri.short()}" if have else f"the global zone does not have {target}"
        )
        what = (
            "must match the global zone's version exactly"
            if dep.fmri.stem == DEPEND_SELF
            else (f"needs {dep.fmri.short()} or newer in the global zone")
        )
        text = f"{pkg.fmri.short()} in zone {image.name} {what} (parent dependency); {has}"
        facts.append(Fact(Rule.PARENT.value, text, image.name, str(pkg.fmri), _dep(dep)))
    return facts


def _dependents(
    installed: dict[str, Package], stem: str, filt: VarcetFilter
) -> list[tuple[Package, Dependency]]:
    """Installed packages with a dependency that needs ``stem``."""
    out = []
    for other in sorted(installed.values(), key=lambda p: p.stem):
        for dep in other.depends:
            if dep.type in CLOSURE_TYPES and filt.allows(dep.tags) and any(f.stem == stem for f in dep.fmris):
                out.append((other, dep))
                break
    return out


def _chain(image: Image, installed: dict[str, Package], start: Package, filt: VarcetFilter) -> list[Fact]:
    """From the first dependent up to a package nothing installed needs."""
    facts = []
    seen = {start.stem}
    current = start
    for _ in range(CHAIN_DEPTH):
        up = [(p, d) for p, d in _dependents(installed, current.stem, filt) if p.stem not in seen]
        if not up:
            text = f"{current.fmri.short()} is installed on its own: nothing installed depends on it"
            facts.append(Fact(Rule.INSTALLED.value, text, image.name, str(current.fmri)))
            break
        current, dep = up[0]
        seen.add(current.stem)
        facts.append(_dep_fact(image, current, dep))
    return facts


def _dep_fact(image: Image, pkg: Package, dep: Dependency) -> Fact:
    target = ", ".join(
        f.short() + (" or newer" if f.version and dep.type is DepType.REQUIRE else "") for f in dep.fmris
    )
    verb = {
        DepType.REQUIRE: "requires",
        DepType.REQUIRE_ANY: "requires one of",
        DepType.CONDITIONAL: "requires",
        DepType.GROUP: "groups",
        DepType.GROUP_ANY: "groups one of",
    }.get(dep.type, dep.type.value)
    when = f" (when {dep.predicate.short()} is installed)" if dep.predicate else ""
    return Fact(
        dep.type.value, f"{pkg.fmri.short()} {verb} {target}{when}", image.name, str(pkg.fmri), _dep(dep)
    )


def _dep(dep: Dependency) -> str:
    return f"{dep.type.value} {', '.join(str(f) for f in dep.fmris)}"
