"""The manifest parser: pkg(5)'s action text (docs/ips-semantics.md 3.1-3.3)
and the Package built from it."""

from __future__ import annotations

import pytest
from lark.exceptions import UnexpectedInput

from grammar import GRAMMAR_PATH
from resolver import manifest
from resolver.errors import InputError, InputErrors, Location
from resolver.fmri import parse_fmri
from resolver.manifest import (
    KEY_ATTRS,
    Action,
    package_from_actions,
    parse_actions,
    parse_package,
)
from resolver.model import Dependency, DepType, Svr4Params

# ---------------------------------------------------------------------------
# helpers


def one(text: str) -> Action:
    """The single action of ``text``."""
    actions = parse_actions(text)
    assert len(actions) == 1, actions
    return actions[0]


def attrs(text: str) -> dict[str, str | tuple[str, ...]]:
    """The attributes of the single action of ``text``."""
    return dict(one(text).attrs)


def errors_of(text: str, path: str = "m.p5m", **kw: object) -> list[InputError]:
    """Every error parsing ``text`` raises (parse_package if ``kw`` asks)."""
    with pytest.raises(InputError) as info:
        if kw.pop("package", False):
            parse_package(text, path, **kw)  # type: ignore[arg-type]
        else:
            parse_actions(text, path, **kw)  # type: ignore[arg-type]
    err = info.value
    return list(err.errors) if isinstance(err, InputErrors) else [err]


def error_of(text: str, **kw: object) -> InputError:
    """The one error parsing ``text`` raises."""
    errors = errors_of(text, **kw)
    assert len(errors) == 1, [e.message for e in errors]
    return errors[0]


def where(err: InputError) -> tuple[int | None, int | None]:
    """(line, column) of an error."""
    assert err.location is not None
    return err.location.line, err.location.column


# ---------------------------------------------------------------------------
# 3.1 manifest lines


def test_continuation_with_space_before_backslash_joins_attributes() -> None:
    actions = parse_actions("set name=pkg.summary \\\n    value=b\n")
    assert dict(actions[0].attrs) == {"name": "pkg.summary", "value": "b"}
    assert actions[0].line == 1


def test_continuation_without_space_glues_text() -> None:
    # set name=a\ + value=b is "set name=avalue=b": one attribute, the short form
    assert parse_actions("set name=a\\\nvalue=b") == parse_actions("set name=avalue=b")
    assert attrs("link path=a target=b\\\n   c") == {"path": "a", "target": "bc"}


def test_continuation_spans_several_lines_and_keeps_start_line() -> None:
    text = "\n\ndepend \\\n  type=require \\\n\tfmri=foo \\\n  \n"
    action = one(text)
    assert action.line == 3
    assert dict(action.attrs) == {"type": "require", "fmri": "foo"}


def test_backslash_followed_by_spaces_is_not_a_continuation() -> None:
    errors = errors_of("link path=a \\ \ntarget=b\n")
    assert [where(e) for e in errors] == [(1, 13), (2, 1)]
    assert "'\\' is not key=value" in errors[0].reason
    assert "unknown action type 'target=b'" in errors[1].reason


def test_leading_whitespace_is_stripped_and_trailing_kept() -> None:
    action = one("   \t set name=a value=b  \t")
    assert dict(action.attrs) == {"name": "a", "value": "b"}


def test_comments_and_blank_lines_are_skipped() -> None:
    text = "# a comment\n\n   # indented comment\nset name=a value=#not-a-comment\n\n"
    action = one(text)
    assert action.attrs["value"] == "#not-a-comment"
    assert action.line == 4


def test_comment_ending_in_backslash_swallows_the_next_line() -> None:
    text = "# comment \\\nset name=swallowed value=x\nset name=kept value=y\n"
    action = one(text)
    assert action.attrs["name"] == "kept"
    assert action.line == 3


def test_first_line_offsets_line_numbers() -> None:
    actions = parse_actions("set name=a value=b\n\nset name=c value=d", first_line=10)
    assert [a.line for a in actions] == [10, 12]
    err = error_of("\nset name=", path="fleet.toml", first_line=20)
    assert err.location == Location("fleet.toml", 21, 10)


