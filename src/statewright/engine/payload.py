"""Checking what callers hand the engine: JSON data within limits, and well-formed ids."""

from __future__ import annotations

import hashlib
import json
import math
import re

from statewright.errors import PayloadError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "canonical_hash",
    "check_id",
    "dump_json",
    "event_json",
]

#: Largest event (or start input) accepted, as UTF-8 JSON, unless the engine is told otherwise.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024

_ID = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def dump_json(value: object, what: str) -> str:
    """Serialise `value` compactly; anything that is not plain JSON data is refused.

    Raises:
        PayloadError: naming `what` and the offending value (NaN, sets, objects, ...).
    """
    try:
        return _encode(value)
    except (TypeError, ValueError) as error:
        raise PayloadError(
            f"{what} is not JSON data: {error}; send only objects, arrays, "
            "strings, finite numbers, true/false and null"
        ) from None


def _refuse(value: object) -> object:
    raise TypeError(f"{type(value).__name__} value {value!r:.60} is not JSON")


#: `json.dumps` with these options, built once: `dumps` builds an encoder per call when given
#: options, which costs as much as encoding a small document. `encode` keeps no state between
#: calls, so one encoder serves every thread.
_encode = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_refuse
).encode


def event_json(event: object, limit: int, what: str) -> str:
    """The event as JSON text, refused if not JSON or larger than `limit` bytes."""
    text = dump_json(event, what)
    size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadError(
            f"{what} is {size} bytes of JSON, over the limit of {limit}; "
            "send a reference to large data instead, or raise max_event_bytes"
        )
    return text


def canonical_hash(value: object) -> str:
    """sha256 of the canonical JSON of `value` (sorted keys, no spaces)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_id(value: object, what: str) -> str:
    """An instance id, tenant or actor: 1 to 200 characters, no control characters."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise PayloadError(
            f"{what} {value!r:.80} must be 1 to 200 characters without control characters"
        )
    return value


def is_finite_number(value: object) -> bool:
    """True for ints and finite floats (bools excluded)."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value)
    )
