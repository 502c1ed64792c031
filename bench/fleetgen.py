"""Seeded, deterministic fleet generator: a synthetic OmniOS-like distribution
and a host (global zone + zones) with consistent installed states.

    python -m bench.fleetgen --preset small --seed 1 --out /tmp/fleet
    python -m bench.fleetgen --preset medium --shape random --seed 7 --out /tmp/m
    python -m bench.fleetgen --preset medium --shape drift=0.15,broken=0.05 --out /tmp/m

writes ``OUT/catalog/<publisher>/<stem>@<release>-<branch>.p5m`` (one package
version per file) and ``OUT/fleet.toml`` (docs/interfaces.md format). The
same preset and seed give byte-identical files.

Shape (docs/performance-notes.md): release branches 151038..151054 with point
updates ("snapshots"); an ``entire`` incorporation over an osnet-style and a
userland-style incorporation that pin a few hundred packages per snapshot;
kernel-side packages with self parent dependencies tagged nonglobal; drivers
declared global-only and depended on with ``variant.opensolaris.zone=global``;
power-law dependency fan-in; a second publisher (``extra``); excludes,
conditionals, require-any, optionals, groups, origins, obsolete and renamed
packages; a few SVR4 packages. Zones come from role templates with per-zone
variation and mixed brands.

``--shape`` varies what our own fleets flatter (``Shape``: dependency drift,
uninstallable newest versions, dependency-free leaves, conditional and
require-any density, the number of role templates and how much zones vary,
how far zones lag, packages the global zone lacks); ``--shape random`` draws
every knob from the seed. The default shape is the historic generator, byte
for byte.

Why the installed states are consistent: every dependency of a version that
first appears in snapshot ``s`` asks for at most the target's version in
``s``; incorporated and kernel-side packages are installed at the image's
snapshot, everything else at the same or an earlier one; incorporated
packages only depend on incorporated ones; dependency targets exist before
their dependents and are never obsolete, renamed or mutually exclusive.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from enum import Enum
from itertools import accumulate
from pathlib import Path

OMNIOS, EXTRA = "omnios", "extra"
SELF = "feature/package/dependency/self"
ENTIRE, OSNET, USERLAND = (
    "entire",
    "consolidation/osnet/osnet-incorporation",
    "incorporation/jeos/omnios-userland",
)
ZONE, ARCH = "variant.opensolaris.zone", "variant.arch"
Tags = tuple[tuple[str, str], ...]
NONGLOBAL: Tags = ((ZONE, "nonglobal"),)
GLOBAL: Tags = ((ZONE, "global"),)


@dataclass(frozen=True)
class Preset:
    """Target sizes. ``stems`` counts both publishers; ``core``, ``drivers``
    and ``userland`` are the incorporated (pinned) stems; the rest are
    unincorporated libraries and applications."""

    stems: int
    zones: int
    core: int
    drivers: int
    userland: int
    mean_versions: float  # of unincorporated stems
    role_roots: int  # applications a role template installs


PRESETS: dict[str, Preset] = {
    "small": Preset(500, 5, 40, 14, 70, 4.7, 16),
    "medium": Preset(5_000, 50, 150, 50, 250, 6.5, 80),
    "large": Preset(20_000, 500, 250, 80, 400, 5.6, 220),
    "huge": Preset(40_000, 2_000, 300, 100, 500, 5.25, 200),
}


@dataclass(frozen=True)
class Shape:
    """Knobs for what a fleet looks like beyond its size. The defaults are the
    generator as it always was (same seed, same bytes); each knob draws from
    its own random stream, so turning one does not reshuffle the others."""

    #: share of later versions of libraries, applications and userland
    #: packages that require one stem more than the version before
    drift: float = 0.0
    #: share of libraries and applications (2+ versions) whose newest version
    #: needs a core release no source has: it can never be installed
    broken: float = 0.0
    #: dependency-free single-version packages, as a share of the stems
    leaves: float = 0.0
    #: optional, conditional and require-any dependencies: each on this share
    #: of libraries and applications
    other_deps: float = 0.02
    #: role templates zones are drawn from
    templates: int = 8
    #: per zone, up to this many template applications dropped and added
    removed: int = 3
    added: int = 5
    #: linked zones' unincorporated packages lag the global zone's by up to this many snapshots
    lag: int = 3
    #: share of applications (2+ versions) whose newest version needs, in a
    #: zone, a package the global zone does not have (a parent dependency)
    gz_lacks: float = 0.0

    def text(self) -> str:
        """``key=value,...`` for the knobs that differ from the defaults."""
        default = Shape()
        return (
            ",".join(
                f"{f.name}={getattr(self, f.name)}"
                for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)
            )
            or "default"
        )

    @classmethod
    def random(cls, rng: random.Random) -> Shape:
        """Every knob drawn from ``rng``, over the ranges real fleets span."""
        return cls(
            drift=round(rng.uniform(0.0, 0.25), 3),
            broken=round(rng.uniform(0.0, 0.1), 3),
            leaves=round(rng.uniform(0.0, 0.2), 3),
            other_deps=round(rng.uniform(0.005, 0.08), 3),
            templates=rng.choice((1, 2, 4, 8, 16, 40)),
            removed=rng.randint(0, 10),
            added=rng.randint(0, 20),
            lag=rng.randint(0, 8),
            gz_lacks=round(rng.uniform(0.0, 0.05), 3),
        )


#: Named shapes: ``drift`` is the shape of an independently written OmniOS-like
#: generator (issue 9): new versions add targets, uninstallable newest versions,
#: leaves, many templates; ``uniform`` has one template and no variation.
SHAPES: dict[str, Shape] = {
    "default": Shape(),
    "drift": Shape(drift=0.15, broken=0.05, leaves=0.1, templates=20, added=10, lag=6),
    "uniform": Shape(templates=1, removed=0, added=0, lag=0),
    "diverse": Shape(templates=40, removed=10, added=20, lag=8, other_deps=0.06),
    "stress": Shape(drift=0.2, broken=0.08, gz_lacks=0.04, leaves=0.05, templates=12),
}


def parse_shape(text: str, seed: int) -> Shape:
    """``default``, a name of SHAPES, ``random`` (drawn from the seed), or
    ``key=value,...`` over the default (``drift=0.15,templates=20``)."""
    if text == "random":
        return Shape.random(random.Random(f"shape:{seed}"))
    if text in SHAPES:
        return SHAPES[text]
    values: dict[str, object] = {}
    kinds = {f.name: f.type for f in fields(Shape)}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in kinds:
            known = ", ".join([*SHAPES, "random", *(f"{k}=..." for k in kinds)])
            raise ValueError(f"bad shape {item!r}: expected one of {known}")
        values[key] = int(value) if kinds[key] in (int, "int") else float(value)
    return replace(Shape(), **values)  # type: ignore[arg-type]


class Kind(Enum):
    INCORP = "incorporation"
    CORE = "kernel-side"  # osnet, self parent dependency
    DRIVER = "driver"  # osnet, global zone only
    USERLAND = "userland"  # pinned by the userland incorporation
    LIB = "library"  # unincorporated, may be a dependency target
    APP = "application"  # unincorporated, never a dependency target
    SVR4 = "svr4"
    TOOL = "global-tool"  # an application no image installs (Shape.gz_lacks)


#: kinds installed at the image's snapshot (the others may lag behind)
PINNED = frozenset({Kind.INCORP, Kind.CORE, Kind.DRIVER, Kind.USERLAND, Kind.SVR4})


@dataclass(frozen=True)
class Snapshot:
    """One release of the distribution: ``branch.point`` built on ``stamp``."""

    branch: int
    point: int
    stamp: str

    @property
    def tag(self) -> str:
        return f"{self.branch}.{self.point}"


@dataclass(frozen=True, slots=True)
class Dep:
    """A dependency on stems (indices). ``full`` renders ``release-branch``
    (pkgdepend style), else the release alone; ``versioned=False`` none."""

    type: str
    targets: tuple[int, ...]
    predicate: int | None = None
    tags: Tags = ()
    versioned: bool = True
    full: bool = False


@dataclass(slots=True)
class Stem:
    index: int
    name: str
    pub: str
    kind: Kind
    intro: int  # first snapshot with a version
    snaps: list[int] = field(default_factory=list)  # snapshots with a version
    releases: list[str] = field(default_factory=list)
    deps: list[Dep] = field(default_factory=list)
    incorporates: list[int] = field(default_factory=list)
    hold: str = ""
    obsolete_last: bool = False
    renamed_to: int | None = None
    excludes: int | None = None
    origin: bool = False
    reserved: bool = False  # a rename target or a meta package
    svr4: tuple[tuple[str, str], ...] = ()
    sparc: bool = False  # a driver for another architecture
    #: dependencies a later version adds (version index -> deps), Shape.drift
    added: dict[int, list[Dep]] = field(default_factory=dict)
    #: the newest version needs something no source has (Shape.broken)
    broken_last: bool = False
    #: the newest version needs, in a zone, this stem in the global zone (Shape.gz_lacks)
    needs_in_gz: int | None = None

    @property
    def pinned(self) -> bool:
        """Installed at the image's snapshot (the others may lag behind)."""
        return self.kind in PINNED

    def at(self, snap: int) -> int | None:
        """Index of the newest version published at or before ``snap``."""
        k = bisect_right(self.snaps, snap) - 1
        return k if k >= 0 else None

    def usable(self, k: int) -> bool:
        last = k == len(self.snaps) - 1
        return not (last and (self.obsolete_last or self.renamed_to is not None))

    def deps_at(self, k: int) -> list[Dep]:
        """Version k's dependencies: the stem's, and those versions up to k added."""
        if not self.added:
            return self.deps
        return self.deps + [dep for j in sorted(self.added) if j <= k for dep in self.added[j]]

    def installable(self, k: int, zone: str) -> bool:
        """Version k can be installed at all (in a zone of this kind)."""
        last = k == len(self.snaps) - 1
        return not (last and (self.broken_last or (self.needs_in_gz is not None and zone != "global")))


