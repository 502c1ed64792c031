"""The ``zonesolve`` command: argument parsing, running a verb, output and exit codes.

The only module that prints. docs/interfaces.md is the contract for every
option, output format and exit status here.

The loaders, the parser and the solver are imported where they are used, so
that ``--help`` and argument errors answer without loading lark or pysat.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from resolver import __version__, render
from resolver.atomic import remove_stale, temp_beside
from resolver.cache import gc_paused
from resolver.errors import (
    InputError,
    InputErrors,
    InternalError,
    Location,
    SolveTimeout,
    UsageError,
    ZonesolveError,
)
from resolver.limits import bad_path, file_kind, shown
from resolver.model import Operation, Verb
from resolver.plan import Outcome, Result
from resolver.progress import Reporter, Silent, reporter

if TYPE_CHECKING:
    from resolver.catalog import Catalog
    from resolver.host import Host
    from resolver.model import Fleet
    from resolver.testcase import RecordingCatalog

T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOTHING = 4
EXIT_DIVERGED = 52
EXIT_INTERRUPTED = 130

FORMATS = ("text", "json", "pkg-parsable")
#: The longest --timeout (about 11.6 days): setitimer overflows past 1e9 s on Linux.
MAX_TIMEOUT = 1e6
#: The most worker processes --jobs may ask for.
MAX_JOBS = 1024
#: Seconds past --timeout before the command gives up on a solver that does not.
TIMEOUT_GRACE = 1.0
BUG_HINT = "this is a bug in zonesolve: please report it with the command line and the fleet file"

# ---------------------------------------------------------------------------
# The command line

DESCRIPTION = """\
Plan package changes for an illumos / Solaris host: the global zone and its
non-global zones solved as one problem (IPS pkg(5) and Solaris 10 SVR4 rules).
Exit status: 0 a plan with changes (audit: all in sync), 1 no plan or invalid
input, 2 invalid command line, 4 nothing to do, 52 audit: a zone has diverged.
"""

VERBS: dict[str, tuple[str, str]] = {
    "install": (
        "install packages (pkg install)",
        "zonesolve install web/server/nginx\n"
        "zonesolve install -r nginx@1.24 --format json\n"
        "zonesolve install --image web1 pkg://omnios/library/foo@2.0",
    ),
    "update": (
        "update the named packages, or everything (pkg update)",
        "zonesolve update -r\n"
        "zonesolve update -r -Z db1 --reject desktop/x11\n"
        "zonesolve update web/curl --format pkg-parsable -o plan.json",
    ),
    "uninstall": (
        "uninstall packages (pkg uninstall)",
        "zonesolve uninstall -r library/foo\nzonesolve uninstall --image web1 nginx",
    ),
    "attach": (
        "the sync that attaching a zone performs (zoneadm attach -u)",
        "zonesolve attach --image web1\nzonesolve attach --image web1 --format json",
    ),
    "patch": (
        "move packages to patched versions (Solaris 10 patchadd)",
        "zonesolve patch SUNWfoo@1.1\nzonesolve patch -G SUNWbar@2.0 --image global",
    ),
    "audit": (
        "are the linked zones in sync with the global zone? (pkg audit-linked -a)",
        "zonesolve audit\nzonesolve audit -v --fleet host.toml",
    ),
}


def _positive_seconds(text: str) -> float:
    """``--timeout``: a positive, finite number of seconds, at most MAX_TIMEOUT
    (the interval timer refuses more: "inf" or "1e309" would overflow it)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {shown(text)}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {shown(text)}")
    if not value <= MAX_TIMEOUT:  # also inf
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TIMEOUT:,.0f} seconds: {shown(text)}")
    return value


