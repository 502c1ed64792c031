"""Zones solved in worker processes: the same plan as in one process, and
failures reported as a serial run would report them."""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from resolver import workers
from resolver.api import plan
from resolver.errors import Fact, NoSolution, SolveTimeout
from resolver.fleet import load_fleet
from resolver.model import Brand, Operation, Verb
from resolver.render import to_json
from resolver.sources import load_catalog

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

from bench import fleetgen  # noqa: E402

needs_fork = pytest.mark.skipif(not workers.can_fork(), reason="this platform cannot fork worker processes")


def square(i: int) -> int:
    return i * i


def fail_at_3_and_7(i: int) -> int:
    if i in (3, 7):
        facts = [Fact("parent", f"because of {i}", f"z{i}")]
        raise NoSolution(f"zone {i} cannot follow", facts, image=f"z{i}")
    return i


@needs_fork
def test_results_come_back_in_task_order() -> None:
    seen: list[tuple[int, int]] = []
    out = workers.run_all(square, 40, jobs=2, progress=lambda _p, done, total: seen.append((done, total)))
    assert out == [i * i for i in range(40)]
    assert seen[-1] == (40, 40) and len(seen) == 40


@needs_fork
@pytest.mark.parametrize("jobs", [1, 2])
def test_the_first_failure_in_task_order_is_raised(jobs: int) -> None:
    with pytest.raises(NoSolution) as caught:
        workers.run_all(fail_at_3_and_7, 12, jobs=jobs)
    err = caught.value
    assert (err.message, err.image) == ("zone 3 cannot follow", "z3")
    assert [f.text for f in err.facts] == ["because of 3"]


def test_errors_survive_pickling() -> None:
    err = NoSolution("no plan", [Fact("require", "a needs b", "z1", "a@1")], image="z1")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is NoSolution and back.to_json() == err.to_json() and str(back) == str(err)
    timeout = pickle.loads(pickle.dumps(SolveTimeout("late")))
    assert type(timeout) is SolveTimeout and timeout.kind == "timeout"


def test_few_tasks_or_one_job_stay_in_process() -> None:
    assert workers._workers(workers.MIN_PARALLEL_TASKS - 1, None) == 1
    assert workers._workers(100, 1) == 1
    assert workers._workers(1, 4) == 1


LEAVES = """
[[manifest]]
text = "set name=pkg.fmri value=pkg://a/leaf@1.0,5.11-0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://a/other@1.0,5.11-0"
[[manifest]]
text = "set name=pkg.fmri value=pkg://a/other@2.0,5.11-0"
[[image]]
name = "global"
publishers = ["a"]
installed = ["pkg://a/leaf@1.0,5.11-0"]
[[image]]
name = "z1"
parent = "global"
brand = "lipkg"
publishers = ["a"]
installed = ["pkg://a/leaf@1.0,5.11-0"]
[[image]]
name = "z2"
parent = "global"
brand = "lipkg"
publishers = ["a"]
installed = ["pkg://a/other@1.0,5.11-0"]
[[image]]
name = "z3"
parent = "global"
brand = "sparse"
publishers = ["a"]
installed = ["pkg://a/other@2.0,5.11-0", "pkg://a/leaf@1.0,5.11-0"]
"""


