"""Plan every host of a site: one planning command, many global zones, on Dask.

A site (resolver.sitefile) lists hosts, each a fleet file, and the catalog
sources they share. ``plan_site`` runs one operation on every host and
returns a report per host:

- **Each source is parsed once.** This process reads each site source (from
  the on-disk cache when it is fresh, as its stored bytes: no rebuild here)
  and ships it to the workers once, broadcast (``Client.scatter``); a worker
  rebuilds it once and keeps it for every host it plans (``_Sources``).
  Measured on the medium catalog (30k versions, two workers): 0.59 s to
  broadcast the stored bytes and rebuild them, against 0.55 s for each
  worker to read the same cache entry itself (bench/test_site.py,
  ``test_ship_catalog``); rebuilding is most of both, and broadcasting needs
  no file system shared with the workers.
- **Hosts are independent tasks.** A host planned in a site goes through the
  steps of ``zonesolve VERB --fleet FILE`` (resolver.cli), so its output is
  exactly what planning it alone gives. Its failure (bad input, no plan, a
  bug) is its report, never the site's; a worker lost mid-task has its hosts
  re-run elsewhere by the scheduler (up to ``distributed.scheduler.allowed-
  failures`` times; then that host is reported as ``worker-lost``).
- **Where it runs.** ``scheduler``: an existing Dask cluster, by address.
  Otherwise a ``LocalCluster`` of worker processes (one per CPU), or this
  process alone for a handful of hosts (``IN_PROCESS_HOSTS``), where
  starting workers costs more than it saves.
- **No forking inside workers.** A Dask worker is a daemonic process, which
  may not start processes of its own: a host planned in a worker gets
  ``jobs=1`` (resolver.workers then runs everything in-process), and the
  worker never reads a source itself (reading a big directory forks).

Dask (``dask.distributed``) is imported only when a cluster is used, so the
rest of zonesolve does not pay for its import.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resolver import render
from resolver.cache import Cache, cache_disabled, decode_packages, default_cache_dir, gc_paused
from resolver.errors import InputError, InternalError, Location, ZonesolveError
from resolver.fleet import parse_fleet_document, read_text
from resolver.model import Fleet, Operation, Package, Source, Verb
from resolver.plan import Outcome, Result
from resolver.progress import Progress
from resolver.sitefile import Site

if TYPE_CHECKING:
    from distributed import Client, Future

    from resolver.catalog import Catalog
    from resolver.cli import Context

__all__ = [
    "IN_PROCESS_HOSTS",
    "SEVERITY",
    "HostJob",
    "HostReport",
    "Output",
    "Runner",
    "SiteReport",
    "WorkerLost",
    "check_site",
    "failed_report",
    "host_errors",
    "plan_site",
    "run_host",
    "site_json",
    "site_text",
    "unshared_sources",
]

#: Up to this many hosts, and with no scheduler or worker count asked for, a
#: site is planned in this process: starting, feeding and stopping two local
#: workers costs about 2 s on a quiet 2-core machine, and they beat this
#: process from about 5 medium hosts on (4 hosts: 3.6 s here, 3.3 s on two
#: workers; 8: 6.5 s, 5.6 s; 16: 12.2 s, 8.8 s; bench/test_site.py,
#: ``test_in_process_threshold``). On a machine busy with other work the
#: start costs more (about 14 hosts to break even, measured so).
IN_PROCESS_HOSTS = 4

#: Exit statuses from best to worst: the site's status is its worst host's.
#: 4 nothing to do anywhere; 0 some host has a plan with changes (or, for
#: audit, every zone is in sync); 52 an audit found a diverged zone; 1 some
#: host has no plan, bad input or was lost with its worker.
SEVERITY = (4, 0, 52, 1)

#: Decoded sources and built catalogs a worker keeps (a long-lived cluster
#: serves several runs; each run needs only its site's few sources).
_KEEP = 8

JSON_VERSION = 1


class WorkerLost(ZonesolveError):
    """The workers planning a host died too often (killed, out of memory, a crash)."""

    kind = "worker-lost"


class Where(StrEnum):
    """Where the hosts were planned."""

    IN_PROCESS = "in-process"
    LOCAL = "local-cluster"
    SCHEDULER = "scheduler"


@dataclass(frozen=True, slots=True)
class Output:
    """What each host renders: the command line's ``--format``, ``-v`` and ``--stats``."""

    format: str = "json"
    verbose: bool = False
    stats: bool = False


