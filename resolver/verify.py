"""An independent check of a plan: every rule, on the resulting installed sets.

It reads the packages' dependencies and the fleet directly and never looks at
the encoding, so a bug in the clauses shows up here as a violation instead of
as a wrong plan. The planner runs it on every plan; a violation is an
internal error.

An image the plan does not touch (no request) keeps its installed set, right
or wrong: a rule it broke before the plan is the fleet file's state, not the
plan's doing, and is not reported (``audit`` reports it for a zone). A rule
such an image breaks only after the plan (its parent changed under it) is. A
planned image must end consistent: the planner repairs its installed set or
fails with no-solution.
"""

from __future__ import annotations

from collections.abc import Mapping

from resolver.catalog import Catalog
from resolver.fmri import DEPEND_SELF, Fmri, Version
from resolver.model import Brand, Dependency, DepType, Fleet, Image, Package
from resolver.patterns import StemIndex, parse_pattern
from resolver.problem import Request
from resolver.varcet import VarcetFilter
from resolver.workers import run_all

Installed = Mapping[str, Package]


def _ge(pkg: Package, fmri: Fmri) -> bool:
    return fmri.version is None or pkg.fmri.version.key >= fmri.version.key  # type: ignore[union-attr]


class Verifier:
    """Checks the final installed set of every image against every rule."""

    def __init__(
        self,
        fleet: Fleet,
        catalog: Catalog,
        index: StemIndex,
        requests: Mapping[str, Request],
        before: Mapping[str, Installed],
        after: Mapping[str, Installed],
        chosen: Mapping[str, Installed],
    ) -> None:
        self.fleet, self.catalog, self.index = fleet, catalog, index
        self.requests, self.before, self.after, self.chosen = requests, before, after, chosen
        self.problems: list[str] = []

    def run(self, jobs: int | None = 1) -> list[str]:
        """Every problem found, image by image (in ``jobs`` worker processes:
        images are checked independently)."""
        images = self.fleet.images
        return [p for found in run_all(self._check, len(images), jobs, phase="verifying") for p in found]

    def _check(self, i: int) -> list[str]:
        self.problems = []
        self._image(self.fleet.images[i])
        return self.problems

    def _fail(self, image: Image, text: str) -> None:
        self.problems.append(f"image {image.name}: {text}")

    def _image(self, image: Image) -> None:
        final = self.after[image.name]
        request = self.requests.get(image.name)
        filt = VarcetFilter.for_image(image)
        if request is None:  # not planned: only what the plan broke (see the module doc)
            before = set(self.consistency(image, self.before))
            self.problems += [p for p in self.consistency(image, self.after) if p not in before]
            return
        self._consistent(image, final, filt)
        self._changes(image, final, request, filt)

    def consistency(self, image: Image, state: Mapping[str, Installed], parents: bool = True) -> list[str]:
        """The rules ``image``'s installed set in ``state`` breaks, its parent's
        set also read from ``state`` (``audit`` asks this of the installed
        sets, without the parent dependencies: it words those itself)."""
        saved, self.after, self.problems = (self.after, self.problems), state, []
        try:
            self._consistent(image, state[image.name], VarcetFilter.for_image(image), parents)
            return self.problems
        finally:
            self.after, self.problems = saved

    def _consistent(self, image: Image, final: Installed, filt: VarcetFilter, parents: bool = True) -> None:
        """No obsolete package, every dependency that applies here met."""
        for pkg in final.values():
            if pkg.obsolete:
                self._fail(image, f"{pkg.fmri} is obsolete but installed")
            for dep in pkg.depends:
                if filt.allows(dep.tags) and (parents or dep.type is not DepType.PARENT):
                    self._dependency(image, final, pkg, dep, filt)

    # -- dependencies ----------------------------------------------------------------

    def _dependency(
        self, image: Image, final: Installed, pkg: Package, dep: Dependency, filt: VarcetFilter
    ) -> None:
        t = dep.fmri
        have = final.get(t.stem)
        kind = dep.type
        ok = True
        if kind is DepType.REQUIRE:
            ok = have is not None and _ge(have, t)
        elif kind is DepType.REQUIRE_ANY:
            ok = any((h := final.get(f.stem)) is not None and _ge(h, f) for f in dep.fmris)
        elif kind is DepType.OPTIONAL:
            ok = have is None or _ge(have, t)
        elif kind is DepType.EXCLUDE:
            ok = have is None or have is pkg or not _ge(have, t)
        elif kind is DepType.INCORPORATE:
            ok = have is None or t.version is None or have.fmri.version.matches(t.version)  # type: ignore[union-attr]
        elif kind is DepType.CONDITIONAL:
            q = dep.predicate
            pred = final.get(q.stem) if q else None
            ok = pred is None or q is None or not _ge(pred, q) or (have is not None and _ge(have, t))
        elif kind in (DepType.GROUP, DepType.GROUP_ANY):
            picked = self.chosen.get(image.name, {})
            ok = (
                any(f.stem in final for f in dep.fmris)
                or any((p := picked.get(f.stem)) is not None and p.obsolete for f in dep.fmris)
                or all(self._group_excused(image, f.stem, filt) for f in dep.fmris)
            )
        elif kind is DepType.PARENT and image.linked:
            request = self.requests.get(image.name)
            lax = request is not None and request.lax_parent and self.before[image.name].get(pkg.stem) is pkg
            ok = lax or self._parent_ok(image, pkg, dep)
        if not ok:
            self._fail(image, f"{pkg.fmri} {kind.value} dependency on {t} is not met")

    def _group_excused(self, image: Image, stem: str, filt: VarcetFilter) -> bool:
        """A group target may be absent: opted out, obsolete, or not installable here."""
        request = self.requests.get(image.name)
        if stem in self._avoided(image, request):
            return True
        if request and (stem in request.reject or stem in request.remove):
            return True
        picked = self.chosen.get(image.name, {}).get(stem)
        if picked is not None and picked.obsolete:
            return True
        pubs = {p.name for p in image.publishers}
        frozen = self._frozen_versions(image).get(stem)
        installable = [
            p
            for p in self.catalog.versions(stem)
            if p.publisher in pubs
            and not filt.package_mismatch(p)
            and not (p.explicit_install and not self._explicitly_allowed(image, p, filt))
            and (frozen is None or p.fmri.version.matches(frozen))  # type: ignore[union-attr]
        ]
        if image.linked:
            installable = [p for p in installable if self._parent_allows(image, p, filt)]
        return True if not installable else self._excused_by_constraints(image, stem, installable)

    def _avoided(self, image: Image, request: Request | None) -> set[str]:
        """The image's avoid list as stems; a stem the request names is off it."""
        if not image.avoid:
            return set()
        stems = {s for text in image.avoid for s in self.index.lookup(parse_pattern(text))}
        return stems - request.proposed.keys() if request else stems

    def _explicitly_allowed(self, image: Image, pkg: Package, filt: VarcetFilter) -> bool:
        """pkg.depend.explicit-install: requested, installed before, or (in a
        linked zone) a package with a self parent dependency whose stem the
        parent has after its plan (pkg(5) ``__filter_explicit_install``)."""
        request = self.requests.get(image.name)
        if (request and pkg.stem in request.proposed) or pkg.stem in self.before[image.name]:
            return True
        self_synced = any(
            d.type is DepType.PARENT and d.fmri.stem == DEPEND_SELF and filt.allows(d.tags)
            for d in pkg.depends
        )
        return image.linked and self_synced and pkg.stem in self.after[image.parent or ""]

    def _excused_by_constraints(self, image: Image, stem: str, installable: list[Package]) -> bool:
        """Every installable version is ruled out by a freeze, an incorporation
        in the final set, or a higher-ranked publisher."""
        final = self.after[image.name]
        for pkg in installable:
            blocked = any(
                d.type is DepType.INCORPORATE
                and d.fmri.stem == stem
                and d.fmri.version is not None
                and not pkg.fmri.version.matches(d.fmri.version)  # type: ignore[union-attr]
                for other in final.values()
                for d in other.depends
            )
            if not blocked:
                return False
        return True

    def _parent_allows(self, image: Image, pkg: Package, filt: VarcetFilter) -> bool:
        return all(
            self._parent_ok(image, pkg, d)
            for d in pkg.depends
            if d.type is DepType.PARENT and filt.allows(d.tags)
        )

    def _parent_ok(self, image: Image, pkg: Package, dep: Dependency) -> bool:
        assert image.parent is not None
        parent = self.after[image.parent]
        if dep.fmri.stem == DEPEND_SELF:
            have = parent.get(pkg.stem)
            return have is not None and have.fmri == pkg.fmri
        have = parent.get(dep.fmri.stem)
        pub_ok = dep.fmri.publisher is None or (have is not None and have.publisher == dep.fmri.publisher)
        return have is not None and _ge(have, dep.fmri) and pub_ok

    # -- what the plan may change -------------------------------------------------------

    def _changes(self, image: Image, final: Installed, request: Request, filt: VarcetFilter) -> None:
        before = self.before[image.name]
        chosen = self.chosen.get(image.name, final)
        for stem, old in before.items():
            new = final.get(stem)
            if new is None and not self._removal_ok(image, stem, old, request, chosen, filt):
                self._fail(image, f"{old.fmri} was removed, but nothing allows its removal")
            if new is not None and new is not old:
                self._move_ok(image, old, new, request, final)
        for stem, pkg in final.items():
            if stem in request.reject or stem in request.remove:
                self._fail(image, f"{pkg.fmri} is installed although the request removes it")
            if before.get(stem) is not pkg:
                self._new_version_ok(image, pkg, before, filt)
        self._freezes(image, final)
        for stem, versions in request.proposed.items():
            got = chosen.get(stem)
            if got is None or all(got is not p for p in versions):
                self._fail(image, f"requested {stem} is not at a requested version")
        if image.brand is Brand.NATIVE and image.parent is not None:
            self._svr4(image, final)

    def _removal_ok(
        self,
        image: Image,
        stem: str,
        old: Package,
        request: Request,
        chosen: Installed,
        filt: VarcetFilter,
    ) -> bool:
        if stem in request.remove or stem in request.reject or filt.package_mismatch(old):
            return True
        if stem in self._avoided(image, request):
            return True  # avoided: stays only while required (the dependency checks see to that)
        picked = chosen.get(stem)
        return picked is not None and (picked.obsolete or picked.renamed)

    def _move_ok(self, image: Image, old: Package, new: Package, request: Request, final: Installed) -> None:
        if new.fmri.version >= old.fmri.version:  # type: ignore[operator]
            return
        if old.stem in request.proposed:
            return  # explicit downgrade
        allowed = any(
            d.type is DepType.INCORPORATE
            and d.fmri.stem == old.stem
            and d.fmri.version is not None
            and not old.fmri.version.matches(d.fmri.version)  # type: ignore[union-attr]
            for p in final.values()
            for d in p.depends
        )
        if not allowed:
            self._fail(image, f"{old.fmri} was downgraded to {new.fmri} without a request or incorporation")

    def _new_version_ok(self, image: Image, pkg: Package, before: Installed, filt: VarcetFilter) -> None:
        mismatch = filt.package_mismatch(pkg)
        if mismatch:
            self._fail(image, mismatch)
        pubs = {p.name: p for p in image.publishers}
        if pkg.publisher not in pubs:
            self._fail(image, f"{pkg.fmri} comes from publisher {pkg.publisher}, not configured here")
        old = before.get(pkg.stem)
        request = self.requests.get(image.name)
        named = request is not None and any(p is pkg for p in request.proposed.get(pkg.stem, ()))
        if (
            old is not None
            and old.publisher in pubs
            and pubs[old.publisher].sticky
            and pkg.publisher != old.publisher
            and not named
        ):
            self._fail(image, f"{pkg.fmri} replaces {old.fmri} from sticky publisher {old.publisher}")
        if old is None and pkg.explicit_install and not self._explicitly_allowed(image, pkg, filt):
            self._fail(image, f"{pkg.fmri} is explicit-install but was neither requested nor installed")
        for dep in pkg.depends:
            if dep.type is DepType.ORIGIN and filt.allows(dep.tags) and dep.fmri.version is not None:
                inst = before.get(dep.fmri.stem)
                if inst is not None and not _ge(inst, dep.fmri):
                    self._fail(image, f"{pkg.fmri} needs {dep.fmri} installed first (origin)")

    def _frozen_versions(self, image: Image) -> dict[str, Version]:
        out: dict[str, Version] = {}
        for text in image.frozen:
            pattern = parse_pattern(text)
            for stem in self.index.lookup(pattern):
                want = pattern.version.as_version() if pattern.version else None
                if want is None:
                    old = self.before[image.name].get(stem)
                    want = old.fmri.version if old else None
                if want is not None:
                    out[stem] = want
        return out

    def _freezes(self, image: Image, final: Installed) -> None:
        for stem, want in self._frozen_versions(image).items():
            pkg = final.get(stem)
            if pkg is not None and not pkg.fmri.version.matches(want):  # type: ignore[union-attr]
                self._fail(image, f"{pkg.fmri} breaks a freeze on {stem}@{want}")

    def _svr4(self, image: Image, final: Installed) -> None:
        assert image.parent is not None
        parent = self.after[image.parent]
        for stem in set(final) | set(parent):
            mine, theirs = final.get(stem), parent.get(stem)
            allzones = any(p is not None and p.svr4 is not None and p.svr4.allzones for p in (mine, theirs))
            if allzones and (mine is None) != (theirs is None):
                self._fail(image, f"ALLZONES package {stem} is not in both this zone and the global zone")
            if (
                allzones
                and mine is not None
                and theirs is not None
                and mine.fmri.version != theirs.fmri.version
            ):
                here, there = mine.fmri.version, theirs.fmri.version
                self._fail(image, f"ALLZONES {stem} is at {here} here but {there} in the global zone")