@needs_fork
@pytest.mark.parametrize("jobs", [2, 3])
def test_dependency_free_leaves_plan_alike_in_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Single-version packages with no dependencies get their variables when
    the class is encoded, not lazily in a worker: a worker's numbering once
    differed from the parent's, and its selections decoded to other packages
    (issue 9: KeyError, or a plan the verifier rejected)."""
    monkeypatch.setattr(workers, "MIN_PARALLEL_TASKS", 0)
    path = tmp_path / "fleet.toml"
    path.write_text(LEAVES)
    fleet = load_fleet(path)
    catalog = load_catalog(fleet, use_cache=False)
    op = Operation(Verb.UPDATE, recursive=True)
    serial = plan(fleet, catalog, op, jobs=1)
    assert serial.outcome.value == "ok" and not serial.errors
    assert [str(new) for _, new in serial.images["z2"].changed] == ["pkg://a/other@2.0,5.11-0"]
    assert to_json(plan(fleet, catalog, op, jobs=jobs)) == to_json(serial)
    assert to_json(plan(fleet, catalog, op, jobs=None)) == to_json(serial)  # default: threshold 0


def test_no_keyed_variable_is_created_after_encoding() -> None:
    """What crosses processes is numbered before any fork: the formula refuses
    a new keyed variable once the class is encoded."""
    from resolver.sat import Formula

    formula = Formula()
    first = formula.var(("c", "a"))
    formula.seal()
    assert formula.var(("c", "a")) == first
    assert formula.fresh() == first + 1  # unkeyed scratch stays allowed
    with pytest.raises(AssertionError, match="after the formula was sealed"):
        formula.var(("c", "b"))


@needs_fork
def test_a_fleet_gets_the_same_plan_with_any_number_of_workers(tmp_path: Path) -> None:
    fleetgen.generate("small", 11, tmp_path)
    fleet = load_fleet(tmp_path / "fleet.toml")
    catalog = load_catalog(fleet, use_cache=False)
    op = Operation(Verb.UPDATE, recursive=True)
    one = plan(fleet, catalog, op, jobs=1)
    two = plan(fleet, catalog, op, jobs=2)
    assert one.outcome.value == "ok"
    assert to_json(one) == to_json(two)


# -- the pool that keeps zones from the global zone's checks to the zones' plans ------------------

_MEMORY: dict[int, int] = {}


def remember_then_recall(
    kind: str, arg: object, share: list[int], tick: Callable[[], None]
) -> dict[int, object]:
    """Round "remember" stores i * arg per index, "recall" reads it back, "fail" raises at 5."""
    out: dict[int, object] = {}
    for i in share:
        if kind == "remember":
            _MEMORY[i] = i * int(str(arg))
        elif kind == "fail" and i == 5:
            raise SolveTimeout("late")
        out[i] = (_MEMORY.get(i), os.getpid())
        tick()
    return out


@needs_fork
def test_pool_workers_keep_what_they_built_between_rounds() -> None:
    ticks: list[int] = []
    with workers.Pool(remember_then_recall, 10, jobs=2) as pool:
        pool.run("remember", 3)
        recalled = pool.run("recall", None, lambda _p, done, _t: ticks.append(done), "recalling")
        with pytest.raises(SolveTimeout):
            pool.run("fail", None)
    assert {i: value for i, (value, _) in recalled.items()} == {i: 3 * i for i in range(10)}
    assert len({pid for _, pid in recalled.values()} - {os.getpid()}) == 2  # two workers, not this process
    assert ticks[-1] == 10
    assert not _MEMORY  # all of it happened in the workers


def test_pool_with_one_job_runs_here() -> None:
    with workers.Pool(remember_then_recall, 4, jobs=1) as pool:
        out = pool.run("remember", 2)
    assert {i: value for i, (value, _) in out.items()} == {0: 0, 1: 2, 2: 4, 3: 6}
    _MEMORY.clear()


@needs_fork
def test_the_first_zone_that_cannot_follow_is_reported_with_any_number_of_workers() -> None:
    from tests.test_zone_properties import SELF, Case, Spec, Zone

    specs = (Spec("a", "1.0", (SELF,)), Spec("a", "2.0", (SELF,)))
    zones = tuple(
        Zone(f"z{k}", Brand.LIPKG, (("a", "1.0"),), ("a@1.0",) if k in (2, 4) else ()) for k in range(1, 6)
    )
    case = Case(specs, (("a", "1.0"),), zones, Verb.UPDATE, (), recursive=True)
    failures = []
    for jobs in (1, 2):
        result = plan(case.fleet(), case.catalog(), case.op(parent_first=True), jobs=jobs)
        assert result.outcome.value == "fail"
        failures.append([(e.kind, e.image, e.message) for e in result.errors])
    assert failures[0] == failures[1] and failures[0][0][1] == "z2"


@needs_fork
@pytest.mark.parametrize("shape", ["drift", "stress", "diverse", "random"])
def test_every_shape_gets_the_same_plan_with_1_2_and_3_workers(tmp_path: Path, shape: str) -> None:
    """Shapes our default fleets do not have (new versions adding targets,
    uninstallable newest versions, dependency-free leaves, many templates,
    zones that need what the global zone lacks): the same JSON whatever the
    number of worker processes."""
    fleetgen.generate("small", 5, tmp_path, fleetgen.parse_shape(shape, 5))
    fleet = load_fleet(tmp_path / "fleet.toml")
    catalog = load_catalog(fleet, use_cache=False)
    op = Operation(Verb.UPDATE, recursive=True)
    outputs = {to_json(plan(fleet, catalog, op, jobs=jobs)) for jobs in (1, 2, 3)}
    assert len(outputs) == 1
    assert '"outcome": "ok"' in outputs.pop()


@pytest.mark.parametrize("shape", ["default", "drift", "stress"])
def test_one_call_update_all_matches_the_stages_on_generated_fleets(tmp_path: Path, shape: str) -> None:
    """The one-call path of update-all (ImageRun._all_at_once) against the
    stages run one by one, on fleets of hundreds of packages a zone."""
    from unittest import mock

    from resolver.image_solver import ImageRun

    fleetgen.generate("small", 7, tmp_path, fleetgen.parse_shape(shape, 7))
    fleet = load_fleet(tmp_path / "fleet.toml")
    catalog = load_catalog(fleet, use_cache=False)
    op = Operation(Verb.UPDATE, recursive=True)
    fast = to_json(plan(fleet, catalog, op, jobs=1))
    with mock.patch.object(ImageRun, "_all_at_once", return_value=None):
        staged = to_json(plan(fleet, catalog, op, jobs=1))
    assert fast == staged
