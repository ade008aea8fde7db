"""The faster JSON writer of engine-built data (`dump_plain`) writes exactly what
`dump_json` writes, and `json_kind` tells which data that holds for."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statewright.engine.payload import (
    NOT_PLAIN,
    PLAIN,
    PLAIN_NO_FLOAT,
    dump_json,
    dump_plain,
    json_kind,
)
from statewright.errors import PayloadError

#: JSON data without floats: every string (control characters, quotes, non-ASCII, astral
#: characters; no lone surrogates), ints of every size orjson writes, nesting.
NO_FLOATS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.slow
@given(NO_FLOATS)
def test_plain_data_without_floats_is_written_byte_for_byte_as_dump_json(value: object) -> None:
    assert json_kind(value) == PLAIN_NO_FLOAT
    assert dump_plain(value, "x") == dump_json(value, "x")
    assert json.loads(dump_plain(value, "x")) == value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"a": [1, "b", None, True]}, PLAIN_NO_FLOAT),
        ({"a": [1.5]}, PLAIN),
        ({"a": (1, 2)}, NOT_PLAIN),  # JSON gives a list back
        ({1: "a"}, NOT_PLAIN),  # JSON gives the key back as "1"
        (OrderedDict(a=1), NOT_PLAIN),
        ({"a": {"b": [{"c": 1.0}]}, "d": (1,)}, NOT_PLAIN),
        ({"a": object()}, NOT_PLAIN),
    ],
)
def test_json_kind_names_what_a_json_round_trip_would_change(value: object, kind: int) -> None:
    assert json_kind(value) == kind


def test_what_orjson_refuses_gets_dump_json_s_answer() -> None:
    assert dump_plain(2**70, "a big number") == str(2**70)
    with pytest.raises(PayloadError, match="a name holds a lone surrogate"):
        dump_plain({"k": "\ud800"}, "a name")
    deep: object = "x"
    for _ in range(300):  # past orjson's nesting limit, within Python's
        deep = [deep]
    assert dump_plain(deep, "deep") == dump_json(deep, "deep")
