"""The brute-force oracle (tests/oracle.py) on hand-made cases from ips-semantics.md."""

from __future__ import annotations

from collections.abc import Sequence

from oracle import (
    INSTALL,
    UNINSTALL,
    UPDATE,
    UPDATE_ALL,
    Outcome,
    Problem,
    Request,
    assess,
    describe,
    final,
    package,
)

from resolver.model import Package


def catalog(*specs: tuple[str, str] | tuple[str, str, Sequence[str]]) -> list[Package]:
    return [package(s[0], s[1], s[2] if len(s) > 2 else ()) for s in specs]


def find(pkgs: Sequence[Package], stem: str, version: str) -> Package:
    return next(p for p in pkgs if p.stem == stem and str(p.fmri.version).startswith(version + ","))


def run(pkgs: list[Package], installed: list[str], request: Request) -> tuple[Problem, Outcome]:
    inst = [find(pkgs, *i.split("@")) for i in installed]
    problem = Problem(pkgs, inst, request)
    return problem, problem.solve()


def best_plan(problem: Problem, outcome: Outcome) -> str:
    """The optimal plan, with stage 4 (moved packages newest) applied."""
    plans = [a for a in outcome.optimal if problem.stage4_ok(a, outcome.optimal) is None]
    finals = sorted({describe(final(a)) for a in plans})
    assert len(finals) == 1, finals
    return finals[0]


def install(*args: str) -> Request:
    """``install("a", "b@1")``: stems with optional release patterns."""
    patterns = []
    for arg in args:
        stem, _, version = arg.partition("@")
        patterns.append((stem, version or None))
    return Request(INSTALL, tuple(patterns))


# ips-semantics 7.10: a@1 -> b@1, a@2 -> b@2, b@1, 1.5, 2, 3
WORKED = catalog(
    ("a", "1.0", ["require b@1.0"]),
    ("a", "2.0", ["require b@2.0"]),
    ("b", "1.0"),
    ("b", "1.5"),
    ("b", "2.0"),
    ("b", "3.0"),
    ("c", "1.0"),
)


def test_worked_example_install_into_empty_image() -> None:
    problem, out = run(WORKED, [], install("a"))
    assert out.feasible and out.best is not None
    assert out.best.counts == (0, 0, 1)
    assert best_plan(problem, out) == "a@2.0,5.11-0, b@3.0,5.11-0"


def test_stage4_prefers_newest_moved_package() -> None:
    problem, out = run(WORKED, [], install("a"))
    b2 = {"a": find(WORKED, "a", "2.0"), "b": find(WORKED, "b", "2.0")}
    better = problem.stage4_ok(b2, out.optimal)
    assert better is not None and better["b"] is find(WORKED, "b", "3.0")


def test_worked_example_installed_dependency_moves_to_newest() -> None:
    problem, out = run(WORKED, ["b@1.0"], install("a"))
    assert best_plan(problem, out) == "a@2.0,5.11-0, b@3.0,5.11-0"


def test_worked_example_older_request_keeps_dependency() -> None:
    problem, out = run(WORKED, ["b@1.0"], install("a@1"))
    assert best_plan(problem, out) == "a@1.0,5.11-0, b@1.0,5.11-0"


def test_worked_example_update_all() -> None:
    problem, out = run(WORKED, ["a@1.0", "b@1.0", "c@1.0"], Request(UPDATE_ALL))
    assert best_plan(problem, out) == "a@2.0,5.11-0, b@3.0,5.11-0, c@1.0,5.11-0"


def test_newest_obsolete_version_removes_the_stem_on_update_all() -> None:
    pkgs = [package("a", "1.0"), package("a", "2.0", obsolete=True)]
    problem, out = run(pkgs, ["a@1.0"], Request(UPDATE_ALL))
    assert best_plan(problem, out) == "-"


