-- How the store's connections plan their prepared statements (plan_choice.py).

-- The tables whose rows grow with use, and audit's partitions, that the server has not
-- analyzed yet (reltuples < 0, PostgreSQL 14 and later): how many (`unanalyzed`), and the
-- names, as ANALYZE takes them, of those already larger than the 10 pages the planner
-- assumes of a table it knows nothing of (`grown`); and whether the schema is there yet.
-- name: unanalyzed_tables
SELECT to_regclass('instances') IS NOT NULL AS made, count(*) AS unanalyzed,
       coalesce(array_agg(c.oid::regclass::text)
                    FILTER (WHERE pg_relation_size(c.oid)
                                  > 10 * current_setting('block_size')::bigint),
                '{}') AS grown
FROM pg_class AS c
WHERE c.relkind = 'r' AND c.reltuples < 0
  AND (c.oid IN (to_regclass('instances'), to_regclass('audit'), to_regclass('timers'),
                 to_regclass('steps'), to_regclass('step_attempts'), to_regclass('outbox'),
                 to_regclass('idempotency'), to_regclass('instance_states'),
                 to_regclass('state_count_changes'), to_regclass('schedule_ticks'),
                 to_regclass('http_requests'), to_regclass('sessions'))
       OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass('audit')));
