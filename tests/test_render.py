"""render.py: Results built by hand, rendered as JSON, pkg(1) parsable plans and text.

Canonical outputs are golden files in tests/golden/; after an intended change,
regenerate them with ``ZONESOLVE_UPDATE_GOLDEN=1 pytest tests/test_render.py``
and read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from resolver import render
from resolver.errors import Diverged, Fact, InputError, InputErrors, Location, NoSolution
from resolver.fmri import Fmri, parse_fmri
from resolver.model import Operation, Verb
from resolver.plan import HeldBack, ImagePlan, Outcome, Result

GOLDEN = Path(__file__).parent / "golden"
PARENTS: dict[str, str | None] = {
    "global": None,
    "web1": "global",
    "web2": "global",
    "web3": "global",
    "db1": "global",
    "db2": "global",
}


def f(text: str) -> Fmri:
    """A full FMRI from the omnios publisher: ``f("web/curl@8.4")``."""
    return parse_fmri(f"pkg://omnios/{text},5.11-151046.0:20240101T000000Z")


def plan(name: str, before: list[Fmri], after: list[Fmri], **kw: object) -> ImagePlan:
    """An ImagePlan from lists of FMRIs."""
    return ImagePlan(name, {x.stem: x for x in before}, {x.stem: x for x in after}, **kw)  # type: ignore[arg-type]


def zone_plans() -> dict[str, ImagePlan]:
    """Two zones that update curl, one that removes a package, two unchanged."""
    curl = [f("web/curl@8.4")], [f("web/curl@8.5")]
    return {
        "web1": plan("web1", *curl),
        "web2": plan("web2", *curl),
        "web3": plan("web3", [f("library/old@1.0"), f("web/curl@8.5")], [f("web/curl@8.5")]),
        "db1": plan("db1", [f("web/curl@8.5")], [f("web/curl@8.5")]),
        "db2": plan("db2", [f("web/curl@8.5")], [f("web/curl@8.5")]),
    }


def update_result() -> Result:
    """``update -r`` in the global zone: an install, an update, a removal, a hold."""
    nginx = f("web/server/nginx@1.24.0")
    held = HeldBack("web/server/nginx", nginx, f("web/server/nginx@1.26.0"), "frozen at 1.24")
    global_plan = plan(
        "global",
        [f("web/curl@8.4"), f("library/old@1.0"), nginx, f("library/zlib@1.3")],
        [f("web/curl@8.5"), f("library/foo@2.0"), nginx, f("library/zlib@1.2")],
        held_back=(held,),
    )
    order = ["global", "db1", "db2", "web1", "web2", "web3"]
    op = Operation(Verb.UPDATE, (), image="global", recursive=True)
    return Result(op, Outcome.OK, {"global": global_plan, **zone_plans()}, order)


def failure_result() -> Result:
    """``install`` that cannot be satisfied: an explanation of eight steps."""
    facts = [Fact("request", "install web/app@2.0 was requested", "global", "web/app")]
    facts += [
        Fact("require", f"web/app@2.0 requires library/l{i}@1", "global", f"library/l{i}") for i in range(6)
    ]
    facts.append(Fact("parent", "library/l5@1 must match the global zone\nin every zone", "web1"))
    error = NoSolution("no plan installs web/app@2.0", facts, image="global")
    return Result(Operation(Verb.INSTALL, ("web/app@2.0",), image="global"), Outcome.FAIL, errors=[error])


def nothing_result() -> Result:
    """``update`` with nothing to do, one package held back."""
    nginx = f("web/server/nginx@1.24.0")
    held = HeldBack("web/server/nginx", nginx, f("web/server/nginx@1.26.0"), "frozen at 1.24")
    images = {"global": plan("global", [nginx], [nginx], held_back=(held,))}
    return Result(Operation(Verb.UPDATE, image="global"), Outcome.NOTHING, images, ["global"])


def audit_result() -> Result:
    """``audit``: one zone of two diverged (reported as a finding, as resolver.api does)."""
    unmet = "library/l5@1 needs library/l5@1 in the global zone"
    return Result(
        Operation(Verb.AUDIT, image="global"),
        Outcome.FAIL,
        errors=[Diverged(f"zone web2 has diverged: {unmet}", image="web2")],
        audit={"web1": "synced", "web2": "diverged"},
        audit_details={"web2": [unmet]},
    )


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME (or rewrite it when asked to)."""
    path = GOLDEN / name
    if os.environ.get("ZONESOLVE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# JSON


def test_json_golden() -> None:
    check_golden("update-recursive.json", render.to_json(update_result()))


def test_json_shape() -> None:
    """The contract's keys, every image, sorted lists, full FMRIs."""
    obj = json.loads(render.to_json(update_result()))
    assert sorted(obj) == ["errors", "images", "operation", "order", "outcome", "version"]
    assert obj["version"] == 1 and obj["outcome"] == "ok" and obj["errors"] == []
    assert obj["operation"] == {
        "verb": "update",
        "args": [],
        "image": "global",
        "recursive": True,
        "global_only": False,
        "parent_first": False,
    }
    assert sorted(obj["images"]) == sorted(PARENTS)
    glob = obj["images"]["global"]
    assert glob["add-packages"] == [str(f("library/foo@2.0"))]
    assert glob["remove-packages"] == [str(f("library/old@1.0"))]
    assert glob["change-packages"] == sorted(
        [
            [str(f("library/zlib@1.3")), str(f("library/zlib@1.2"))],
            [str(f("web/curl@8.4")), str(f("web/curl@8.5"))],
        ]
    )
    assert glob["held-back"][0]["because"] == "frozen at 1.24"
    assert obj["order"] == update_result().order


def test_json_is_byte_identical_and_has_no_timings_unless_asked() -> None:
    result = update_result()
    result.stats = {"solve-seconds": 0.25}
    assert render.to_json(result) == render.to_json(update_result())
    assert "stats" not in json.loads(render.to_json(result))
    assert json.loads(render.to_json(result, stats=True))["stats"] == {"solve-seconds": 0.25}


def test_json_counts_registered_hollow_packages_as_added() -> None:
    hollow = f("SUNWhollow@1.0")
    result = Result(
        Operation(Verb.INSTALL, ("SUNWhollow",)),
        Outcome.OK,
        {"z1": plan("z1", [], [hollow], registered=frozenset({hollow.stem}))},
    )
    assert json.loads(render.to_json(result))["images"]["z1"]["add-packages"] == [str(hollow)]


def test_json_errors_carry_explanations_and_open_bundles() -> None:
    obj = json.loads(render.to_json(failure_result()))
    assert obj["outcome"] == "fail" and obj["images"] == {}
    (error,) = obj["errors"]
    assert error["kind"] == "no-solution" and error["image"] == "global"
    assert error["explanation"][0] == {
        "rule": "request",
        "text": "install web/app@2.0 was requested",
        "image": "global",
        "package": "web/app",
        "dependency": None,
        "versions": [],
        "zones": [],
        "setting": None,
    }
    assert error["fixes"] == [] and error["zones"] == []
    bundle = InputErrors([InputError("bad", Location("a.p5m", 1, 2)), InputError("worse")])
    result = Result(Operation(Verb.UPDATE), Outcome.FAIL, errors=[bundle])
    assert [e["message"] for e in json.loads(render.to_json(result))["errors"]] == [
        "a.p5m:1:2: bad",
        "worse",
    ]


def test_json_audit() -> None:
    obj = json.loads(render.to_json(audit_result()))
    assert obj["outcome"] == "fail"  # a diverged zone
    assert [error["kind"] for error in obj["errors"]] == ["diverged"]
    assert obj["audit"]["web2"]["status"] == "diverged"
    assert obj["audit"]["web1"] == {"status": "synced", "unmet": []}


# ---------------------------------------------------------------------------
# pkg(1) --parsable=0


def test_pkg_parsable_golden() -> None:
    check_golden("update-recursive.parsable", render.to_pkg_parsable(update_result(), PARENTS))


def test_pkg_parsable_is_one_compact_line_with_changed_children() -> None:
    text = render.to_pkg_parsable(update_result(), PARENTS)
    assert text.endswith("\n") and "\n" not in text[:-1] and ", " not in text
    obj = json.loads(text)
    assert obj["version"] == 0 and obj["image-name"] is None
    assert obj["add-packages"] == [str(f("library/foo@2.0"))]
    children = [child["image-name"] for child in obj["child-images"]]
    assert children == ["zone:web1", "zone:web2", "zone:web3"]
    assert all(child["child-images"] == [] for child in obj["child-images"])


def test_pkg_parsable_only_children_of_the_command_image() -> None:
    result = update_result()
    result.operation = Operation(Verb.UPDATE, image="web1")
    obj = json.loads(render.to_pkg_parsable(result, PARENTS))
    assert obj["child-images"] == []
    assert obj["change-packages"] == [[str(f("web/curl@8.4")), str(f("web/curl@8.5"))]]


def test_pkg_parsable_nothing_to_do_has_empty_lists() -> None:
    obj = json.loads(render.to_pkg_parsable(nothing_result()))
    assert obj["add-packages"] == obj["change-packages"] == obj["remove-packages"] == []


# ---------------------------------------------------------------------------
# Text


@pytest.mark.parametrize(
    ("name", "result", "verbose"),
    [
        ("update-recursive.txt", update_result(), False),
        ("no-solution.txt", failure_result(), False),
        ("no-solution-verbose.txt", failure_result(), True),
        ("nothing-to-do.txt", nothing_result(), False),
        ("audit-verbose.txt", audit_result(), True),
    ],
)
def test_text_golden(name: str, result: Result, verbose: bool) -> None:
    check_golden(name, render.to_text(result, verbose, PARENTS))


def test_text_groups_zones_with_identical_plans() -> None:
    text = render.to_text(update_result(), parents=PARENTS)
    assert "5 zones: 3 to change, 2 unchanged" in text
    assert "zones web1, web2 (2): 1 to update" in text
    assert "zones db1, db2 (2): no changes" in text
    assert "  downgrade  library/zlib@1.3-151046.0 -> 1.2-151046.0" in text


def test_text_failure_is_root_cause_first_and_short() -> None:
    short = render.to_text(failure_result())
    assert short.splitlines()[:3] == [
        "error in global: no plan installs web/app@2.0",
        "  because:",
        "    - install web/app@2.0 was requested",
    ]
    assert "2 more steps (-v shows every step)" in short
    verbose = render.to_text(failure_result(), verbose=True)
    assert "    - library/l5@1 must match the global zone\n      in every zone (in web1)\n" in verbose


def test_text_update_shows_timestamps_when_short_forms_are_equal() -> None:
    old = parse_fmri("pkg://test/sync1@1.2,5.11-145:19700101T000000Z")
    new = parse_fmri("pkg://test/sync1@1.2,5.11-145:19700101T000001Z")
    result = Result(
        Operation(Verb.UPDATE, image="global"),
        Outcome.OK,
        {"global": plan("global", [old], [new])},
        ["global"],
    )
    assert "sync1@1.2-145:19700101T000000Z -> 1.2-145:19700101T000001Z" in (render.to_text(result))


def test_text_held_back_list_is_cut_short_unless_verbose() -> None:
    held = tuple(HeldBack(f"lib/l{i}", f(f"lib/l{i}@1"), f(f"lib/l{i}@2"), "incorporated") for i in range(8))
    images = {"global": plan("global", [], [], held_back=held)}
    result = Result(Operation(Verb.UPDATE, image="global"), Outcome.NOTHING, images, ["global"])
    assert "... and 3 more held back (-v lists them)" in render.to_text(result)
    assert "lib/l7" in render.to_text(result, verbose=True)
