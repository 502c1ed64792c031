"""The published JSON Schema of ``--format json`` (and of ``--format pkg-parsable``).

One file, ``resolver/schema/plan.schema.json`` (JSON Schema draft 2020-12),
shipped inside the package and printed by ``zonesolve schema``. Its root
accepts every document ``--format json`` prints (a planning verb's or audit's
result; ``why`` and ``site`` have reserved ``$defs``); ``$defs/pkg-parsable``
describes pkg(1)'s ``--parsable=0`` plan as zonesolve writes it. The test
suite validates every JSON output against it (tests/conftest.py).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["SCHEMA_PATH", "schema", "schema_text"]

#: Where the schema is inside the package.
SCHEMA_PATH = "schema/plan.schema.json"


def schema_text() -> str:
    """The schema, as shipped."""
    return files("resolver").joinpath(SCHEMA_PATH).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The schema, parsed."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded
