"""The catalog: every known package version, indexed by stem.

Loading the formats that feed it (manifest directories, pkg(5) file
repositories, catalog/1 directories, inline manifests) lives in
``resolver.sources``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from resolver.fmri import Fmri
from resolver.model import Package


class Catalog:
    """Package versions by stem, each list sorted oldest first (then publisher)."""

    def __init__(self, packages: Iterable[Package] = ()) -> None:
        self._by_stem: dict[str, list[Package]] = {}
        self._by_fmri: dict[tuple[str, str, tuple[object, ...]], Package] = {}
        for pkg in packages:
            self.add(pkg)
        self._sorted = False

    def add(self, pkg: Package) -> None:
        assert pkg.fmri.version is not None and pkg.fmri.publisher is not None
        key = (pkg.publisher, pkg.stem, pkg.fmri.version.key)
        if key in self._by_fmri:
            return
        self._by_fmri[key] = pkg
        self._by_stem.setdefault(pkg.stem, []).append(pkg)
        self._sorted = False

    def _sort(self) -> None:
        if not self._sorted:
            for versions in self._by_stem.values():
                versions.sort(key=lambda p: (p.fmri.version.key, p.publisher))  # type: ignore[union-attr]
            self._sorted = True

    def versions(self, stem: str) -> Sequence[Package]:
        """Every version of ``stem``, oldest first; empty if unknown."""
        self._sort()
        return self._by_stem.get(stem, ())

    def get(self, fmri: Fmri) -> Package | None:
        """The package with exactly this publisher, stem and version."""
        if fmri.version is None or fmri.publisher is None:
            return None
        return self._by_fmri.get((fmri.publisher, fmri.stem, fmri.version.key))

    def installed(self, fmris: Iterable[Fmri]) -> dict[str, Package]:
        """An image's installed packages by stem (those the catalog has)."""
        out: dict[str, Package] = {}
        for fmri in fmris:
            pkg = self.get(fmri)
            if pkg is not None:
                out[pkg.stem] = pkg
        return out

    def stems(self) -> Iterator[str]:
        return iter(sorted(self._by_stem))

    def __contains__(self, stem: object) -> bool:
        return stem in self._by_stem

    def __len__(self) -> int:
        return len(self._by_fmri)

    def __iter__(self) -> Iterator[Package]:
        self._sort()
        for stem in sorted(self._by_stem):
            yield from self._by_stem[stem]
