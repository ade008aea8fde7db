-- The SQLite schema this release needs: what every migration in migrations/ adds up to.
-- To change it, edit this file AND add migrations/NNNN_what.sql; tests/store/test_migrations.py
-- checks that the two agree. Times are INTEGER milliseconds since the epoch (UTC); JSON is
-- TEXT, stored exactly as the engine serialised it.

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
);

-- Counters handed out under the write lock; "work" orders timers, steps and outbox rows
-- by creation (PostgreSQL uses a sequence).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('work', 0);

CREATE TABLE definitions (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, version),
    UNIQUE (id, hash)
);

CREATE TABLE instances (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    definition_version INTEGER NOT NULL,
    version INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (definition_id, definition_version) REFERENCES definitions (id, version)
);
CREATE INDEX instances_by_runtime_status ON instances (tenant, runtime_status, id);
CREATE INDEX instances_by_definition ON instances (tenant, definition_id, id);
CREATE INDEX instances_by_status ON instances (tenant, status, id);
CREATE INDEX instances_by_definition_status ON instances (tenant, definition_id, status, id);
CREATE INDEX instances_by_definition_runtime_status
    ON instances (tenant, definition_id, runtime_status, id);

CREATE TABLE audit (
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    from_value TEXT,
    to_value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    at INTEGER NOT NULL,
    idempotency_key TEXT,
    microsteps TEXT NOT NULL,
    effects TEXT NOT NULL,
    stream_seq INTEGER,
    PRIMARY KEY (tenant, instance_id, seq),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);

-- stream_seq: the live stream's cursor, one increasing number over every tenant's audit
-- rows, in commit order (the insert takes the largest plus one under the write lock).
CREATE UNIQUE INDEX audit_by_stream_seq ON audit (stream_seq);
CREATE INDEX audit_stream ON audit (tenant, stream_seq);

CREATE TABLE timers (
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    timer_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    created_seq INTEGER NOT NULL,
    lease_until INTEGER,
    PRIMARY KEY (tenant, instance_id, timer_id),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX timers_by_due_at ON timers (due_at, created_seq);

CREATE TABLE steps (
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    invoke_id TEXT NOT NULL,
    src TEXT NOT NULL,
    input TEXT NOT NULL,
    state TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    retry TEXT,
    started_version INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    last_error TEXT,
    claimed_from TEXT,
    PRIMARY KEY (tenant, instance_id, invoke_id),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX steps_by_status ON steps (status, created_at);

CREATE INDEX steps_due ON steps (status, next_attempt_at, created_seq);

CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at INTEGER,
    -- dead_seq: when it was dead-lettered, a number of the "work" counter (NULL while not dead)
    dead_seq INTEGER,
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX outbox_by_instance ON outbox (tenant, instance_id, created_seq);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, created_seq);
CREATE INDEX outbox_by_tenant_status ON outbox (tenant, status, message_id);

CREATE TABLE idempotency (
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant, instance_id, key),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);

CREATE TABLE schedule_ticks (
    name TEXT NOT NULL,
    tick_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    lease_until INTEGER,
    claims INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (name, tick_at)
);

-- Workers and what they provide (heartbeat_at: last heard of; schedules: the specs of the
-- cron schedules they run, NULL from a worker older than schema 14); failed step attempts.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    steps TEXT NOT NULL,
    listeners TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    schedules TEXT
);

CREATE TABLE step_attempts (
    tenant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    invoke_id TEXT NOT NULL,
    started_version INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    src TEXT NOT NULL,
    error_type TEXT NOT NULL,
    error_message TEXT NOT NULL,
    started_at INTEGER,
    ended_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, instance_id, invoke_id, started_version, attempt),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);

-- API tokens (a digest under a lookup prefix) and the responses of requests sent with an
-- Idempotency-Key.
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

