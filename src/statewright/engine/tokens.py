"""API tokens: created with a random secret shown once, stored as its SHA-256 digest under a
non-secret lookup prefix, checked in constant time, revoked with immediate effect.

A token reads `sw_<prefix>_<secret>`: the prefix (12 hex digits) finds the row, the secret
(256 random bits) proves the holder. Each token is bound to one tenant and one role
(`viewer`, `operator`, `admin`), may carry extra event roles for the per-event `roles` of
definitions (`permissions.py`), and may be denied reading context and event payloads.
Nothing caches a token: every request reads its row, so a revocation counts at once.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.payload import check_addressable, check_id
from statewright.errors import NotFound, PayloadError
from statewright.store.tokens import TokenRecord

__all__ = ["ROLES", "Token", "Tokens"]

#: The roles a token may have, from least to most: read; also start and send; everything.
ROLES = ("viewer", "operator", "admin")
_TOKEN = re.compile(r"sw_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
_PREFIX = re.compile(r"[0-9a-f]{12}")
#: An event role: a name a definition's `"roles"` may use (not a token role).
_EVENT_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """An API token as listed: never its secret."""

    prefix: str
    tenant: str
    role: str
    #: Extra role names for the per-event `roles` of definitions.
    event_roles: tuple[str, ...]
    #: False: context and event payloads are withheld from this token's reads.
    payloads: bool
    name: str
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    @property
    def roles(self) -> frozenset[str]:
        """Every role the token holds, for the per-event checks: its role and event roles."""
        return frozenset((self.role, *self.event_roles))

    @property
    def actor(self) -> str:
        """Who the audit rows name for what this token sends."""
        return f"{self.name} (token {self.prefix})" if self.name else f"token {self.prefix}"

    @classmethod
    def from_record(cls, record: TokenRecord) -> Token:
        """Decode a stored token."""
        return cls(
            prefix=record.prefix,
            tenant=record.tenant,
            role=record.role,
            event_roles=tuple(json.loads(record.event_roles)),
            payloads=bool(record.payloads),
            name=record.name,
            created_at=record.created_at,
            revoked_at=record.revoked_at,
        )


class Tokens(Deciding):
    """`create_token`, `tokens`, `revoke_token` and `authenticate`."""

    def create_token(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        role: str = "viewer",
        name: str = "",
        event_roles: Sequence[str] = (),
        payloads: bool = True,
    ) -> tuple[Token, str]:
        """A new token; returns it and its secret, which is shown this once and never stored.

        Raises:
            PayloadError: an unknown role, a malformed tenant, name or event role.
        """
        check_id(tenant, "tenant")
        check_addressable(tenant, "tenant")
        if role not in ROLES:
            raise PayloadError(f"role {role!r} is not one of {', '.join(ROLES)}; pick one")
        if name:
            check_id(name, "token name")
            if len(name) > 100:
                raise PayloadError(
                    f"token name {name[:40]!r}... is over 100 characters; shorten it"
                )
        for extra in event_roles:
            if not isinstance(extra, str) or not _EVENT_ROLE.fullmatch(extra):
                raise PayloadError(
                    f"event role {extra!r:.80} must be 1 to 64 letters, digits or _.:- "
                    '(starting with a letter or digit), as in a definition\'s "roles"'
                )
        prefix = secrets.token_hex(6)
        secret = f"sw_{prefix}_{secrets.token_urlsafe(32)}"
        record = TokenRecord(
            prefix=prefix,
            digest=digest_of(secret),
            tenant=tenant,
            role=role,
            event_roles=json.dumps(sorted(set(event_roles))),
            payloads=1 if payloads else 0,
            name=name,
            created_at=self.clock.now(),
        )
        self.store.save_token(record)
        return Token.from_record(record), secret

    def tokens(self, *, tenant: str | None = None) -> builtins.list[Token]:
        """Every token (of `tenant`, if given), oldest first, revoked ones included."""
        if tenant is not None:
            check_id(tenant, "tenant")
        return [Token.from_record(record) for record in self.store.list_tokens(tenant)]

    def revoke_token(self, token: str) -> Token:
        """Revoke a token, by its prefix (as `tokens` lists it) or the whole token; from
        now on it authenticates nothing, and its console sessions are ended. Revoking a
        revoked token changes nothing.

        Raises:
            NotFound: no token has this prefix.
        """
        match = _TOKEN.fullmatch(token)
        prefix = match["prefix"] if match else token
        if not _PREFIX.fullmatch(prefix):
            raise NotFound(
                f"{token[:20]!r} is not a token prefix (12 hex digits, as "
                '"statewright tokens list" shows them) nor a token'
            )
        self.store.revoke_token(prefix, self.clock.now())
        self.store.delete_token_sessions(prefix)
        record = self.store.find_token(prefix)
        if record is None:
            raise NotFound(f'no token {prefix!r}; "statewright tokens list" shows them')
        return Token.from_record(record)

    def authenticate(self, secret: str) -> Token | None:
        """The active token whose secret this is; None for anything else (malformed,
        unknown, wrong secret, revoked), so that callers cannot tell those apart."""
        match = _TOKEN.fullmatch(secret)
        if match is None:
            return None
        record = self.store.find_token(match["prefix"])
        if record is None:
            digest_of(secret)  # as much work as a known prefix: no timing difference
            return None
        if not hmac.compare_digest(record.digest, digest_of(secret)):
            return None
        return None if record.revoked_at is not None else Token.from_record(record)


def digest_of(secret: str) -> str:
    """The SHA-256 hex digest a secret (a token's, a session id) is stored as."""
    return hashlib.sha256(secret.encode()).hexdigest()
