-- PostgreSQL queries for operators and outside callers (sql_queries.py); the same names as
-- sqlite/operations.sql, where each is explained.

-- name: filter_states
EXISTS (SELECT 1 FROM jsonb_array_elements(%(states)s::jsonb) AS m
        WHERE (m ->> 'd' IS NULL OR m ->> 'd' = instances.definition_id)
          AND (m ->> 'v' IS NULL OR (m ->> 'v')::integer = instances.definition_version)
          AND ((instances.value::jsonb #> ARRAY(SELECT jsonb_array_elements_text(m -> 'p')))
                   = to_jsonb(m ->> 'leaf')
               OR (instances.value::jsonb #> ARRAY(SELECT jsonb_array_elements_text(m -> 'k')))
                   IS NOT NULL))

-- The counts are state_counts plus the changes appended since they were last folded in
-- (schema.sql), read in one statement (one snapshot).
-- name: count_by_state
SELECT definition_id, value, sum(count) AS count FROM (
    SELECT tenant, definition_id, definition_version, value, status, runtime_status, count
    FROM state_counts
    UNION ALL
    SELECT tenant, definition_id, definition_version, value, status, runtime_status, count
    FROM state_count_changes) AS instances
WHERE {where}
GROUP BY definition_id, value HAVING sum(count) > 0 ORDER BY definition_id, value;

-- One reader at a time folds the changes (another one skips folding and sums them).
-- name: lock_state_counts
SELECT pg_try_advisory_xact_lock(hashtext('statewright.state_counts')) AS locked;

-- The committed changes, moved into the counts (the rows a DELETE takes are deleted once,
-- whoever else runs it); counts that fell to zero go.
-- name: fold_state_counts
WITH moved AS (
    DELETE FROM state_count_changes
    RETURNING tenant, definition_id, definition_version, value, status, runtime_status, count)
INSERT INTO state_counts AS c (tenant, definition_id, definition_version, value, status,
                               runtime_status, count)
SELECT tenant, definition_id, definition_version, value, status, runtime_status, sum(count)
FROM moved GROUP BY tenant, definition_id, definition_version, value, status, runtime_status
ORDER BY tenant, definition_id, definition_version, value, status, runtime_status
ON CONFLICT (tenant, definition_id, definition_version, value, status, runtime_status)
DO UPDATE SET count = c.count + excluded.count;

-- name: drop_empty_state_counts
DELETE FROM state_counts WHERE count = 0;

-- name: list_ids_in_state
SELECT id FROM instance_states
WHERE tenant = %(tenant)s AND definition_id = %(state_definition)s AND state = %(state)s
  AND id > %(after_id)s AND id >= %(id_from)s
  AND (%(state_version)s::integer IS NULL OR definition_version = %(state_version)s::integer)
ORDER BY id LIMIT %(limit)s;

-- name: list_in_state
SELECT i.tenant, i.id, i.definition_id, i.definition_version, i.version, i.snapshot, i.value,
       i.status, i.runtime_status, i.created_at, i.updated_at
FROM instance_states AS s JOIN instances AS i ON i.tenant = s.tenant AND i.id = s.id
WHERE s.tenant = %(tenant)s AND s.definition_id = %(state_definition)s AND s.state = %(state)s
  AND s.id > %(after_id)s AND s.id >= %(id_from)s
  AND (%(state_version)s::integer IS NULL OR s.definition_version = %(state_version)s::integer)
  AND (%(status)s::text IS NULL OR i.status = %(status)s::text)
  AND (%(runtime_status)s::text IS NULL OR i.runtime_status = %(runtime_status)s::text)
ORDER BY s.id LIMIT %(limit)s;

-- name: list_steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key,
       retry, started_version, status, attempts, created_at, next_attempt_at,
       lease_until, last_error, claimed_from
FROM steps
WHERE tenant = %(tenant)s
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (instance_id, invoke_id) > (%(after_instance)s::text, %(after_key)s::text)
ORDER BY instance_id, invoke_id
LIMIT %(limit)s;

-- name: list_instance_steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key,
       retry, started_version, status, attempts, created_at, next_attempt_at,
       lease_until, last_error, claimed_from
FROM steps
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND invoke_id > %(after_key)s::text
ORDER BY instance_id, invoke_id
LIMIT %(limit)s;

-- name: list_instance_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
  AND timer_id > %(after_key)s::text
ORDER BY instance_id, timer_id
LIMIT %(limit)s;

-- name: list_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers
WHERE tenant = %(tenant)s
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (instance_id, timer_id) > (%(after_instance)s::text, %(after_key)s::text)
ORDER BY instance_id, timer_id
LIMIT %(limit)s;

-- A tenant's dead letters (of one instance, of one event type; with `through`, only those
-- dead-lettered at or before that dead_seq), keyset-paged on the id.
-- name: list_dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts,
       created_at, next_attempt_at, last_error, delivered_at
FROM outbox
WHERE tenant = %(tenant)s AND status = 'dead'
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(event_type)s::text IS NULL OR event ->> 'type' = %(event_type)s)
  AND (%(message_id)s::text IS NULL OR message_id = %(message_id)s)
  AND (%(through)s::bigint IS NULL OR COALESCE(dead_seq, 0) <= %(through)s)
  AND message_id > %(after_id)s
ORDER BY message_id
LIMIT %(limit)s;

