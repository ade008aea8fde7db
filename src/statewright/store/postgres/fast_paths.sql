-- PostgreSQL statements beyond the queries both backends share (queries.sql): each does in
-- ONE statement what the shared code would do in a transaction of several, so that it costs
-- one round trip in autocommit. The store tries one first and, when it changes no row (the
-- case was not the simple one), takes the general path, which finds out why.
-- `{include:name}` stands for the query of that name in queries.sql.

-- A quiet transition whole, in one statement (so in one round trip, in autocommit): the
-- update_instance_quiet update of queries.sql (included) and, only if it matched, the
-- audit row (insert_audit). No row inserted: nothing was written, and the store takes the
-- general path. The audit row's seq and at are the instance's new version and update time
-- (the store checks the first).
-- name: commit_quiet_transition
WITH updated AS (
{include:update_instance_quiet}
    RETURNING tenant, id
)
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects)
SELECT tenant, id, %(version)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s,
       %(audit_status)s, %(audit_runtime_status)s, %(at)s, %(idempotency_key)s,
       %(microsteps)s, %(effects)s
FROM updated;

-- A start whole, in one statement: the instance row (only if the id is free and, when
-- latest_definition is set, no newer version of its definition exists), its pending steps,
-- timers and outbox messages (each list one JSON array of rows, the fields in column order;
-- creation numbers drawn in list order: timers, then steps, then messages, as commit.py
-- draws them) and the audit row. The runtime status comes computed (commit.start_params):
-- a new instance has no work but what this statement inserts. No row inserted: nothing was
-- written, and the store takes the general path, which finds out why.
-- name: commit_start
WITH instance AS (
    INSERT INTO instances (tenant, id, definition_id, definition_version, version, snapshot,
                           value, status, runtime_status, created_at, updated_at)
    SELECT %(tenant)s, %(id)s, %(definition_id)s, %(definition_version)s, %(version)s,
           %(snapshot)s, %(value)s, %(status)s, %(runtime_status)s, %(at)s, %(at)s
    WHERE NOT (%(latest_definition)s AND EXISTS (
        SELECT 1 FROM definitions
        WHERE id = %(definition_id)s AND version > %(definition_version)s))
    ON CONFLICT (tenant, id) DO NOTHING
    RETURNING tenant, id
), seqs AS (
    SELECT value, row_number() OVER (ORDER BY value) AS n
    FROM (SELECT nextval('work_seq') AS value FROM instance,
          generate_series(1, %(work_count)s)) AS drawn
), new_timers AS (
    INSERT INTO timers (tenant, instance_id, timer_id, due_at, event, created_seq)
    SELECT instance.tenant, instance.id, t.row->>0, (t.row->>1)::bigint, (t.row->>2)::json,
           seqs.value
    FROM instance, json_array_elements(%(timers)s::json) WITH ORDINALITY AS t(row, n)
    JOIN seqs ON seqs.n = t.n
), new_steps AS (
    INSERT INTO steps (tenant, instance_id, invoke_id, src, input, state, idempotency_key,
                       retry, started_version, status, attempts, created_at, created_seq,
                       next_attempt_at)
    SELECT instance.tenant, instance.id, s.row->>0, s.row->>1, (s.row->>2)::json, s.row->>3,
           s.row->>4, (s.row->>5)::json, %(version)s, 'pending', 0, %(at)s, seqs.value, %(at)s
    FROM instance, json_array_elements(%(steps)s::json) WITH ORDINALITY AS s(row, n)
    JOIN seqs ON seqs.n = s.n + %(timer_count)s
), new_messages AS (
    INSERT INTO outbox (message_id, tenant, instance_id, version, event, status, attempts,
                        created_at, created_seq, next_attempt_at)
    SELECT m.row->>0, instance.tenant, instance.id, %(version)s, (m.row->>1)::json, 'pending',
           0, %(at)s, seqs.value, %(at)s
    FROM instance, json_array_elements(%(messages)s::json) WITH ORDINALITY AS m(row, n)
    JOIN seqs ON seqs.n = m.n + %(timer_count)s + %(step_count)s
)
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects)
SELECT tenant, id, %(version)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s,
       %(audit_status)s, %(audit_runtime_status)s, %(at)s, %(idempotency_key)s,
       %(microsteps)s, %(effects)s
FROM instance;
