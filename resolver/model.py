"""The pure data model: packages, dependencies, images, the fleet, operations.

Frozen, slotted dataclasses. Knows nothing of SAT, lark or TOML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from resolver.errors import Location
from resolver.fmri import Fmri

Tags = tuple[tuple[str, str], ...]  # variant.* / facet.* attributes on an action


class DepType(StrEnum):
    REQUIRE = "require"
    REQUIRE_ANY = "require-any"
    OPTIONAL = "optional"
    EXCLUDE = "exclude"
    INCORPORATE = "incorporate"
    CONDITIONAL = "conditional"
    GROUP = "group"
    GROUP_ANY = "group-any"
    ORIGIN = "origin"
    PARENT = "parent"


#: Types whose targets the candidate closure follows (ips-semantics 7.2 step 8).
CLOSURE_TYPES = frozenset(
    {DepType.REQUIRE, DepType.REQUIRE_ANY, DepType.CONDITIONAL, DepType.GROUP, DepType.GROUP_ANY}
)


@dataclass(frozen=True, slots=True)
class Dependency:
    """One ``depend`` action.

    ``fmris`` holds every fmri= value (only require-any and group-any use more
    than the first); ``predicate`` is set for conditional; ``tags`` are the
    action's variant/facet attributes, filtered per image.
    """

    type: DepType
    fmris: tuple[Fmri, ...]
    predicate: Fmri | None = None
    root_image: bool = False
    tags: Tags = ()

    @property
    def fmri(self) -> Fmri:
        return self.fmris[0]


@dataclass(frozen=True, slots=True)
class Svr4Params:
    """Solaris 10 SVR4 package parameters (pkginfo(4)), as ``set`` actions."""

    allzones: bool = False
    thiszone: bool = False
    hollow: bool = False
    interactive: bool = False


@dataclass(frozen=True, slots=True)
class Package:
    """One package version: what the solver needs from its manifest."""

    fmri: Fmri  # always with publisher and version
    depends: tuple[Dependency, ...] = ()
    obsolete: bool = False
    renamed: bool = False
    #: ``set name=variant.X value=...`` declarations: (X, values)
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    install_hold: str | None = None
    explicit_install: bool = False
    svr4: Svr4Params | None = None
    #: Does an action of this package carry ``reboot-needed=true``? pkg(5)
    #: needs a new boot environment to update or remove such an action
    #: (client/actuator.py). None: unknown (a catalog/1 entry has no file actions).
    reboot_needed: bool | None = False
    where: Location | None = field(default=None, compare=False)

    @property
    def stem(self) -> str:
        return self.fmri.stem

    @property
    def publisher(self) -> str:
        assert self.fmri.publisher is not None
        return self.fmri.publisher

    @property
    def is_incorporation(self) -> bool:
        return any(d.type is DepType.INCORPORATE for d in self.depends)


class Brand(StrEnum):
    """Zone brands. The global zone has no brand of its own except ``native``
    (a Solaris 10 global zone, whose zones follow the SVR4 rules).

    OmniOS zones of brand ipkg, lipkg, sparse and pkgsrc are pkg(5) images;
    bhyve, kvm and emu zones run a virtual machine, lx a Linux userland and
    illumos another illumos distribution, none of them a pkg(5) image the
    global zone plans (brands(7)): the fleet file accepts them, as
    ``zoneadm list -cp`` prints them, and planning leaves them out."""

    LIPKG = "lipkg"
    SPARSE = "sparse"
    PKGSRC = "pkgsrc"
    IPKG = "ipkg"
    NATIVE = "native"
    BHYVE = "bhyve"
    KVM = "kvm"
    EMU = "emu"
    LX = "lx"
    ILLUMOS = "illumos"

    @property
    def linked(self) -> bool:
        """Linked images follow the global zone through parent dependencies."""
        return self in (Brand.LIPKG, Brand.SPARSE, Brand.PKGSRC)

    @property
    def planned(self) -> bool:
        """The zone has packages zonesolve plans: a pkg(5) image, or a
        Solaris 10 native zone's SVR4 packages."""
        return self in (Brand.LIPKG, Brand.SPARSE, Brand.PKGSRC, Brand.IPKG, Brand.NATIVE)


@dataclass(frozen=True, slots=True)
class Publisher:
    name: str
    sticky: bool = True


ZONE_VARIANT = "variant.opensolaris.zone"


@dataclass(frozen=True, slots=True)
class Image:
    """One image of the fleet: the global zone (no parent) or a zone."""

    name: str
    publishers: tuple[Publisher, ...]
    parent: str | None = None
    brand: Brand | None = None
    variants: tuple[tuple[str, str], ...] = ()
    facets: tuple[tuple[str, bool], ...] = ()
    installed: tuple[Fmri, ...] = ()
    frozen: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    where: Location | None = field(default=None, compare=False)

    @property
    def is_global(self) -> bool:
        return self.parent is None

    @property
    def linked(self) -> bool:
        """A zone that follows its parent through parent dependencies."""
        return self.parent is not None and self.brand is not None and self.brand.linked

    @property
    def planned(self) -> bool:
        """zonesolve plans this image (the global zone, or a zone of a brand with packages)."""
        return self.brand is None or self.brand.planned

    @property
    def variant_map(self) -> Mapping[str, str]:
        """Image variants, with variant.opensolaris.zone defaulted by role."""
        out = {ZONE_VARIANT: "global" if self.is_global else "nonglobal"}
        out.update(self.variants)
        return out

    @property
    def facet_map(self) -> Mapping[str, bool]:
        return dict(self.facets)


@dataclass(frozen=True, slots=True)
class Source:
    """A ``[[source]]``: a directory, file repository or catalog directory."""

    path: str  # resolved against the fleet file's directory
    publisher: str | None = None
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class InlineManifest:
    """A ``[[manifest]]`` table's text."""

    text: str
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Fleet:
    """One host: its images and where packages come from."""

    path: str
    images: tuple[Image, ...]
    sources: tuple[Source, ...] = ()
    manifests: tuple[InlineManifest, ...] = ()

    @property
    def global_zone(self) -> Image:
        return next(i for i in self.images if i.is_global)

    def image(self, name: str) -> Image:
        for img in self.images:
            if img.name == name:
                return img
        raise KeyError(name)

    def children(self, name: str) -> tuple[Image, ...]:
        return tuple(i for i in self.images if i.parent == name)


@dataclass(frozen=True, slots=True)
class LockedImage:
    """One image of a lock file: the exact packages it has after the locked plan."""

    name: str
    packages: tuple[Fmri, ...]
    where: Location | None = field(default=None, compare=False)
    #: where each of ``packages`` is written
    locations: tuple[Location, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock file (resolver.lock): every image's exact packages."""

    path: str
    images: tuple[LockedImage, ...]


class Verb(StrEnum):
    INSTALL = "install"
    UPDATE = "update"
    UNINSTALL = "uninstall"
    ATTACH = "attach"
    PATCH = "patch"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True)
class Operation:
    """What the user asked for: one command line."""

    verb: Verb
    args: tuple[str, ...] = ()
    image: str | None = None  # None: the global zone
    recursive: bool = False
    global_only: bool = False
    parent_first: bool = False
    reject: tuple[str, ...] = ()
    only_zones: tuple[str, ...] = ()  # -z
    skip_zones: tuple[str, ...] = ()  # -Z
    timeout: float | None = None
    to: Lock | None = None  # update --to LOCK: exactly the locked state
