"""``zonesolve site``: every host of a generated site planned on a real Dask
LocalCluster (two worker processes, started here and torn down), compared
with planning each host alone; failures stay with their host; a worker
killed mid-run loses no host's result.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from resolver.errors import InputError
from resolver.model import Operation, Verb
from resolver.site import SEVERITY, HostReport, Output, Runner, SiteReport, plan_site, site_json
from resolver.sitefile import load_site
from tests.conftest import RunCli

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

from bench.sitegen import generate_site, subsite  # noqa: E402

distributed = pytest.importorskip("distributed")

#: Zones per generated host: small ones, and one with enough distinct zones
#: that planning it alone would use the zone pool (forked processes).
ZONES = [3, 2, 3, 17, 2, 3]
UPDATE_R = Operation(Verb.UPDATE, (), None, recursive=True)

NO_PLAN = """\
[[manifest]]
text = '''
set name=pkg.fmri value=pkg://local/app@1.0,5.11-0:20240101T000000Z
depend type=require fmri=pkg:/lib@2.0
'''

[[manifest]]
text = "set name=pkg.fmri value=pkg://local/lib@1.0,5.11-0:20240101T000000Z"

[[image]]
name = "global"
publishers = ["local"]
installed = ["pkg://local/app@1.0,5.11-0:20240101T000000Z", "pkg://local/lib@1.0,5.11-0:20240101T000000Z"]
"""


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated site: six hosts of the small preset over one shared catalog."""
    out = tmp_path_factory.mktemp("site")
    generate_site(len(ZONES), 1, out, zones=ZONES, preset="small")
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real LocalCluster of two worker processes; its scheduler's address."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def reference(site_dir: Path, cache: str) -> str:
    """The site's ``update -r`` JSON, planned in this process (no Dask)."""
    site = load_site(site_dir / "site.toml")
    return site_json(plan_site(site, UPDATE_R, Output(), Runner(workers=0, cache_dir=cache)))


def hosts_of(site_dir: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted((site_dir / "hosts").glob("*.toml"))}


def test_every_host_plans_as_it_does_alone(
    run_cli: RunCli, site_dir: Path, cache: str, cluster: str, reference: str
) -> None:
    """Per host, the site's JSON object is the single-host command's, with its
    exit status; the whole document is the same bytes on the cluster and in
    this process (whatever the number of workers)."""
    site = str(site_dir / "site.toml")
    common = ["--format", "json", "--cache-dir", cache]
    on_cluster = run_cli("site", "update", "-r", "--site", site, "--scheduler", cluster, *common)
    assert on_cluster.out == reference
    doc = json.loads(on_cluster.out)
    assert sorted(doc["hosts"]) == sorted(hosts_of(site_dir))
    for name, fleet in hosts_of(site_dir).items():
        alone = run_cli("update", "-r", "--fleet", str(fleet), *common)
        assert doc["hosts"][name] == json.loads(alone.out), name
        assert doc["exit-status"][name] == alone.code
    assert on_cluster.code == max(doc["exit-status"].values(), key=SEVERITY.index)
    # The 17-zone host would fork a zone pool alone; in a (daemonic) Dask
    # worker it must not, and it must still be planned.
    big = next(
        name for name, fleet in hosts_of(site_dir).items() if fleet.read_text().count("[[image]]") == 18
    )
    assert doc["hosts"][big]["outcome"] == "ok"


