-- API tokens: each bound to one tenant and one role, kept as a SHA-256 digest under a
-- non-secret lookup prefix (the secret itself is never stored); revoked_at set on revoke.
-- HTTP requests sent with an Idempotency-Key: the first one's response, replayed to the
-- same request again (response_status NULL while it is being handled).
CREATE TABLE tokens (
    prefix TEXT COLLATE "C" PRIMARY KEY,
    digest TEXT NOT NULL,
    tenant TEXT COLLATE "C" NOT NULL,
    role TEXT NOT NULL,
    event_roles JSON NOT NULL,
    payloads INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE http_requests (
    tenant TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER,
    response TEXT,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE INDEX http_requests_by_age ON http_requests (started_at);