def test_first_line_offsets_error_locations() -> None:
    with pytest.raises(InputError) as info:
        parse_actions("\n  foo a=b", "fleet.toml", first_line=20)
    assert info.value.location == Location("fleet.toml", 21, 3)


def test_crlf_line_endings() -> None:
    actions = parse_actions("set name=a value=b\r\nset name=c \\\r\n value=d\r\n")
    assert [dict(a.attrs) for a in actions] == [
        {"name": "a", "value": "b"},
        {"name": "c", "value": "d"},
    ]


def test_continuation_at_end_of_text_is_reported() -> None:
    err = error_of("set name=a value=b\nset name=c \\")
    assert where(err) == (2, 12)
    assert "continued line" in err.reason


def test_trailing_comment_continuation_at_end_is_harmless() -> None:
    assert parse_actions("set name=a value=b\n# the end \\") == parse_actions("set name=a value=b")


# ---------------------------------------------------------------------------
# 3.2 actions: payload


def test_positional_hash_on_file_is_the_payload() -> None:
    action = one("file 0123abcd path=usr/bin/ls mode=0555")
    assert action.payload == "0123abcd"
    assert dict(action.attrs) == {"path": "usr/bin/ls", "mode": "0555"}


@pytest.mark.parametrize("kind", ["license", "signature"])
def test_license_and_signature_may_carry_a_payload(kind: str) -> None:
    action = one(f"{kind} abc {KEY_ATTRS[kind]}=x")
    assert action.payload == "abc"


def test_positional_hash_on_set_is_an_error() -> None:
    err = error_of("set abc name=a value=b")
    assert where(err) == (1, 5)
    assert "set actions take no payload" in err.reason
    assert "expected an attribute key=value" in err.reason


def test_hash_attribute_sets_the_payload() -> None:
    action = one("file path=a hash=abc")
    assert action.payload == "abc"
    assert "hash" not in action.attrs
    assert one("file abc path=a hash=abc").payload == "abc"


def test_hash_attribute_conflicting_with_positional_hash() -> None:
    err = error_of("file abc path=a hash=abd")
    assert where(err) == (1, 17)
    assert "not identical to the positional hash" in err.reason


def test_hash_attribute_on_a_non_payload_action() -> None:
    err = error_of("dir path=a hash=abc")
    assert where(err) == (1, 12)
    assert "dir actions take no payload" in err.reason


def test_second_bare_word_is_whitespace_in_key() -> None:
    err = error_of("file h1 h2 path=a")
    assert where(err) == (1, 9)
    assert "'h2' is not key=value" in err.reason


def test_payload_without_attributes_is_an_error() -> None:
    err = error_of("file abc")
    assert where(err) == (1, 6)


# ---------------------------------------------------------------------------
# 3.2 actions: values


def test_double_quoted_value_escapes() -> None:
    text = r'set name=a value="say \"hi\" back\\slash lit\n \x"'
    assert attrs(text)["value"] == 'say "hi" back\\slash lit\\n \\x'


def test_single_quoted_value_escapes() -> None:
    assert attrs(r"set name=a value='it\'s \"as is\"'")["value"] == 'it\'s \\"as is\\"'


def test_the_other_quote_needs_no_escape() -> None:
    assert attrs("set name=a value='say \"hi\"'")["value"] == 'say "hi"'
    assert attrs('set name=a value="it\'s"')["value"] == "it's"


def test_empty_quoted_value() -> None:
    assert attrs('set name=a value=""')["value"] == ""


def test_escaped_backslash_before_closing_quote() -> None:
    assert attrs(r'set name=a value="ends in \\" b=c') == {
        "name": "a",
        "value": "ends in \\",
        "b": "c",
    }


def test_adjacent_quoted_strings_concatenate() -> None:
    assert attrs('set name=a value="foo " "bar"')["value"] == "foo bar"
    assert attrs('set name=a value="foo"\'bar\'\t"baz"')["value"] == "foobarbaz"


