"""Benchmark fixtures: generated fleets, made once per session.

``fleet_dir("medium")`` generates the preset (seed 1) into a session temp dir
on first use and returns the directory holding ``fleet.toml`` and
``catalog/``. Tests on the large and huge presets carry the ``large`` marker
and run on demand (``make bench-large``, i.e. ``pytest bench -m large``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.fleetgen import PRESETS, generate, parse_shape

FleetDir = Callable[[str], Path]
#: preset, shape (a name of fleetgen.SHAPES, "random", or key=value,...) -> directory
ShapedDir = Callable[[str, str], Path]

SEED = 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "large: large/huge presets, run on demand")
    config.addinivalue_line("markers", "site: many hosts on Dask (bench/test_site.py), run on demand")


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> FleetDir:
    """A factory: preset name -> directory of that generated fleet (cached)."""
    made: dict[str, Path] = {}

    def get(preset: str) -> Path:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}")
        if preset not in made:
            out = tmp_path_factory.mktemp(f"fleet-{preset}")
            generate(preset, SEED, out)
            made[preset] = out
        return made[preset]

    return get


@pytest.fixture(scope="session")
def shaped_dir(tmp_path_factory: pytest.TempPathFactory) -> ShapedDir:
    """A factory: (preset, shape) -> directory of that generated fleet (seed 1, cached)."""
    made: dict[tuple[str, str], Path] = {}

    def get(preset: str, shape: str) -> Path:
        key = (preset, shape)
        if key not in made:
            out = tmp_path_factory.mktemp(f"fleet-{preset}-{shape.replace('=', '').replace(',', '-')}")
            generate(preset, SEED, out, parse_shape(shape, SEED))
            made[key] = out
        return made[key]

    return get