@dataclass
class Distro:
    snapshots: list[Snapshot]
    stems: list[Stem]
    version_locked: set[int] = field(default_factory=set)
    conditional: list[int] = field(default_factory=list)  # stems with a conditional dep

    def by_kind(self, *kinds: Kind) -> list[Stem]:
        return [s for s in self.stems if s.kind in kinds]

    def find(self, name: str) -> Stem:
        return next(s for s in self.stems if s.name == name)


@dataclass(frozen=True)
class FleetStats:
    stems: int
    versions: int
    images: int
    installed_pairs: int


# ---------------------------------------------------------------------------
# Names


CORE_NAMES = (
    "system/library", "SUNWcs", "SUNWcsd", "system/kernel", "system/library/math",
    "system/kernel/platform", "system/file-system/zfs", "system/network",
    "system/extended-system-utilities", "developer/linker", "developer/debug/mdb",
    "developer/dtrace", "system/kernel/dtrace/providers", "service/fault-management",
    "network/ipfilter", "system/header", "system/data/hardware-registry",
    "package/pkg",
)  # fmt: skip
USERLAND_NAMES = (
    "library/zlib", "library/security/openssl-3", "library/ncurses", "library/libffi",
    "library/pcre2", "library/expat", "library/libxml2", "compress/xz", "compress/bzip2",
    "compress/zstd", "library/readline", "database/sqlite-3", "library/nghttp2",
    "library/libidn2", "web/curl", "runtime/python-311", "runtime/perl", "shell/bash",
    "library/glib2", "network/openssh", "terminal/tmux", "editor/vim", "text/less",
    "network/rsync", "security/sudo", "archiver/gnu-tar", "compress/gzip",
    "file/gnu-coreutils", "text/gnu-grep", "developer/versioning/git",
)  # fmt: skip
LIB_CATEGORIES = ("library", "library/security", "library/python-3", "library/perl-5",
                  "system/library", "library/desktop", "library/media")  # fmt: skip
