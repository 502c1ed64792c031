"""Reasons as data: the rules of a plan, why a version is off limits, what a
variable means. Nothing here makes a sentence; resolver.explain does, last.

- ``Rule``: every rule a clause, an assumption or an explanation step stands
  for (libsolv's ``solver_ruleinfo``, pubgrub's ``External`` kinds);
- ``Reason``: why one image may not choose one package version
  (resolver.problem makes them, resolver.encode.assume turns them into
  assumptions, resolver.explain words them);
- ``PackageVar`` and ``ParentVar``: what a keyed variable of a class formula
  means (resolvo's ``VariableOrigin``): "this image has this package
  version", "the parent image has it";
- ``ZoneCut``: a zone's answer to a global-zone plan it cannot follow, kept
  with the zone and the zone's own core so an explanation can say which zone
  holds the global zone back, and by which rule;
- ``ParentView``: the global zone as a zone's explanation sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from resolver.fmri import Fmri
from resolver.model import Dependency, Package
from resolver.plan import HeldBack


class Rule(StrEnum):
    """What a clause, an assumption or an explanation step stands for."""

    # dependencies of a package (clauses of the class formula; ips-semantics 5)
    REQUIRE = "require"
    REQUIRE_ANY = "require-any"
    OPTIONAL = "optional"
    EXCLUDE = "exclude"
    INCORPORATE = "incorporate"
    #: an incorporate dependency tagged facet.version-lock.STEM (ips-semantics 4.4)
    VERSION_LOCK = "version-lock"
    CONDITIONAL = "conditional"
    GROUP = "group"
    GROUP_ANY = "group-any"
    ONE_VERSION = "one-version"
    # zone rules
    PARENT = "parent"
    SVR4_ALLZONES = "svr4-allzones"
    # what an operation asks of an image, and its exclusions (assumptions)
    REQUEST = "request"
    #: a version the request does not name (``install foo@2`` rules out foo@1)
    REQUEST_VERSION = "request-version"
    UNINSTALL = "uninstall"
    REJECT = "reject"
    INSTALLED = "installed"
    NO_DOWNGRADE = "no-downgrade"
    FREEZE = "freeze"
    #: an installed incorporation not named on the command line keeps its version
    INCORPORATION_KEPT = "incorporation-kept"
    PUBLISHER = "publisher"
    STICKY = "sticky"
    VARIANT = "variant"
    AVOID = "avoid"
    OBSOLETE = "obsolete"
    ORIGIN = "origin"
    EXPLICIT_INSTALL = "explicit-install"
    MISSING = "missing"
    # between images
    #: what the global zone's plan has, as a zone sees it
    PARENT_PLAN = "parent-plan"
    #: a zone cannot follow a global-zone plan (joint solving)
    ZONE = "zone"
    #: update --to LOCK: the lock names each image's packages exactly
    LOCK = "lock"
    # explanations only
    #: an earlier goal of the objective (held-back packages)
    DECISION = "decision"
    #: the version an explanation of a held-back package asks about
    WANTED = "wanted"
    #: no minimal cause was found within the search's bounds
    UNNARROWED = "unnarrowed"
    #: clauses behind a selector literal: the assumption that switches them on says why
    SELECTOR = "selector"


#: Which publisher rule excludes a version (ips-semantics 6.2).
PublisherWhy = Literal["installed", "named", "chosen", "ranked", "unconfigured"]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an image may not choose a package version: the rule and what it
    comes from. Which fields are set depends on the rule:

    - ``by``: the package that imposes it (the incorporation, the installed
      version, the installed package an origin dependency names);
    - ``dep``: the dependency that does (incorporate, origin);
    - ``setting``: the configuration named (freeze pattern, publisher,
      facet, ``variant.X=value`` of the image);
    - ``publisher``: which publisher rule (rule ``publisher``);
    - ``values``: the values a package's variant declares (rule ``variant``).
    """

    rule: Rule
    by: Package | None = None
    dep: Dependency | None = None
    setting: str | None = None
    publisher: PublisherWhy | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PackageVar:
    """The variable "image (class) ``image`` has ``fmri`` installed"."""

    image: str
    fmri: Fmri


@dataclass(frozen=True, slots=True)
class ParentVar:
    """The variable "the parent image ``parent`` has ``fmri`` installed": how a
    zone's formula refers to its global zone (interface literals)."""

    parent: str
    fmri: Fmri


@dataclass(frozen=True, slots=True)
class ZoneCut:
    """Zones that cannot follow a global-zone plan: the clause the global
    zone learns, with what it comes from.

    ``core`` is the zones' unsatisfiable core over their parent literals (in
    the zones' own formula), ``assignment`` every parent literal of the plan
    they rejected (to check a fix against it), ``plan`` the core as the
    global zone's packages: (FMRI, True) for one the plan has that the zones
    cannot follow, (FMRI, False) for one they need and it lacks."""

    zones: tuple[str, ...]
    core: tuple[int, ...]
    assignment: tuple[int, ...]
    plan: tuple[tuple[Fmri, bool], ...] = ()


@dataclass
class ParentView:
    """The global zone as a zone's explanation sees it: its plan by stem, the
    parent literals the zone assumed, and the global zone's held-back
    packages (their reasons are then the zone's)."""

    name: str
    plan: Mapping[str, Package]
    lits: Sequence[int]
    #: a plan the zone was asked about (joint solving), not the final one
    hypothetical: bool = False
    held: Mapping[str, HeldBack] = field(default_factory=dict)
    #: the plan is this operation's (not what the global zone has installed):
    #: "update the global zone first" does not apply, "-r" may
    planned: bool = False
    #: the global zone's request in this operation, if planned
    request: object = None


def version_lock_facet(dep: Dependency) -> str | None:
    """The ``facet.version-lock.*`` tag an incorporate dependency carries, if any."""
    for name, _ in dep.tags:
        if name.startswith("facet.version-lock."):
            return name
    return None