-- One instance's dead letters: its messages by their index (outbox_by_instance), not the
-- tenant's dead letters tested one by one. The instance's messages are read first (a
-- materialized CTE is planned alone, with only the instance's key to search by): the
-- generic plan would otherwise take outbox_by_tenant_status, which names more conditions.
-- name: list_instance_dead_letters
WITH mine AS MATERIALIZED (
    SELECT tenant, instance_id, message_id, version, event, status, attempts,
           created_at, next_attempt_at, last_error, delivered_at, dead_seq
    FROM outbox WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
)
SELECT tenant, instance_id, message_id, version, event, status, attempts,
       created_at, next_attempt_at, last_error, delivered_at
FROM mine
WHERE status = 'dead'
  AND (%(event_type)s::text IS NULL OR event ->> 'type' = %(event_type)s)
  AND (%(message_id)s::text IS NULL OR message_id = %(message_id)s)
  AND (%(through)s::bigint IS NULL OR COALESCE(dead_seq, 0) <= %(through)s)
  AND message_id > %(after_id)s
ORDER BY message_id
LIMIT %(limit)s;

-- How far dead_seq has been drawn, and the transactions writing to the outbox then: as
-- for the live stream (stream.sql), a number up to the marker is settled (committed or
-- never) once none of those is running, since a dead-lettering transaction locks the
-- outbox table before it draws its number. A redrive's dry run returns the settled
-- marker as `as_of`. (work_seq also numbers new timers, steps and messages: a gap
-- between dead_seq values is of no account.)
-- name: dead_letter_last_drawn
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS seq FROM work_seq;

-- name: dead_letter_in_flight
SELECT array_agg(DISTINCT virtualtransaction)::text AS pending
FROM pg_locks
WHERE locktype = 'relation' AND relation = 'outbox'::regclass AND mode = 'RowExclusiveLock'
  AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database());

-- Where in the audit stream an instance's version was written (its audit row's
-- stream_seq; 0 for a row older than the stream): a bulk given a dry run's as_of acts
-- only on the instances with no transition since (a key lookup).
-- name: change_position
SELECT coalesce(stream_seq, 0) AS seq FROM audit
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND seq = %(version)s;

-- name: redrive_dead_letters
UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, last_error = NULL,
       dead_seq = NULL
WHERE tenant = %(tenant)s AND status = 'dead'
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(event_type)s::text IS NULL OR event ->> 'type' = %(event_type)s)
  AND (%(message_id)s::text IS NULL OR message_id = %(message_id)s)
  AND (%(through)s::bigint IS NULL OR COALESCE(dead_seq, 0) <= %(through)s);

-- name: retry_step_now
UPDATE steps SET next_attempt_at = %(now)s
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND invoke_id = %(invoke_id)s
  AND started_version = %(started_version)s AND attempts = %(attempts)s
  AND status = 'retrying';

-- A tenant's outbox messages not delivered yet (the worker's listeners take them), by id.
-- name: list_pending_outbox
SELECT tenant, instance_id, message_id, version, event, status, attempts,
       created_at, next_attempt_at, last_error, delivered_at
FROM outbox
WHERE tenant = %(tenant)s AND status = 'pending'
  AND message_id > %(after_id)s
ORDER BY message_id
LIMIT %(limit)s;

-- The work summary (sqlite/operations.sql explains it): the counts are state_counts plus
-- the changes appended since the last fold, as in count_by_state.
-- name: work_instance_counts
SELECT status, runtime_status, sum(count) AS count FROM (
    SELECT status, runtime_status, count FROM state_counts
    UNION ALL
    SELECT status, runtime_status, count FROM state_count_changes) AS counts
GROUP BY status, runtime_status HAVING sum(count) > 0 ORDER BY status, runtime_status;

-- name: work_counts
SELECT 'timers_overdue' AS kind, count(*) AS count, min(due_at) AS oldest FROM (
    SELECT due_at FROM timers WHERE due_at < %(now)s ORDER BY due_at LIMIT %(cap)s) AS w
UNION ALL
SELECT 'steps_pending_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM steps WHERE status = 'pending' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(cap)s) AS w
UNION ALL
SELECT 'steps_retrying_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM steps WHERE status = 'retrying' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(cap)s) AS w
UNION ALL
SELECT 'steps_retrying_waiting', count(*), NULL FROM (
    SELECT 1 FROM steps WHERE status = 'retrying' AND next_attempt_at > %(now)s
    LIMIT %(cap)s) AS w
UNION ALL
SELECT 'steps_running', count(*), NULL FROM (
    SELECT 1 FROM steps WHERE status = 'running' AND lease_until > %(now)s
    LIMIT %(cap)s) AS w
UNION ALL
SELECT 'steps_running_lapsed', count(*), min(lease_until) FROM (
    SELECT lease_until FROM steps
    WHERE status = 'running' AND next_attempt_at <= %(now)s AND lease_until <= %(now)s
    LIMIT %(cap)s) AS w
UNION ALL
SELECT 'outbox_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(cap)s) AS w
UNION ALL
SELECT 'outbox_pending', count(*), NULL FROM (
    SELECT 1 FROM outbox WHERE status = 'pending' LIMIT %(cap)s) AS w
UNION ALL
SELECT 'outbox_dead', count(*), NULL FROM (
    SELECT 1 FROM outbox WHERE status = 'dead' LIMIT %(cap)s) AS w;