-- Web console sessions (a digest of the cookie's id), each bound to one API token.
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    token_prefix TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_by_token ON sessions (token_prefix);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The business states of instances, kept beside them so that the console's lists and counts
-- cost the same at any size: `instance_states` holds a row per state an instance is in
-- (`review` and `review.legal` for {"review": "legal"}), so that a list by state or tag reads
-- an index range in id order; `state_counts` holds how many instances are in each
-- (definition, version, value, status, runtime status), so that counting per state reads a
-- few rows instead of every instance. Triggers on `instances` keep both in the transaction
-- that changes an instance (SQLite has one writer: no row is ever contended).

CREATE TABLE instance_states (
    tenant TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    state TEXT NOT NULL,
    id TEXT NOT NULL,
    definition_version INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, state, id)
) WITHOUT ROWID;

CREATE TABLE state_counts (
    tenant TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, definition_version, value, status, runtime_status)
) WITHOUT ROWID;

-- The states of a value (SQLite has no functions in SQL, so each trigger spells the walk
-- out): a text value is its one state; an object gives every key path and every leaf under
-- its parent's path. Text that is not JSON has none. A scalar is read without json_tree, which
-- costs ten times as much on one.

CREATE TRIGGER instances_states_insert AFTER INSERT ON instances BEGIN
    INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                              runtime_status, count)
    VALUES (new.tenant, new.definition_id, new.definition_version, new.value, new.status,
            new.runtime_status, 1)
    ON CONFLICT (tenant, definition_id, definition_version, value, status, runtime_status)
    DO UPDATE SET count = count + 1;
    INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
    SELECT new.tenant, new.definition_id, path, new.id, new.definition_version FROM (
        SELECT json_extract(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE entered (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(entered.path || '.', '') || t.key
                FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.parent = entered.node)
            SELECT path FROM entered WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(entered.path || '.', '') || t.atom
            FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.id = entered.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'object');
END;

CREATE TRIGGER instances_states_update
AFTER UPDATE OF value, status, runtime_status, definition_id, definition_version ON instances
WHEN old.value IS NOT new.value OR old.status IS NOT new.status
  OR old.runtime_status IS NOT new.runtime_status OR old.definition_id IS NOT new.definition_id
  OR old.definition_version IS NOT new.definition_version
BEGIN
    UPDATE state_counts SET count = count - 1
    WHERE tenant = old.tenant AND definition_id = old.definition_id
      AND definition_version = old.definition_version AND value = old.value
      AND status = old.status AND runtime_status = old.runtime_status;
    INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                              runtime_status, count)
    VALUES (new.tenant, new.definition_id, new.definition_version, new.value, new.status,
            new.runtime_status, 1)
    ON CONFLICT (tenant, definition_id, definition_version, value, status, runtime_status)
    DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER instances_states_move
AFTER UPDATE OF value, definition_id, definition_version ON instances
WHEN old.value IS NOT new.value OR old.definition_id IS NOT new.definition_id
  OR old.definition_version IS NOT new.definition_version
BEGIN
    DELETE FROM instance_states
    WHERE tenant = old.tenant AND definition_id = old.definition_id AND id = old.id
      AND state IN (
        SELECT json_extract(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE left (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(left.path || '.', '') || t.key
                FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.parent = left.node)
            SELECT path FROM left WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(left.path || '.', '') || t.atom
            FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.id = left.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'object');
    INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
    SELECT new.tenant, new.definition_id, path, new.id, new.definition_version FROM (
        SELECT json_extract(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE entered (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(entered.path || '.', '') || t.key
                FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.parent = entered.node)
            SELECT path FROM entered WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(entered.path || '.', '') || t.atom
            FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.id = entered.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'object');
END;

CREATE TRIGGER instances_states_delete AFTER DELETE ON instances BEGIN
    UPDATE state_counts SET count = count - 1
    WHERE tenant = old.tenant AND definition_id = old.definition_id
      AND definition_version = old.definition_version AND value = old.value
      AND status = old.status AND runtime_status = old.runtime_status;
    DELETE FROM instance_states
    WHERE tenant = old.tenant AND definition_id = old.definition_id AND id = old.id
      AND state IN (
        SELECT json_extract(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE left (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(left.path || '.', '') || t.key
                FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.parent = left.node)
            SELECT path FROM left WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(left.path || '.', '') || t.atom
            FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.id = left.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'object');
END;
