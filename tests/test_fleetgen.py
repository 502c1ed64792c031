"""The shipped sample (manifests/) and the seeded fleet generator (bench/fleetgen.py).

The installed states of both are checked by a small, independent checker:
every installed FMRI exists, every dependency of an installed package holds
within its image (require, require-any, optional, exclude, incorporate,
conditional, group, group-any), and every self parent dependency in a linked
zone is met by the global zone's exact version.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from resolver.fleet import load_fleet
from resolver.fmri import DEPEND_SELF, Version, parse_version
from resolver.manifest import parse_package
from resolver.model import Brand, Dependency, DepType, Fleet, Image, Package

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

from bench import fleetgen  # noqa: E402

SAMPLE = ROOT / "manifests"

Key = tuple[str, str, Version]  # publisher, stem, version
Loaded = tuple[Fleet, dict[Key, Package]]


# ---------------------------------------------------------------------------
# Loading


def load_dir(root: Path, publisher: str | None) -> list[Package]:
    return [
        parse_package(path.read_text(), str(path), default_publisher=publisher)
        for path in sorted(root.rglob("*.p5m"))
    ]


def load(fleet_path: Path) -> Loaded:
    fleet = load_fleet(fleet_path)
    catalog: dict[Key, Package] = {}
    for source in fleet.sources:
        path = Path(source.path)
        if not path.is_absolute():
            path = fleet_path.parent / path
        for pkg in load_dir(path, source.publisher):
            assert pkg.fmri.version is not None
            catalog[(pkg.publisher, pkg.stem, pkg.fmri.version)] = pkg
    return fleet, catalog


# ---------------------------------------------------------------------------
# The checker


def tags_allow(image: Image, tags: Iterable[tuple[str, str]]) -> bool:
    """ips-semantics 4.2, simplified: variants must be equal (unknown ones
    count as "false"); of the facets named, one must be true."""
    variants = image.variant_map
    facets = [name for name, _ in tags if name.startswith("facet.")]
    for name, value in tags:
        if name.startswith("variant."):
            have = variants.get(name)
            if (have != value) if have is not None else not value.startswith("false"):
                return False
    return not facets or any(facet_value(image.facet_map, name) for name in facets)


def facet_value(facets: Mapping[str, bool], name: str) -> bool:
    if name in facets:
        return facets[name]
    for pattern in sorted(facets, key=lambda p: (-len(p), p)):
        if fnmatchcase(name, pattern):
            return facets[pattern]
    return not name.startswith(("facet.debug.", "facet.optional."))


def fits(image: Image, pkg: Package) -> bool:
    """The package's declared variants admit the image."""
    variants = image.variant_map
    return all(variants.get(name, values[0]) in values for name, values in pkg.variants)


class Checker:
    """Checks one image's installed set against the catalog."""

    def __init__(self, catalog: dict[Key, Package], image: Image) -> None:
        self.catalog = catalog
        self.image = image
        self.problems: list[str] = []
        self.pkgs: dict[str, Package] = {}
        for fmri in image.installed:
            assert fmri.publisher is not None and fmri.version is not None
            pkg = catalog.get((fmri.publisher, fmri.stem, fmri.version))
            if pkg is None:
                self.fail(f"{fmri} is not in the catalog")
            elif fmri.stem in self.pkgs:
                self.fail(f"{fmri.stem} installed twice")
            else:
                self.pkgs[fmri.stem] = pkg

    def fail(self, text: str) -> None:
        self.problems.append(f"{self.image.name}: {text}")

    def version(self, stem: str) -> Version | None:
        pkg = self.pkgs.get(stem)
        return pkg.fmri.version if pkg is not None else None

    def has(self, stem: str, at_least: Version | None) -> bool:
        have = self.version(stem)
        return have is not None and (at_least is None or have >= at_least)

    def exists_for_image(self, stem: str) -> bool:
        return any(k[1] == stem and fits(self.image, p) for k, p in self.catalog.items())

    def run(self) -> list[str]:
        for pkg in self.pkgs.values():
            if pkg.obsolete:
                self.fail(f"{pkg.fmri} is obsolete")
            if not fits(self.image, pkg):
                self.fail(f"{pkg.fmri} does not support this image's variants")
            for dep in pkg.depends:
                if tags_allow(self.image, dep.tags) and not self.holds(dep):
                    self.fail(f"{pkg.fmri}: {dep.type.value} {', '.join(map(str, dep.fmris))}")
        self.check_lists()
        return self.problems

    def holds(self, dep: Dependency) -> bool:
        target, version = dep.fmri.stem, dep.fmri.version
        if dep.type is DepType.REQUIRE:
            return self.has(target, version)
        if dep.type is DepType.REQUIRE_ANY:
            return any(self.has(f.stem, f.version) for f in dep.fmris)
        if dep.type is DepType.OPTIONAL:
            return self.version(target) is None or self.has(target, version)
        if dep.type is DepType.EXCLUDE:
            return not self.has(target, version)
        if dep.type is DepType.INCORPORATE:
            have = self.version(target)
            return have is None or version is None or have.matches(version)
        if dep.type is DepType.CONDITIONAL:
            assert dep.predicate is not None
            return not self.has(dep.predicate.stem, dep.predicate.version) or self.has(target, version)
        if dep.type in (DepType.GROUP, DepType.GROUP_ANY):
            return any(self.group_met(f.stem) for f in dep.fmris)
        return True  # parent: self_parent_problems; origin: an upgrade-path rule

    def group_met(self, stem: str) -> bool:
        avoided = stem in self.image.avoid
        return stem in self.pkgs or avoided or not self.exists_for_image(stem)

    def check_lists(self) -> None:
        for stem in self.image.avoid:
            if stem in self.pkgs:
                self.fail(f"avoided {stem} is installed")
        for frozen in self.image.frozen:
            stem, _, text = frozen.partition("@")
            have = self.version(stem)
            if have is not None and text and not have.matches(parse_version(text)):
                self.fail(f"frozen {frozen} but {have} is installed")


