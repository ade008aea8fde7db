-- Step runs: when a step may run next, the lease of the worker running it, its last error.
ALTER TABLE steps ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN lease_until INTEGER;
ALTER TABLE steps ADD COLUMN last_error TEXT;
CREATE INDEX steps_due ON steps (status, next_attempt_at, created_seq);