@dataclass(frozen=True, slots=True)
class Runner:
    """Where to plan: ``scheduler`` (an address), else ``workers`` local worker
    processes (0: this process; None: one per CPU, or this process for a
    handful of hosts). ``cache_dir``: a directory, None for the default
    cache, False for none (as the command line's --cache-dir / --no-cache)."""

    scheduler: str | None = None
    workers: int | None = None
    cache_dir: str | bool | None = None
    connect_seconds: float = 10.0  # how long to try reaching ``scheduler``


@dataclass(frozen=True, slots=True)
class HostJob:
    """One host's task: its fleet file's text travels with it, so that workers
    need not see the site's files."""

    name: str
    fleet: str  # the fleet file's absolute path: errors name it, its sources are relative to it
    text: str
    op: Operation
    output: Output
    cache_dir: str | bool | None = None  # for the fleet file's TOML parse, as Runner.cache_dir


@dataclass(frozen=True, slots=True)
class HostReport:
    """One host's answer: what ``zonesolve VERB --fleet FILE`` would write.

    ``document``: its stdout (the JSON, the pkg-parsable object, or the text;
    None where the single-host command writes nothing there: a failure
    outside JSON); ``errors``: its stderr; ``summary``: one line for people.
    """

    name: str
    status: int
    document: str | None
    errors: str
    summary: str


@dataclass
class SiteReport:
    """Every host's report, by name, and how the run went."""

    operation: Operation
    output: Output
    hosts: dict[str, HostReport] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The worst host's exit status (``SEVERITY``)."""
        return max((r.status for r in self.hosts.values()), key=SEVERITY.index, default=0)


# ---------------------------------------------------------------------------
# Sources, shipped once


@dataclass(frozen=True, slots=True)
class _Shard:
    """One site source's packages as shipped: in the cache's compact form
    (``data``), or as packages where that form cannot hold them or where
    they never leave this process."""

    path: str
    publisher: str | None
    digest: str  # names the content: a process rebuilds each content once
    data: bytes = b""
    packages: list[Package] | None = None


class _Sources:
    """A process's rebuilt sources and catalogs, kept across the hosts it plans.

    Rebuilding a 30k-version source takes a third of a second and building
    its catalog a tenth: a worker does each once per content, not per host.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packages: OrderedDict[str, list[Package]] = OrderedDict()
        self._catalogs: OrderedDict[tuple[str, ...], Catalog] = OrderedDict()

    def catalog(self, fleet: Fleet, shards: Sequence[_Shard]) -> Catalog:
        """The fleet's catalog from the shipped sources, as ``load_catalog`` builds it."""
        from resolver.sources import load_catalog

        by_source = {(s.path, s.publisher): s for s in shards}
        mine = [by_source.get((s.path, s.publisher)) for s in fleet.sources]
        key = tuple(s.digest if s else "" for s in mine)
        with self._lock:
            if not fleet.manifests and key in self._catalogs:
                self._catalogs.move_to_end(key)
                return self._catalogs[key]

            def packages_of(source: Source) -> Sequence[Package]:
                shard = by_source.get((source.path, source.publisher))
                if shard is None:
                    raise _not_shared(source)
                return self._rebuilt(shard)

            catalog = load_catalog(fleet, packages_of=packages_of)
            catalog.versions("")  # sorts every stem's versions now, not lazily in a planning thread
            if not fleet.manifests:  # a host's inline manifests make its catalog its own
                gc.freeze()  # kept for the hosts to come: out of later GC passes
                _keep(self._catalogs, key, catalog)
            return catalog

    def _rebuilt(self, shard: _Shard) -> list[Package]:
        if shard.packages is not None:
            return shard.packages
        packages = self._packages.get(shard.digest)
        if packages is None:
            packages = decode_packages(shard.data)
            _keep(self._packages, shard.digest, packages)
        return packages