def self_parent_problems(fleet: Fleet, catalog: dict[Key, Package]) -> list[str]:
    """In every linked zone, each installed package with an active self parent
    dependency is installed in the global zone at the same publisher and version."""
    gz = {(f.publisher, f.stem): f.version for f in fleet.global_zone.installed}
    problems = []
    for image in fleet.images:
        if not image.linked:
            continue
        for fmri in image.installed:
            assert fmri.publisher is not None and fmri.version is not None
            pkg = catalog.get((fmri.publisher, fmri.stem, fmri.version))
            if pkg is None or not any(
                d.type is DepType.PARENT and d.fmri.stem == DEPEND_SELF and tags_allow(image, d.tags)
                for d in pkg.depends
            ):
                continue
            if gz.get((fmri.publisher, fmri.stem)) != fmri.version:
                problems.append(f"{image.name}: {fmri} differs from the global zone")
    return problems


def allzones_problems(fleet: Fleet, catalog: dict[Key, Package]) -> list[str]:
    """SVR4: a SUNW_PKG_ALLZONES package is in the global zone and every
    native zone at the same version, or in none of them."""

    def allzones(image: Image) -> set[str]:
        out = set()
        for f in image.installed:
            assert f.publisher is not None and f.version is not None
            pkg = catalog.get((f.publisher, f.stem, f.version))
            if pkg is not None and pkg.svr4 is not None and pkg.svr4.allzones:
                out.add(str(f))
        return out

    gz = allzones(fleet.global_zone)
    native = [i for i in fleet.images if i.brand is Brand.NATIVE]
    return [f"{i.name}: SUNW_PKG_ALLZONES differ" for i in native if allzones(i) != gz]


def fleet_problems(fleet: Fleet, catalog: dict[Key, Package]) -> list[str]:
    problems = []
    for image in fleet.images:
        problems += Checker(catalog, image).run()
    problems += self_parent_problems(fleet, catalog)
    return problems + allzones_problems(fleet, catalog)


# ---------------------------------------------------------------------------
# The shipped sample


def test_every_sample_manifest_parses() -> None:
    files = sorted(SAMPLE.rglob("*.p5m"))
    assert len(files) >= 150
    for path in files:
        publisher = path.relative_to(SAMPLE).parts[0]
        pkg = parse_package(path.read_text(), str(path), default_publisher=publisher)
        assert pkg.publisher == publisher, path


@pytest.fixture(scope="module")
def demo() -> Loaded:
    return load(SAMPLE / "demo-fleet.toml")


def test_demo_fleet_is_consistent(demo: Loaded) -> None:
    fleet, catalog = demo
    assert {i.brand.value for i in fleet.images if i.brand} == {"lipkg", "sparse", "ipkg"}
    assert fleet_problems(fleet, catalog) == []


def test_sample_has_every_dependency_type(demo: Loaded) -> None:
    catalog = demo[1]
    types = {d.type for pkg in catalog.values() for d in pkg.depends}
    assert types >= set(DepType) - {DepType.ORIGIN}
    assert any(p.obsolete for p in catalog.values())
    assert any(p.renamed for p in catalog.values())
    assert any(p.svr4 and p.svr4.allzones for p in catalog.values())


# ---------------------------------------------------------------------------
# The generator


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fleetgen.FleetStats]:
    out = tmp_path_factory.mktemp("small")
    return out, fleetgen.generate("small", 7, out)


@pytest.fixture(scope="module")
def small_fleet(small: tuple[Path, fleetgen.FleetStats]) -> Loaded:
    return load(small[0] / "fleet.toml")


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(small: tuple[Path, fleetgen.FleetStats], tmp_path: Path) -> None:
    out, stats = small
    again = fleetgen.generate("small", 7, tmp_path)
    assert again == stats
    assert digest_tree(tmp_path) == digest_tree(out)


def test_small_shape(small: tuple[Path, fleetgen.FleetStats], small_fleet: Loaded) -> None:
    stats = small[1]
    assert stats.stems == 500
    assert 2_000 <= stats.versions <= 4_000
    assert stats.images == 6
    fleet, catalog = small_fleet
    assert len(catalog) == stats.versions
    assert sum(len(i.installed) for i in fleet.images) == stats.installed_pairs
    assert {p.publisher for p in catalog.values()} == {"omnios", "extra"}
    types = {d.type for pkg in catalog.values() for d in pkg.depends}
    assert types == set(DepType)
    brands = {i.brand.value for i in fleet.images if i.brand}
    assert brands == {"lipkg", "sparse", "ipkg", "native"}
    assert any(p.obsolete for p in catalog.values())
    assert any(p.renamed for p in catalog.values())
    assert any(p.svr4 and p.svr4.allzones for p in catalog.values())


def test_small_installed_states_are_consistent(small_fleet: Loaded) -> None:
    fleet, catalog = small_fleet
    assert fleet_problems(fleet, catalog) == []
    newest: dict[str, Version] = {}
    for _, stem, version in catalog:
        newest[stem] = max(version, newest.get(stem, version))
    updatable = [f for f in fleet.global_zone.installed if f.version != newest[f.stem]]
    assert updatable, "newer versions exist for the global zone"


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        fleetgen.generate("gigantic", 1, Path("/nonexistent"))
