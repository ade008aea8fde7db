-- API tokens: each bound to one tenant and one role, kept as a SHA-256 digest under a
-- non-secret lookup prefix (the secret itself is never stored); revoked_at set on revoke.
-- HTTP requests sent with an Idempotency-Key: the first one's response, replayed to the
-- same request again (response_status NULL while it is being handled).
CREATE TABLE tokens (
    prefix TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    event_roles TEXT NOT NULL,
    payloads INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE http_requests (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER,
    response TEXT,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE INDEX http_requests_by_age ON http_requests (started_at);