APP_CATEGORIES = ("developer", "developer/build", "web", "web/server", "database",
                  "network", "service/network", "runtime", "text", "file", "editor",
                  "shell", "media", "security", "system/management", "application",
                  "archiver", "mail", "terminal", "diagnostic", "ooce/application",
                  "ooce/server", "ooce/database")  # fmt: skip
SYLLABLES = ("ba", "ce", "di", "fo", "gu", "ka", "le", "mi", "no", "pu", "ra", "se",
             "ti", "vo", "xu", "za", "bri", "cla", "dro", "fle", "gri", "klo", "pra",
             "stu", "tre", "qua", "zen", "lyn", "mor", "vex", "nix", "dal")  # fmt: skip


class Namer:
    """Unique, pronounceable stem names, drawn from one seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set(CORE_NAMES) | set(USERLAND_NAMES)
        self.used |= {ENTIRE, OSNET, USERLAND}

    def word(self) -> str:
        n = self.rng.choice((2, 2, 3, 3, 3, 4))
        return "".join(self.rng.choice(SYLLABLES) for _ in range(n))

    def make(self, category: str, prefix: str = "") -> str:
        base = f"{category}/{prefix}{self.word()}"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}{n}"
        self.used.add(name)
        return name


# ---------------------------------------------------------------------------
# The distribution


def make_snapshots(rng: random.Random) -> list[Snapshot]:
    """Branches r151038..r151054 (every six months), 1-3 point releases each."""
    out: list[Snapshot] = []
    for i, branch in enumerate(range(151038, 151056, 2)):
        start = date(2021, 5, 3) + timedelta(days=182 * i)
        for point in range(rng.randint(1, 3)):
            day = start + timedelta(days=42 * point)
            out.append(Snapshot(branch, point, day.strftime("%Y%m%dT000000Z")))
    return out[:20]


def bump(release: list[int], rng: random.Random) -> None:
    r = rng.random()
    if r < 0.05:
        release[:] = [release[0] + 1, 0, 0]
    elif r < 0.3:
        release[1:] = [release[1] + 1, 0]
    else:
        release[2] += 1


def plain_versions(stem: Stem, nsnap: int, mean: float, rng: random.Random) -> None:
    """1-20 versions at distinct snapshots from ``intro`` on, rising releases."""
    room = nsnap - stem.intro
    count = min(room, 1 + int(rng.expovariate(1.0 / max(mean - 1.0, 0.1))))
    later = rng.sample(range(stem.intro + 1, nsnap), count - 1) if count > 1 else []
    stem.snaps = [stem.intro, *sorted(later)]
    release = [rng.randint(0, 9), rng.randint(0, 20), rng.randint(0, 9)]
    for _ in stem.snaps:
        stem.releases.append(".".join(map(str, release)))
        bump(release, rng)


def pinned_versions(stem: Stem, nsnap: int, rng: random.Random) -> None:
    """Kernel-side packages and incorporations are rebuilt for every
    snapshot; userland packages get a new version at some snapshots."""
    if stem.kind is not Kind.USERLAND:
        release = "11" if stem.name in (ENTIRE, USERLAND) else "0.5.11"
        stem.snaps = list(range(nsnap))
        stem.releases = [release] * nsnap
        return
    plain_versions(stem, nsnap, 5.0, rng)


def new_stem(stems: list[Stem], name: str, pub: str, kind: Kind, intro: int = 0) -> Stem:
    stem = Stem(len(stems), name, pub, kind, intro)
    stems.append(stem)
    return stem


def make_stems(preset: Preset, nsnap: int, rng: random.Random) -> list[Stem]:
    """Stems in popularity order: kernel first, then userland, then the rest."""
    namer = Namer(rng)
    stems: list[Stem] = []
    for name in (ENTIRE, OSNET, USERLAND):
        new_stem(stems, name, OMNIOS, Kind.INCORP)
    for i in range(preset.core):
        name = CORE_NAMES[i] if i < len(CORE_NAMES) else namer.make("system")
        new_stem(stems, name, OMNIOS, Kind.CORE)
    for i in range(preset.drivers):
        cat = rng.choice(("driver/network", "driver/storage", "driver/misc"))
        new_stem(stems, namer.make(cat), OMNIOS, Kind.DRIVER).sparc = i % 7 == 0
    for i in range(preset.userland):
        name = USERLAND_NAMES[i] if i < len(USERLAND_NAMES) else namer.make("library", "lib")
        intro = 0 if i < preset.userland * 0.8 else rng.randrange(nsnap // 2)
        new_stem(stems, name, OMNIOS, Kind.USERLAND, intro)
    for i, (zones, hollow) in enumerate(((True, False), (True, True), (False, False))):
        stem = new_stem(stems, f"SUNW{namer.word()}{i}", OMNIOS, Kind.SVR4)
        stem.svr4 = svr4_params(allzones=zones, hollow=hollow)
    rest = preset.stems - len(stems)
    for i in range(rest):
        make_plain_stem(stems, namer, nsnap, rng, extra=i % 10 < 3)
    return stems


def svr4_params(allzones: bool, hollow: bool) -> tuple[tuple[str, str], ...]:
    flag = {True: "true", False: "false"}
    return (
        ("SUNW_PKG_ALLZONES", flag[allzones]),
        ("SUNW_PKG_HOLLOW", flag[hollow]),
        ("SUNW_PKG_THISZONE", flag[not allzones]),
    )


def make_plain_stem(stems: list[Stem], namer: Namer, nsnap: int, rng: random.Random, extra: bool) -> None:
    pub = EXTRA if extra else OMNIOS
    if rng.random() < 0.4:
        name, kind = namer.make(rng.choice(LIB_CATEGORIES), "lib"), Kind.LIB
        intro = 0 if rng.random() < 0.7 else rng.randrange(nsnap // 2)
    else:
        name, kind = namer.make(rng.choice(APP_CATEGORIES)), Kind.APP
        intro = 0 if rng.random() < 0.4 else rng.randrange(nsnap - 1)
    new_stem(stems, name, pub, kind, intro)


class Picker:
    """Draws dependency targets with power-law (Zipf) popularity: the i-th
    stem of a pool is chosen with weight 1/(i+1)^1.1."""

    def __init__(self, pool: list[Stem]) -> None:
        self.pool = pool
        self.indices = [s.index for s in pool]
        self.cum = list(accumulate(1.0 / (i + 1) ** 1.1 for i in range(len(pool))))

    def pick(self, rng: random.Random, below: int, intro: int) -> Stem | None:
        """A stem of the pool with index < ``below`` that exists by ``intro``."""
        end = bisect_right(self.indices, below - 1)
        if end == 0:
            return None
        for _ in range(6):
            stem = self.pool[bisect_right(self.cum, rng.random() * self.cum[end - 1])]
            if stem.intro <= intro and stem.index < below:
                return stem
        return None


def pick_targets(picker: Picker, stem: Stem, count: int, rng: random.Random) -> list[int]:
    out: list[int] = []
    for _ in range(count):
        target = picker.pick(rng, stem.index, stem.intro)
        if target is not None and target.index not in out:
            out.append(target.index)
    return out


def add_requires(d: Distro, rng: random.Random) -> None:
    """Require dependencies, fan-in by popularity, kind by kind."""
    core = Picker(d.by_kind(Kind.CORE))
    userland = Picker(d.by_kind(Kind.CORE, Kind.USERLAND))
    libs = Picker(d.by_kind(Kind.CORE, Kind.USERLAND, Kind.LIB))
    plan = {Kind.CORE: (core, 2.0, True), Kind.DRIVER: (core, 1.0, True),
            Kind.USERLAND: (userland, 3.0, True), Kind.LIB: (libs, 2.5, False),
            Kind.APP: (libs, 4.0, False), Kind.SVR4: (core, 1.0, True)}  # fmt: skip
    for stem in d.stems:
        if stem.kind not in plan:
            continue
        picker, mean, full = plan[stem.kind]
        count = 1 + min(12, int(rng.expovariate(1.0 / mean)))
        for target in pick_targets(picker, stem, count, rng):
            versioned = full or rng.random() < 0.8
            stem.deps.append(Dep("require", (target,), versioned=versioned, full=full))


def add_zone_rules(d: Distro, rng: random.Random) -> None:
    """Self parent deps on kernel-side packages; global-tagged driver deps."""
    drivers = [s for s in d.by_kind(Kind.DRIVER) if not s.sparc]
    for stem in d.by_kind(Kind.CORE, Kind.INCORP):
        stem.deps.append(Dep("parent", (), tags=NONGLOBAL))
    for stem in d.by_kind(Kind.CORE)[:12]:
        for driver in rng.sample(drivers, 2):
            stem.deps.append(Dep("require", (driver.index,), tags=GLOBAL))


def add_incorporations(d: Distro, rng: random.Random) -> None:
    entire, osnet, userland = d.stems[0], d.stems[1], d.stems[2]
    entire.hold, osnet.hold, userland.hold = "core-os", "core-os.osnet", "core-os.userland"
    entire.incorporates = [osnet.index, userland.index]
    osnet.incorporates = [s.index for s in d.by_kind(Kind.CORE, Kind.DRIVER)]
    userland.incorporates = [s.index for s in d.by_kind(Kind.USERLAND)]
    for target in (osnet, userland):
        entire.deps.append(Dep("require", (target.index,), full=True))
    for i, stem in enumerate(d.by_kind(Kind.CORE)):
        kind = "require" if i < 8 or rng.random() < 0.6 else "group"
        entire.deps.append(Dep(kind, (stem.index,), versioned=False))
    for stem in d.by_kind(Kind.USERLAND):
        if stem.intro == 0 and rng.random() < 0.3:
            entire.deps.append(Dep("group", (stem.index,), versioned=False))
    for stem in d.by_kind(Kind.DRIVER):
        tags = (((ARCH, "sparc"), *GLOBAL)) if stem.sparc else GLOBAL
        entire.deps.append(Dep("group", (stem.index,), tags=tags, versioned=False))
    for stem in d.by_kind(Kind.DRIVER, Kind.USERLAND):
        if rng.random() < 0.15:
            d.version_locked.add(stem.index)


def free_apps(d: Distro, rng: random.Random, count: int, min_versions: int) -> list[Stem]:
    """``count`` applications with no special role yet, in random order."""
    apps = [
        s
        for s in d.by_kind(Kind.APP)
        if len(s.snaps) >= min_versions
        and not (s.obsolete_last or s.reserved or s.origin)
        and s.renamed_to is None
        and s.excludes is None
    ]
    rng.shuffle(apps)
    return apps[:count]


def add_lifecycle(d: Distro, rng: random.Random, share: float) -> None:
    """Obsolete, renamed, mutually exclusive and origin-constrained applications."""
    n = max(2, int(len(d.by_kind(Kind.APP)) * share))
    for stem in free_apps(d, rng, n, 2):
        stem.obsolete_last = True
    renamed = free_apps(d, rng, n, 2)
    for stem in renamed:
        stem.reserved = True
    successors = free_apps(d, rng, len(d.stems), 1)
    for stem in renamed:
        stem.reserved = False
        new = next((t for t in successors if t.intro <= stem.snaps[-1] and not t.reserved), None)
        if new is not None:
            stem.renamed_to, new.reserved = new.index, True
    pairs = free_apps(d, rng, 2 * n, 1)
    for a, b in zip(pairs[::2], pairs[1::2], strict=False):
        a.excludes, b.excludes = b.index, a.index
    for stem in free_apps(d, rng, n, 3):
        stem.origin = True


def add_other_deps(d: Distro, rng: random.Random, share: float) -> None:
    """optional, conditional and require-any dependencies between libraries."""
    libs = Picker(d.by_kind(Kind.CORE, Kind.USERLAND, Kind.LIB))
    for stem in d.by_kind(Kind.LIB, Kind.APP):
        r = rng.random()
        if r >= 3 * share:
            continue
        pair = pick_targets(libs, stem, 2, rng)
        if len(pair) < 2:
            continue
        if r < share:
            stem.deps.append(Dep("optional", (pair[0],)))
        elif r < 2 * share:
            stem.deps.append(Dep("conditional", (pair[0],), predicate=pair[1]))
            d.conditional.append(stem.index)
        else:
            stem.deps.append(Dep("require-any", tuple(pair)))


def add_metas(d: Distro, rng: random.Random, count: int) -> None:
    """Meta packages: group dependencies on tools, one group-any each."""
    tools = free_apps(d, rng, len(d.stems), 1)
    tools.sort(key=lambda s: s.index)
    metas, tools = tools[:count], tools[count:]
    for meta in metas:
        usable = [t for t in tools if t.intro <= meta.intro and t.index != meta.index]
        if len(usable) < 6:
            continue
        chosen = rng.sample(usable, 6)
        for tool in chosen[:4]:
            meta.deps.append(Dep("group", (tool.index,), versioned=False))
        meta.deps.append(Dep("group-any", (chosen[4].index, chosen[5].index), versioned=False))
        meta.reserved = True


def build_distro(preset: Preset, rng: random.Random, shape: Shape = Shape(), tag: str = "") -> Distro:
    snapshots = make_snapshots(rng)
    nsnap = len(snapshots)
    stems = make_stems(preset, nsnap, rng)
    for stem in stems:
        if stem.kind in (Kind.LIB, Kind.APP, Kind.SVR4):
            plain_versions(stem, nsnap, preset.mean_versions, rng)
        else:
            pinned_versions(stem, nsnap, rng)
    d = Distro(snapshots, stems)
    add_requires(d, rng)
    add_zone_rules(d, rng)
    add_incorporations(d, rng)
    add_lifecycle(d, rng, 0.02)
    add_other_deps(d, rng, shape.other_deps)
    add_metas(d, rng, max(2, preset.stems // 500))
    reshape(d, shape, tag)
    return d


def reshape(d: Distro, shape: Shape, tag: str) -> None:
    """The Shape's knobs, each from its own random stream (``tag`` seeds them)."""
    if shape.drift:
        add_drift(d, random.Random(f"{tag}:drift"), shape.drift)
    if shape.broken:
        add_broken(d, random.Random(f"{tag}:broken"), shape.broken)
    if shape.gz_lacks:
        add_gz_lacks(d, random.Random(f"{tag}:gz-lacks"), shape.gz_lacks)
    if shape.leaves:
        add_leaves(d, random.Random(f"{tag}:leaves"), shape.leaves)


