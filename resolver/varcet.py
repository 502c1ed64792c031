"""Variants and facets: which actions apply to an image (ips-semantics 4).

An action applies iff its variant tags and its facet tags both allow it.
Package-level variant declarations (``set name=variant.X value=...``) decide
whether a package can be installed in an image at all.

Divergence from pkg(5), on purpose: pkg(5) tests a single declared value with
a substring test, so a package declaring only ``nonglobal`` can land in a
global zone ("global" in "nonglobal"). zonesolve compares whole values.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from resolver.model import Image, Package, Tags

_FALSE_BY_DEFAULT = ("facet.debug.", "facet.optional.")


class VarcetFilter:
    """The variant/facet rules of one image, with the answers memoised."""

    def __init__(self, variants: Mapping[str, str], facets: Mapping[str, bool]) -> None:
        self.variants = dict(variants)
        self.facets = dict(facets)
        # Glob facets, longest pattern first, then lexical (facet.py's order).
        self._globs = sorted((k for k in facets if "*" in k or "?" in k), key=lambda k: (-len(k), k))
        self._memo: dict[Tags, bool] = {(): True}

    @classmethod
    def for_image(cls, image: Image) -> VarcetFilter:
        return cls(image.variant_map, image.facet_map)

    def facet(self, name: str) -> bool:
        """The image's value of a facet: exact, else first matching glob, else default."""
        if name in self.facets:
            return self.facets[name]
        for pattern in self._globs:
            if fnmatchcase(name, pattern):
                return self.facets[pattern]
        return not name.startswith(_FALSE_BY_DEFAULT)

    def allows(self, tags: Tags) -> bool:
        """True if an action with these variant/facet tags applies to the image."""
        answer = self._memo.get(tags)
        if answer is None:
            answer = self._variants_allow(tags) and self._facets_allow(tags)
            self._memo[tags] = answer
        return answer

    def _variants_allow(self, tags: Tags) -> bool:
        for name, value in tags:
            if not name.startswith("variant."):
                continue
            have = self.variants.get(name)
            if have is None:
                if not value.startswith("false"):
                    return False
            elif have != value:
                return False
        return True

    def _facets_allow(self, tags: Tags) -> bool:
        facet_tags = [(n, v) for n, v in tags if n.startswith("facet.")]
        if not facet_tags:
            return True
        all_tags = [n for n, v in facet_tags if v == "all"]
        any_tags = [n for n, v in facet_tags if v != "all"]
        if not all(self.facet(n) for n in all_tags):
            return False
        return not any_tags or any(self.facet(n) for n in any_tags)

    def package_mismatch(self, pkg: Package) -> str | None:
        """Why ``pkg`` cannot be installed here (a declared variant), or None."""
        mismatch = self.variant_mismatch(pkg)
        if mismatch is None:
            return None
        name, values, have = mismatch
        return f"{pkg.fmri.short()} supports {name}={','.join(values)}, but the image has {name}={have}"

    def variant_mismatch(self, pkg: Package) -> tuple[str, tuple[str, ...], str] | None:
        """The variant that keeps ``pkg`` out of the image: its name, the
        values the package declares and the image's value; or None."""
        for name, values in pkg.variants:
            have = self.variants.get(name)
            if have is not None and have not in values:
                return name, values, have
        return None
