"""The store operations of the HTTP API: API tokens (a digest under a lookup prefix), the web
console's sessions (a digest of their id), and the responses of requests sent with an
`Idempotency-Key`, kept to be replayed. A mixin of `SqlStore`, over each backend's
`tokens.sql`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import ClassVar

from statewright.store.tokens import RequestRecord, SessionRecord, TokenRecord
from statewright.store.transaction import Params, Row, Transaction, params_of

__all__ = ["TokenRows"]


class TokenRows:
    """Tokens and idempotent requests (see the module docstring)."""

    token_queries: ClassVar[Mapping[str, str]]

    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        raise NotImplementedError

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        raise NotImplementedError

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        raise NotImplementedError

    # -- tokens -------------------------------------------------------------------------------

    def save_token(self, token: TokenRecord) -> None:
        """Store a new token (its prefix must be new)."""
        self._run_alone(
            self.token_queries["insert_token"],
            params_of(token),
            what=f"saving token {token.prefix!r}",
        )

    def find_token(self, prefix: str) -> TokenRecord | None:
        """The token with this lookup prefix, revoked or not; None if there is none."""
        row = self._read_one(
            self.token_queries["find_token"], {"prefix": prefix}, what="reading a token"
        )
        return None if row is None else _token(row)

    def list_tokens(self, tenant: str | None = None) -> list[TokenRecord]:
        """Every token (of `tenant`, if given), oldest first, revoked ones included."""
        rows = self._read_all(
            self.token_queries["list_tokens"], {"tenant": tenant}, what="listing tokens"
        )
        return [_token(row) for row in rows]

    def revoke_token(self, prefix: str, now: int) -> bool:
        """Revoke a token; False if there is no such token or it was revoked already."""
        changed = self._run_alone(
            self.token_queries["revoke_token"],
            {"prefix": prefix, "now": now},
            what=f"revoking token {prefix!r}",
        )
        return changed > 0

    # -- console sessions ---------------------------------------------------------------------

    def save_session(self, session: SessionRecord, now: int) -> None:
        """Store a new session, forgetting the sessions expired by `now`."""
        with self._transaction(write=True, what="saving a console session") as tx:
            tx.run(self.token_queries["forget_sessions"], {"now": now})
            tx.run(self.token_queries["insert_session"], params_of(session))

    def find_session(self, digest: str) -> SessionRecord | None:
        """The session with this digest, expired or not; None if there is none."""
        row = self._read_one(
            self.token_queries["find_session"], {"digest": digest}, what="reading a session"
        )
        return None if row is None else SessionRecord(**row)

    def delete_session(self, digest: str) -> bool:
        """Delete a session; False if there was none."""
        deleted = self._run_alone(
            self.token_queries["delete_session"], {"digest": digest}, what="ending a session"
        )
        return deleted > 0

    def delete_token_sessions(self, prefix: str) -> int:
        """Delete every session of a token; how many there were."""
        return self._run_alone(
            self.token_queries["delete_token_sessions"],
            {"prefix": prefix},
            what=f"ending the sessions of token {prefix!r}",
        )

    # -- idempotent requests ------------------------------------------------------------------

    def claim_request(
        self, tenant: str, key: str, request_hash: str, now: int, stale_before: int
    ) -> RequestRecord | None:
        """Claim `key` for a request: None if it is ours now (new, or taken over from a
        handler that started before `stale_before` and never answered); else the request
        stored under the key (answered, or being handled), for the caller to compare."""
        params = {"tenant": tenant, "key": key, "request_hash": request_hash, "now": now}
        with self._transaction(write=True, what=f"claiming idempotency key {key!r}") as tx:
            if tx.run(self.token_queries["insert_request"], params):
                return None
            row = tx.one(self.token_queries["find_request"], params)
            if row is None:  # removed between the two statements: claim it again
                tx.run(self.token_queries["insert_request"], params)
                return None
            found = RequestRecord(**row)
            if found.response_status is None and found.started_at < stale_before:
                taken = tx.run(
                    self.token_queries["take_over_request"],
                    {**params, "started_at": found.started_at, "stale_before": stale_before},
                )
                if taken:
                    return None
            return found

    def finish_request(self, tenant: str, key: str, status: int, response: str) -> None:
        """Keep the response to the request claimed under `key`."""
        self._run_alone(
            self.token_queries["finish_request"],
            {"tenant": tenant, "key": key, "response_status": status, "response": response},
            what=f"keeping the response for idempotency key {key!r}",
        )

    def drop_request(self, tenant: str, key: str) -> None:
        """Give up the claim of a request that got no response to keep (it may be sent
        again under the same key)."""
        self._run_alone(
            self.token_queries["drop_request"],
            {"tenant": tenant, "key": key},
            what=f"releasing idempotency key {key!r}",
        )

    def forget_requests(self, before: int) -> int:
        """Forget the requests started before `before`; how many were forgotten."""
        return self._run_alone(
            self.token_queries["forget_requests"],
            {"before": before},
            what="forgetting old idempotent requests",
        )


def _token(row: Row) -> TokenRecord:
    return TokenRecord(**{**row, "payloads": int(row["payloads"])})