def _keep(memo: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    """Remember ``value``, forgetting the least recently used beyond ``_KEEP``."""
    memo[key] = value
    while len(memo) > _KEEP:
        memo.popitem(last=False)


#: This process's sources (a Dask worker's, or the command's in-process run).
_SOURCES = _Sources()


def _not_shared(source: Source) -> InputError:
    """A fleet source that is not one of the site's: every host shares the site's parse."""
    where = source.where or Location(source.path)
    publisher = f", publisher {source.publisher}" if source.publisher else ""
    return InputError(
        f"this source ({source.path}{publisher}) is not one of the site's [[source]] tables: "
        "add it there, so that the hosts fed from it share one parse",
        where,
    )


def unshared_sources(site: Site, fleet: Fleet) -> list[InputError]:
    """The fleet's sources the site does not list (lint reports them)."""
    return [_not_shared(s) for s in fleet.sources if site.source_for(s) is None]


def _cache(cache_dir: str | bool | None) -> Cache | None:
    """The cache a Runner's ``cache_dir`` names (None: none), as resolver.sources decides."""
    if cache_dir is False or cache_disabled():
        return None
    directory = Path(cache_dir) if isinstance(cache_dir, str) else default_cache_dir()
    return Cache(directory) if directory is not None else None


def _shard(source: Source, cache: Cache | None) -> _Shard:
    """A site source read (or taken from the cache) in its shipped form."""
    from resolver.sources import load_source, load_source_encoded

    try:
        data = load_source_encoded(source, cache=cache)
    except ValueError:  # a value the compact form cannot hold: ship the packages
        packages = load_source(source, cache=cache)
        return _Shard(source.path, source.publisher, uuid.uuid4().hex, packages=packages)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    return _Shard(source.path, source.publisher, digest, data)


# ---------------------------------------------------------------------------
# One host


def run_host(
    job: HostJob, shards: Sequence[_Shard], jobs: int | None = 1, sources: _Sources | None = None
) -> HostReport:
    """Plan one host as ``zonesolve VERB --fleet FILE`` would; never raises.

    ``jobs``: worker processes for its zones (resolver.workers); always 1 in
    a daemonic process such as a Dask worker, which may not fork.
    ``sources``: where rebuilt sources are kept (default: this process's).
    """
    from resolver.cli import Context

    if multiprocessing.current_process().daemon:
        jobs = 1
    context = Context()
    started = time.monotonic()
    try:
        result = _plan_host(job, shards, jobs, sources or _SOURCES, context)
    except ZonesolveError as err:
        result = Result(job.op, Outcome.FAIL, errors=[err])
    except Exception as exc:  # a bug: this host's report says so, the others go on
        result = Result(job.op, Outcome.FAIL, errors=[InternalError(f"{type(exc).__name__}: {exc}")])
    context.stats["total-seconds"] = round(time.monotonic() - started, 4)
    return _report(job, result, context.parents, context.stats)


def _plan_host(
    job: HostJob, shards: Sequence[_Shard], jobs: int | None, sources: _Sources, context: Context
) -> Result:
    """The steps of ``resolver.cli.solve``, with the catalog from the shipped sources."""
    from resolver.api import plan
    from resolver.cli import _with_image

    begun = clock = time.monotonic()
    cache = _cache(job.cache_dir)
    fleet = parse_fleet_document(job.text, job.fleet, cache_dir=cache.directory if cache else None)[0]
    context.stats["fleet-seconds"] = _since(clock)
    op = _with_image(job.op, fleet)
    context.parents = {image.name: image.parent for image in fleet.images}
    clock = time.monotonic()
    catalog = sources.catalog(fleet, shards)
    context.stats["catalog-seconds"] = _since(clock)
    context.stats.update(images=len(fleet.images), packages=len(catalog))
    if op.timeout is not None:  # the solver gets what is left of the budget
        op = replace(op, timeout=max(op.timeout - (time.monotonic() - begun), 0.001))
    clock = time.monotonic()
    try:
        with gc_paused():
            return plan(fleet, catalog, op, jobs=jobs)
    finally:
        context.stats["plan-seconds"] = _since(clock)


def _since(clock: float) -> float:
    return round(time.monotonic() - clock, 4)


def _report(
    job: HostJob, result: Result, parents: dict[str, str | None] | None, stats: dict[str, Any]
) -> HostReport:
    """Render a host's result as the single-host command does (resolver.cli.emit)."""
    from resolver.cli import BUG_HINT, exit_status

    out = job.output
    if out.stats:
        result.stats = {**stats, **result.stats}
    blocking = render.blocking_errors(result)
    failed = bool(blocking) if result.operation.verb is Verb.AUDIT else bool(result.errors)
    failed = failed or result.outcome is Outcome.FAIL
    errors = ""
    if failed and out.format != "json":
        errors = render.errors_text(blocking, out.verbose)
    if any(isinstance(err, InternalError) for err in result.errors):
        errors += f"zonesolve: {BUG_HINT}\n"
    document: str | None = None
    if out.format == "json":
        document = render.to_json(result, stats=out.stats)
    elif not failed and out.format == "pkg-parsable":
        document = render.to_pkg_parsable(result, parents)
    elif not failed:
        document = render.to_text(result, out.verbose, parents)
        if out.stats:
            document += "".join(f"{key}: {result.stats[key]}\n" for key in sorted(result.stats))
    return HostReport(job.name, exit_status(result), document, errors, _summary(result, parents))


def _summary(result: Result, parents: dict[str, str | None] | None) -> str:
    """One line: the text output's headline (or first error), with the package counts."""
    first = render.to_text(result, False, parents).splitlines()
    line = first[0] if first else ""
    if result.outcome is Outcome.OK and result.operation.verb is not Verb.AUDIT:
        plans = result.images.values()
        counts = [
            (sum(len(p.added) for p in plans), "to install"),
            (sum(len(p.changed) for p in plans), "to update"),
            (sum(len(p.removed) for p in plans), "to remove"),
            (sum(len(p.held_back) for p in plans), "held back"),
        ]
        line = line.rstrip(".") + ": " + ", ".join(f"{n} {what}" for n, what in counts if n)
    return line


def failed_report(job: HostJob, err: ZonesolveError) -> HostReport:
    """The report of a host that could not be planned at all (unreadable, lost)."""
    return _report(job, Result(job.op, Outcome.FAIL, errors=[err]), None, {})


# ---------------------------------------------------------------------------
# The site


def plan_site(
    site: Site,
    op: Operation,
    output: Output,
    runner: Runner = Runner(),
    progress: Progress | None = None,
) -> SiteReport:
    """Plan ``op`` on every host of ``site``; a host's failure is its report.

    Raises ZonesolveError only for the site as a whole: a source that cannot
    be read, a scheduler that cannot be reached.
    """
    started = time.monotonic()
    report = SiteReport(op, output)
    jobs: list[HostJob] = []
    for host in site.hosts:
        # absolute: a worker's working directory is not this one (sources are resolved against it)
        job = HostJob(host.name, str(Path(host.fleet).absolute()), "", op, output, runner.cache_dir)
        try:
            jobs.append(replace(job, text=read_text(host.fleet)))
        except InputError as err:
            report.hosts[host.name] = failed_report(job, err)
    where = _where(runner, len(jobs))
    clock = time.monotonic()
    cache = _cache(runner.cache_dir)
    if where is Where.IN_PROCESS:
        _plan_here(site, jobs, cache, report, progress)
    else:
        shards = [_shard(source, cache) for source in site.sources]
        report.stats["read-sources-seconds"] = _since(clock)
        _plan_on_dask(jobs, shards, runner, report, progress)
    report.stats.update(
        {"hosts": len(site.hosts), "where": where.value, "total-seconds": _since(started)},
    )
    return report


def _where(runner: Runner, hosts: int) -> Where:
    if runner.scheduler is not None:
        return Where.SCHEDULER
    if runner.workers == 0 or (runner.workers is None and hosts <= IN_PROCESS_HOSTS):
        return Where.IN_PROCESS
    return Where.LOCAL


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress("hosts", done, total)


def _plan_here(
    site: Site, jobs: list[HostJob], cache: Cache | None, report: SiteReport, progress: Progress | None
) -> None:
    """Every host in this process, one after the other (each may use the zone pool)."""
    from resolver.sources import load_source

    shards = [
        _Shard(s.path, s.publisher, str(i), packages=load_source(s, cache=cache))
        for i, s in enumerate(site.sources)
    ]
    sources = _Sources()  # this run's: kept no longer than the run
    total = len(report.hosts) + len(jobs)
    _tick(progress, len(report.hosts), total)
    for job in jobs:
        report.hosts[job.name] = run_host(job, shards, jobs=None, sources=sources)
        _tick(progress, len(report.hosts), total)


def _plan_on_dask(
    jobs: list[HostJob],
    shards: list[_Shard],
    runner: Runner,
    report: SiteReport,
    progress: Progress | None,
) -> None:
    """Every host as a task of a Dask cluster, the sources broadcast first."""
    from distributed import as_completed

    total = len(report.hosts) + len(jobs)
    _tick(progress, len(report.hosts), total)  # while the workers start
    with _client(runner, len(jobs)) as client:
        report.stats["workers"] = len(client.scheduler_info(n_workers=-1)["workers"])
        clock = time.monotonic()
        shipped = [client.scatter(shard, broadcast=True, hash=False) for shard in shards]
        report.stats["ship-sources-seconds"] = _since(clock)
        run = uuid.uuid4().hex[:8]
        futures: dict[Future[HostReport], HostJob] = {
            client.submit(run_host, job, shipped, key=f"zonesolve-{run}-{i}", pure=False): job
            for i, job in enumerate(jobs)
        }
        for future in as_completed(futures):
            job = futures[future]
            report.hosts[job.name] = _collected(future, job)
            _tick(progress, len(report.hosts), total)


def _collected(future: Future[HostReport], job: HostJob) -> HostReport:
    """A finished task's report; a task that failed as a whole becomes the host's error."""
    from distributed import KilledWorker

    if future.status == "finished":
        return future.result()
    if future.status == "error":
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            message = "the workers planning this host were lost too often (killed, out of memory, crashed)"
            return failed_report(job, WorkerLost(message))
        return failed_report(job, InternalError(f"the task failed: {type(exc).__name__}: {exc}"))
    return failed_report(job, WorkerLost(f"the task was {future.status} (the scheduler lost it)"))


@contextmanager
def _client(runner: Runner, hosts: int) -> Iterator[Client]:
    """A Dask client: of the cluster at ``runner.scheduler``, or of a new local cluster."""
    from distributed import Client, LocalCluster

    if runner.scheduler is not None:
        try:
            client = Client(runner.scheduler, timeout=runner.connect_seconds)
        except (OSError, TimeoutError) as err:
            raise InputError(f"cannot reach the Dask scheduler at {runner.scheduler}: {err}") from None
        with client:
            yield client
        return
    workers = runner.workers or min(_cpus(), hosts)
    cluster = LocalCluster(
        n_workers=max(1, workers),
        threads_per_worker=1,  # planning is CPU-bound Python: one host per process at a time
        processes=True,
        dashboard_address=":0",  # any free port: None still binds the default 8787 (for /health)
        # Dask's own logs are noise here (e.g. a heartbeat that races the
        # shutdown); what happens to a host is in its report
        silence_logs=logging.CRITICAL,
    )
    with cluster, Client(cluster) as client:
        yield client


def _cpus() -> int:
    from resolver.workers import default_jobs

    return default_jobs()


# ---------------------------------------------------------------------------
# Output


def site_json(report: SiteReport) -> str:
    """One JSON object: every host's output under its name, and their exit statuses.

    With ``--format json`` a host's object is exactly the single-host JSON;
    with pkg-parsable it is pkg(1)'s plan object (null for a host with no
    plan). Sorted: the same input gives the same bytes, whatever the workers.
    """
    hosts: dict[str, Any] = {}
    for name, host in report.hosts.items():
        hosts[name] = json.loads(host.document) if host.document is not None else None
    obj: dict[str, Any] = {
        "version": JSON_VERSION,
        "hosts": hosts,
        "exit-status": {name: host.status for name, host in report.hosts.items()},
    }
    if report.output.stats:
        obj["stats"] = report.stats
    return json.dumps(obj, sort_keys=True, indent=2) + "\n"


def site_text(report: SiteReport) -> str:
    """A line per host (its headline or first error) under a tally; with -v
    each host's whole text and errors follow."""
    names = sorted(report.hosts)
    tally: dict[int, int] = {}
    for host in report.hosts.values():
        tally[host.status] = tally.get(host.status, 0) + 1
    labels = {0: "with changes", 4: "nothing to do", 52: "diverged", 1: "failed"}
    if report.operation.verb is Verb.AUDIT:
        labels[0] = "in sync"
    parts = [f"{tally[s]} {labels.get(s, f'exit {s}')}" for s in SEVERITY if s in tally]
    lines = [f"site: {_count(len(names), 'host')}: " + ", ".join(parts)]
    width = max((len(n) for n in names), default=0)
    lines += [f"  {name:<{width}}  {report.hosts[name].summary}" for name in names]
    if report.output.verbose:
        for name in names:
            host = report.hosts[name]
            lines += ["", f"== {name} (exit {host.status})"]
            lines += (host.document or "").splitlines() + host.errors.splitlines()
    if report.output.stats:
        lines += [""] + [f"{key}: {report.stats[key]}" for key in sorted(report.stats)]
    return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def host_errors(report: SiteReport) -> Mapping[str, str]:
    """What each host would have written on stderr, for the hosts that wrote anything."""
    return {name: r.errors for name, r in sorted(report.hosts.items()) if r.errors}


# ---------------------------------------------------------------------------
# lint


def check_site(site: Site, cache_dir: str | bool | None = None) -> list[InputError]:
    """Every problem of a valid site file's hosts and sources: each fleet file
    (as ``zonesolve lint`` checks one), each fleet source the site does not
    list, each inline manifest, and each shared source read once."""
    from resolver.fleet import load_fleet
    from resolver.sources import load_inline, load_source

    problems: list[InputError] = []
    cache = _cache(cache_dir)
    for host in site.hosts:
        try:
            fleet = load_fleet(host.fleet, cache_dir=cache.directory if cache else None)
        except InputError as err:
            problems.append(err)
            continue
        problems += unshared_sources(site, fleet)
        for text in fleet.manifests:
            try:
                load_inline(text)
            except InputError as err:
                problems.append(err)
    for source in site.sources:
        try:
            load_source(source, cache=cache)
        except InputError as err:
            problems.append(err)
    return problems
