-- The PostgreSQL schema this release needs: what every migration in migrations/ adds up to.
-- To change it, edit this file AND add migrations/NNNN_what.sql; tests/store/test_migrations.py
-- checks that the two agree. Times are BIGINT milliseconds since the epoch (UTC). Documents
-- are `json`, not `jsonb`, so that the text comes back exactly as the engine wrote it. Ids
-- compare byte by byte (COLLATE "C"), as in SQLite, whatever the database's locale.

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
);

-- Orders timers, steps and outbox rows by creation.
CREATE SEQUENCE work_seq;

CREATE TABLE definitions (
    id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    config JSON NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id, version),
    UNIQUE (id, hash)
);

CREATE TABLE instances (
    tenant TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    version INTEGER NOT NULL,
    snapshot JSON NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
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
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL,
    event JSON NOT NULL,
    actor TEXT,
    from_value TEXT,
    to_value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    at BIGINT NOT NULL,
    idempotency_key TEXT,
    microsteps JSON NOT NULL,
    effects JSON NOT NULL,
    stream_seq BIGINT GENERATED ALWAYS AS IDENTITY,
    instance_created_at BIGINT,
    PRIMARY KEY (tenant, instance_id, seq)
);

-- No foreign key to instances: PostgreSQL would check it with a query of its own for every
-- row inserted (13 % of the server's CPU time per send). The engine writes audit rows only
-- in the transaction that writes their instance, and every removal deletes both.

-- stream_seq: the live stream's cursor, one increasing number over every tenant's audit
-- rows. Drawn at insert, so commits may make them visible out of order: readers stop at
-- the numbers every transaction that drew one has settled (store/postgres/stream.sql).
CREATE INDEX audit_stream ON audit (tenant, stream_seq);

-- instance_created_at: the instance's created_at, written with every row, so that the table
-- can be partitioned by it (store/postgres/partitioning.sql): an instance's rows all live in
-- one partition. NULL in rows written before schema 11 (until the table is partitioned).

CREATE TABLE timers (
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    timer_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    event JSON NOT NULL,
    created_seq BIGINT NOT NULL,
    lease_until BIGINT,
    PRIMARY KEY (tenant, instance_id, timer_id),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX timers_by_due_at ON timers (due_at, created_seq);

CREATE TABLE steps (
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    invoke_id TEXT NOT NULL,
    src TEXT NOT NULL,
    input JSON NOT NULL,
    state TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    retry JSON,
    started_version INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    created_seq BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT,
    last_error TEXT,
    claimed_from TEXT,
    PRIMARY KEY (tenant, instance_id, invoke_id),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX steps_by_status ON steps (status, created_at);

CREATE INDEX steps_due ON steps (status, next_attempt_at, created_seq);

CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    event JSON NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    created_seq BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at BIGINT,
    -- dead_seq: when it was dead-lettered, a number of work_seq (NULL while not dead)
    dead_seq BIGINT,
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);
CREATE INDEX outbox_by_instance ON outbox (tenant, instance_id, created_seq);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, created_seq);
CREATE INDEX outbox_by_tenant_status ON outbox (tenant, status, message_id);

CREATE TABLE idempotency (
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant, instance_id, key),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);

CREATE TABLE schedule_ticks (
    name TEXT COLLATE "C" NOT NULL,
    tick_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    lease_until BIGINT,
    claims INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (name, tick_at)
);

-- Workers and what they provide (heartbeat_at: last heard of; schedules: the specs of the
-- cron schedules they run, NULL from a worker older than schema 14); failed step attempts.
CREATE TABLE workers (
    id TEXT COLLATE "C" PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    steps JSON NOT NULL,
    listeners JSON NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    schedules JSON
);

CREATE TABLE step_attempts (
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    invoke_id TEXT NOT NULL,
    started_version INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    src TEXT NOT NULL,
    error_type TEXT NOT NULL,
    error_message TEXT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, instance_id, invoke_id, started_version, attempt),
    FOREIGN KEY (tenant, instance_id) REFERENCES instances (tenant, id) ON DELETE CASCADE
);

-- API tokens (a digest under a lookup prefix) and the responses of requests sent with an
-- Idempotency-Key.
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