def test_adjacent_quoted_strings_across_continuation_lines() -> None:
    text = 'set name=pkg.description value="A long " \\\n    "description"\n'
    assert attrs(text)["value"] == "A long description"


def test_concatenation_applies_to_the_last_value_of_a_repeated_key() -> None:
    assert attrs('set name=a value=x value="y" "z"')["value"] == ("x", "yz")


def test_bare_value_may_hold_equals() -> None:
    assert attrs("dir path=a b=c=d") == {"path": "a", "b": "c=d"}


def test_bare_value_keeps_quotes_and_backslashes() -> None:
    assert attrs(r'dir path=a b=x"y\z\"') == {"path": "a", "b": r'x"y\z\"'}


def test_key_may_follow_a_closing_quote_directly() -> None:
    assert attrs('depend fmri=x type=require name="a"b=c') == {
        "fmri": "x",
        "type": "require",
        "name": "a",
        "b": "c",
    }


def test_repeated_keys_form_a_tuple_in_order() -> None:
    action = one("set name=variant.arch value=i386 value=sparc value=aarch64")
    assert action.attrs["value"] == ("i386", "sparc", "aarch64")
    assert action.attrs["name"] == "variant.arch"


def test_depend_with_two_fmris() -> None:
    action = one("depend type=require-any fmri=a@1 fmri=b@2")
    assert action.attrs["fmri"] == ("a@1", "b@2")
    assert action.attrs["type"] == "require-any"


def test_depend_with_two_fmris_and_two_types_is_an_error() -> None:
    err = error_of("depend type=require-any fmri=a type=require fmri=b")
    assert where(err) == (1, 32)
    assert "'type' is repeated" in err.reason


def test_repeated_key_attribute_is_an_error() -> None:
    err = error_of("dir path=a path=b")
    assert where(err) == (1, 12)


def test_attrs_are_read_only() -> None:
    action = one("set name=a value=b")
    with pytest.raises(TypeError):
        action.attrs["name"] = "x"  # type: ignore[index]


def test_identical_lines_give_equal_actions_with_their_own_lines() -> None:
    line = "depend type=parent fmri=feature/package/dependency/self"
    a, b = parse_actions(f"{line}\n{line}\n")
    assert (a.type, a.attrs, a.payload) == (b.type, b.attrs, b.payload)
    assert (a.line, b.line) == (1, 2)


# ---------------------------------------------------------------------------
# 3.2-3.3 action types and constructor rules


@pytest.mark.parametrize("kind", sorted(KEY_ATTRS))
def test_every_action_type_parses(kind: str) -> None:
    key = KEY_ATTRS[kind] or "anything"
    action = one(f"{kind} {key}=x" + (" value=y" if kind == "set" else ""))
    assert action.type == kind


def test_unknown_action_type() -> None:
    err = error_of("set name=a value=b\nfrobnicate path=a\n")
    assert where(err) == (2, 1)
    assert "unknown action type 'frobnicate'" in err.reason
    assert "depend, dir, driver, file" in err.reason


def test_type_without_whitespace_has_no_attributes() -> None:
    assert "'dir' action has no attributes" in error_of("dir").reason
    assert "unknown action type 'dirpath=a'" in error_of("dirpath=a").reason


def test_missing_key_attribute() -> None:
    err = error_of("dir owner=root mode=0755")
    assert where(err) == (1, 1)
    assert "missing key attribute 'path'" in err.reason


def test_set_and_signature_need_no_key_attribute_and_unknown_has_none() -> None:
    assert one("signature abc algorithm=rsa-sha256").type == "signature"
    assert one("unknown foo=bar").attrs == {"foo": "bar"}


def test_path_loses_leading_slashes() -> None:
    assert one("file path=//usr/bin/ls").attrs["path"] == "usr/bin/ls"
    assert "invalid path '/'" in error_of("dir path=/").reason


def test_set_short_form() -> None:
    assert attrs("set pkg.summary=hello") == {"name": "pkg.summary", "value": "hello"}
    # pkg(5)'s quirk: one attribute is always the short form, even name=
    assert attrs("set name=foo") == {"name": "name", "value": "foo"}


