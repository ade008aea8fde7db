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

-- name: count_by_state
SELECT definition_id, value, count(*) AS count
FROM instances WHERE {where}
GROUP BY definition_id, value ORDER BY definition_id, value;

-- name: list_steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key,
       retry, started_version, status, attempts, created_at, next_attempt_at,
       lease_until, last_error, claimed_from
FROM steps
WHERE tenant = %(tenant)s
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(after_instance)s::text IS NULL
       OR (instance_id, invoke_id) > (%(after_instance)s::text, %(after_key)s::text))
ORDER BY instance_id, invoke_id
LIMIT %(limit)s;

-- name: list_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers
WHERE tenant = %(tenant)s
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(after_instance)s::text IS NULL
       OR (instance_id, timer_id) > (%(after_instance)s::text, %(after_key)s::text))
ORDER BY instance_id, timer_id
LIMIT %(limit)s;

-- name: list_dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts,
       created_at, next_attempt_at, last_error, delivered_at
FROM outbox
WHERE tenant = %(tenant)s AND status = 'dead'
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(event_type)s::text IS NULL OR event ->> 'type' = %(event_type)s)
  AND (%(message_id)s::text IS NULL OR message_id = %(message_id)s)
  AND (%(after_id)s::text IS NULL OR message_id > %(after_id)s)
ORDER BY message_id
LIMIT %(limit)s;

-- name: redrive_dead_letters
UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, last_error = NULL
WHERE tenant = %(tenant)s AND status = 'dead'
  AND (%(instance_id)s::text IS NULL OR instance_id = %(instance_id)s)
  AND (%(event_type)s::text IS NULL OR event ->> 'type' = %(event_type)s)
  AND (%(message_id)s::text IS NULL OR message_id = %(message_id)s);

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
  AND (%(after_id)s::text IS NULL OR message_id > %(after_id)s)
ORDER BY message_id
LIMIT %(limit)s;
