"""The site file (resolver.sitefile) and ``zonesolve lint site.toml``: what a
valid file means, and a precise error (file:line:col, table, key) for each
kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolver.errors import InputError, InputErrors
from resolver.sitefile import load_site, parse_site
from tests.conftest import RunCli

HOST = """\
[[manifest]]
text = "set name=pkg.fmri value=pkg://local/app@1.0,5.11-0:20240101T000000Z"

[[image]]
name = "global"
publishers = ["local"]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """Two host fleet files and a source directory, for site files to name."""
    write(tmp_path / "hosts" / "a.toml", HOST)
    write(tmp_path / "hosts" / "b.toml", HOST)
    (tmp_path / "repo").mkdir()
    return tmp_path


def errors_of(text: str, where: Path) -> list[str]:
    """The messages of parsing a site file written at ``where``."""
    path = write(where, text)
    with pytest.raises(InputError) as info:
        load_site(path)
    err = info.value
    return [e.message for e in err.errors] if isinstance(err, InputErrors) else [err.message]


def test_a_valid_site(site_dir: Path) -> None:
    text = """\
[[source]]
path = "repo"
publisher = "omnios"

[[host]]
name = "a"
fleet = "hosts/a.toml"

[[host]]
name = "b"
fleet = "hosts/b.toml"
"""
    site = load_site(write(site_dir / "site.toml", text))
    assert [h.name for h in site.hosts] == ["a", "b"]
    assert [Path(h.fleet) for h in site.hosts] == [site_dir / "hosts/a.toml", site_dir / "hosts/b.toml"]
    assert [(s.path, s.publisher) for s in site.sources] == [(str((site_dir / "repo").resolve()), "omnios")]
    assert site.hosts[1].where is not None and site.hosts[1].where.line == 9


def test_unknown_keys_are_named_with_their_place(site_dir: Path) -> None:
    text = """\
hosts = []

[[source]]
path = "repo"
publsher = "omnios"

[[host]]
name = "a"
flet = "hosts/a.toml"
"""
    path = site_dir / "site.toml"
    messages = errors_of(text, path)
    assert f"{path}:1:1: top level, key 'hosts': unknown key (expected one of: source, host); " in messages[0]
    assert any(m.startswith(f"{path}:5:1: [[source]] #1, key 'publsher': unknown key") for m in messages)
    assert any("did you mean 'publisher'?" in m for m in messages)
    assert any(m.startswith(f"{path}:9:1: [[host]] #1 \"a\", key 'flet': unknown key") for m in messages)
    assert any(f"{path}:7: [[host]] #1 \"a\": missing key 'fleet'" in m for m in messages)


def test_a_host_listed_twice(site_dir: Path) -> None:
    text = """\
[[host]]
name = "a"
fleet = "hosts/a.toml"

[[host]]
name = "a"
fleet = "hosts/b.toml"

[[host]]
name = "c"
fleet = "hosts/../hosts/a.toml"
"""
    path = site_dir / "site.toml"
    messages = errors_of(text, path)
    assert messages == [
        f'{path}:6:1: [[host]] #2 "a", key \'name\': host "a" is listed twice (also [[host]] #1 "a")',
        f'{path}:11:1: [[host]] #3 "c", key \'fleet\': this fleet file is also [[host]] #1 "a"\'s',
    ]


def test_missing_files_and_directories(site_dir: Path) -> None:
    text = """\
[[source]]
path = "nowhere"

[[source]]
path = "hosts/a.toml"

[[host]]
name = "a"
fleet = "hosts/missing.toml"
"""
    path = site_dir / "site.toml"
    messages = errors_of(text, path)
    assert messages == [
        f"{path}:2:1: [[source]] #1, key 'path': no such directory: {(site_dir / 'nowhere').resolve()}",
        f"{path}:5:1: [[source]] #2, key 'path': not a directory: {(site_dir / 'hosts/a.toml').resolve()}",
        f"{path}:9:1: [[host]] #1 \"a\", key 'fleet': fleet file not found: {site_dir}/hosts/missing.toml",
    ]


def test_a_source_listed_twice_and_wrong_types(site_dir: Path) -> None:
    text = """\
[[source]]
path = "repo"

[[source]]
path = "./repo"

[[host]]
name = 3
fleet = "hosts/a.toml"
"""
    path = site_dir / "site.toml"
    messages = errors_of(text, path)
    assert messages == [
        f"{path}:5:1: [[source]] #2, key 'path': this source is listed twice (also [[source]] #1)",
        f"{path}:8:1: [[host]] #1, key 'name': must be a string, not an integer",
    ]


def test_image_roots_are_not_read_yet(site_dir: Path) -> None:
    text = '[[host]]\nname = "a"\nroot = "/zones/a/root"\n'
    path = site_dir / "site.toml"
    assert errors_of(text, path) == [
        f"{path}:3:1: [[host]] #1 \"a\", key 'root': "
        "a site cannot read image roots yet: give the host's 'fleet' file "
        "('zonesolve import --root DIR -o FILE' writes one)"
    ]


def test_no_hosts_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    assert errors_of('[[source]]\npath = "."\n', path) == [
        f"{path}: no [[host]] tables: a site lists at least one host"
    ]
    with pytest.raises(InputError, match=r"site.toml:2:\d+: "):
        parse_site('[[host]]\nname = "a\n', str(path))


# ---------------------------------------------------------------------------
# zonesolve lint site.toml


def test_lint_a_clean_site(run_cli: RunCli, site_dir: Path) -> None:
    text = '[[host]]\nname = "a"\nfleet = "hosts/a.toml"\n\n[[host]]\nname = "b"\nfleet = "hosts/b.toml"\n'
    site = write(site_dir / "site.toml", text)
    run = run_cli("lint", str(site))
    assert run.code == 0, run.out
    assert run.out == "3 files, 0 errors\n"


def test_lint_reports_the_site_and_its_hosts(run_cli: RunCli, site_dir: Path) -> None:
    """Errors in a host's fleet file are at their place in that file; a fleet
    source the site does not list is an error at the fleet's [[source]]."""
    write(
        site_dir / "hosts" / "b.toml", '[[source]]\npath = "../repo"\n\n' + HOST.replace("publishers", "pubs")
    )
    text = '[[host]]\nname = "a"\nfleet = "hosts/a.toml"\n\n[[host]]\nname = "b"\nfleet = "hosts/b.toml"\n'
    site = write(site_dir / "site.toml", text)
    run = run_cli("lint", str(site))
    assert run.code == 1
    fleet = site_dir / "hosts" / "b.toml"
    assert f"{fleet}:9:1: [[image]] #1 \"global\", key 'pubs': unknown key" in run.out
    write(site_dir / "hosts" / "b.toml", '[[source]]\npath = "../repo"\n\n' + HOST)
    run = run_cli("lint", str(site))
    assert run.code == 1
    assert run.out.startswith(f"{fleet}:2:1: [[source]] #1, key 'path': this source ")
    assert "is not one of the site's [[source]] tables" in run.out
    assert run.out.endswith("3 files, 1 error\n")
    write(site, text + '\n[[source]]\npath = "repo"\n')
    assert run_cli("lint", str(site)).code == 0