-- Web console sessions (a digest of the cookie's id), each bound to one API token.
CREATE TABLE sessions (
    digest TEXT COLLATE "C" PRIMARY KEY,
    token_prefix TEXT COLLATE "C" NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_token ON sessions (token_prefix);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The business states of instances, kept beside them so that the console's lists and counts
-- cost the same at any size: `instance_states` holds a row per state an instance is in
-- (`review` and `review.legal` for {"review": "legal"}), so that a list by state or tag reads
-- an index range in id order; `state_counts` holds how many instances are in each
-- (definition, version, value, status, runtime status). A trigger on `instances` keeps both
-- in the transaction that changes an instance. The counts are written as appended changes
-- (+1, -1) to `state_count_changes`, never as updates of a shared row: concurrent
-- transitions never wait for each other on a count (nor deadlock); a reader of the counts
-- sums both tables and folds the changes into `state_counts` now and then (operations.sql).

CREATE TABLE instance_states (
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, state, id)
);

CREATE TABLE state_counts (
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (tenant, definition_id, definition_version, value, status, runtime_status)
);

CREATE TABLE state_count_changes (
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count INTEGER NOT NULL
);

-- The states of a value: a JSON string is its one state; an object gives every key path and
-- every leaf under its parent's path (as the engine writes values); other text has none.
CREATE FUNCTION statewright_state_paths(state_value TEXT) RETURNS SETOF TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF left(state_value, 1) = '"' THEN
        RETURN NEXT state_value::jsonb #>> '{}';
    ELSIF left(state_value, 1) = '{' THEN
        RETURN QUERY
        WITH RECURSIVE walk (path, node) AS (
            SELECT NULL::text, state_value::jsonb
            UNION ALL
            SELECT coalesce(walk.path || '.', '') || member.key, member.value
            FROM walk, jsonb_each(CASE WHEN jsonb_typeof(walk.node) = 'object'
                                       THEN walk.node ELSE '{}'::jsonb END) AS member)
        SELECT walk.path FROM walk WHERE walk.path IS NOT NULL
        UNION ALL
        SELECT coalesce(walk.path || '.', '') || (walk.node #>> '{}') FROM walk
        WHERE jsonb_typeof(walk.node) = 'string';
    END IF;
END
$$;

CREATE FUNCTION statewright_instance_states() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone TEXT[] := '{}';
    came TEXT[] := '{}';
    kept TEXT[];
    path TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (OLD.tenant, OLD.definition_id, OLD.definition_version, OLD.value, OLD.status,
                OLD.runtime_status, -1);
        gone := ARRAY(SELECT statewright_state_paths(OLD.value));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (NEW.tenant, NEW.definition_id, NEW.definition_version, NEW.value, NEW.status,
                NEW.runtime_status, 1);
        came := ARRAY(SELECT statewright_state_paths(NEW.value));
    END IF;
    -- The states an update keeps (same definition and version) are left as they are.
    IF TG_OP = 'UPDATE' AND OLD.definition_id = NEW.definition_id
       AND OLD.definition_version = NEW.definition_version THEN
        kept := ARRAY(SELECT unnest(gone) INTERSECT SELECT unnest(came));
        gone := ARRAY(SELECT unnest(gone) EXCEPT SELECT unnest(kept));
        came := ARRAY(SELECT unnest(came) EXCEPT SELECT unnest(kept));
    END IF;
    -- One state at a time: each row found by its whole key (with `state = ANY`, the planner
    -- may scan the definition's every row for the id).
    FOREACH path IN ARRAY gone LOOP
        DELETE FROM instance_states
        WHERE tenant = OLD.tenant AND definition_id = OLD.definition_id AND state = path
          AND id = OLD.id;
    END LOOP;
    IF cardinality(came) > 0 THEN
        INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
        SELECT NEW.tenant, NEW.definition_id, added, NEW.id, NEW.definition_version
        FROM unnest(came) AS added;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER instances_states_rows AFTER INSERT OR DELETE ON instances
FOR EACH ROW EXECUTE FUNCTION statewright_instance_states();

CREATE TRIGGER instances_states_update
AFTER UPDATE OF value, status, runtime_status, definition_id, definition_version ON instances
FOR EACH ROW
WHEN (OLD.value IS DISTINCT FROM NEW.value OR OLD.status IS DISTINCT FROM NEW.status
      OR OLD.runtime_status IS DISTINCT FROM NEW.runtime_status
      OR OLD.definition_id IS DISTINCT FROM NEW.definition_id
      OR OLD.definition_version IS DISTINCT FROM NEW.definition_version)
EXECUTE FUNCTION statewright_instance_states();