def test_required_stem_keeps_last_live_version_when_newest_is_obsolete() -> None:
    pkgs = [
        package("a", "1.0"),
        package("a", "2.0", obsolete=True),
        package("user", "1.0", ["require a"]),
    ]
    problem, out = run(pkgs, ["a@1.0", "user@1.0"], Request(UPDATE_ALL))
    assert best_plan(problem, out) == "a@1.0,5.11-0, user@1.0,5.11-0"


def test_obsolete_versions_satisfy_group_but_not_require() -> None:
    pkgs = [
        package("t", "1.0", obsolete=True),
        package("g", "1.0", ["group t"]),
        package("r", "1.0", ["require t"]),
    ]
    problem, out = run(pkgs, [], install("g"))
    assert best_plan(problem, out) == "g@1.0,5.11-0"
    _, out = run(pkgs, [], install("r"))
    assert not out.feasible


def test_group_target_without_candidate_is_ignored() -> None:
    pkgs = [
        package("g", "1.0", ["group missing"]),
        package("t", "1.0"),
        package("h", "1.0", ["group t"]),
    ]
    problem, out = run(pkgs, [], install("g"))
    assert best_plan(problem, out) == "g@1.0,5.11-0"
    problem, out = run(pkgs, [], install("h"))
    assert best_plan(problem, out) == "h@1.0,5.11-0, t@1.0,5.11-0"
    # uninstalling a group target is allowed (pkg(5) puts it on the avoid list)
    problem, out = run(pkgs, ["h@1.0", "t@1.0"], Request(UNINSTALL, remove=("t",)))
    assert best_plan(problem, out) == "h@1.0,5.11-0"


def test_optional_dependency_upgrades_installed_target() -> None:
    pkgs = [package("opt", "1.0", ["optional z@2.0"]), package("z", "1.0"), package("z", "2.0")]
    problem, out = run(pkgs, ["z@1.0"], install("opt"))
    assert best_plan(problem, out) == "opt@1.0,5.11-0, z@2.0,5.11-0"


def test_exclude_never_downgrades_an_installed_target() -> None:
    pkgs = [package("p", "1.0", ["exclude z@2.0"]), package("z", "1.0"), package("z", "2.0")]
    _, out = run(pkgs, ["z@2.0"], install("p"))
    assert not out.feasible
    problem, out = run(pkgs, ["z@1.0"], install("p"))
    assert best_plan(problem, out) == "p@1.0,5.11-0, z@1.0,5.11-0"


def test_require_any_prefers_adding_to_changing() -> None:
    pkgs = [
        package("x", "1.0", ["require-any z@2.0 lib@2.0"]),
        package("z", "2.0"),
        package("lib", "1.0"),
        package("lib", "2.0"),
    ]
    problem, out = run(pkgs, ["lib@1.0"], install("x"))
    assert best_plan(problem, out) == "lib@1.0,5.11-0, x@1.0,5.11-0, z@2.0,5.11-0"


def test_conditional_needs_a_matching_predicate() -> None:
    pkgs = [
        package("ed", "1.0", ["conditional ed-x11 if x11lib@2.0"]),
        package("ed-x11", "1.0"),
        package("x11lib", "1.0"),
        package("x11lib", "2.0"),
    ]
    problem, out = run(pkgs, ["x11lib@1.0"], install("ed"))
    assert best_plan(problem, out) == "ed@1.0,5.11-0, x11lib@1.0,5.11-0"
    problem, out = run(pkgs, ["x11lib@2.0"], install("ed"))
    assert best_plan(problem, out) == "ed@1.0,5.11-0, ed-x11@1.0,5.11-0, x11lib@2.0,5.11-0"


def test_uninstall_of_a_required_stem_is_impossible() -> None:
    _, out = run(WORKED, ["a@1.0", "b@1.0"], Request(UNINSTALL, remove=("b",)))
    assert not out.feasible
    problem, out = run(WORKED, ["a@1.0", "b@1.0"], Request(UNINSTALL, remove=("a",)))
    assert best_plan(problem, out) == "b@1.0,5.11-0"