def add_drift(d: Distro, rng: random.Random, share: float) -> None:
    """Later versions that require one stem more than the version before
    (pkgdepend finds a new library): updating then adds packages."""
    userland = Picker(d.by_kind(Kind.CORE, Kind.USERLAND))
    libs = Picker(d.by_kind(Kind.CORE, Kind.USERLAND, Kind.LIB))
    for stem in d.by_kind(Kind.USERLAND, Kind.LIB, Kind.APP):
        picker = userland if stem.kind is Kind.USERLAND else libs
        have = {t for dep in stem.deps for t in dep.targets}
        for k in range(1, len(stem.snaps)):
            if rng.random() >= share:
                continue
            target = picker.pick(rng, stem.index, stem.snaps[k])
            if target is not None and target.index not in have:
                have.add(target.index)
                full = stem.kind is Kind.USERLAND
                stem.added.setdefault(k, []).append(Dep("require", (target.index,), full=full))


def plain_apps(d: Distro, *kinds: Kind) -> list[Stem]:
    """Stems of ``kinds`` with two or more versions and no lifecycle role."""
    return [
        s
        for s in d.by_kind(*kinds)
        if len(s.snaps) >= 2 and not (s.obsolete_last or s.reserved or s.origin) and s.renamed_to is None
    ]


