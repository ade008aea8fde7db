-- When a message was dead-lettered, as a number of work_seq drawn in the transaction that
-- dead-lettered it, after it locked the outbox table (NULL while it is not dead, and for
-- letters that died before this version: they count as older than every position). A
-- redrive's dry run returns a settled position (operations.sql), and a redrive given it acts
-- only on the letters dead then.
ALTER TABLE outbox ADD COLUMN dead_seq BIGINT;
