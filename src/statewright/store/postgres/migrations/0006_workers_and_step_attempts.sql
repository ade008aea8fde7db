-- Workers advertise the step sources (and listener patterns) they provide, so that a step
-- no running worker provides is shown waiting for one; failed step attempts are kept for
-- the history; a claim records the status it took a run from ('running': a take-over of
-- a run whose worker's lease lapsed).
ALTER TABLE steps ADD COLUMN claimed_from TEXT;

CREATE TABLE workers (
    id TEXT COLLATE "C" PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    steps JSON NOT NULL,
    listeners JSON NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
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