def add_broken(d: Distro, rng: random.Random, share: float) -> None:
    """Newest versions that need a core release the repository lacks."""
    for stem in plain_apps(d, Kind.LIB, Kind.APP):
        if rng.random() < share:
            stem.broken_last = True


def add_gz_lacks(d: Distro, rng: random.Random, share: float) -> None:
    """Newest versions that need, in a zone, a tool only the global zone could
    have (and does not): zones hold them back unless the global zone adds it."""
    tools = [new_stem(d.stems, f"system/management/gztool{i}", OMNIOS, Kind.TOOL) for i in range(4)]
    for tool in tools:
        tool.snaps, tool.releases = [0], ["1.0"]
    for stem in plain_apps(d, Kind.APP):
        if not stem.broken_last and rng.random() < share:
            stem.needs_in_gz = rng.choice(tools).index


def add_leaves(d: Distro, rng: random.Random, share: float) -> None:
    """Packages with one version, no dependencies and no dependents."""
    namer = Namer(rng)
    namer.used |= {s.name for s in d.stems}
    for i in range(int(len(d.stems) * share)):
        name = namer.make(rng.choice(APP_CATEGORIES), "leaf")
        stem = new_stem(d.stems, name, EXTRA if i % 3 == 0 else OMNIOS, Kind.APP)
        stem.snaps, stem.releases = [0], [f"1.{rng.randint(0, 9)}"]


# ---------------------------------------------------------------------------
# Manifests


def version_text(d: Distro, stem: Stem, k: int) -> str:
    snap = d.snapshots[stem.snaps[k]]
    return f"{stem.releases[k]},5.11-{snap.tag}:{snap.stamp}"


def short_version(d: Distro, stem: Stem, k: int, full: bool) -> str:
    release = stem.releases[k]
    return f"{release}-{d.snapshots[stem.snaps[k]].tag}" if full else release


def fmri_text(d: Distro, stem: Stem, k: int) -> str:
    return f"pkg://{stem.pub}/{stem.name}@{version_text(d, stem, k)}"


def tag_text(tags: Tags) -> str:
    return "".join(f" {k}={v}" for k, v in tags)


def dep_fmri(d: Distro, index: int, snap: int, dep: Dep) -> str:
    target = d.stems[index]
    if not dep.versioned:
        return f"pkg:/{target.name}"
    k = target.at(snap)
    assert k is not None, (target.name, snap)
    if target.broken_last and k == len(target.snaps) - 1 and k > 0:
        k -= 1  # a dependency asks for at most the newest installable version
    return f"pkg:/{target.name}@{short_version(d, target, k, dep.full)}"


