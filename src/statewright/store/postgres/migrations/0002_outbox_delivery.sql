-- Outbox delivery: when a message may be tried next, what went wrong last, when it arrived.
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at BIGINT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, created_seq);
