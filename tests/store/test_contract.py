"""The store contract (statewright.testing.store_contract, store_contract_ops and
store_contract_stream), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from statewright.errors import StoreError
from statewright.store import Store, open_store
from statewright.testing.store_contract import CONTRACT, Check
from statewright.testing.store_contract_ops import OPS_CONTRACT
from statewright.testing.store_contract_stream import STREAM_CONTRACT


@pytest.mark.parametrize(
    "check",
    CONTRACT + OPS_CONTRACT + STREAM_CONTRACT,
    ids=lambda check: check.__name__.removeprefix("check_"),
)
def test_store_contract(store: Store, check: Check) -> None:
    check(store)


def test_a_closed_store_refuses_further_use(empty_store_url: str) -> None:
    store = open_store(empty_store_url)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.schema_version()