def dep_line(d: Distro, dep: Dep, snap: int) -> str:
    if dep.type == "parent":
        return f"depend type=parent fmri={SELF}{tag_text(dep.tags)}"
    fmris = " ".join(f"fmri={dep_fmri(d, t, snap, dep)}" for t in dep.targets)
    pred = ""
    if dep.predicate is not None:
        pred = f" predicate={dep_fmri(d, dep.predicate, snap, dep)}"
    return f"depend type={dep.type} {fmris}{pred}{tag_text(dep.tags)}"


def header_lines(d: Distro, stem: Stem, k: int) -> list[str]:
    lines = [
        f"set name=pkg.fmri value={fmri_text(d, stem, k)}",
        f'set name=pkg.summary value="{stem.name.rsplit("/", 1)[-1]} ({stem.kind.value})"',
        f"set name=variant.arch value={'sparc' if stem.sparc else 'i386'}",
    ]
    if stem.kind is Kind.DRIVER:
        lines.append(f"set name={ZONE} value=global")
    elif stem.kind in (Kind.CORE, Kind.INCORP):
        lines.append(f"set name={ZONE} value=global value=nonglobal")
    if stem.hold:
        lines.append(f"set name=pkg.depend.install-hold value={stem.hold}")
    lines.extend(f"set name={name} value={value}" for name, value in stem.svr4)
    return lines


def incorporate_lines(d: Distro, stem: Stem, snap: int) -> Iterator[str]:
    for index in stem.incorporates:
        target = d.stems[index]
        k = target.at(snap)
        if k is None:
            continue
        lock = f" facet.version-lock.{target.name}=true" if index in d.version_locked else ""
        version = short_version(d, target, k, True)
        yield f"depend type=incorporate fmri=pkg:/{target.name}@{version}{lock}"


def payload_lines(stem: Stem, fmri: str) -> list[str]:
    digest = hashlib.sha1(fmri.encode()).hexdigest()
    base = stem.name.rsplit("/", 1)[-1]
    where = "usr/lib" if stem.kind in (Kind.LIB, Kind.USERLAND) else "usr/bin"
    return [
        f"dir path={where} owner=root group=bin mode=0755",
        f"file {digest} path={where}/{base} owner=root group=bin mode=0555 pkg.size={int(digest[:5], 16)}",
        f"license {digest[::-1]} license={stem.name}.license",
    ]


def render(d: Distro, stem: Stem, k: int) -> str:
    snap = stem.snaps[k]
    lines = header_lines(d, stem, k)
    last = k == len(stem.snaps) - 1
    if last and stem.obsolete_last:
        return "\n".join([*lines[:1], "set name=pkg.obsolete value=true", lines[2], ""])
    if last and stem.renamed_to is not None:
        new = Dep("require", (stem.renamed_to,))
        return "\n".join([*lines[:1], "set name=pkg.renamed value=true", lines[2],
                          dep_line(d, new, snap), ""])  # fmt: skip
    lines.extend(dep_line(d, dep, snap) for dep in stem.deps_at(k))
    if last and stem.broken_last:
        lines.append("depend type=require fmri=pkg:/system/library@0.5.11-151099")
    if last and stem.needs_in_gz is not None:
        tool = d.stems[stem.needs_in_gz].name
        lines.append(f"depend type=parent fmri=pkg:/{tool}@1.0 {ZONE}=nonglobal")
    lines.extend(incorporate_lines(d, stem, snap))
    if stem.excludes is not None:
        lines.append(f"depend type=exclude fmri=pkg:/{d.stems[stem.excludes].name}")
    if stem.origin and last:
        lines.append(f"depend type=origin fmri=pkg:/{stem.name}@{stem.releases[k - 1]}")
    if stem.svr4:
        lines.append(f"legacy pkg={stem.name} arch=i386 category=system version={stem.releases[k]}")
    if stem.kind is not Kind.INCORP:
        lines.extend(payload_lines(stem, lines[0]))
    lines.append("")
    return "\n".join(lines)


def write_catalog(d: Distro, out: Path) -> int:
    """One file per package version; returns the number of versions."""
    made: set[Path] = set()
    count = 0
    for stem in d.stems:
        folder = out / "catalog" / stem.pub / stem.name
        parent = folder.parent
        if parent not in made:
            parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        for k in range(len(stem.snaps)):
            name = f"{folder.name}@{short_version(d, stem, k, True)}.p5m"
            (parent / name).write_text(render(d, stem, k))
            count += 1
    return count


# ---------------------------------------------------------------------------
# Images


@dataclass
class Image:
    name: str
    snap: int  # pinned packages are installed at this snapshot
    usnap: int  # unincorporated packages at this one (<= snap for linked zones)
    zone: str = "global"
    parent: str | None = None
    brand: str | None = None
    avoid: set[int] = field(default_factory=set)
    installed: dict[int, int] = field(default_factory=dict)  # stem -> version index
    memo: dict[int, tuple[int, int] | None] = field(default_factory=dict)  # for resolve()
    frozen: list[str] = field(default_factory=list)
    facets: list[str] = field(default_factory=list)

    def allows(self, tags: Tags) -> bool:
        """The variant rule (ips-semantics 4.2): equal values; unknown
        variants count as "false"."""
        for key, value in tags:
            have = self.zone if key == ZONE else "i386" if key == ARCH else None
            if (have != value) if have is not None else not value.startswith("false"):
                return False
        return True


def resolve(d: Distro, img: Image, index: int) -> tuple[int, int] | None:
    """(stem, version index) to install for a request of ``index``: follows a
    rename, None if the stem is obsolete, not yet published or not for zones."""
    if index not in img.memo:
        img.memo[index] = find_version(d, img, index)
    return img.memo[index]