def test_relative_paths_mean_the_same_to_workers(
    run_cli: RunCli, site_dir: Path, cache: str, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site file named relative to this directory, planned by workers
    started elsewhere (their working directory is not this one)."""
    monkeypatch.chdir(site_dir)
    run = run_cli("site", "update", "-r", "--scheduler", cluster, "--format", "json", "--cache-dir", cache)
    assert run.code == 0, run.out
    assert sorted(json.loads(run.out)["exit-status"].values()) == [0] * len(ZONES)


def test_workers_are_daemonic(cluster: str) -> None:
    """Why a host in a worker gets jobs=1: Dask's worker processes may not fork."""
    from distributed import Client

    with Client(cluster) as client:
        daemonic = client.run(lambda: multiprocessing.current_process().daemon)
    assert daemonic and all(daemonic.values())


def test_audit_on_every_host(run_cli: RunCli, site_dir: Path, cache: str) -> None:
    site = str(site_dir / "site.toml")
    run = run_cli("site", "audit", "--site", site, "--workers", "0", "--format", "json", "--cache-dir", cache)
    doc = json.loads(run.out)
    for name, fleet in hosts_of(site_dir).items():
        alone = run_cli("audit", "--fleet", str(fleet), "--format", "json", "--cache-dir", cache)
        assert doc["hosts"][name] == json.loads(alone.out)
        assert doc["exit-status"][name] == alone.code


@pytest.fixture(scope="module")
def troubled_site(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two good generated hosts, and three that fail each in its own way."""
    out = tmp_path_factory.mktemp("troubled")
    good = list(hosts_of(site_dir).items())[:2]
    (out / "no-plan.toml").write_text(NO_PLAN)
    (out / "bad-input.toml").write_text(NO_PLAN.replace('name = "global"', 'nam = "global"'))
    (out / "other").mkdir()
    (out / "unshared.toml").write_text('[[source]]\npath = "other"\n\n' + NO_PLAN)
    lines = [
        f'[[source]]\npath = "{site_dir / "catalog" / pub}"\npublisher = "{pub}"\n'
        for pub in ("omnios", "extra")
    ]
    fleets = [*good, ("no-plan", out / "no-plan.toml"), ("bad-input", out / "bad-input.toml")]
    fleets.append(("unshared", out / "unshared.toml"))
    lines += [f'[[host]]\nname = "{name}"\nfleet = "{path}"\n' for name, path in fleets]
    (out / "site.toml").write_text("\n".join(lines))
    return out


def test_a_host_failure_stays_with_that_host(
    run_cli: RunCli, troubled_site: Path, cache: str, cluster: str
) -> None:
    site = str(troubled_site / "site.toml")
    run = run_cli(
        "site",
        "update",
        "-r",
        "--site",
        site,
        "--scheduler",
        cluster,
        "--format",
        "json",
        "--cache-dir",
        cache,
    )
    assert run.code == 1
    doc = json.loads(run.out)
    status = doc["exit-status"]
    assert [status[n] for n in ("no-plan", "bad-input", "unshared")] == [1, 1, 1]
    assert sorted(v for n, v in status.items() if n not in ("no-plan", "bad-input", "unshared")) == [0, 0]
    hosts = doc["hosts"]
    assert [e["kind"] for e in hosts["no-plan"]["errors"]] == ["no-solution"]
    assert hosts["no-plan"]["images"]["global"]["change-packages"] == []
    bad = hosts["bad-input"]["errors"]
    assert [e["kind"] for e in bad] == ["input", "input"]
    assert any(f"{troubled_site / 'bad-input.toml'}:11:1:" in e["message"] for e in bad)
    unshared = hosts["unshared"]["errors"][0]
    assert unshared["kind"] == "input"
    assert unshared["message"].startswith(f"{troubled_site / 'unshared.toml'}:2:1: [[source]] #1, key 'path'")
    assert "is not one of the site's [[source]] tables" in unshared["message"]


def test_text_summary_per_host(run_cli: RunCli, troubled_site: Path, cache: str) -> None:
    site = str(troubled_site / "site.toml")
    run = run_cli("site", "update", "-r", "--site", site, "--workers", "0", "--cache-dir", cache)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == "site: 5 hosts: 2 with changes, 3 failed"
    by_host = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    assert by_host["no-plan"] == "error: update in the global zone: no plan satisfies every rule"
    assert by_host["bad-input"].startswith(f"error: {troubled_site / 'bad-input.toml'}:")
    good = [text for name, text in by_host.items() if name not in ("no-plan", "bad-input", "unshared")]
    assert len(good) == 2 and all(" images change: " in text and "to update" in text for text in good)
    verbose = run_cli("site", "update", "-r", "--site", site, "--workers", "0", "--cache-dir", cache, "-v")
    assert "== no-plan (exit 1)" in verbose.out
    assert "app@1.0-0 requires lib@2.0 or newer" in verbose.out


def test_exit_status_is_the_worst_hosts() -> None:
    def report(*statuses: int) -> SiteReport:
        out = SiteReport(UPDATE_R, Output())
        out.hosts = {f"h{i}": HostReport(f"h{i}", s, None, "", "") for i, s in enumerate(statuses)}
        return out

    assert report(4, 4).status == 4
    assert report(4, 0, 4).status == 0
    assert report(0, 52, 4).status == 52
    assert report(52, 1, 0).status == 1


def test_progress_counts_hosts(site_dir: Path, cache: str) -> None:
    seen: list[tuple[str, int, int]] = []
    site = load_site(subsite(site_dir, 2, site_dir / "site-2.toml"))
    plan_site(site, UPDATE_R, Output(), Runner(workers=0, cache_dir=cache), lambda *a: seen.append(a))
    assert seen == [("hosts", 0, 2), ("hosts", 1, 2), ("hosts", 2, 2)]


def test_an_unreachable_scheduler_is_a_clear_error(site_dir: Path, cache: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    runner = Runner(scheduler=address, cache_dir=cache, connect_seconds=0.5)
    with pytest.raises(InputError, match=f"cannot reach the Dask scheduler at {address}"):
        plan_site(load_site(site_dir / "site.toml"), UPDATE_R, Output(), runner)


def test_a_killed_worker_loses_no_host(site_dir: Path, cache: str, cluster: str, reference: str) -> None:
    """SIGKILL a worker while it plans a host: the scheduler re-runs its hosts
    on the other worker (and the restarted one); every host's result is the
    one an undisturbed run gives."""
    from distributed import Client

    site = load_site(site_dir / "site.toml")
    killed: list[list[object]] = []
    with Client(cluster) as watcher:
        pids = watcher.run(os.getpid)

        def kill_a_busy_worker(phase: str, done: int, total: int) -> None:
            if killed or done < 1:
                return
            busy = [(worker, keys) for worker, keys in watcher.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0][0]], signal.SIGKILL)
                killed.append(list(busy[0][1]))

        report = plan_site(
            site, UPDATE_R, Output(), Runner(scheduler=cluster, cache_dir=cache), kill_a_busy_worker
        )
    assert killed and killed[0], "no worker was busy when the first host finished"
    assert site_json(report) == reference
    assert all(host.status in (0, 4) for host in report.hosts.values())


def test_other_commands_do_not_import_dask(site_dir: Path, cache: str) -> None:
    """Dask is the site command's alone: planning one host and linting a site
    file never import it."""
    import subprocess

    fleet = min(hosts_of(site_dir).values(), key=lambda path: path.stat().st_size)
    code = (
        "import sys\n"
        "import resolver.site, resolver.sitefile\n"  # what `lint site.toml` imports
        "from resolver.cli import main\n"
        f"main(['update', '-r', '--fleet', {str(fleet)!r}, '--format', 'json', '--cache-dir', {cache!r}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert run.stdout.splitlines()[-1] == "[]"


def test_a_host_lost_too_often_is_reported_as_lost(site_dir: Path, cache: str) -> None:
    """With no failures allowed, the hosts on a killed worker are lost: each
    is reported as such (kind worker-lost, exit 1), and the others finish."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    site = load_site(subsite(site_dir, 3, site_dir / "site-3.toml"))  # three small hosts
    killed: list[str] = []
    quiet = logging.ERROR
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0", silence_logs=quiet) as local,
        Client(local) as watcher,
    ):
        pids = watcher.run(os.getpid)

        def kill_the_worker(phase: str, done: int, total: int) -> None:
            busy = [keys for keys in watcher.processing().values() if keys]
            if not killed and done >= 1 and busy:
                os.kill(next(iter(pids.values())), signal.SIGKILL)
                killed.extend(str(key) for key in busy[0])

        runner = Runner(scheduler=local.scheduler_address, cache_dir=cache)
        report = plan_site(site, UPDATE_R, Output(), runner, kill_the_worker)
    assert killed, "the worker was idle when the first host finished"
    doc = json.loads(site_json(report))
    outcomes = {
        name: (status, [e["kind"] for e in doc["hosts"][name]["errors"]])
        for name, status in doc["exit-status"].items()
    }
    lost = {name for name, outcome in outcomes.items() if outcome != (0, [])}
    # the hosts the worker held when it died (and any it was given just then) are lost, no other
    assert {site.hosts[int(key.rsplit("-", 1)[1])].name for key in killed} <= lost
    assert all(outcomes[name] == (1, ["worker-lost"]) for name in lost)
    assert len(lost) < len(outcomes)
