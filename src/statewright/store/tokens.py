"""What the HTTP API keeps in the store: API tokens, the web console's sessions and the
responses of requests sent with an `Idempotency-Key`; their records and the part of the
`Store` protocol that reads and writes them (implemented once for both backends in
`sql_tokens.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["RequestRecord", "SessionRecord", "TokenRecord", "TokenStore"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """An API token as stored: never the secret, only its SHA-256 `digest` (hex) under the
    non-secret `prefix` it is looked up by."""

    prefix: str
    digest: str
    tenant: str
    role: str
    #: Extra role names (JSON list text) for the per-event `roles` of a definition.
    event_roles: str
    #: 1 if the token may read context and event payloads, 0 if they are withheld.
    payloads: int
    name: str
    created_at: int
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """A web console session as stored: the SHA-256 `digest` (hex) of its random id (the
    cookie's value, never stored), the token it acts as, and its CSRF secret."""

    digest: str
    token_prefix: str
    csrf: str
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """A request sent with an Idempotency-Key: its hash and, once answered, the response
    (`response_status` None while it is being handled)."""

    tenant: str
    key: str
    request_hash: str
    response_status: int | None
    response: str | None
    started_at: int


class TokenStore(Protocol):
    """The store operations on tokens and idempotent requests."""

    def save_token(self, token: TokenRecord) -> None:
        """Store a new token (its prefix must be new)."""
        ...

    def find_token(self, prefix: str) -> TokenRecord | None:
        """The token with this lookup prefix, revoked or not; None if there is none."""
        ...

    def list_tokens(self, tenant: str | None = None) -> list[TokenRecord]:
        """Every token (of `tenant`, if given), oldest first, revoked ones included."""
        ...

    def revoke_token(self, prefix: str, now: int) -> bool:
        """Revoke a token; False if there is no such token or it was revoked already."""
        ...

    def save_session(self, session: SessionRecord, now: int) -> None:
        """Store a new session, forgetting the sessions expired by `now`."""
        ...

    def find_session(self, digest: str) -> SessionRecord | None:
        """The session with this digest, expired or not; None if there is none."""
        ...

    def delete_session(self, digest: str) -> bool:
        """Delete a session; False if there was none."""
        ...

    def delete_token_sessions(self, prefix: str) -> int:
        """Delete every session of a token; how many there were."""
        ...

    def claim_request(
        self, tenant: str, key: str, request_hash: str, now: int, stale_before: int
    ) -> RequestRecord | None:
        """Claim `key` for a request: None if it is ours now; else the request stored
        under it (answered, or being handled since after `stale_before`)."""
        ...

    def finish_request(self, tenant: str, key: str, status: int, response: str) -> None:
        """Keep the response to the request claimed under `key`."""
        ...

    def drop_request(self, tenant: str, key: str) -> None:
        """Give up the claim of a request that got no response to keep."""
        ...

    def forget_requests(self, before: int) -> int:
        """Forget the requests started before `before`; how many were forgotten."""
        ...
