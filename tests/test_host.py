"""A host read from its image root (resolver.host, ``--root``, ``import``).

The demo host of tests/fixtures/make_image_roots.py is manifests/demo-fleet.toml
written in pkg(5)'s and zoneadm's layout, so every plan made from it with
``--root`` must be the demo fleet's plan, byte for byte; ``import`` must
write a fleet file that plans the same again; and every damaged file must be
named in the error, never a traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from resolver.errors import InputError
from resolver.fleet import load_fleet
from resolver.host import read_host
from resolver.model import Brand
from resolver.sources import load_catalog
from tests.fixtures import make_image_roots as mk

if TYPE_CHECKING:
    from conftest import RunCli

DEMO = str(mk.DEMO_FLEET)
SKIP_NOTES = (
    "zone vm1: brand bhyve (a bhyve virtual machine) has no pkg(5) image: skipped",
    "zone new1: configured, not installed: skipped",
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache."""
    monkeypatch.setenv("ZONESOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("ZONESOLVE_NO_CACHE", raising=False)


def root_of(image_host: Path) -> str:
    return str(image_host / "host")


# ---------------------------------------------------------------------------
# What is read


def test_the_images_of_the_demo_host(image_host: Path) -> None:
    host = read_host(image_host / "host")
    fleet = host.fleet
    assert [(i.name, i.parent, i.brand) for i in fleet.images] == [
        ("global", None, None),
        ("web1", "global", Brand.LIPKG),
        ("web2", "global", Brand.LIPKG),
        ("db1", "global", Brand.SPARSE),
        ("build1", "global", Brand.IPKG),
    ]
    assert host.notes == SKIP_NOTES
    demo = {i.name: i for i in load_fleet(DEMO).images}
    for image in fleet.images:
        want = demo[image.name]
        assert set(map(str, image.installed)) == set(map(str, want.installed)), image.name
        assert (image.publishers, image.frozen, image.avoid, image.facets) == (
            want.publishers,
            want.frozen,
            want.avoid,
            want.facets,
        )
        assert image.variant_map["variant.opensolaris.zone"] == want.variant_map["variant.opensolaris.zone"]


def test_catalogs_shared_by_every_image_are_read_once(image_host: Path) -> None:
    fleet = read_host(image_host / "host").fleet
    root = image_host / "host"
    assert [s.path for s in fleet.sources] == [
        str(root / "var/pkg/publisher/omnios/catalog"),
        str(root / "var/pkg/publisher/extra/catalog"),
        str(root / "var/pkg/state/installed"),  # format 4 images: their installed catalogs
        str(root / "zones/web1/root/var/pkg/state/installed"),
        str(root / "zones/build1/root/var/pkg/state/installed"),
    ]
    # format 5 images (web2, db1): their installed packages, each FMRI once
    heads = [m.text.splitlines()[0] for m in fleet.manifests]
    assert len(heads) == len(set(heads))
    demo = {i.name: i for i in load_fleet(DEMO).images}
    assert len(heads) == len({str(f) for name in ("web2", "db1") for f in demo[name].installed})


def test_zoneadm_listing_gives_the_same_fleet(image_host: Path) -> None:
    by_index = read_host(image_host / "host")
    by_listing = read_host(image_host / "host", zones_file=image_host / "zoneadm-list-cp.txt")
    assert by_listing == by_index


def test_a_listing_from_zoneadm_minus_R_carries_the_root(image_host: Path, tmp_path: Path) -> None:
    root = image_host / "host"
    text = (image_host / "zoneadm-list-cp.txt").read_text().replace(":/zones/", f":{root}/zones/")
    (tmp_path / "list").write_text(text)
    assert read_host(root, zones_file=tmp_path / "list").fleet == read_host(root).fleet


def test_without_system_zones_pkg_links_no_zones(host_copy: Path, tmp_path: Path) -> None:
    images = mk.demo_images()
    images["global"].installed = [f for f in images["global"].installed if "/system/zones@" not in f]
    root = mk.build_host(tmp_path / "built", images=images)
    host = read_host(root)
    assert [i.name for i in host.fleet.images] == ["global", "build1"]  # ipkg zones are no children anyway
    reason = "pkg(5) links no zones: system/zones is not installed in the global zone: skipped"
    assert f"zone web1: brand lipkg, but {reason}" in host.notes


def test_brands_solaris_unknown_and_without_images(tmp_path: Path) -> None:
    zones = (
        mk.ZoneSpec("web1", "solaris", image_version=4),
        mk.ZoneSpec("vm1", "kvm", image_version=None),
        mk.ZoneSpec("lx1", "lx", image_version=None),
        mk.ZoneSpec("odd", "weird", image_version=None),
    )
    host = read_host(mk.build_host(tmp_path, zones=zones))
    assert [(i.name, i.brand) for i in host.fleet.images] == [("global", None), ("web1", Brand.LIPKG)]
    assert host.notes == (
        "zone web1: Solaris brand solaris is planned as a linked (lipkg) zone",
        "zone vm1: brand kvm (a KVM virtual machine) has no pkg(5) image: skipped",
        "zone lx1: brand lx (a Linux zone) has no pkg(5) image: skipped",
        "zone odd: brand weird is not one pkg(5) manages: skipped",
    )


def test_linked_data_is_cross_checked(host_copy: Path) -> None:
    linked = host_copy / "zones" / "web1" / "root" / "var" / "pkg" / "linked"
    ppkgs = json.loads((linked / "linked_ppkgs").read_text())
    (linked / "linked_ppkgs").write_text(json.dumps(ppkgs[1:]))
    (linked / "linked_ppubs").write_text('[["omnios", true]]')
    (linked / "linked_prop").write_text('{"li-name": "zone:webone", "li-model": "push"}')
    shutil.rmtree(host_copy / "zones" / "web2" / "root" / "var" / "pkg" / "linked")
    notes = read_host(host_copy).notes
    assert "zone web1: its linked_prop names it 'zone:webone', not 'zone:web1'" in notes
    record = "zone web1: its record of the global zone's"
    assert any(n.startswith(f"{record} packages (linked_ppkgs) differs in 1 ") for n in notes)
    assert any(n.startswith(f"{record} publishers (linked_ppubs)") for n in notes)
    assert any(n.startswith("zone web2: no linked-image data") for n in notes)


def test_a_publisher_never_refreshed_is_a_note(host_copy: Path) -> None:
    shutil.rmtree(host_copy / "zones" / "build1" / "root" / "var" / "pkg" / "publisher" / "extra")
    notes = read_host(host_copy).notes
    assert any(n.startswith("image build1: publisher extra has no cached catalog") for n in notes)


def test_a_zone_with_a_different_catalog_adds_it_with_a_note(host_copy: Path) -> None:
    attrs = host_copy / "zones/build1/root/var/pkg/publisher/omnios/catalog/catalog.attrs"
    data = attrs.read_bytes().replace(b"20250505T000000.000000Z", b"20250606T000000.000000Z")
    attrs.unlink()
    attrs.write_bytes(data)
    host = read_host(host_copy)
    assert str(attrs.parent) in [s.path for s in host.fleet.sources]
    assert "image build1: publisher omnios's catalog differs from image global's" in " ".join(host.notes)


def test_a_zone_s_image_read_alone(image_host: Path) -> None:
    host = read_host(image_host / "host" / "zones" / "web1" / "root")
    assert [i.name for i in host.fleet.images] == ["global"]
    assert host.fleet.images[0].variant_map["variant.opensolaris.zone"] == "nonglobal"
    assert "planned alone, without its global zone" in host.notes[0]
    assert host.notes[0].endswith("not checked")


def test_duplicate_zone_names(host_copy: Path) -> None:
    index = host_copy / "etc" / "zones" / "index"
    index.write_text(index.read_text() + "web1:installed:/zones/web1:\n")
    with pytest.raises(InputError) as info:
        read_host(host_copy)
    assert info.value.message.startswith(f"{index}:11: zone 'web1' is listed twice (also at {index}:5)")


# ---------------------------------------------------------------------------
# --root plans as the demo fleet does; import writes a fleet that plans the same


PLANS = [
    ("update", "-r"),
    ("update", "-r", "--parent-first"),
    ("update", "web/curl"),
    ("install", "-r", "network/wireguard-tools"),
    ("install", "system/kernel@0.5.11-151054"),
    ("uninstall", "-r", "terminal/tmux"),
    ("update", "--image", "build1"),
    ("attach", "--image", "web2"),
    ("audit",),
]


@pytest.mark.parametrize("argv", PLANS, ids=" ".join)
def test_root_plans_as_the_demo_fleet(run_cli: RunCli, image_host: Path, argv: tuple[str, ...]) -> None:
    by_root = run_cli(*argv, "--root", root_of(image_host), "--format", "json")
    by_fleet = run_cli(*argv, "--fleet", DEMO, "--format", "json")
    assert (by_root.code, by_root.out) == (by_fleet.code, by_fleet.out)
    assert by_root.err == "".join(f"note: {n}\n" for n in SKIP_NOTES)


@pytest.mark.parametrize("argv", PLANS, ids=" ".join)
def test_import_then_plan_is_the_root_plan(
    run_cli: RunCli, image_host: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    fleet_file = tmp_path / "fleet.toml"
    done = run_cli("import", "--root", root_of(image_host), "-o", str(fleet_file))
    assert (done.code, done.out) == (0, "")
    by_fleet = run_cli(*argv, "--fleet", str(fleet_file), "--format", "json")
    by_root = run_cli(*argv, "--root", root_of(image_host), "--format", "json")
    assert (by_fleet.code, by_fleet.out) == (by_root.code, by_root.out)
    assert by_fleet.code in (0, 1, 4)


def test_import_writes_the_same_fleet(run_cli: RunCli, image_host: Path, tmp_path: Path) -> None:
    fleet_file = tmp_path / "host.toml"
    assert run_cli("import", "--root", root_of(image_host), "-o", str(fleet_file)).code == 0
    written = load_fleet(fleet_file)
    read = read_host(image_host / "host").fleet
    assert (written.images, written.sources, written.manifests) == (read.images, read.sources, read.manifests)
    text = fleet_file.read_text()
    assert text.startswith(f"# Written by `zonesolve import --root {root_of(image_host)}`")
    assert "# note: zone vm1: brand bhyve" in text


def test_import_to_stdout_with_a_zone_listing(run_cli: RunCli, image_host: Path) -> None:
    listing = str(image_host / "zoneadm-list-cp.txt")
    done = run_cli("import", "--root", root_of(image_host), "--zones", listing, "--no-cache")
    assert done.code == 0
    assert done.out.count("[[image]]") == 5
    assert done.err == "".join(f"note: {n}\n" for n in SKIP_NOTES)


def test_text_plan_from_root(run_cli: RunCli, image_host: Path) -> None:
    done = run_cli("update", "-r", "--root", root_of(image_host))
    assert done.code == 0
    assert done.out.startswith("update -r in global: 4 of 5 images change.")


def test_audit_of_a_diverged_zone_via_root(run_cli: RunCli, tmp_path: Path) -> None:
    images = mk.demo_images()
    web1 = images["web1"]
    old = "pkg://omnios/SUNWcs@0.5.11,5.11-151046.0:20230501T000000Z"
    new = "pkg://omnios/SUNWcs@0.5.11,5.11-151046.1:20230814T000000Z"
    web1.installed = [f.replace(old, new) for f in web1.installed]
    root = mk.build_host(tmp_path, images=images)
    done = run_cli("audit", "--root", str(root), "--format", "json")
    assert done.code == 52
    audit = json.loads(done.out)["audit"]
    assert audit["web1"]["status"] == "diverged"
    assert audit["web2"]["status"] == audit["db1"]["status"] == "synced"
    assert any("SUNWcs@0.5.11-151046.1 needs pkg://omnios/SUNWcs" in u for u in audit["web1"]["unmet"])


# ---------------------------------------------------------------------------
# Damaged images: the file is named, the exit status is 1, no traceback


@pytest.mark.parametrize("damage", sorted(mk.DAMAGES))
def test_damaged_host_names_the_file(run_cli: RunCli, host_copy: Path, damage: str) -> None:
    broken = mk.DAMAGES[damage](host_copy)
    done = run_cli("update", "-r", "--root", str(host_copy), "--format", "json", "--no-cache")
    assert done.code == 1
    errors = json.loads(done.out)["errors"]
    assert [e["kind"] for e in errors] == ["input"], errors
    message = errors[0]["message"]
    assert message.startswith(f"{broken}"), message
    assert "Traceback" not in done.err
    text_run = run_cli("update", "-r", "--root", str(host_copy), "--no-cache")
    assert text_run.code == 1
    assert f"error: {broken}" in text_run.err


JSON_DAMAGES = ["frozen_json", "avoid_json", "installed_truncated", "publisher_catalog", "linked_prop"]


@pytest.mark.parametrize("damage", JSON_DAMAGES)
def test_damaged_json_has_line_and_column(host_copy: Path, damage: str) -> None:
    broken = mk.DAMAGES[damage](host_copy)
    with pytest.raises(InputError) as info:
        load_catalog(read_host(host_copy).fleet, use_cache=False)
    location = info.value.location
    assert location is not None
    assert location.path == str(broken)
    assert (location.line, location.column) != (None, None)
    assert "invalid JSON" in info.value.reason


def test_import_of_a_damaged_host(run_cli: RunCli, host_copy: Path, tmp_path: Path) -> None:
    broken = mk.DAMAGES["state_db_truncated"](host_copy)
    out = tmp_path / "fleet.toml"
    done = run_cli("import", "--root", str(host_copy), "-o", str(out))
    assert done.code == 1
    assert done.err.startswith(f"error: {broken}: not a readable state database")
    assert not out.exists()


# ---------------------------------------------------------------------------
# The command line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("update", "--zones", "z.txt"), "--zones lists the zones of a host: use it with --root DIR"),
        (("update", "--root", "/", "--fleet", "f.toml"), "argument --fleet: not allowed with argument"),
    ],
)
def test_usage_errors(run_cli: RunCli, argv: tuple[str, ...], message: str) -> None:
    done = run_cli(*argv)
    assert done.code == 2
    assert message in done.err


def test_import_cannot_write(run_cli: RunCli, image_host: Path, tmp_path: Path) -> None:
    done = run_cli("import", "--root", root_of(image_host), "-o", str(tmp_path / "no" / "such" / "dir.toml"))
    assert done.code == 1
    assert done.err.endswith(": No such file or directory\n")


def test_the_fixture_script_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    mk.main([str(first)])
    mk.main([str(second)])

    def tree(base: Path) -> dict[str, bytes | str]:
        out: dict[str, bytes | str] = {}
        for path in sorted(base.rglob("*")):
            rel = str(path.relative_to(base))
            if path.is_symlink():
                out[rel] = "-> " + str(path.readlink())
            elif path.is_file():
                out[rel] = path.read_bytes()
        return out

    assert tree(first) == tree(second)
