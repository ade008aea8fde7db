-- Cron schedules: each (schedule, tick) is claimed once across all workers.
CREATE TABLE schedule_ticks (
    name TEXT COLLATE "C" NOT NULL,
    tick_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    lease_until BIGINT,
    PRIMARY KEY (name, tick_at)
);
