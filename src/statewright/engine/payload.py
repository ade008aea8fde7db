"""Checking what callers hand the engine: JSON data within limits, and well-formed ids."""

from __future__ import annotations

import hashlib
import json
import math
import re

import orjson

from statewright.chart.faults import did_you_mean
from statewright.errors import PayloadError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "MAX_DEPTH",
    "canonical_hash",
    "check_addressable",
    "check_choice",
    "check_id",
    "check_version",
    "dump_json",
    "dump_plain",
    "event_json",
    "json_kind",
]

#: Largest event (or start input) accepted, as UTF-8 JSON, unless the engine is told otherwise.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024
#: Deepest nesting of objects and arrays accepted in an event or input.
MAX_DEPTH = 64

#: 1 to 200 characters: no control characters, and no lone surrogates (which no UTF-8
#: database column can hold).
_ID = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,200}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def dump_json(value: object, what: str, max_depth: int | None = None) -> str:
    """Serialise `value` compactly; anything that is not plain JSON data is refused.

    Raises:
        PayloadError: naming `what` and the offending value (NaN, sets, objects, lone
            surrogates, ...), or nesting past `max_depth` (or past what Python can encode).
    """
    try:
        text = _encode(value)
    except (TypeError, ValueError) as error:
        raise PayloadError(
            f"{what} is not JSON data: {error}; send only objects, arrays, "
            "strings, finite numbers, true/false and null"
        ) from None
    except RecursionError:
        text = ""  # nested past Python's own limit: refused just below
    # Nesting is at most the number of brackets (those in strings too): that count is
    # cheap, the walk is done only past it.
    limit = _PYTHON_DEPTH if max_depth is None else max_depth
    if not text or (max_depth is not None and text.count("{") + text.count("[") > limit):
        _check_depth(value, what, limit)
        if not text:
            raise PayloadError(f"{what} is nested too deep to encode; flatten it")
    # A lone surrogate is the one thing that encodes to JSON but not to UTF-8 (so no column
    # can hold it); `isascii` is a flag lookup, so ASCII text costs nothing here.
    if not text.isascii() and not _is_utf8(text):
        raise PayloadError(
            f"{what} holds a lone surrogate {_surrogate_at(value)}, which is not Unicode "
            "text; send valid UTF-8 strings (a surrogate pair decoded into one character)"
        )
    return text