def test_set_without_name_and_value() -> None:
    err = error_of('set name="a"b=c')
    assert 'missing "name" or "value"' in err.reason


def test_data_key_is_invalid() -> None:
    err = error_of("file path=a data=x")
    assert where(err) == (1, 13)
    assert "invalid key 'data'" in err.reason


# ---------------------------------------------------------------------------
# syntax errors: where, and what was expected


@pytest.mark.parametrize(
    ("line", "column", "problem"),
    [
        ("set name= value=b", 10, "missing value after 'name='"),
        ("set name=a value=", 18, "missing value after 'value='"),
        ('set name=a value="open', 18, "unfinished quoted value"),
        ("set name=a =b", 12, "missing key before '='"),
        ('set na"me=a', 5, "quote in key"),
        ("set name=a value", 12, "'value' has no value"),
        ("set name=a value=b 'c", 20, "unfinished quoted value"),
        ("set name=a value=b 'c'", 20, "quoted text 'c' is not key=value"),
    ],
)
def test_syntax_error_location_and_message(line: str, column: int, problem: str) -> None:
    err = error_of(line)
    assert where(err) == (1, column)
    assert problem in err.reason
    assert "expected " in err.reason


def test_error_column_on_an_indented_continued_line() -> None:
    err = error_of("set name=a \\\n      value=b =c\n")
    assert where(err) == (2, 15)
    assert err.location == Location("m.p5m", 2, 15)
    assert err.message.startswith("m.p5m:2:15: missing key")


def test_every_bad_line_is_reported() -> None:
    text = "set name=a value=b\nfoo x=y\nset name=\ndir\nset name=c value=d\n"
    errors = errors_of(text)
    assert [where(e) for e in errors] == [(2, 1), (3, 10), (4, 1)]


def test_pkgmogrify_directives_are_recognised() -> None:
    text = "<transform file path=usr/share/man/.+ -> \\\n    default facet.doc.man true>\n"
    err = errors_of(text + "<include generic-python>\n")[1]
    assert err.reason.startswith("pkgmogrify directive: expand with pkgmogrify first")
    errors = errors_of(text + "<include generic-python>\nset name=a value=b\n<foo>\n")
    assert [where(e) for e in errors] == [(1, 1), (3, 1), (5, 1)]
    assert "unknown action type '<foo>'" in errors[2].reason


def test_unexpanded_build_macros_are_recognised() -> None:
    err = error_of("$(i386_ONLY)file path=usr/bin/x")
    assert where(err) == (1, 1)
    assert err.reason.startswith("unexpanded build macro $(i386_ONLY): ")
    err = error_of("set name=pkg.fmri value=pkg:/foo@$(PKGVERS)")
    assert where(err) == (1, 34)
    assert err.reason.startswith("unexpanded build macro $(PKGVERS): ")


def test_dollar_without_parenthesis_is_data() -> None:
    assert attrs("set name=a value=$PKGDEPEND_RUNPATH:usr/lib")["value"] == ("$PKGDEPEND_RUNPATH:usr/lib")


def test_grammar_file_defines_exactly_the_action_types() -> None:
    assert GRAMMAR_PATH.is_file()
    for kind in KEY_ATTRS:
        assert manifest._lark().parse(f"{kind} k=v", start="start").type == kind
    for bogus in ("sets", "Set", "directory", "hash"):
        with pytest.raises(UnexpectedInput):
            manifest._lark().parse(f"{bogus} k=v", start="start")


# ---------------------------------------------------------------------------
# Package

FULL = """\
set name=pkg.fmri value=pkg://omnios/web/server/nginx@1.24.0,5.11-151046.0:20230501T000000Z
set name=pkg.summary value="nginx web server"
set name=variant.arch value=i386 value=sparc
set name=variant.opensolaris.zone value=global value=nonglobal
set name=pkg.depend.install-hold value=core-os.nginx
set name=pkg.depend.explicit-install value=TRUE
set name=SUNW_PKG_ALLZONES value=True
set name=SUNW_PKG_HOLLOW value=false
file abc path=usr/sbin/nginx owner=root group=bin mode=0555
depend type=require fmri=pkg:/library/pcre2@10.42
depend type=require-any fmri=library/a fmri=library/b@2
depend type=conditional fmri=web/plugin predicate=library/lua@5.4
depend type=origin fmri=web/server/nginx@1.20 root-image=true
depend type=parent fmri=feature/package/dependency/self \\
    variant.opensolaris.zone=nonglobal
depend type=incorporate fmri=library/zlib@1.3 facet.version-lock.library/zlib=true \\
    variant.arch=i386
depend type=group fmri=web/extra opensolaris.zone=global
"""