def find_version(d: Distro, img: Image, index: int) -> tuple[int, int] | None:
    stem = d.stems[index]
    k = stem.at(img.snap if stem.pinned else img.usnap)
    if k is None or stem.sparc or (stem.kind is Kind.DRIVER and img.zone != "global"):
        return None
    if not stem.installable(k, img.zone):
        k -= 1  # the newest cannot be installed: images have the one before
        if k < 0:
            return None
    if stem.usable(k):
        return index, k
    if stem.renamed_to is not None and k == len(stem.snaps) - 1:
        return resolve(d, img, stem.renamed_to)
    return None


def wanted(d: Distro, img: Image, index: int) -> Iterator[int]:
    """Stems that the installed ``index`` pulls in (require, group, ...)."""
    stem = d.stems[index]
    for dep in stem.deps_at(img.installed[index]):
        if not img.allows(dep.tags):
            continue
        if dep.type == "require" or (dep.type == "group" and dep.targets[0] not in img.avoid):
            yield dep.targets[0]
        elif dep.type in ("require-any", "group-any"):
            if not any(t in img.installed for t in dep.targets):
                yield dep.targets[0]
        elif dep.type == "conditional" and dep.predicate in img.installed:
            yield dep.targets[0]


def needs(d: Distro, img: Image, index: int) -> bool:
    found = resolve(d, img, index)
    return found is not None and found[0] not in img.installed


def install(d: Distro, img: Image, roots: Iterable[int]) -> None:
    """Install ``roots`` and everything they need, to a fixed point (the
    outer loop catches conditionals whose predicate arrived later)."""
    todo = list(roots)
    while todo:
        while todo:
            index = todo.pop()
            found = None if index in img.installed else resolve(d, img, index)
            if found is None or found[0] in img.installed:
                continue
            img.installed[found[0]] = found[1]
            todo.extend(wanted(d, img, found[0]))
        carriers = [i for i in d.conditional if i in img.installed]
        todo = [t for i in carriers for t in wanted(d, img, i) if needs(d, img, t)]


def compatible_roots(d: Distro, img: Image, roots: list[int]) -> list[int]:
    """Drop applications excluded by one already chosen."""
    chosen: list[int] = []
    taken: set[int] = set()
    for index in roots:
        partner = d.stems[index].excludes
        if partner is not None and partner in taken:
            continue
        chosen.append(index)
        taken.add(index)
    return chosen


@dataclass
class Roles:
    """Role templates: the applications a zone of each role installs."""

    roots: dict[str, list[int]]
    weights: dict[str, int]


ROLE_WEIGHTS = {"web": 30, "app": 20, "db": 15, "build": 10, "minimal": 10,
                "mail": 5, "monitor": 5, "cache": 5}  # fmt: skip


#: the global zone's applications come from this role's template
GZ_ROLE = "monitor"


def role_weights(templates: int) -> dict[str, int]:
    """The first ``templates`` roles of ROLE_WEIGHTS, then ``roleNN`` ones."""
    weights = dict(list(ROLE_WEIGHTS.items())[:templates])
    for i in range(len(weights), templates):
        weights[f"role{i:02d}"] = 5
    return weights


def make_roles(d: Distro, preset: Preset, oldest: int, rng: random.Random, shape: Shape = Shape()) -> Roles:
    apps = [s.index for s in d.by_kind(Kind.APP) if s.intro <= oldest]
    roots: dict[str, list[int]] = {}
    weights = role_weights(shape.templates)
    for role in [*weights, *([GZ_ROLE] if GZ_ROLE not in weights else [])]:
        size = preset.role_roots // (5 if role == "minimal" else 1)
        roots[role] = rng.sample(apps, min(size, len(apps)))
    return Roles(roots, weights)


def zone_roots(d: Distro, roles: Roles, role: str, rng: random.Random, shape: Shape = Shape()) -> list[int]:
    """The role's applications, a few removed, a few added."""
    base = list(roles.roots[role])
    for _ in range(rng.randint(0, shape.removed)):
        if base:
            base.pop(rng.randrange(len(base)))
    others = roles.roots[rng.choice(list(roles.weights))]
    base.extend(rng.sample(others, min(len(others), rng.randint(0, shape.added))))
    return base


def entire_groups(d: Distro) -> list[int]:
    entire = d.stems[0]
    return [dep.targets[0] for dep in entire.deps
            if dep.type == "group" and d.stems[dep.targets[0]].kind is Kind.USERLAND]  # fmt: skip


def finish(d: Distro, img: Image, rng: random.Random, freezes: int) -> None:
    """Keep only avoids of uninstalled stems; freeze a few applications."""
    img.avoid = {a for a in img.avoid if a not in img.installed}
    apps = [i for i in img.installed if d.stems[i].kind is Kind.APP]
    for index in sorted(rng.sample(apps, min(freezes, len(apps)))):
        stem = d.stems[index]
        img.frozen.append(f"{stem.name}@{stem.releases[img.installed[index]]}")


def global_zone(d: Distro, s_gz: int, rng: random.Random, roles: Roles) -> Image:
    gz = Image("global", s_gz, s_gz)
    groups = entire_groups(d)
    gz.avoid = set(rng.sample(groups, min(2, len(groups))))
    kernel = [s.index for s in d.by_kind(Kind.CORE, Kind.DRIVER, Kind.INCORP)]
    svr4 = [s.index for s in d.by_kind(Kind.SVR4) if ("SUNW_PKG_ALLZONES", "true") in s.svr4]
    install(d, gz, [*kernel, *svr4, *compatible_roots(d, gz, roles.roots[GZ_ROLE])])
    finish(d, gz, rng, 2)
    locked = sorted(i for i in d.version_locked if i in gz.installed)
    gz.facets = [f"facet.version-lock.{d.stems[i].name}" for i in locked[:1]]
    return gz


BRANDS = {"lipkg": 70, "sparse": 15, "ipkg": 8, "native": 7}


def brands(count: int, rng: random.Random) -> list[str]:
    """Mostly lipkg, some sparse, ipkg and native; each at least once."""
    out = rng.choices(list(BRANDS), list(BRANDS.values()), k=count)
    for brand in BRANDS:
        spare = next((i for i, b in enumerate(out) if out.count(b) > 1), None)
        if brand not in out and spare is not None:
            out[spare] = brand
    return out