def _positive_int(text: str) -> int:
    """``--jobs``: a whole number, 1 or more (at most MAX_JOBS)."""
    if len(text.strip()) > len(str(MAX_JOBS)) + 2:  # int() of thousands of digits is slow, then refused
        raise argparse.ArgumentTypeError(f"must be at most {MAX_JOBS}: {shown(text)}")
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {shown(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {shown(text)}")
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_JOBS}: {shown(text)}")
    return value


def _path(text: str) -> str:
    """A path argument: not empty (``lint ""`` would lint the current
    directory), no NUL byte (no system call takes one)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path")
    problem = bad_path(text)
    if problem:
        raise argparse.ArgumentTypeError(f"the path {problem}: {shown(text)}")
    return text


def _add_output_options(parser: argparse.ArgumentParser, site: bool = False) -> None:
    """Options every planning verb and audit share: input, output, diagnostics.
    ``site``: for ``zonesolve site VERB``, a site file instead of a fleet file."""
    group = parser.add_argument_group("input and output")
    if site:
        _add_site_options(parser, group)
    else:
        where = group.add_mutually_exclusive_group()
        where.add_argument(
            "--fleet",
            default="fleet.toml",
            type=_path,
            metavar="FILE",
            help="the fleet file (default: ./fleet.toml)",
        )
        _add_root_options(group, where)
    group.add_argument(
        "--image", metavar="NAME", help="the image the command runs in (default: the global zone)"
    )
    group.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    group.add_argument(
        "-o",
        dest="output",
        type=_path,
        metavar="FILE",
        help="write the output to FILE (atomically) instead of stdout",
    )
    group.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="S",
        help="each host gives up cleanly after S seconds (exit 1)"
        if site
        else "give up cleanly after S seconds (exit 1)",
    )
    if not site:
        group.add_argument(
            "--jobs",
            type=_positive_int,
            metavar="N",
            help="solve zones in N worker processes (default: one per CPU, for fleets big enough)",
        )
    group.add_argument(
        "-v",
        dest="verbose",
        action="store_true",
        help="more detail: every held-back package, every explanation step",
    )
    group.add_argument("--stats", action="store_true", help='include timings and sizes (JSON: under "stats")')
    cache = group.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir",
        type=_path,
        metavar="DIR",
        help="catalog cache directory (default: $ZONESOLVE_CACHE_DIR, else $XDG_CACHE_HOME/zonesolve)",
    )
    cache.add_argument("--no-cache", action="store_true", help="do not read or write a cache")


def _add_root_options(group: Any, where: Any, default: str | None = None) -> None:
    """``--root DIR`` (in ``where``, beside ``--fleet``) and ``--zones FILE`` (in ``group``)."""
    where.add_argument(
        "--root",
        default=default,
        metavar="DIR",
        help="read the host itself: the pkg(5) image at DIR/var/pkg and the zones of DIR/etc/zones"
        + (f" (default: {default})" if default else " (instead of --fleet)"),
    )
    group.add_argument(
        "--zones",
        metavar="FILE",
        help="with --root: the zones from saved 'zoneadm list -cp' output instead of DIR/etc/zones",
    )


def _add_import(subparsers: Any) -> None:
    """``zonesolve import``: a host's images as a fleet file."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "import",
        help="write the fleet file of a host's image root and its zones",
        description="Read a host's pkg(5) image root and its zones (as --root does) and write\n"
        "the equivalent fleet file: planning it gives the same plan as --root.",
        epilog="examples:\n  zonesolve import -o fleet.toml\n"
        "  zonesolve import --root /mnt/be --zones zoneadm-list.txt -o host.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_argument_group("input and output")
    _add_root_options(group, group, default="/")
    group.add_argument("-o", dest="output", metavar="FILE", help="write the fleet file there (atomically)")
    cache = group.add_mutually_exclusive_group()
    cache.add_argument("--cache-dir", metavar="DIR", help="catalog cache directory")
    cache.add_argument("--no-cache", action="store_true", help="do not read or write a cache")
    group.add_argument(
        "-v", dest="verbose", action="store_true", help="show the traceback of an internal error"
    )


def _add_planning_options(parser: argparse.ArgumentParser) -> None:
    """Options of the verbs that plan changes (pkg(1)'s linked-image options)."""
    group = parser.add_argument_group("what to plan")
    group.add_argument(
        "-r", dest="recursive", action="store_true", help="also act on the linked zones (pkg -r)"
    )
    group.add_argument(
        "-z",
        dest="only_zones",
        action="append",
        default=[],
        metavar="NAME",
        help="with -r: only this zone (repeatable)",
    )
    group.add_argument(
        "-Z",
        dest="skip_zones",
        action="append",
        default=[],
        metavar="NAME",
        help="with -r: every zone but this one (repeatable)",
    )
    group.add_argument(
        "-G",
        dest="global_only",
        action="store_true",
        help="SVR4: the global zone only (pkgadd/patchadd -G)",
    )
    group.add_argument(
        "--parent-first",
        action="store_true",
        help="plan as pkg(5) does: the global zone first, then each zone",
    )
    group.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="PKG",
        help="as pkg(1) --reject: never install this package (repeatable)",
    )
    group.add_argument(
        "-n",
        dest="dry_run",
        action="store_true",
        help="pkg(1)'s dry run, accepted so that pkg(1) command lines work: zonesolve only plans, "
        "it never applies anything (-nv: with -v)",
    )


