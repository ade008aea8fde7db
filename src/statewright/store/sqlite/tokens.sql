-- API tokens and the responses of HTTP requests sent with an Idempotency-Key
-- (store/sql_tokens.py). Same names as postgres/tokens.sql.

-- name: insert_token
INSERT INTO tokens (prefix, digest, tenant, role, event_roles, payloads, name, created_at,
                    revoked_at)
VALUES (:prefix, :digest, :tenant, :role, :event_roles, :payloads, :name, :created_at,
        :revoked_at);

-- name: find_token
SELECT prefix, digest, tenant, role, event_roles, payloads, name, created_at, revoked_at
FROM tokens WHERE prefix = :prefix;

-- name: list_tokens
SELECT prefix, digest, tenant, role, event_roles, payloads, name, created_at, revoked_at
FROM tokens WHERE (:tenant IS NULL OR tenant = :tenant)
ORDER BY created_at, prefix;

-- The first revocation counts: revoking again keeps its time.
-- name: revoke_token
UPDATE tokens SET revoked_at = :now WHERE prefix = :prefix AND revoked_at IS NULL;

-- name: insert_request
INSERT INTO http_requests (tenant, key, request_hash, response_status, response, started_at)
VALUES (:tenant, :key, :request_hash, NULL, NULL, :now)
ON CONFLICT (tenant, key) DO NOTHING;

-- name: find_request
SELECT tenant, key, request_hash, response_status, response, started_at
FROM http_requests WHERE tenant = :tenant AND key = :key;

-- A request whose handler died (its process stopped) is taken over once it is stale.
-- name: take_over_request
UPDATE http_requests SET request_hash = :request_hash, started_at = :now
WHERE tenant = :tenant AND key = :key AND response_status IS NULL AND started_at = :started_at
  AND started_at < :stale_before;

-- name: finish_request
UPDATE http_requests SET response_status = :response_status, response = :response
WHERE tenant = :tenant AND key = :key AND response_status IS NULL;

-- name: drop_request
DELETE FROM http_requests WHERE tenant = :tenant AND key = :key AND response_status IS NULL;

-- name: forget_requests
DELETE FROM http_requests WHERE started_at < :before;

-- Console sessions: a digest of the cookie's id, bound to one token (store/sql_tokens.py).
-- name: insert_session
INSERT INTO sessions (digest, token_prefix, csrf, created_at, expires_at)
VALUES (:digest, :token_prefix, :csrf, :created_at, :expires_at);

-- name: find_session
SELECT digest, token_prefix, csrf, created_at, expires_at FROM sessions WHERE digest = :digest;

-- name: delete_session
DELETE FROM sessions WHERE digest = :digest;

-- name: delete_token_sessions
DELETE FROM sessions WHERE token_prefix = :prefix;

-- name: forget_sessions
DELETE FROM sessions WHERE expires_at <= :now;
