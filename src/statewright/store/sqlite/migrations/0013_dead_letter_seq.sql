-- When a message was dead-lettered, as a number of the "work" counter drawn in the
-- transaction that dead-lettered it (NULL while it is not dead, and for letters that died
-- before this version: they count as older than every position). A redrive's dry run
-- returns the counter's position, and a redrive given it acts only on the letters dead then.
ALTER TABLE outbox ADD COLUMN dead_seq INTEGER;
