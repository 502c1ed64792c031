"""The published JSON Schema (resolver/schema/plan.schema.json, `zonesolve schema`).

conftest.py validates every JSON output of the suite against it; these tests
check the schema itself: it is a valid draft 2020-12 schema, shipped in the
package, printed by `zonesolve schema`, and it rejects outputs that break the
contract (so that the validation of every other test means something).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import validator
from jsonschema import Draft202012Validator

from resolver.output_schema import SCHEMA_PATH, schema, schema_text

if TYPE_CHECKING:
    from conftest import RunCli

DEMO = Path(__file__).resolve().parent.parent / "manifests" / "demo-fleet.toml"


def test_the_schema_is_draft_2020_12_and_shipped_in_the_package() -> None:
    assert files("resolver").joinpath(SCHEMA_PATH).is_file()
    published = schema()
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(published)
    assert {
        "result",
        "operation",
        "image-plan",
        "error",
        "fact",
        "why",
        "site",
        "pkg-parsable",
        "cache",
    } <= set(published["$defs"])


def test_zonesolve_schema_prints_it(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("schema")
    assert run.code == 0 and run.out == schema_text()
    out = tmp_path / "schema.json"
    assert run_cli("schema", "-o", str(out)).code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema()


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    """A real plan: update -r on the demo host."""
    import io
    from contextlib import redirect_stdout

    from resolver.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["update", "-r", "--fleet", str(DEMO), "--format", "json", "--no-cache"]) == 0
    obj: dict[str, Any] = json.loads(out.getvalue())
    return obj


def _failure() -> dict[str, Any]:
    return {
        "version": 1,
        "outcome": "fail",
        "operation": {
            "verb": "install",
            "args": ["foo"],
            "image": "global",
            "recursive": False,
            "global_only": False,
            "parent_first": False,
        },
        "images": {},
        "order": [],
        "errors": [
            {
                "kind": "no-solution",
                "message": "install foo in the global zone: no plan satisfies every rule",
                "image": "global",
                "explanation": [
                    {
                        "rule": "require",
                        "text": "foo@1.0 requires bar, but no source has bar",
                        "image": "global",
                        "package": "pkg://test/foo@1.0",
                        "dependency": "require bar",
                        "versions": [],
                        "zones": [],
                        "setting": None,
                    }
                ],
                "fixes": [],
                "zones": [],
            }
        ],
    }


def test_real_outputs_validate(plan: dict[str, Any]) -> None:
    assert validator().is_valid(plan)
    assert validator().is_valid(_failure())


Mutation = Callable[[dict[str, Any]], None]


def _first_image(obj: dict[str, Any]) -> dict[str, Any]:
    image: dict[str, Any] = obj["images"][obj["order"][0]]
    return image


PLAN_MUTATIONS: dict[str, Mutation] = {
    "unknown top-level key": lambda o: o.update(extra=1),
    "another version": lambda o: o.update(version=2),
    "unknown outcome": lambda o: o.update(outcome="maybe"),
    "ok with an error": lambda o: o["errors"].append({"kind": "input", "message": "x", "image": None}),
    "an FMRI without publisher": lambda o: _first_image(o)["change-packages"][0].__setitem__(0, "pkg:/a@1"),
    "a change of three FMRIs": lambda o: _first_image(o)["change-packages"][0].append("pkg://p/a@1"),
    "a held-back without because": lambda o: _first_image(o)["held-back"][0].pop("because"),
    "audit key outside audit": lambda o: o.update(audit={}),
    "stats that are not numbers": lambda o: o.update(stats={"solve-seconds": "fast"}),
    "operation without verb": lambda o: o["operation"].pop("verb"),
}
FAILURE_MUTATIONS: dict[str, Mutation] = {
    "fail without errors": lambda o: o["errors"].clear(),
    "no-solution without explanation": lambda o: o["errors"][0].pop("explanation"),
    "input error with an explanation": lambda o: o["errors"][0].update(kind="input"),
    "unknown error kind": lambda o: o["errors"][0].update(kind="oops"),
    "a fact without its package key": lambda o: o["errors"][0]["explanation"][0].pop("package"),
}


@pytest.mark.parametrize("name", PLAN_MUTATIONS)
def test_the_schema_rejects_a_broken_plan(plan: dict[str, Any], name: str) -> None:
    broken = copy.deepcopy(plan)
    PLAN_MUTATIONS[name](broken)
    assert not validator().is_valid(broken)


@pytest.mark.parametrize("name", FAILURE_MUTATIONS)
def test_the_schema_rejects_a_broken_failure(name: str) -> None:
    broken = _failure()
    FAILURE_MUTATIONS[name](broken)
    assert not validator().is_valid(broken)


def test_audit_needs_its_audit_table(run_cli: RunCli) -> None:
    run = run_cli("audit", "--fleet", str(DEMO), "--format", "json", "--no-cache")
    obj = json.loads(run.out)
    assert validator().is_valid(obj)
    del obj["audit"]
    assert not validator().is_valid(obj)


def test_pkg_parsable_document(run_cli: RunCli) -> None:
    run = run_cli("update", "-r", "--fleet", str(DEMO), "--format", "pkg-parsable", "--no-cache")
    obj = json.loads(run.out)
    assert validator("pkg-parsable").is_valid(obj)
    assert not validator().is_valid(obj)  # not a --format json document
    obj["child-images"][0]["affect-services"] = ["svc:/network/http"]
    assert not validator("pkg-parsable").is_valid(obj)


def test_why_document(run_cli: RunCli) -> None:
    """zonesolve why --format json has its own document; a broken one is refused."""
    run = run_cli("why", "web/server/haproxy", "--fleet", str(DEMO), "--format", "json", "--no-cache")
    obj = json.loads(run.out)
    assert validator("why").is_valid(obj)
    assert not validator("result").is_valid(obj)
    image = obj["why"]["images"]["global"]
    broken = copy.deepcopy(obj)
    next(iter(broken["why"]["images"].values()))["because"] = [{"rule": "require", "text": "x"}]
    assert not validator("why").is_valid(broken)
    assert image["because"], "haproxy is installed in the global zone: something keeps it there"


def test_every_rule_is_in_the_schema() -> None:
    """A step's rule is one of resolver.reasons.Rule, all of them listed."""
    from resolver.reasons import Rule

    assert schema()["$defs"]["rule"]["enum"] == [r.value for r in Rule]


def test_site_is_reserved() -> None:
    """Nothing validates as site: each host's document is a result (checked per host)."""
    assert not validator("site").is_valid({})