def svr4_roots(d: Distro, gz: Image, rng: random.Random) -> list[int]:
    """A native zone has the global zone's ALLZONES packages, and maybe a
    THISZONE one of its own."""
    svr4 = d.by_kind(Kind.SVR4)
    roots = [s.index for s in svr4 if s.index in gz.installed]
    return roots + [s.index for s in svr4 if s.index not in gz.installed and rng.random() < 0.5]


def make_zone(
    d: Distro, gz: Image, name: str, brand: str, roots: list[int], rng: random.Random, lag: int = 3
) -> Image:
    nsnap = len(d.snapshots)
    if brand == "ipkg":  # an independent image: its own snapshot
        snap = rng.randint(max(0, gz.snap - 3), nsnap - 2)
        zone = Image(name, snap, max(0, snap - rng.randint(0, 2)), "nonglobal", "global", brand)
    else:
        usnap = gz.snap if brand == "native" else max(0, gz.snap - rng.randint(0, lag))
        zone = Image(name, gz.snap, usnap, "nonglobal", "global", brand)
    groups = entire_groups(d)
    zone.avoid = set(rng.sample(groups, min(len(groups), rng.randint(0, 2))))
    extra = svr4_roots(d, gz, rng) if brand == "native" else []
    install(d, zone, [0, *extra, *compatible_roots(d, zone, roots)])
    finish(d, zone, rng, rng.randint(0, 1))
    return zone


def build_images(d: Distro, preset: Preset, rng: random.Random, shape: Shape = Shape()) -> list[Image]:
    s_gz = len(d.snapshots) - 1 - rng.randint(3, 5)
    roles = make_roles(d, preset, max(0, s_gz - 3), rng, shape)
    gz = global_zone(d, s_gz, rng, roles)
    images = [gz]
    role_names = list(roles.weights)
    picks = rng.choices(role_names, list(roles.weights.values()), k=preset.zones)
    counters: dict[str, int] = {}
    for role, brand in zip(picks, brands(preset.zones, rng), strict=True):
        counters[role] = counters.get(role, 0) + 1
        name = f"{role}{counters[role]:03d}"
        roots = zone_roots(d, roles, role, rng, shape)
        images.append(make_zone(d, gz, name, brand, roots, rng, shape.lag))
    return images


# ---------------------------------------------------------------------------
# fleet.toml


PUBLISHERS = f'publishers = ["{OMNIOS}", {{ name = "{EXTRA}", sticky = false }}]'


def toml_list(key: str, items: list[str]) -> str:
    if not items:
        return f"{key} = []"
    body = "".join(f'  "{item}",\n' for item in items)
    return f"{key} = [\n{body}]"


def image_toml(d: Distro, img: Image) -> str:
    lines = ["[[image]]", f'name = "{img.name}"']
    if img.parent is not None:
        lines += [f'parent = "{img.parent}"', f'brand = "{img.brand}"']
    lines += [PUBLISHERS, f'variants = {{ "{ARCH}" = "i386" }}']
    if img.facets:
        facets = ", ".join(f'"{f}" = false' for f in img.facets)
        lines.append(f"facets = {{ {facets} }}")
    fmris = sorted(fmri_text(d, d.stems[i], k) for i, k in img.installed.items())
    lines.append(toml_list("installed", fmris))
    lines.append(toml_list("frozen", img.frozen))
    lines.append(toml_list("avoid", sorted(d.stems[i].name for i in img.avoid)))
    return "\n".join(lines) + "\n"


def fleet_toml(d: Distro, images: list[Image], preset: str, seed: int, shape: Shape = Shape()) -> str:
    head = f"# Generated by bench/fleetgen.py --preset {preset} --seed {seed}"
    if shape != Shape():
        head += f" --shape {shape.text()}"
    parts = [head + "\n"]
    for pub in (OMNIOS, EXTRA):
        parts.append(f'[[source]]\npath = "catalog/{pub}"\npublisher = "{pub}"\n')
    parts.extend(image_toml(d, img) for img in images)
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# Entry points


def generate(preset: str, seed: int, out: Path, shape: Shape = Shape()) -> FleetStats:
    """Write ``out/catalog/...`` and ``out/fleet.toml``; return their sizes.
    ``out/catalog`` must not exist yet (stale manifests would join the fleet)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    if (out / "catalog").exists():
        raise FileExistsError(f"{out / 'catalog'} exists; remove it first")
    sizes = PRESETS[preset]
    distro = build_distro(sizes, random.Random(f"{preset}:{seed}:distro"), shape, f"{preset}:{seed}")
    images = build_images(distro, sizes, random.Random(f"{preset}:{seed}:images"), shape)
    out.mkdir(parents=True, exist_ok=True)
    versions = write_catalog(distro, out)
    (out / "fleet.toml").write_text(fleet_toml(distro, images, preset, seed, shape))
    pairs = sum(len(img.installed) for img in images)
    return FleetStats(len(distro.stems), versions, len(images), pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fleetgen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--force", action="store_true", help="replace an existing OUT/catalog")
    parser.add_argument(
        "--shape",
        default="default",
        help=f"fleet shape: {', '.join(SHAPES)}, random (from the seed), or key=value,... (Shape's knobs)",
    )
    args = parser.parse_args(argv)
    catalog = args.out / "catalog"
    if catalog.exists():
        if not args.force:
            parser.error(f"{catalog} exists; remove it or pass --force")
        shutil.rmtree(catalog)
    start = time.perf_counter()
    try:
        shape = parse_shape(args.shape, args.seed)
    except ValueError as err:
        parser.error(str(err))
    stats = generate(args.preset, args.seed, args.out, shape)
    elapsed = time.perf_counter() - start
    print(f"{args.preset} seed {args.seed} shape {shape.text()}: "
          f"{stats.stems} stems, {stats.versions} versions, "
          f"{stats.images} images, {stats.installed_pairs} installed pairs "
          f"in {elapsed:.1f} s -> {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
