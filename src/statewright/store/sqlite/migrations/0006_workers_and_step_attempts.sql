-- Workers advertise the step sources (and listener patterns) they provide, so that a step
-- no running worker provides is shown waiting for one; failed step attempts are kept for
-- the history; a claim records the status it took a run from ('running': a take-over of
-- a run whose worker's lease lapsed).
ALTER TABLE steps ADD COLUMN claimed_from TEXT;

CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    steps TEXT NOT NULL,
    listeners TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
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
