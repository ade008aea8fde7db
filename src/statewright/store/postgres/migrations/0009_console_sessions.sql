-- Web console sessions: each bound to one API token, kept as the SHA-256 digest of its random
-- id (the cookie's value, never stored), with the CSRF secret its requests must send.
CREATE TABLE sessions (
    digest TEXT COLLATE "C" PRIMARY KEY,
    token_prefix TEXT COLLATE "C" NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_token ON sessions (token_prefix);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
