"""Keyset cursors: an opaque string naming where the next page of a list starts.

A cursor holds the key of the last item of its page (a page never skips or repeats a row
that was there, whatever is inserted meanwhile: the next page starts after that key) and a
digest of the list and filters that gave it, so that a cursor passed to another list, or with
other filters, is refused instead of paging something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping

from statewright.errors import PayloadError

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(kind: str, filters: Mapping[str, object], key: list[str]) -> str:
    """The cursor for the page after `key` of the list `kind` with `filters`."""
    data = {"k": key, "q": _digest(kind, filters)}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, filters: Mapping[str, object], size: int) -> list[str]:
    """The key a cursor of the list `kind` with `filters` holds (`size` strings).

    Raises:
        PayloadError: it is not a cursor, or one another list or other filters gave.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        key = data["k"]
        query = data["q"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
        raise PayloadError(
            f"cursor {cursor!r:.60} is not one a list gave; pass the next_cursor of the "
            "previous page unchanged, or leave it out for the first page"
        ) from None
    if query != _digest(kind, filters):
        raise PayloadError(
            f"cursor {cursor!r:.60} belongs to another list or other filters; page with the "
            "filters that gave it, or leave it out to start again"
        )
    if not (isinstance(key, list) and len(key) == size and all(isinstance(k, str) for k in key)):
        raise PayloadError(f"cursor {cursor!r:.60} is damaged; leave it out to start again")
    return key


def _digest(kind: str, filters: Mapping[str, object]) -> str:
    text = json.dumps([kind, sorted(filters.items())], default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
