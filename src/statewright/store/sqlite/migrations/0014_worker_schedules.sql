-- Workers advertise the cron schedules they run (their specs, a JSON array; NULL from a
-- worker that predates this column: it advertises none), so that a schedule no live worker
-- runs is seen; a tick counts its claims, so that a take-over of a claim whose worker died
-- is seen.
ALTER TABLE workers ADD COLUMN schedules TEXT;

ALTER TABLE schedule_ticks ADD COLUMN claims INTEGER NOT NULL DEFAULT 1;