def test_downgrade_only_when_every_requested_version_is_older() -> None:
    problem, out = run(WORKED, ["b@2.0"], install("b@1"))
    assert best_plan(problem, out) == "b@1.5,5.11-0"
    problem, out = run(WORKED, ["b@2.0"], install("b@1.0"))
    assert best_plan(problem, out) == "b@1.0,5.11-0"
    problem, out = run(WORKED, ["b@2.0"], Request(UPDATE, (("b", None),)))
    assert best_plan(problem, out) == "b@3.0,5.11-0"


def test_unmatched_pattern_has_no_plan() -> None:
    _, out = run(WORKED, [], install("b@4"))
    assert not out.feasible and "matches" in out.why
    _, out = run(WORKED, [], Request(UPDATE, (("b", None),)))
    assert not out.feasible


def test_incorporations_come_first_in_priority() -> None:
    pkgs = [
        package("inc", "1.0", ["incorporate a@1"]),
        package("inc", "2.0", ["incorporate a@1"]),
        package("a", "1.0"),
        package("a", "2.0", ["require inc@1.0"]),
    ]
    problem, out = run(pkgs, ["inc@1.0", "a@1.0"], Request(UPDATE_ALL))
    assert problem.priority(["a", "inc"]) == ["inc", "a"]
    assert best_plan(problem, out) == "a@1.0,5.11-0, inc@2.0,5.11-0"


def test_assess_reads_obsolete_choices_from_the_final_set() -> None:
    pkgs = [package("a", "1.0"), package("a", "2.0", obsolete=True)]
    problem, out = run(pkgs, ["a@1.0"], Request(UPDATE_ALL))
    assert assess(problem, out, {}).ok
    verdict = assess(problem, out, {"a": pkgs[0]})
    assert not verdict.ok and "optimum" in verdict.message
    assert assess(problem, out, None).message.startswith("solver found no plan")


def test_assess_rejects_a_plan_that_breaks_a_rule() -> None:
    problem, out = run(WORKED, [], install("a"))
    verdict = assess(problem, out, {"a": find(WORKED, "a", "2.0")})
    assert not verdict.ok and "hard rule" in verdict.message


def test_incorporation_depth_counts_versions_below_the_floor() -> None:
    # c@1.0 (older than the installed c@1.1) incorporates d: c still ranks first
    pkgs = [
        package("a", "1.0"),
        package("a", "1.1", ["require b"]),
        package("b", "1.0"),
        package("c", "1.0", ["incorporate d"]),
        package("c", "1.1"),
        package("c", "2.0", ["exclude b"]),
    ]
    problem, out = run(pkgs, ["a@1.0", "c@1.1"], Request(UPDATE_ALL))
    assert problem.priority(["a", "c"]) == ["c", "a"]
    assert best_plan(problem, out) == "a@1.0,5.11-0, c@2.0,5.11-0"


def test_stage4_covers_packages_added_through_another_version() -> None:
    pkgs = [
        package("a", "1.0", ["require q"]),
        package("q", "1.0", ["require e"]),
        package("q", "2.0", ["require b"]),
        package("e", "1.0"),
        package("e", "1.1", obsolete=True),
        package("b", "1.0"),
        package("b", "2.0"),
    ]
    problem, out = run(pkgs, [], install("a"))
    assert out.best is not None and out.best.counts == (0, 0, 2)
    # stage 4 compares plans that add the same stems: {q, b} and {q, e} both stand
    plans = [a for a in out.optimal if problem.stage4_ok(a, out.optimal) is None]
    assert sorted({describe(final(a)) for a in plans}) == [
        "a@1.0,5.11-0, b@2.0,5.11-0, q@2.0,5.11-0",
        "a@1.0,5.11-0, e@1.0,5.11-0, q@1.0,5.11-0",
    ]
    verdict = assess(problem, out, {"a": pkgs[0], "q": pkgs[2], "b": pkgs[5]})
    assert not verdict.ok and "could be newer" in verdict.message