def test_package_fields() -> None:
    pkg = parse_package(FULL, "nginx.p5m")
    assert str(pkg.fmri) == ("pkg://omnios/web/server/nginx@1.24.0,5.11-151046.0:20230501T000000Z")
    assert pkg.publisher == "omnios"
    assert pkg.variants == (
        ("variant.arch", ("i386", "sparc")),
        ("variant.opensolaris.zone", ("global", "nonglobal")),
    )
    assert pkg.install_hold == "core-os.nginx"
    assert pkg.explicit_install is True
    assert pkg.obsolete is False and pkg.renamed is False
    assert pkg.svr4 == Svr4Params(allzones=True, hollow=False)
    assert pkg.where == Location("nginx.p5m", 1)


def test_package_dependencies() -> None:
    deps = parse_package(FULL).depends
    f = parse_fmri
    assert deps == (
        Dependency(DepType.REQUIRE, (f("pkg:/library/pcre2@10.42"),)),
        Dependency(DepType.REQUIRE_ANY, (f("library/a"), f("library/b@2"))),
        Dependency(DepType.CONDITIONAL, (f("web/plugin"),), predicate=f("library/lua@5.4")),
        Dependency(DepType.ORIGIN, (f("web/server/nginx@1.20"),), root_image=True),
        Dependency(
            DepType.PARENT,
            (f("feature/package/dependency/self"),),
            tags=(("variant.opensolaris.zone", "nonglobal"),),
        ),
        Dependency(
            DepType.INCORPORATE,
            (f("library/zlib@1.3"),),
            tags=(("facet.version-lock.library/zlib", "true"), ("variant.arch", "i386")),
        ),
        Dependency(DepType.GROUP, (f("web/extra"),), tags=(("variant.opensolaris.zone", "global"),)),
    )


def test_explicit_zone_variant_wins_over_legacy_spelling() -> None:
    text = (
        "set name=pkg.fmri value=pkg://p/a@1\n"
        "depend type=require fmri=b opensolaris.zone=global variant.opensolaris.zone=nonglobal\n"
    )
    assert parse_package(text).depends[0].tags == (("variant.opensolaris.zone", "nonglobal"),)


def test_repeated_variant_tag_drops_the_dependency() -> None:
    # pkg(5) excludes an action whose variant tag has several values in every image
    text = (
        "set name=pkg.fmri value=pkg://p/a@1\n"
        "depend type=require fmri=b variant.arch=i386 variant.arch=sparc\n"
    )
    assert parse_package(text).depends == ()


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("false", False)])
def test_obsolete_and_renamed_are_case_insensitive(value: str, expected: bool) -> None:
    base = "set name=pkg.fmri value=pkg://p/a@1\n"
    assert parse_package(base + f"set name=pkg.obsolete value={value}").obsolete is expected
    assert parse_package(base + f"set name=pkg.renamed value={value}").renamed is expected


def test_publisher_defaults() -> None:
    text = "set name=pkg.fmri value=pkg:/a@1.0\n"
    assert parse_package(text, default_publisher="omnios").publisher == "omnios"
    assert (
        parse_package("set name=pkg.fmri value=pkg://extra/a@1.0", default_publisher="x").publisher == "extra"
    )
    err = error_of(text, package=True)
    assert where(err) == (1, 19)
    assert "no publisher" in err.reason


