-- SQLite queries for operators and outside callers (sql_queries.py): instances by business
-- state, counts per state, a tenant's steps, timers and dead letters, a step retried now, dead
-- letters redriven. Same names as postgres/operations.sql. Every list is keyset-paged on a
-- primary key or index prefix, within one tenant.

-- Instances in a business state: :states is a JSON array of matchers, each
-- {"d": definition id or null, "v": version or null, "parent": JSON path of the state's
-- parent value, "leaf": its key, "key": JSON path of the state itself}. An instance matches
-- when its value at the parent path is the leaf (an atomic state) or has the state as a key
-- (a compound or parallel state); `review` matches "review" and {"review": ...}.
-- name: filter_states
EXISTS (SELECT 1 FROM json_each(:states) AS m
        WHERE (json_extract(m.value, '$.d') IS NULL
               OR json_extract(m.value, '$.d') = instances.definition_id)
          AND (json_extract(m.value, '$.v') IS NULL
               OR json_extract(m.value, '$.v') = instances.definition_version)
          AND ((json_type(instances.value, json_extract(m.value, '$.parent')) = 'text'
                AND json_extract(instances.value, json_extract(m.value, '$.parent'))
                    = json_extract(m.value, '$.leaf'))
               OR json_type(instances.value, json_extract(m.value, '$.key')) IS NOT NULL))

-- Counts per state from the counts the triggers keep (schema.sql: state_counts), a few rows
-- per state whatever the number of instances; the alias lets the filter_* fragments (and
-- filter_states) test its columns as they test an instance's.
-- name: count_by_state
SELECT definition_id, value, sum(count) AS count
FROM state_counts AS instances WHERE {where}
GROUP BY definition_id, value HAVING sum(count) > 0 ORDER BY definition_id, value;

-- A page of the instances in one state of one definition (optionally one version), from
-- the state index (schema.sql: instance_states) in id order: the page costs the same at
-- any depth and however few instances are in the state. :after_id is '' for the first page.
-- :id_from is an id prefix ('' for none): the range starts there, and the caller drops the
-- ids past the prefix (a page reads at most :limit of them).
-- The ids alone (the index holds them): the caller merges the ranges and loads only the
-- instances of the page.
-- name: list_ids_in_state
SELECT id FROM instance_states
WHERE tenant = :tenant AND definition_id = :state_definition AND state = :state
  AND id > :after_id AND id >= :id_from
  AND (:state_version IS NULL OR definition_version = :state_version)
ORDER BY id LIMIT :limit;

-- With a status or runtime status filter, each instance is read to test it.
-- name: list_in_state
SELECT i.tenant, i.id, i.definition_id, i.definition_version, i.version, i.snapshot, i.value,
       i.status, i.runtime_status, i.created_at, i.updated_at
FROM instance_states AS s JOIN instances AS i ON i.tenant = s.tenant AND i.id = s.id
WHERE s.tenant = :tenant AND s.definition_id = :state_definition AND s.state = :state
  AND s.id > :after_id AND s.id >= :id_from
  AND (:state_version IS NULL OR s.definition_version = :state_version)
  AND (:status IS NULL OR i.status = :status)
  AND (:runtime_status IS NULL OR i.runtime_status = :runtime_status)
ORDER BY s.id LIMIT :limit;

-- A tenant's step runs (of one instance, of one status), keyset-paged on the primary key.
-- name: list_steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from
FROM steps
WHERE tenant = :tenant
  AND (:instance_id IS NULL OR instance_id = :instance_id)
  AND (:status IS NULL OR status = :status)
  AND (instance_id, invoke_id) > (:after_instance, :after_key)
ORDER BY instance_id, invoke_id
LIMIT :limit;

-- One instance's step runs (the console's instance page): its primary-key range only, not
-- the tenant's (an "instance_id IS NULL OR" test would keep SQLite to the tenant prefix).
-- Paged by invoke id alone: a cursor of this list is scoped to the instance, so its last key
-- is the instance's own (a row-value bound would make SQLite search the tenant's range).
-- name: list_instance_steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from
FROM steps
WHERE tenant = :tenant AND instance_id = :instance_id
  AND (:status IS NULL OR status = :status)
  AND invoke_id > :after_key
ORDER BY instance_id, invoke_id
LIMIT :limit;

-- name: list_instance_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers
WHERE tenant = :tenant AND instance_id = :instance_id
  AND timer_id > :after_key
ORDER BY instance_id, timer_id
LIMIT :limit;

-- name: list_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers
WHERE tenant = :tenant
  AND (:instance_id IS NULL OR instance_id = :instance_id)
  AND (instance_id, timer_id) > (:after_instance, :after_key)
ORDER BY instance_id, timer_id
LIMIT :limit;

-- A tenant's dead letters (of one instance, of one event type; with `through`, only those
-- dead-lettered at or before that dead_seq), keyset-paged on the id.
-- name: list_dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox
WHERE tenant = :tenant AND status = 'dead'
  AND (:instance_id IS NULL OR instance_id = :instance_id)
  AND (:event_type IS NULL OR json_extract(event, '$.type') = :event_type)
  AND (:message_id IS NULL OR message_id = :message_id)
  AND (:through IS NULL OR COALESCE(dead_seq, 0) <= :through)
  AND message_id > :after_id
