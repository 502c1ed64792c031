"""Zones solved in worker processes: the same plan as in one process, and
failures reported as a serial run would report them."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

from resolver import workers
from resolver.api import plan
from resolver.errors import Fact, NoSolution, SolveTimeout
from resolver.fleet import load_fleet
from resolver.model import Operation, Verb
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
