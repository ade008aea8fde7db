"""Web console sessions: an API token exchanged for a random session id the browser keeps in
a cookie, stored as its SHA-256 digest, bound to the token and carrying a CSRF secret.

A session acts as its token: it resolves to nothing once the token is revoked (revoking also
deletes its sessions), once it expires (`DEFAULT_SESSION_MS` after its creation: a fixed
lifetime, not renewed by use) or once it is deleted (logout). Nothing caches a session: each
request reads its row and its token's, as for a bearer token.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from statewright.engine.tokens import Token, Tokens, digest_of
from statewright.errors import PayloadError
from statewright.store.tokens import SessionRecord

__all__ = ["DEFAULT_SESSION_MS", "Session", "Sessions"]

#: How long a session lasts after it is made: 12 hours.
DEFAULT_SESSION_MS = 12 * 3600 * 1000
#: A session id: 256 random bits, URL-safe base64 (43 characters).
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A live console session: the token it acts as and the CSRF secret its state-changing
    requests must send (`X-CSRF-Token`)."""

    token: Token
    csrf: str
    created_at: int
    expires_at: int

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether `sent` is this session's CSRF secret (compared in constant time)."""
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class Sessions(Tokens):
    """`create_session`, `resolve_session` and `delete_session`."""

    def create_session(
        self, secret: str, *, lifetime_ms: int = DEFAULT_SESSION_MS
    ) -> tuple[Session, str] | None:
        """A new session acting as the token whose secret this is; returns it and its id
        (the cookie's value, shown this once and never stored). None when the secret is
        not an active token's (malformed, unknown, wrong or revoked), so that callers
        cannot tell those apart.

        Raises:
            PayloadError: `lifetime_ms` is not positive.
        """
        if lifetime_ms <= 0:
            raise PayloadError(f"a session lifetime must be positive, not {lifetime_ms} ms")
        token = self.authenticate(secret)
        if token is None:
            return None
        session_id = secrets.token_urlsafe(32)
        now = self.clock.now()
        record = SessionRecord(
            digest=digest_of(session_id),
            token_prefix=token.prefix,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime_ms,
        )
        self.store.save_session(record, now)
        return _session(token, record), session_id

    def resolve_session(self, session_id: str) -> Session | None:
        """The live session whose id this is; None for anything else (malformed, unknown,
        expired, deleted, or its token revoked)."""
        if not _SESSION_ID.fullmatch(session_id):
            return None
        record = self.store.find_session(digest_of(session_id))
        if record is None or record.expires_at <= self.clock.now():
            return None
        found = self.store.find_token(record.token_prefix)
        if found is None or found.revoked_at is not None:
            return None
        return _session(Token.from_record(found), record)

    def delete_session(self, session_id: str) -> bool:
        """End a session (logout); False if there was no such session."""
        if not _SESSION_ID.fullmatch(session_id):
            return False
        return self.store.delete_session(digest_of(session_id))


def _session(token: Token, record: SessionRecord) -> Session:
    return Session(
        token=token, csrf=record.csrf, created_at=record.created_at, expires_at=record.expires_at
    )
