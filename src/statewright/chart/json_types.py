"""The JSON value types the chart passes around.

Contexts, events and outputs are JSON-shaped data. Under `mypy --strict` with explicit `Any`
banned in the chart, values read from a definition or an event are typed `object` and narrowed
where they are used.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["JsonObject", "JsonValue"]

JsonValue = object
JsonObject = Mapping[str, object]