#: What to name as the limit when the encoder itself gave up (Python's recursion limit).
_PYTHON_DEPTH = 500


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_depth(value: object, what: str, limit: int) -> None:
    """Refuse objects and arrays nested deeper than `limit` (without recursion)."""
    stack: list[tuple[object, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            children: list[tuple[object, str]] = [(v, f"{path}.{k}") for k, v in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(item)]
        else:
            continue
        if depth >= limit:
            raise PayloadError(
                f"{what} is nested deeper than {limit} objects and arrays (at "
                f"{path[:80] or 'the top'}...); flatten it or send a reference to the data"
            )
        stack.extend((child, depth + 1, at) for child, at in children)


def _surrogate_at(value: object) -> str:
    """Where the first lone surrogate is, as `at .a.b[2]` (key or value)."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return f"at {path or 'the top'}"
        if isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return f"in a key at {path or 'the top'}"
                stack.append((inner, f"{path}.{key}"))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{path}[{i}]") for i, inner in enumerate(item))
    return ""


def _refuse(value: object) -> object:
    raise TypeError(f"{type(value).__name__} value {value!r:.60} is not JSON")


#: `json.dumps` with these options, built once: `dumps` builds an encoder per call when given
#: options, which costs as much as encoding a small document. `encode` keeps no state between
#: calls, so one encoder serves every thread.
_encode = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_refuse
).encode


#: `json_kind` of data that is not plain JSON (a tuple, a key that is not a str, a subclass,
#: an object), of plain JSON data holding a float, and of plain JSON data without one.
NOT_PLAIN, PLAIN, PLAIN_NO_FLOAT = 0, 1, 2


def json_kind(value: object) -> int:
    """How plain `value` is: PLAIN_NO_FLOAT, PLAIN or NOT_PLAIN (see above).

    Plain JSON data is dicts with str keys, lists, str, int, float, bool and None, of
    exactly those types: decoding its JSON gives equal data of the same types. Without a
    float, orjson writes it byte for byte as `dump_json` does (same escapes, same
    separators); floats it may write otherwise (`0.00001` for `1e-05`; NaN as null).
    """
    try:
        return _kind(value)
    except RecursionError:
        return NOT_PLAIN


def _kind(value: object) -> int:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return PLAIN_NO_FLOAT
    if kind is float:
        return PLAIN
    found = PLAIN_NO_FLOAT
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return NOT_PLAIN
            inner = type(item)
            if inner is str or inner is int or inner is bool or item is None:
                continue  # the common leaves, without a call
            deeper = PLAIN if inner is float else _kind(item)
            if deeper < found:
                if deeper == NOT_PLAIN:
                    return NOT_PLAIN
                found = deeper
        return found
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            inner = type(item)
            if inner is str or inner is int or inner is bool or item is None:
                continue
            deeper = PLAIN if inner is float else _kind(item)
            if deeper < found:
                if deeper == NOT_PLAIN:
                    return NOT_PLAIN
                found = deeper
        return found
    return NOT_PLAIN


def dump_plain(value: object, what: str) -> str:
    """`dump_json(value, what)` for data known to be plain JSON without floats (see
    `json_kind`): the same text, written by orjson. Anything orjson refuses (a lone
    surrogate, nesting past its limit) goes to `dump_json`, which refuses or writes it."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return dump_json(value, what)


def event_json(event: object, limit: int, what: str) -> str:
    """The event as JSON text, refused if not JSON or larger than `limit` bytes."""
    if json_kind(event) == PLAIN_NO_FLOAT:  # the same text, sooner (see `dump_plain`)
        text = dump_plain(event, what)
        if text.count("{") + text.count("[") > MAX_DEPTH:  # as `dump_json` checks it
            _check_depth(event, what, MAX_DEPTH)
    else:
        text = dump_json(event, what, MAX_DEPTH)
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
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
    """An instance id, tenant or actor: 1 to 200 characters, no control characters, valid
    Unicode (no lone surrogates)."""
    if type(value) is str and value in _good_ids:  # checked before: a set lookup
        return value
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise PayloadError(
            f"{what} {value!r:.80} must be 1 to 200 characters without control characters "
            "or lone surrogates"
        )
    if type(value) is str:  # a subclass may compare equal to what it is not
        if len(_good_ids) >= _MAX_GOOD_IDS:
            _good_ids.clear()
        _good_ids.add(value)
    return value


#: The Unicode bidirectional controls: embeddings, overrides, isolates and marks.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_addressable(value: str, what: str) -> None:
    """Refuse, for a new instance or tenant, an id that cannot stand as one part of a URL
    path or of an outbox message id (`tenant/instance/version/index`): one with a "/" (even
    escaped, servers split on it), or "." and ".." (which HTTP clients resolve as path steps);
    and one holding a character that reorders the text around it when shown (the Unicode
    bidirectional controls), with which an id would read as another in the console, a log
    or a terminal.

    Raises:
        PayloadError: naming the id and the fix.
    """
    if "/" not in value and value not in (".", "..") and not _BIDI_CONTROLS.search(value):
        return
    if _BIDI_CONTROLS.search(value):
        why = "holds a Unicode bidirectional control, which shows the text around it reordered"
        fix = f"choose one without it, e.g. {_BIDI_CONTROLS.sub('', value)!r:.80}"
    elif "/" in value:
        why = 'holds a "/", which URLs and outbox message ids use to separate their parts'
        fix = f"choose one without it, e.g. {value.replace('/', '-')!r:.80}"
    else:
        why = "is read as a path step by HTTP clients, so no URL could reach it"
        fix = "choose another, e.g. 'order-1'"
    raise PayloadError(f"{what} {value!r:.80} cannot be used: it {why}; {fix}")


def check_choice(value: str | None, what: str, allowed: tuple[str, ...]) -> None:
    """Refuse a filter value outside `allowed` (a typo would match nothing, silently).

    Raises:
        PayloadError: naming the value, the values there are, and the near miss.
    """
    if value is None or value in allowed:
        return
    lower = value.lower()
    hint = f'did you mean "{lower}"?' if lower in allowed else did_you_mean(value, allowed)
    raise PayloadError(
        f"{what} {value!r:.80} is not one of {', '.join(allowed)}" + (f"; {hint}" if hint else "")
    )


#: Ids `check_id` passed (plain `str` only), so that the ids a process sends to again and
#: again are matched once; emptied when it holds `_MAX_GOOD_IDS`.
_good_ids: set[str] = set()
_MAX_GOOD_IDS = 10_000  # as many as the engine keeps heads of, by default


def check_version(value: object, what: str) -> int:
    """A version number a caller passes (`expected_version`, `version`): a whole number.

    Raises:
        PayloadError: naming the value, its type and the fix (a string "2" is not 2).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        shown = f"the {type(value).__name__} {value!r:.40}"
        fix = f"pass the number {value}" if isinstance(value, str) and value.isdigit() else ""
        raise PayloadError(
            f"{what} must be a whole number >= 0, not {shown}; "
            + (fix or "pass the version as an int, e.g. instance.version")
        )
    return value


def is_finite_number(value: object) -> bool:
    """True for ints and finite floats (bools excluded)."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value)
    )