def _add_verb(subparsers: Any, verb: str, site: bool = False) -> argparse.ArgumentParser:
    """One planning subcommand with its help text and examples (``site``: of
    ``zonesolve site``, run on every host of a site file)."""
    summary, examples = VERBS[verb]
    if site:
        summary = f"on every host: {summary}"
        lines = examples.splitlines()
        examples = "\n".join(line.replace("zonesolve ", "zonesolve site ", 1) for line in lines)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        verb,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog="examples:\n" + "\n".join("  " + line for line in examples.splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if verb in ("install", "uninstall"):
        parser.add_argument("packages", nargs="+", metavar="PKG", help="package name or FMRI")
    elif verb == "update":
        parser.add_argument(
            "packages",
            nargs="*",
            metavar="PKG",
            help="package name or FMRI (none: update everything)",
        )
    elif verb == "patch":
        parser.add_argument(
            "packages",
            nargs="+",
            metavar="PKG@VER",
            help="package and the patched version to move to",
        )
    else:
        parser.set_defaults(packages=[])
    _add_output_options(parser, site)
    if verb != "audit":
        _add_planning_options(parser)
    if not site:  # a test case and a lock are one host's
        _add_testcase_option(parser)
    if verb == "update" and not site:
        _add_to_option(parser)
    return parser


def _add_testcase_option(parser: argparse.ArgumentParser) -> None:
    """--export-testcase: the run as one self-contained fleet file (resolver.testcase)."""
    parser.add_argument(
        "--export-testcase",
        metavar="FILE",
        help="also write FILE: a fleet file with every package version the run reached, "
        "its images and this command line, that reproduces this plan or failure",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one subcommand per verb, plus lint."""
    parser = argparse.ArgumentParser(
        prog="zonesolve",
        description=DESCRIPTION,
        epilog="'zonesolve VERB --help' describes each verb, with examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zonesolve {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        _add_verb(subparsers, verb)
    _add_import(subparsers)
    _add_site(subparsers)
    lint = subparsers.add_parser(
        "lint",
        help="parse manifests and fleet files, report every error",
        description="Parse manifests and fleet files and report every error as "
        "FILE:LINE:COL: MESSAGE. Exit 1 if there is any.",
        epilog="examples:\n  zonesolve lint manifests/\n  zonesolve lint fleet.toml foo.p5m",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint.add_argument(
        "paths",
        nargs="+",
        type=_path,
        metavar="PATH",
        help="a manifest, a directory of *.p5m files (recursive), or a fleet or site .toml",
    )
    lint.add_argument(
        "-v", dest="verbose", action="store_true", help="show the traceback of an internal error"
    )
    _add_lock_parser(subparsers)
    _add_schema_parser(subparsers)
    _add_cache_parser(subparsers)
    _add_why(subparsers)
    return parser


def _add_why(subparsers: Any) -> None:
    """``why PKG``: why a package is at its version, and not newer, per image."""
    why = subparsers.add_parser(
        "why",
        help="why a package is at its version here, and not newer (or not installed)",
        description="Why PKG is at its version in each image (what requires or pins it), and why "
        "it is not newer or not installed (the binding rule of its newest version, with fixes).",
        epilog="examples:\n  zonesolve why web/curl\n  zonesolve why nginx --image web1 --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    why.add_argument("package", metavar="PKG", help="package name or pattern")
    _add_output_options(why)


def _check(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """Rules argparse cannot state; a violation exits 2 like any usage error."""
    if ns.verb == "lint":
        return
    if getattr(ns, "command", None) == "site" and ns.scheduler is not None and ns.workers is not None:
        parser.error("--scheduler and --workers cannot be combined (the cluster has its workers)")
    if getattr(ns, "zones", None) and not ns.root:
        parser.error("--zones lists the zones of a host: use it with --root DIR")
    if ns.verb == "why":
        if ns.format == "pkg-parsable":
            parser.error("why has no pkg-parsable output (it plans nothing)")
        return
    if ns.verb == "import":
        return
    if ns.verb == "audit":
        if ns.format == "pkg-parsable":
            parser.error("audit has no pkg-parsable output (pkg audit-linked has none)")
        return
    if (ns.only_zones or ns.skip_zones) and not ns.recursive:
        parser.error("-z and -Z narrow -r: use them with -r")
    if ns.only_zones and ns.skip_zones:
        parser.error("-z and -Z cannot be combined")
    if ns.global_only and ns.recursive:
        parser.error("-G (global zone only) and -r (linked zones too) cannot be combined")
    if ns.verb == "attach" and not ns.image:
        parser.error("attach needs --image ZONE: the zone being attached")
    if ns.verb == "attach" and (ns.recursive or ns.global_only):
        flag = "-r" if ns.recursive else "-G"
        parser.error(f"{flag} does not apply to attach: it syncs the one zone given by --image")
    if ns.verb == "patch":
        for arg in ns.packages:
            if "@" not in arg or not arg.split("@", 1)[1]:
                parser.error(f"patch needs PKG@VERSION, not {arg!r}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check the command line; exits 2 (SystemExit) when it is wrong."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.verb in COMMANDS:
        return ns  # no planning options to check
    _unwrap_lock(parser, ns)
    _check(parser, ns)
    return ns


def operation(ns: argparse.Namespace) -> Operation:
    """The Operation a planning command line asks for."""
    return Operation(
        verb=Verb(ns.verb),
        args=tuple(ns.packages),
        image=ns.image,
        recursive=getattr(ns, "recursive", False),
        global_only=getattr(ns, "global_only", False),
        parent_first=getattr(ns, "parent_first", False),
        reject=tuple(getattr(ns, "reject", ())),
        only_zones=tuple(getattr(ns, "only_zones", ())),
        skip_zones=tuple(getattr(ns, "skip_zones", ())),
        timeout=ns.timeout,
    )


# ---------------------------------------------------------------------------
# Entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit status."""
    try:
        ns = parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    ns.argv = list(sys.argv[1:] if argv is None else argv)  # for --export-testcase
    try:
        if getattr(ns, "command", None) == "site":
            return run_site(ns)
        if ns.verb == "import":
            return run_import(ns)
        if ns.verb == "why":
            return run_why(ns)
        if ns.verb in COMMANDS:
            return COMMANDS[ns.verb](ns)
        return run_lint(ns.paths) if ns.verb == "lint" else run_plan(ns)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `zonesolve ... | head`: the reader is gone
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:  # a bug outside planning (lint, writing output)
        _report_errors([_internal(exc, ns.verbose)], ns.verbose)
        return EXIT_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


# ---------------------------------------------------------------------------
# Planning verbs


@dataclass
class Context:
    """What a run learned beside its Result: the image tree, timings, sizes."""

    parents: dict[str, str | None] | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    fleet: Fleet | None = None  # once loaded
    recorder: RecordingCatalog | None = None  # --export-testcase: the catalog, recording


def run_plan(ns: argparse.Namespace) -> int:
    """Load, plan, render, write; every error becomes a message and exit 1."""
    op = operation(ns)
    context = Context()
    progress = reporter(ns.format)
    started = time.monotonic()
    try:
        with _deadline(ns.timeout) as alarm:
            result = solve(ns, op, progress, context, alarm)
    except ZonesolveError as err:
        result = Result(op, Outcome.FAIL, errors=[err])
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        result = Result(op, Outcome.FAIL, errors=[_internal(exc, ns.verbose)])
    finally:
        progress.close()
    context.stats["total-seconds"] = _seconds(started)
    exported = _export_testcase(ns, result, context)
    status = emit(ns, result, context)
    return status if exported else EXIT_ERROR


def solve(
    ns: argparse.Namespace,
    op: Operation,
    progress: Reporter,
    context: Context,
    alarm: Alarm | None = None,
) -> Result:
    """Load the fleet and its catalog, then ask the solver for a plan.
    ``alarm``: --timeout's deadline (loading checks it between files)."""
    alarm = alarm or Alarm(None)
    fleet = context.fleet = _timed(context, "fleet", lambda: load_input(ns))
    op = _with_lock(ns, _with_image(op, fleet))
    context.parents = {image.name: image.parent for image in fleet.images}
    catalog = _timed(context, "catalog", lambda: _load_catalog(fleet, _cache_dir(ns), progress, alarm.at))
    catalog = _recording(ns, catalog, context)
    gc.freeze()  # the loaded catalog lives to the end: keep it out of later GC passes
    context.stats.update(images=len(fleet.images), packages=len(catalog))
    if alarm.at is not None:  # the solver gets what is left of the budget, and stops itself
        op = replace(op, timeout=max(alarm.at - time.monotonic(), 0.001))
        alarm.grace()
    jobs = 1 if context.recorder is not None else getattr(ns, "jobs", None)  # recording: one process
    with gc_paused():  # planning builds millions of clause lists and makes next to no cycles
        return _timed(context, "plan", lambda: _plan(fleet, catalog, op, jobs, progress))


def _timed(context: Context, phase: str, work: Callable[[], T]) -> T:
    """Run one phase and record its time as ``PHASE-seconds``."""
    clock = time.monotonic()
    try:
        return work()
    finally:
        context.stats[f"{phase}-seconds"] = _seconds(clock)


def _load_catalog(
    fleet: Fleet, cache_dir: str | bool | None, progress: Reporter, deadline: float | None = None
) -> Catalog:
    """Every package version the fleet's sources and inline manifests hold.
    ``cache_dir``: a directory, None for the default cache, False for none."""
    from resolver.sources import load_catalog

    if isinstance(cache_dir, bool):
        return load_catalog(fleet, progress=progress, use_cache=False, deadline=deadline)
    return load_catalog(fleet, cache_dir=cache_dir, progress=progress, deadline=deadline)


def _plan(fleet: Fleet, catalog: Catalog, op: Operation, jobs: int | None, progress: Reporter) -> Result:
    """The solver's answer (resolver.api)."""
    from resolver.api import plan

    return plan(fleet, catalog, op, jobs=jobs, progress=progress)


def load_fleet_file(path: str, cache_dir: str | bool | None = False) -> Fleet:
    """Load a fleet file, with a clear message when it is not there. ``cache_dir``
    as for the catalog: a directory, None for the default cache, False for none."""
    from resolver.cache import default_cache_dir
    from resolver.fleet import load_fleet

    try:
        os.stat(path)
    except FileNotFoundError:
        hint = " (give one with --fleet FILE)" if path == "fleet.toml" else ""
        raise InputError(f"fleet file not found: {path}{hint}") from None
    except OSError as err:  # too long (ENAMETOOLONG), a loop of links, no permission, ...
        raise InputError(f"cannot read the fleet file: {err.strerror or err}", Location(path)) from None
    if cache_dir is None:
        cache_dir = str(default_cache_dir()) if default_cache_dir() else False
    return load_fleet(path, cache_dir=Path(cache_dir) if isinstance(cache_dir, str) else None)


def load_input(ns: argparse.Namespace) -> Fleet:
    """The fleet a planning command works on: the host at --root, else the --fleet file."""
    if getattr(ns, "root", None) is None:
        return load_fleet_file(ns.fleet, _cache_dir(ns))
    return load_host(ns.root, ns.zones, _cache_dir(ns)).fleet


def load_host(root: str, zones: str | None, cache_dir: str | bool | None) -> Host:
    """Read a host (resolver.host) and print its notes on stderr. ``cache_dir``
    as for the catalog: a directory, None for the default cache, False for none."""
    from resolver.cache import Cache, cache_disabled, default_cache_dir
    from resolver.host import read_host

    directory = Path(cache_dir) if isinstance(cache_dir, str) else None
    if cache_dir is None:
        directory = default_cache_dir()
    cache = Cache(directory) if directory is not None and not cache_disabled() else None
    host = read_host(root, zones_file=zones, cache=cache)
    sys.stderr.writelines(f"note: {note}\n" for note in host.notes)
    return host


def _with_image(op: Operation, fleet: Fleet) -> Operation:
    """The operation with its image named (default: the global zone), names checked."""
    known = {image.name for image in fleet.images}
    for name in (op.image, *op.only_zones, *op.skip_zones):
        if name is not None and name not in known:
            raise InputError(f"no image named {name!r} in {fleet.path} (images: {', '.join(sorted(known))})")
    return op if op.image is not None else replace(op, image=fleet.global_zone.name)


def _cache_dir(ns: argparse.Namespace) -> str | bool | None:
    """--cache-dir, None for the default (ZONESOLVE_CACHE_DIR, else
    $XDG_CACHE_HOME/zonesolve), or False with --no-cache."""
    if ns.no_cache:
        return False
    if ns.cache_dir:
        return str(ns.cache_dir)
    return None


def _seconds(since: float) -> float:
    """Seconds elapsed since a monotonic clock reading, rounded for reading."""
    return round(time.monotonic() - since, 4)


def _internal(exc: BaseException, verbose: bool) -> InternalError:
    """An unexpected exception as an internal error; its traceback only with -v."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    return InternalError(f"{type(exc).__name__}: {exc}")


@dataclass
class Alarm:
    """--timeout: its deadline (``time.monotonic()``), and the SIGALRM backstop
    for work that does not look at the deadline.

    While loading, the alarm rings at the deadline itself: reading and parsing
    check it between files, but one big file (the fleet file's TOML, a JSON
    catalog part) is parsed in a single call. Before planning, ``grace()``
    moves it TIMEOUT_GRACE later: the solver gets the rest of the budget and
    stops itself, which gives the cleaner message.
    """

    at: float | None
    armed: bool = False

    def grace(self) -> None:
        if self.armed and self.at is not None:
            signal.setitimer(signal.ITIMER_REAL, max(self.at - time.monotonic(), 0.0) + TIMEOUT_GRACE)


@contextmanager
def _deadline(seconds: float | None) -> Iterator[Alarm]:
    """Raise SolveTimeout if the work outlives --timeout (see Alarm). The alarm
    only on the main thread of a Unix process, where SIGALRM exists."""
    alarm = Alarm(None if seconds is None else time.monotonic() + seconds)
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield alarm
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise SolveTimeout(f"gave up after {seconds:g} seconds (--timeout {seconds:g})")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    alarm.armed = True
    try:
        yield alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------
# Output


def exit_status(result: Result) -> int:
    """The exit status of a finished run (docs/interfaces.md, "Exit status")."""
    if result.operation.verb is Verb.AUDIT and not render.blocking_errors(result):
        return EXIT_DIVERGED if render.diverged(result) else EXIT_OK
    if any(isinstance(err, UsageError) for err in result.errors):
        return EXIT_USAGE  # a flag that does not apply to the images named (known once the fleet is read)
    return {Outcome.OK: EXIT_OK, Outcome.NOTHING: EXIT_NOTHING}.get(result.outcome, EXIT_ERROR)


def _failed(result: Result) -> bool:
    """True if the run produced no plan (errors), as opposed to a diverged audit."""
    if result.operation.verb is Verb.AUDIT:
        return bool(render.blocking_errors(result))
    return bool(result.errors) or result.outcome is Outcome.FAIL


def _stats_text(stats: dict[str, Any]) -> str:
    """``--stats`` for text output: one ``key: value`` line each."""
    return "".join(f"{key}: {stats[key]}\n" for key in sorted(stats))


def emit(ns: argparse.Namespace, result: Result, context: Context) -> int:
    """Render the result, write it where asked, report errors; returns the exit status."""
    if ns.stats:
        result.stats = {**context.stats, **result.stats}
    failed = _failed(result)
    if failed and ns.format != "json":
        _report_errors(render.blocking_errors(result), ns.verbose)
    elif any(isinstance(err, InternalError) for err in result.errors):
        sys.stderr.write(_bug_hint(ns.verbose))
    output = _render(ns, result, context, failed)
    status = exit_status(result)
    if output is None:
        return status
    if ns.output is None:
        sys.stdout.write(output)
        return status
    return _write_output(ns.output, output, status, failed)


def _render(ns: argparse.Namespace, result: Result, context: Context, failed: bool) -> str | None:
    """The output in the format asked for; None for a failure outside JSON (stderr has it)."""
    if getattr(ns, "lock", False):
        return None if failed else _lock_output(ns, result)
    if ns.format == "json":
        return render.to_json(result, stats=ns.stats)
    if failed:
        return None
    if ns.format == "pkg-parsable":
        return render.to_pkg_parsable(result, context.parents)
    text = render.to_text(result, ns.verbose, context.parents)
    return text + _stats_text(result.stats) if ns.stats else text


def _report_errors(errors: Sequence[ZonesolveError], verbose: bool) -> None:
    """Errors on stderr, with a request to report it when one is a bug."""
    sys.stderr.write(render.errors_text(errors, verbose))
    if any(isinstance(err, InternalError) for err in errors):
        sys.stderr.write(_bug_hint(verbose))


def _bug_hint(verbose: bool) -> str:
    """The line that asks for a bug report (and points at -v for the traceback)."""
    return f"zonesolve: {BUG_HINT}" + ("" if verbose else " (-v shows the traceback)") + "\n"


def _write_output(path: str, text: str, status: int, failed: bool) -> int:
    """Write -o FILE atomically; a write failure is exit 1 with a message."""
    try:
        write_atomic(path, text)
    except OSError as err:
        sys.stderr.write(f"error: cannot write {path}: {err.strerror or err}\n")
        return EXIT_ERROR
    if failed:
        sys.stderr.write(f"error: no plan; the errors are in {path}\n")
    return status


def write_atomic(path: str, text: str) -> None:
    """Write ``-o FILE``: the whole text or nothing, never replacing what is
    not a regular file (raises OSError with the reason).

    - A regular file, or none yet: a temp file beside it, then os.replace. The
      file keeps the mode of the file it replaces (a new one: 0666 less the
      umask); the temp file is removed if anything fails, and temp files left
      by a killed run are removed by the next one (resolver.atomic).
    - A symbolic link is followed: what it points at is written by these
      rules, and the link stays a link. A link to nothing is refused (the
      file it names is not created: a planted link must not make us write
      where it points).
    - A FIFO or a character device (a pipe, a terminal, /dev/null,
      /dev/stdout) is written through, never replaced.
    - A directory, a block device or a socket is refused.
    """
    target = Path(path)
    try:
        mode: int | None = os.stat(target).st_mode  # follows a symbolic link
    except FileNotFoundError:
        if os.path.islink(target):
            raise OSError(errno.ENOENT, "a symbolic link to a file that does not exist") from None
        mode = None
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        if _write_through(target, text):
            return
        mode = os.stat(target).st_mode  # replaced by a regular file meanwhile: write that
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL, f"{file_kind(mode)}, not a file")
    if os.path.islink(target):
        target = Path(os.path.realpath(target))
    remove_stale(target)
    fd, temp = temp_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _file_mode(target))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_through(target: Path, text: str) -> bool:
    """Write to a FIFO or character device as it is (no temp file, no
    replacing); False if ``target`` is no longer one when opened."""
    fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            return False
        stream.write(text)
    return True


def _file_mode(target: Path) -> int:
    """The mode a written file gets: the replaced file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# ---------------------------------------------------------------------------
# import


def run_import(ns: argparse.Namespace) -> int:
    """Write the fleet file of the host at --root (stdout, or -o FILE); exit 0, or 1 on bad input."""
    try:
        host = load_host(ns.root, ns.zones, _cache_dir(ns))
        text = import_text(ns, host)
    except ZonesolveError as err:
        _report_errors([err], ns.verbose)
        return EXIT_ERROR
    if ns.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomic(ns.output, text)
    except OSError as err:
        sys.stderr.write(f"error: cannot write {ns.output}: {err.strerror or err}\n")
        return EXIT_ERROR
    return EXIT_OK


def import_text(ns: argparse.Namespace, host: Host) -> str:
    """The fleet file of ``host``, checked to read back as the same fleet."""
    from resolver.fleet import parse_fleet
    from resolver.fleet_toml import fleet_to_toml

    command = f"zonesolve import --root {ns.root}" + (f" --zones {ns.zones}" if ns.zones else "")
    comments = [
        f"Written by `{command}`: the images of the host at {host.fleet.path}.",
        "Sources are the images' cached publisher catalogs and installed-package state.",
        *(f"note: {note}" for note in host.notes),
    ]
    text = fleet_to_toml(host.fleet, comments)
    try:
        back = parse_fleet(text, ns.output or "<import>")
    except InputError as err:
        raise InternalError(f"the imported fleet file does not read back: {err.message}") from None
    same = (back.images, back.sources, back.manifests) == (
        host.fleet.images,
        host.fleet.sources,
        host.fleet.manifests,
    )
    if not same:
        raise InternalError("the imported fleet file reads back as a different fleet")
    return text


# ---------------------------------------------------------------------------
# --export-testcase


def _recording(ns: argparse.Namespace, catalog: Catalog, context: Context) -> Catalog:
    """With --export-testcase: the catalog wrapped to remember what the run reads."""
    if not getattr(ns, "export_testcase", None):
        return catalog
    from resolver.testcase import RecordingCatalog

    context.recorder = RecordingCatalog(catalog)
    return context.recorder


def _export_testcase(ns: argparse.Namespace, result: Result, context: Context) -> bool:
    """Write the testcase if asked; False (after a message) if it cannot be written."""
    path = getattr(ns, "export_testcase", None)
    if not path:
        return True
    if context.fleet is None or context.recorder is None:
        why = "the fleet file did not load" if context.fleet is None else "the run stopped before planning"
        note = "a testcase reproduces planning, not input errors"
        sys.stderr.write(f"error: no testcase written to {path}: {why} ({note})\n")
        return False
    from resolver.testcase import testcase_text

    errors = sorted({err.kind for err in result.errors})
    outcome = render.outcome(result) + (f" ({', '.join(errors)})" if errors else "")
    packages = context.recorder.reached(result.operation.args)
    text = testcase_text(context.fleet, packages, ns.argv, path, outcome)
    try:
        write_atomic(path, text)
    except OSError as err:
        sys.stderr.write(f"error: cannot write {path}: {err.strerror or err}\n")
        return False
    return True


# ---------------------------------------------------------------------------
# lock and update --to (resolver.lock)

LOCKED_VERBS = ("install", "update", "uninstall", "attach", "patch")


def _add_to_option(parser: argparse.ArgumentParser) -> None:
    """update --to LOCK."""
    parser.add_argument(
        "--to",
        metavar="LOCK",
        help="plan exactly the state of a lock file (zonesolve lock): every image's locked packages",
    )


def _add_lock_parser(subparsers: Any) -> None:
    """``zonesolve lock VERB ...``: plan as VERB would, write the lock file."""
    lock = subparsers.add_parser(
        "lock",
        help="write a lock file: the exact packages of every image after a plan",
        description="Plan as VERB would and write a lock file (TOML) with the exact FMRI of "
        "every package in every image after the plan; 'zonesolve update --to LOCK' plans "
        "exactly that state later, from what is installed then.",
        epilog="examples:\n  zonesolve lock update -r --fleet host.toml -o fleet.lock\n"
        "  zonesolve update --to fleet.lock --fleet host.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = lock.add_subparsers(dest="locked_verb", metavar="VERB", required=True)
    for verb in LOCKED_VERBS:
        _add_verb(verbs, verb)


def _unwrap_lock(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """``lock VERB``: run VERB, write a lock (``ns.lock``); check --to's rules."""
    ns.lock = ns.verb == "lock"
    if ns.lock:
        ns.verb = ns.locked_verb
        if ns.format != "text":
            parser.error("lock writes a TOML lock file: --format does not apply")
    if getattr(ns, "to", None) and (ns.packages or ns.only_zones or ns.skip_zones or ns.reject):
        parser.error("--to plans every image to its locked packages: it takes no PKG, -z, -Z or --reject")


def _with_lock(ns: argparse.Namespace, op: Operation) -> Operation:
    """update --to LOCK: the lock file, read and checked, in the operation."""
    if not getattr(ns, "to", None):
        return op
    from resolver.lock import load_lock

    return replace(op, to=load_lock(ns.to))


def _lock_output(ns: argparse.Namespace, result: Result) -> str:
    """The lock file of a plan, with the commands that made it and that apply it."""
    import shlex

    from resolver.lock import lock_text

    made_by = "zonesolve lock " + shlex.join(ns.argv[1:])
    host = ["--root", ns.root] if getattr(ns, "root", None) else ["--fleet", ns.fleet]  # issue 12's --root
    apply = ["update", "--to", ns.output or "LOCK", *host]
    return lock_text(result, made_by, "zonesolve " + shlex.join(apply))


# ---------------------------------------------------------------------------
# schema


def _add_schema_parser(subparsers: Any) -> None:
    """``zonesolve schema``: the published JSON Schema of the JSON output."""
    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of --format json (and pkg-parsable)",
        description="Print the JSON Schema (draft 2020-12) that every --format json output "
        "follows; $defs/pkg-parsable describes --format pkg-parsable.",
        epilog="examples:\n  zonesolve schema > zonesolve.schema.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.add_argument("-o", dest="output", metavar="FILE", help="write it to FILE instead of stdout")


def run_schema(ns: argparse.Namespace) -> int:
    """Print (or write) the schema."""
    from resolver.output_schema import schema_text

    if ns.output is None:
        sys.stdout.write(schema_text())
        return EXIT_OK
    return _write_output(ns.output, schema_text(), EXIT_OK, False)


# ---------------------------------------------------------------------------
# cache (resolver.cachedir)


def _add_cache_parser(subparsers: Any) -> None:
    """``zonesolve cache``: where the cache is, how big, its entries; --clear."""
    cache = subparsers.add_parser(
        "cache",
        help="show the parsed-catalog cache (where, how big, entries) or clear it",
        description="Show the cache of parsed catalogs and fleet files: its directory, its "
        "entries and their size, and its bounds. It is kept within a size "
        "(ZONESOLVE_CACHE_MAX_SIZE, default 256M) and an age (ZONESOLVE_CACHE_MAX_AGE, default "
        "30d), least recently used first, after every write.",
        epilog="examples:\n  zonesolve cache\n  zonesolve cache -v --format json\n"
        "  zonesolve cache --max-size 100M --max-age 7d   # prune to these bounds now\n"
        "  zonesolve cache --clear",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cache.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the cache directory (default: $ZONESOLVE_CACHE_DIR, else $XDG_CACHE_HOME/zonesolve)",
    )
    cache.add_argument("--clear", action="store_true", help="remove every entry")
    cache.add_argument("--max-size", metavar="SIZE", help="prune to this size now (e.g. 100M, 1G; 0: none)")
    cache.add_argument("--max-age", metavar="AGE", help="prune entries unused this long now (e.g. 7d, 12h)")
    cache.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    cache.add_argument("-v", dest="verbose", action="store_true", help="list every entry")


def run_cache(ns: argparse.Namespace) -> int:
    """Show, prune or clear the cache directory."""
    from resolver import cachedir
    from resolver.cache import cache_disabled, default_cache_dir

    try:
        limits = cachedir.limits_from_env()
        if ns.max_size is not None:
            limits = replace(limits, max_bytes=cachedir.parse_size(ns.max_size))
        if ns.max_age is not None:
            limits = replace(limits, max_age=cachedir.parse_age(ns.max_age))
    except ValueError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_USAGE
    directory = Path(ns.cache_dir) if ns.cache_dir else default_cache_dir()
    removed: list[cachedir.Entry] = []
    if directory is not None and ns.clear:
        removed = cachedir.clear(directory)
    elif directory is not None and (ns.max_size is not None or ns.max_age is not None):
        removed = cachedir.prune(directory, limits)
    found = cachedir.entries(directory) if directory is not None else []
    off = directory is None or (cache_disabled() and not ns.cache_dir)
    report = cachedir.Report(directory, not off, found, removed, limits)
    sys.stdout.write(report.json() if ns.format == "json" else report.text(ns.verbose))
    return EXIT_OK


#: Commands that are not planning verbs (beside lint): name -> runner.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"schema": run_schema, "cache": run_cache}


# ---------------------------------------------------------------------------
# why


def run_why(ns: argparse.Namespace) -> int:
    """``why PKG``: load, explain, render; an error is a message and exit 1."""
    from resolver.why import explain_why

    report = None
    errors: list[ZonesolveError] = []
    try:
        with _deadline(ns.timeout) as alarm:
            fleet = load_input(ns)
            catalog = _load_catalog(fleet, _cache_dir(ns), reporter(ns.format), alarm.at)
            if ns.image is not None:
                _with_image(Operation(Verb.UPDATE, image=ns.image), fleet)
            with gc_paused():
                report = explain_why(fleet, catalog, ns.package, ns.image, ns.jobs)
    except ZonesolveError as err:
        errors = [err]
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        errors = [_internal(exc, ns.verbose)]
    if ns.format == "json":
        output = render.why_json(report, errors)
    elif errors:
        _report_errors(errors, ns.verbose)
        return EXIT_ERROR
    else:
        assert report is not None
        output = render.why_text(report, ns.verbose)
    status = EXIT_ERROR if errors else EXIT_OK
    if ns.output is None:
        sys.stdout.write(output)
        return status
    return _write_output(ns.output, output, status, bool(errors))


# ---------------------------------------------------------------------------
# lint


@dataclass
class LintReport:
    """Files examined and the errors found, each one line ``file:line:col: message``."""

    files: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, err: InputError, path: Path) -> None:
        """Record an error (a bundle: each member); name the file if the error does not."""
        for one in err.errors if isinstance(err, InputErrors) else [err]:
            text = one.message if one.location else f"{path}: {one.message}"
            self.lines.append(text.replace("\n", "\n  "))


def run_lint(paths: Sequence[str], out: TextIO | None = None) -> int:
    """Lint every path; print each error (file:line:col: message) and a summary."""
    out = sys.stdout if out is None else out
    report = LintReport()
    for path in paths:
        lint_path(Path(path), report)
    out.writelines(line + "\n" for line in report.lines)
    out.write(f"{_plural(report.files, 'file')}, {_plural(len(report.lines), 'error')}\n")
    return EXIT_ERROR if report.lines else EXIT_OK


def _plural(n: int, noun: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def lint_path(path: Path, report: LintReport) -> None:
    """Lint one command-line path: a directory, a fleet .toml, or a manifest.
    Files that are not regular files (a FIFO, a device) are reported, not read."""
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        report.add(InputError("no such file or directory"), path)
        return
    except OSError as err:  # too long (ENAMETOOLONG), a loop of links, no permission, ...
        report.add(InputError(f"cannot read: {err.strerror or err}"), path)
        return
    if is_dir and lint_source(path, report):
        return
    if is_dir:
        manifests = sorted(path.rglob("*.p5m"))
        if not manifests:
            report.add(InputError("no *.p5m manifests in this directory"), path)
        for manifest in manifests:
            lint_manifest(manifest, report)
    elif path.suffix == ".toml" and _is_site_file(path):
        lint_site(path, report)
    elif path.suffix == ".toml":
        lint_fleet(path, report)
    else:
        lint_manifest(path, report)


def lint_source(path: Path, report: LintReport) -> bool:
    """A pkg(5) file repository or catalog/1 directory, linted as the fleet
    file's ``[[source]]`` reads it; False for any other directory."""
    from resolver.model import Source
    from resolver.sources import load_source, source_files, source_kind

    source = Source(str(path))
    if source_kind(source) == "directory":
        return False
    try:
        report.files += len(source_files(source))
        load_source(source)
    except InputError as err:
        report.add(err, path)
    except OSError as err:
        report.add(InputError(f"cannot read: {err.strerror or err}"), path)
    return True


def _read(path: Path, report: LintReport) -> str | None:
    """A file's text, or None (and an error) if it cannot be read as UTF-8.
    Only a regular file is read (resolver.fleet.read_text): a FIFO would block."""
    from resolver.fleet import read_text

    report.files += 1
    try:
        return read_text(path)
    except InputError as err:
        report.add(err, path)
    return None


def lint_manifest(path: Path, report: LintReport) -> None:
    """Parse one manifest; record every error it has."""
    from resolver.manifest import parse_package

    text = _read(path, report)
    if text is None:
        return
    try:
        parse_package(text, str(path))
    except InputError as err:
        report.add(err, path)


def lint_fleet(path: Path, report: LintReport) -> None:
    """Validate a fleet file, then load its sources and inline manifests."""
    from resolver.fleet import parse_fleet_document

    text = _read(path, report)
    if text is None:
        return
    try:
        _load_catalog(parse_fleet_document(text, str(path))[0], None, Silent())
    except InputError as err:
        report.add(err, path)


# ---------------------------------------------------------------------------
# site: every host of a site file (resolver.site)

SITE_HELP = """\
Run a planning verb on every host of a site file: each host is planned as
'zonesolve VERB --fleet FILE' plans it alone, the catalogs the hosts share
are parsed once, and the hosts are planned in parallel on Dask (a local
cluster, or the one at --scheduler). Exit status: the worst host's, from best
to worst 4 (nothing to do anywhere), 0 (changes planned; audit: all in sync),
52 (audit: a zone diverged), 1 (a host has no plan, bad input, or was lost).
"""


def _non_negative_int(text: str) -> int:
    """``--workers``: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _add_site_options(parser: argparse.ArgumentParser, group: argparse._ArgumentGroup) -> None:
    """The site file and where its hosts are planned."""
    group.add_argument(
        "--site", default="site.toml", type=_path, metavar="FILE", help="the site file (default: ./site.toml)"
    )
    parser.set_defaults(root=None, zones=None)  # a site's hosts are fleet files
    where = parser.add_argument_group("where the hosts are planned")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)",
    )
    where.add_argument(
        "--workers",
        type=_non_negative_int,
        metavar="N",
        help="local worker processes (default: one per CPU; a handful of hosts: none); "
        "0: plan in this process",
    )


def _add_site(subparsers: Any) -> None:
    """``zonesolve site VERB ...``: one subcommand per planning verb."""
    site = subparsers.add_parser(
        "site",
        help="run a planning verb on every host of a site file (on Dask)",
        description=SITE_HELP,
        epilog="examples:\n  zonesolve site update -r --site site.toml\n"
        "  zonesolve site audit --format json -o audit.json\n"
        "  zonesolve site update -r --scheduler tcp://10.0.0.5:8786",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    site.set_defaults(command="site")
    verbs = site.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        _add_verb(verbs, verb, site=True)


def run_site(ns: argparse.Namespace) -> int:
    """Plan every host of the site; write one document; exit with the worst host's status."""
    from resolver.site import Output, Runner, host_errors, plan_site, site_json, site_text
    from resolver.sitefile import load_site

    output = Output(ns.format, ns.verbose, ns.stats)
    runner = Runner(ns.scheduler, ns.workers, _cache_dir(ns))
    progress = reporter("text" if ns.output else ns.format)  # a file for the output: show progress
    try:
        if not Path(ns.site).is_file():
            hint = " (give one with --site FILE)" if ns.site == "site.toml" else ""
            raise InputError(f"site file not found: {ns.site}{hint}")
        report = plan_site(load_site(ns.site), operation(ns), output, runner, progress)
    except ZonesolveError as err:
        _report_errors([err], ns.verbose)
        return EXIT_ERROR
    except Exception as exc:
        _report_errors([_internal(exc, ns.verbose)], ns.verbose)
        return EXIT_ERROR
    finally:
        progress.close()
    if ns.format == "pkg-parsable":  # the text summary carries the errors; here stderr does
        for name, errors in host_errors(report).items():
            sys.stderr.write("".join(f"{name}: {line}\n" for line in errors.splitlines()))
    text = site_text(report) if ns.format == "text" else site_json(report)
    if ns.output is None:
        sys.stdout.write(text)
        return report.status
    return _write_output(ns.output, text, report.status, False)


def _is_site_file(path: Path) -> bool:
    """True if a .toml file is a site file (it lists [[host]] tables)."""
    from resolver.fleet import read_text
    from resolver.sitefile import is_site_document

    try:  # only a regular file is read (a FIFO would block): lint_fleet reports the rest
        return is_site_document(read_text(path))
    except InputError:
        return False


def lint_site(path: Path, report: LintReport) -> None:
    """Validate a site file, every host's fleet file and every shared source."""
    from resolver.site import check_site
    from resolver.sitefile import load_site

    if _read(path, report) is None:
        return
    try:
        site = load_site(str(path))
    except InputError as err:
        report.add(err, path)
        return
    report.files += len(site.hosts)
    for problem in check_site(site):
        report.add(problem, path)
