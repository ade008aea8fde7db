-- Cron schedules: each (schedule, tick) is claimed once across all workers.
CREATE TABLE schedule_ticks (
    name TEXT NOT NULL,
    tick_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    lease_until INTEGER,
    PRIMARY KEY (name, tick_at)
);
