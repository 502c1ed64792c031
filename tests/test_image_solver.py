"""One class's solver: what it derives once for all its images."""

from __future__ import annotations

from resolver.catalog import Catalog
from resolver.image_solver import ClassSolve
from resolver.manifest import parse_package
from resolver.model import Image, Publisher
from resolver.problem import SharedProblem

MANIFESTS = {
    "a@1.0": ["require fmri=pkg:/b"],
    "b@1.0": ["require fmri=pkg:/c", "require fmri=pkg:/d"],
    "b@2.0": ["require fmri=pkg:/c"],
    "c@1.0": [],
    "c@2.0": ["require fmri=pkg:/e"],
    "d@1.0": [],
    "e@1.0": [],
}


def _class() -> ClassSolve:
    packages = []
    for name, deps in MANIFESTS.items():
        stem, version = name.split("@")
        lines = [f"set name=pkg.fmri value=pkg://t/{stem}@{version},5.11-0"]
        lines += [f"depend type={dep.split()[0]} {dep.split()[1]}" for dep in deps]
        packages.append(parse_package("\n".join(lines), f"<{name}>", "t"))
    catalog = Catalog(packages)
    shared = SharedProblem(catalog, Image("global", (Publisher("t"),)))
    shared.close(["a"])
    return ClassSolve(shared, None, {})


def _lit(cls: ClassSolve, name: str) -> int:
    stem, version = name.split("@")
    return next(
        cls.enc.x(p)
        for p in cls.enc.packages
        if p.stem == stem and str(p.fmri.version) == version + ",5.11-0"
    )


def test_stems_every_remaining_version_requires_are_forced() -> None:
    """a@1.0 installed needs b; both b versions need c (not d, not e): c is
    forced although no version of b or c is decided."""
    cls = _class()
    implied = {_lit(cls, "a@1.0")}
    assert cls.forced_present(implied) == {"a", "b", "c"}


def test_excluded_versions_do_not_count() -> None:
    """With b@2.0 ruled out, b@1.0 is the only version left: d is forced too;
    with c@1.0 ruled out, c@2.0's e is forced."""
    cls = _class()
    implied = {_lit(cls, "a@1.0"), -_lit(cls, "b@2.0"), -_lit(cls, "c@1.0")}
    assert cls.forced_present(implied) == {"a", "b", "c", "d", "e"}


def test_nothing_installed_forces_nothing() -> None:
    cls = _class()
    assert cls.forced_present({-_lit(cls, "a@1.0")}) == set()
