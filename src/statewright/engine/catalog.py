"""What a server asks the engine besides instances: the stored definitions with their
versions, whether the store is ready, and the responses kept for requests sent again with
the same idempotency key."""

from __future__ import annotations

import builtins

from statewright.engine.deciding import Deciding
from statewright.engine.payload import check_id, check_version
from statewright.store.protocol import SCHEMA_VERSION
from statewright.store.records import DefinitionRecord
from statewright.store.schema import schema_mismatch
from statewright.store.tokens import RequestRecord
from statewright.store.url import redact_url

__all__ = ["REQUEST_RETENTION_MS", "REQUEST_STALE_MS", "Catalog"]

#: How long a kept response is replayed for its idempotency key (24 hours).
REQUEST_RETENTION_MS = 24 * 3600 * 1000
#: A request claimed this long ago and never answered (its process died) may be taken over.
REQUEST_STALE_MS = 60_000
#: Old kept responses are forgotten at most this often, by the process claiming a key.
_FORGET_EVERY_MS = 60_000


class Catalog(Deciding):
    """`definitions`, `definition_versions`, `ready`, and the idempotent request records."""

    _forgot_at = 0

    def definitions(self) -> builtins.list[DefinitionRecord]:
        """The latest version of every stored definition, by id."""
        return self.store.list_definitions()

    def definition_versions(self, definition_id: str) -> builtins.list[DefinitionRecord]:
        """Every stored version of a definition, oldest first.

        Raises:
            NotFound: no such definition.
        """
        latest = self.registry.latest(check_id(definition_id, "definition id"), fresh=True)
        earlier = [self.registry.version(definition_id, v) for v in range(1, latest.version)]
        return [*earlier, latest]

    def definition(self, definition_id: str, version: int | None = None) -> DefinitionRecord:
        """One version of a definition (the latest when `version` is None).

        Raises:
            NotFound: no such definition or version (naming the versions there are).
        """
        check_id(definition_id, "definition id")
        if version is None:
            return self.registry.latest(definition_id, fresh=True)
        return self.registry.version(definition_id, check_version(version, "version"))

    def ready(self) -> None:
        """Check that the store answers, holds this version's schema and can take writes
        (`Store.check_writes`: SQLite's file is still at its path, no write failed for a
        lasting reason since the last that succeeded).

        Raises:
            StoreUnavailable: the database cannot be reached, or writes fail for now (the
                disk is full).
            SchemaOutOfDate: the schema is not this version's.
            StoreError: writes are refused (the file was deleted or replaced, is
                read-only), naming the fix.
        """
        found = self.store.schema_version()
        if found != SCHEMA_VERSION:
            raise schema_mismatch(redact_url(self.store.url), found)
        self.store.check_writes()

    def claim_request(self, tenant: str, key: str, request_hash: str) -> RequestRecord | None:
        """Claim an idempotency key for a request: None if it is this caller's to handle
        (then `finish_request` or `drop_request`), else the request kept under the key:
        answered (`response_status` set) or still being handled."""
        now = self.clock.now()
        if now - self._forgot_at >= _FORGET_EVERY_MS:
            self._forgot_at = now
            self.store.forget_requests(now - REQUEST_RETENTION_MS)
        return self.store.claim_request(tenant, key, request_hash, now, now - REQUEST_STALE_MS)

    def finish_request(self, tenant: str, key: str, status: int, response: str) -> None:
        """Keep the response to a claimed request, to replay it to the same request."""
        self.store.finish_request(tenant, key, status, response)

    def drop_request(self, tenant: str, key: str) -> None:
        """Release a claimed request that has no response to keep (a server error)."""
        self.store.drop_request(tenant, key)
