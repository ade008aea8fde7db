-- Web console sessions: each bound to one API token, kept as the SHA-256 digest of its random
-- id (the cookie's value, never stored), with the CSRF secret its requests must send.
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    token_prefix TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_by_token ON sessions (token_prefix);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