ORDER BY message_id
LIMIT :limit;

-- One instance's dead letters: its messages by their index (outbox_by_instance), not the
-- tenant's dead letters tested one by one (SQLite plans without statistics and would take
-- outbox_by_tenant_status, which names more of the conditions).
-- name: list_instance_dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts,
       created_at, next_attempt_at, last_error, delivered_at
FROM outbox INDEXED BY outbox_by_instance
WHERE tenant = :tenant AND instance_id = :instance_id AND status = 'dead'
  AND (:event_type IS NULL OR json_extract(event, '$.type') = :event_type)
  AND (:message_id IS NULL OR message_id = :message_id)
  AND (:through IS NULL OR COALESCE(dead_seq, 0) <= :through)
  AND message_id > :after_id
ORDER BY message_id
LIMIT :limit;

-- How far dead_seq has been drawn: one writer at a time, so every letter dead-lettered
-- with a number up to it is committed (a redrive's dry run returns it as `as_of`).
-- name: dead_letter_marker
SELECT value AS seq FROM counters WHERE name = 'work';

-- Where in the audit stream an instance's version was written (its audit row's
-- stream_seq; 0 for a row older than the stream): a bulk given a dry run's as_of acts
-- only on the instances with no transition since (a key lookup).
-- name: change_position
SELECT coalesce(stream_seq, 0) AS seq FROM audit
WHERE tenant = :tenant AND instance_id = :instance_id AND seq = :version;

-- name: redrive_dead_letters
UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now, last_error = NULL,
       dead_seq = NULL
WHERE tenant = :tenant AND status = 'dead'
  AND (:instance_id IS NULL OR instance_id = :instance_id)
  AND (:event_type IS NULL OR json_extract(event, '$.type') = :event_type)
  AND (:message_id IS NULL OR message_id = :message_id)
  AND (:through IS NULL OR COALESCE(dead_seq, 0) <= :through);

-- A run waiting for its next attempt is due now; nothing else about it changes.
-- name: retry_step_now
UPDATE steps SET next_attempt_at = :now
WHERE tenant = :tenant AND instance_id = :instance_id AND invoke_id = :invoke_id
  AND started_version = :started_version AND attempts = :attempts AND status = 'retrying';

-- A tenant's outbox messages not delivered yet (the worker's listeners take them), by id.
-- name: list_pending_outbox
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox
WHERE tenant = :tenant AND status = 'pending'
  AND message_id > :after_id
ORDER BY message_id
LIMIT :limit;

-- The work summary every tenant's work gives (the metrics): instances per status and
-- runtime status from the counts the triggers keep (a few rows per definition, version,
-- state and status, whatever the number of instances).
-- name: work_instance_counts
SELECT status, runtime_status, sum(count) AS count FROM state_counts
GROUP BY status, runtime_status HAVING sum(count) > 0 ORDER BY status, runtime_status;

-- The work waiting, per kind: how many rows (at most :cap: each count reads one range of an
-- index, and stops there) and, for what is due, the earliest due time (the first row of the
-- range). Overdue timers and due steps and messages are those a worker could claim now; a
-- running step whose lease ran out is due again from the lease's end. Claimed messages are
-- due at their claim's end, so they are pending but not due.
-- name: work_counts
SELECT 'timers_overdue' AS kind, count(*) AS count, min(due_at) AS oldest FROM (
    SELECT due_at FROM timers WHERE due_at < :now ORDER BY due_at LIMIT :cap) AS w
UNION ALL
SELECT 'steps_pending_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM steps WHERE status = 'pending' AND next_attempt_at <= :now
    ORDER BY next_attempt_at LIMIT :cap) AS w
UNION ALL
SELECT 'steps_retrying_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM steps WHERE status = 'retrying' AND next_attempt_at <= :now
    ORDER BY next_attempt_at LIMIT :cap) AS w
UNION ALL
SELECT 'steps_retrying_waiting', count(*), NULL FROM (
    SELECT 1 FROM steps WHERE status = 'retrying' AND next_attempt_at > :now LIMIT :cap) AS w
UNION ALL
SELECT 'steps_running', count(*), NULL FROM (
    SELECT 1 FROM steps WHERE status = 'running' AND lease_until > :now LIMIT :cap) AS w
UNION ALL
SELECT 'steps_running_lapsed', count(*), min(lease_until) FROM (
    SELECT lease_until FROM steps
    WHERE status = 'running' AND next_attempt_at <= :now AND lease_until <= :now
    LIMIT :cap) AS w
UNION ALL
SELECT 'outbox_due', count(*), min(next_attempt_at) FROM (
    SELECT next_attempt_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now
    ORDER BY next_attempt_at LIMIT :cap) AS w
UNION ALL
SELECT 'outbox_pending', count(*), NULL FROM (
    SELECT 1 FROM outbox WHERE status = 'pending' LIMIT :cap) AS w
UNION ALL
SELECT 'outbox_dead', count(*), NULL FROM (
    SELECT 1 FROM outbox WHERE status = 'dead' LIMIT :cap) AS w;