def test_pkg_fmri_missing_unversioned_twice_or_bad() -> None:
    assert "no 'set name=pkg.fmri' action" in error_of("set name=a value=b", package=True).reason
    err = error_of("set name=pkg.fmri value=pkg://p/a", package=True)
    assert "has no version" in err.reason
    err = error_of("set name=pkg.fmri value=pkg://p/a@1\nset name=pkg.fmri value=pkg://p/b@1", package=True)
    assert where(err) == (2, 19)
    assert "set again (first at line 1)" in err.reason
    err = error_of("set name=pkg.fmri value=pkg://p/a@1.x", package=True)
    assert where(err) == (1, 19)
    assert "bad FMRI" in err.reason


def test_depend_errors_carry_file_line_column() -> None:
    text = (
        "set name=pkg.fmri value=pkg://p/a@1\n"
        "depend type=requires fmri=b\n"
        "depend fmri=c\n"
        "  depend type=require-any fmri=ok fmri=b@1.x\n"
        "depend type=require fmri=__TBD pkg.debug.depend.file=libc.so.1\n"
        "depend type=conditional fmri=d\n"
        "depend type=require fmri=e type=exclude\n"
    )
    errors = errors_of(text, path="a.p5m", package=True)
    found = [(str(e.location), e.reason.split(";")[0].split(":")[0]) for e in errors]
    assert found == [
        ("a.p5m:2:8", "unknown dependency type 'requires'"),
        ("a.p5m:3:1", "depend action has no type="),
        ("a.p5m:4:35", "bad FMRI 'b@1.x'"),
        ("a.p5m:5:21", "fmri=__TBD is a pkgdepend placeholder"),
        ("a.p5m:6:1", "conditional dependency has no predicate="),
        ("a.p5m:7:28", "depend action has several type= values"),
    ]
    assert "expected conditional, exclude, group" in errors[0].reason


def test_svr4_parameter_must_be_true_or_false() -> None:
    text = "set name=pkg.fmri value=pkg://p/a@1\nset name=SUNW_PKG_THISZONE value=yes\n"
    err = error_of(text, package=True)
    assert where(err) == (2, 28)
    assert "SUNW_PKG_THISZONE must be true or false" in err.reason
    ok = "set name=pkg.fmri value=pkg://p/a@1\nset name=SUNW_PKG_INTERACTIVE value=TRUE\n"
    assert parse_package(ok).svr4 == Svr4Params(interactive=True)
    assert parse_package("set name=pkg.fmri value=pkg://p/a@1").svr4 is None


def test_single_valued_package_attributes() -> None:
    text = "set name=pkg.fmri value=pkg://p/a@1\nset name=pkg.obsolete value=true value=false\n"
    err = error_of(text, package=True)
    assert where(err) == (2, 34)
    assert "pkg.obsolete takes one value" in err.reason


def test_syntax_and_package_errors_are_reported_together_in_line_order() -> None:
    text = (
        "set name=pkg.fmri value=pkg://p/a@1\n"
        "depend type=bogus fmri=b\n"
        "set name=\n"
        "depend type=require fmri=c@x\n"
    )
    errors = errors_of(text, package=True)
    assert [where(e) for e in errors] == [(2, 8), (3, 10), (4, 21)]


def test_macro_in_pkg_fmri_is_not_also_a_missing_fmri() -> None:
    text = "set name=pkg.fmri value=pkg:/foo@$(PKGVERS)\ndepend type=require fmri=bar\n"
    err = error_of(text, package=True)
    assert err.reason.startswith("unexpanded build macro $(PKGVERS)")


def test_package_from_hand_made_actions() -> None:
    actions = [
        Action("set", {"pkg.fmri": "pkg://p/a@1"}, None, 1),
        Action("set", {"name": "pkg.renamed", "value": "true"}, None, 2),
        Action("depend", {"type": "require", "fmri": "b"}, None, 3),
        Action("file", {"path": "x"}, "abc", 4),
    ]
    pkg = package_from_actions(actions, "hand")
    assert pkg.renamed is True
    assert pkg.depends == (Dependency(DepType.REQUIRE, (parse_fmri("b"),)),)
    bad = [*actions, Action("depend", {"type": "nope", "fmri": "c"}, None, 9)]
    with pytest.raises(InputError) as info:
        package_from_actions(bad, "hand")
    assert info.value.location == Location("hand", 9)
