-- PostgreSQL statements beyond the queries both backends share (queries.sql): each does in
-- ONE statement what the shared code would do in a transaction of several, so that it costs
-- one round trip in autocommit. The store tries one first and, when it changes no row (the
-- case was not the simple one), takes the general path, which finds out why.
-- `{include:name}` stands for the query of that name in queries.sql, or in this file.

-- A quiet transition whole, in one statement (so in one round trip, in autocommit): the
-- update_instance_quiet update of queries.sql (included) and, only if it matched, the
-- audit row (part_audit_of_updated). No row inserted: nothing was written, and the store takes the
-- general path. The audit row's seq and at are the instance's new version and update time
-- (the store checks the first).
-- name: commit_quiet_transition
WITH updated AS (
{include:update_instance_quiet}
    RETURNING tenant, id, created_at
)
{include:part_audit_of_updated};

-- commit_quiet_transition for a transition that keeps the state value
-- (update_instance_quiet_same_value: the value checked, not set, so that the state index's
-- trigger is not even considered).
-- name: commit_quiet_same_value
WITH updated AS (
{include:update_instance_quiet_same_value}
    RETURNING tenant, id, created_at
)
{include:part_audit_of_updated};

-- The audit row of a one-statement quiet transition: from the CTE
-- `updated`, the instance row its update returned, so only if the update matched.
-- name: part_audit_of_updated
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects, instance_created_at)
SELECT tenant, id, %(version)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s,
       %(audit_status)s, %(audit_runtime_status)s, %(at)s, %(idempotency_key)s,
       %(microsteps)s, %(effects)s, created_at
FROM updated;

-- Quiet transitions of distinct instances (a group commit's or send_many's commonest
-- batch), whole, in one statement: each is commit_quiet_transition's (or, where `same_value`,
-- commit_quiet_same_value's) update and audit row, the values one array per column rather
-- than commit_work's JSON rows, and only the columns a quiet transition sets: so the row
-- stays a HOT update and the state index's trigger starts only for a moved value. All or
-- nothing, as commit_work: every instance row is first locked where it is as the write
-- expects (version, status, definition, value where kept, and the runtime status its
-- pending work gives) and is the row this statement's snapshot sees (same xmin); only if
-- all are is anything written. No row returned: nothing was written, and the store takes
-- the general path, which finds out why.
-- name: commit_quiet_group
WITH w AS MATERIALIZED (
    SELECT * FROM unnest(%(tenants)b::text[], %(ids)b::text[], %(expected_versions)b::integer[],
                         %(versions)b::integer[], %(snapshots)b::text[], %(values)b::text[],
                         %(statuses)b::text[], %(definition_ids)b::text[],
                         %(definition_versions)b::integer[], %(ats)b::bigint[],
                         %(same_values)b::boolean[], %(events)b::text[], %(actors)b::text[],
                         %(from_values)b::text[], %(to_values)b::text[],
                         %(audit_statuses)b::text[], %(audit_runtime_statuses)b::text[],
                         %(microsteps)b::text[], %(effects)b::text[])
        AS w (tenant, id, expected_version, version, snapshot, value, status, definition_id,
              definition_version, at, same_value, event, actor, from_value, to_value,
              audit_status, audit_runtime_status, microsteps, effects)
    LIMIT %(write_count)s
), seen AS MATERIALIZED (
    SELECT i.tenant, i.id, i.xmin::text AS row_version
    FROM instances AS i JOIN w ON i.tenant = w.tenant AND i.id = w.id
    -- The instance's work, probed by its key (scalar subqueries: never a hash of every
    -- instance's rows): retrying NULL without steps, true with a retrying one.
    CROSS JOIN LATERAL (
        SELECT (SELECT bool_or((s.status = 'retrying') IS TRUE) FROM steps AS s
                WHERE s.tenant = i.tenant AND s.instance_id = i.id) AS retrying,
               (SELECT true FROM timers AS t
                WHERE t.tenant = i.tenant AND t.instance_id = i.id LIMIT 1) AS timed
        OFFSET 0  -- kept a subquery: each probe runs once per row
    ) AS work
    -- Compared as rows, IS NOT DISTINCT FROM (the columns are NOT NULL: the same as `=`),
    -- which no index takes as its condition: the generic plan reads the row by its key
    -- rather than through an index that leads with the status or the definition.
    WHERE (i.version, i.status, i.definition_id, i.definition_version)
          IS NOT DISTINCT FROM (w.expected_version, w.status, w.definition_id,
                                w.definition_version)
      AND (NOT w.same_value OR i.value = w.value)
      AND i.runtime_status = CASE
          WHEN i.status <> 'active' THEN i.status
          WHEN work.retrying THEN 'retrying'
          WHEN work.retrying IS NOT NULL THEN 'running'
          WHEN work.timed THEN 'waiting'
          ELSE 'active' END
), locked AS MATERIALIZED (
{include:part_locked_writes}
), ok AS MATERIALIZED (
    SELECT (SELECT count(*) FROM locked JOIN seen USING (tenant, id, row_version))
               = %(write_count)s AS ok
), moved AS (
    UPDATE instances AS i
    SET version = w.version, snapshot = w.snapshot::json, value = w.value, updated_at = w.at
    FROM w
    WHERE (SELECT ok FROM ok) AND NOT w.same_value AND i.tenant = w.tenant AND i.id = w.id
), kept AS (
    UPDATE instances AS i
    SET version = w.version, snapshot = w.snapshot::json, updated_at = w.at
    FROM w
    WHERE (SELECT ok FROM ok) AND w.same_value AND i.tenant = w.tenant AND i.id = w.id
), new_audit AS (
    INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                       runtime_status, at, idempotency_key, microsteps, effects,
                       instance_created_at)
    SELECT w.tenant, w.id, w.version, w.event::json, w.actor, w.from_value, w.to_value,
           w.audit_status, w.audit_runtime_status, w.at, NULL, w.microsteps::json,
           w.effects::json,
           (SELECT i.created_at FROM instances AS i WHERE i.tenant = w.tenant AND i.id = w.id)
    FROM w WHERE (SELECT ok FROM ok)
)
SELECT 1 FROM ok WHERE ok;

-- A start whole, in one statement: the instance row (only if the id is free and, when
-- latest_definition is set, no newer version of its definition exists), its pending steps,
-- timers and outbox messages (each list one JSON array of rows, the fields in column order;
-- creation numbers drawn in list order: timers, then steps, then messages, as commit.py
-- draws them) and the audit row. The runtime status comes computed (fast_params.start_params):
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
                   runtime_status, at, idempotency_key, microsteps, effects, instance_created_at)
SELECT tenant, id, %(version)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s,
       %(audit_status)s, %(audit_runtime_status)s, %(at)s, %(idempotency_key)s,
       %(microsteps)s, %(effects)s, %(at)s
FROM instance;

-- Transitions of existing instances, one or many (a worker's batch of results), whole, in
-- one statement (fast_params.work_params): every instance row, the timer or step each one
-- consumes, the timers and steps each cancels, stops or (leaving `active`) drops, the ones it
-- schedules and starts, its messages and its audit row.
--
-- All or nothing: first every instance row is locked at its expected version (FOR NO KEY
-- UPDATE, the lock an UPDATE takes) and every consumed timer and step at its expected claim
-- (FOR UPDATE, as a DELETE); only if every lock was taken (`ok`) is anything written. The
-- locked row must also be the one this statement's snapshot sees (same xmin): the runtime
-- status is computed from that snapshot, so if another transaction changed the instance
-- while this one waited for its lock, nothing is written. `ok` false: the store takes the
-- general path, which finds out why; one row returned means written. Rows are locked in
-- key order, so that two workers whose batches share instances (parallel steps of one
-- instance) wait rather than deadlock.
--
-- A computed runtime status is part_runtime_status's rule (queries.sql) applied to the rows
-- as this statement leaves them: the instance's timers and steps minus those it deletes,
-- plus those it creates. One statement cannot see its own changes, so the rule is stated
-- here on the rows before them and each write's lists; tests check that both agree.
-- work_params leaves out writes that delete and create the same timer or step. The LIMITs
-- tell the planner how many rows a JSON list holds (it assumes 100 for a function), so that
-- it looks each one up by its key instead of scanning a table.
-- name: commit_work
WITH w AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(writes)s::json) AS w (
        tenant text, id text, definition_id text, definition_version integer,
        version integer, expected_version integer, snapshot text, value text, status text,
        runtime_status text, at bigint, drop_work boolean, starts_steps boolean,
        schedules_timers boolean, deleted_steps text[], deleted_timers text[], event text,
        actor text, from_value text, to_value text, audit_status text,
        audit_runtime_status text, idempotency_key text, microsteps text, effects text)
    LIMIT %(write_count)s
), seen AS MATERIALIZED (
    SELECT i.tenant, i.id, i.xmin::text AS row_version
    FROM instances AS i JOIN w ON i.tenant = w.tenant AND i.id = w.id
    WHERE i.version = w.expected_version
), locked AS MATERIALIZED (
{include:part_locked_writes}
), held_steps AS MATERIALIZED (
    SELECT 1
    FROM steps AS s JOIN (
        SELECT * FROM json_to_recordset(%(consumed_steps)s::json) AS c (
            tenant text, instance_id text, invoke_id text, started_version integer,
            attempts integer)
        LIMIT %(consumed_step_count)s) AS c
      ON s.tenant = c.tenant AND s.instance_id = c.instance_id AND s.invoke_id = c.invoke_id
     AND s.started_version = c.started_version AND s.attempts = c.attempts
    ORDER BY s.tenant, s.instance_id, s.invoke_id
    FOR UPDATE OF s
), held_timers AS MATERIALIZED (
    SELECT 1
    FROM timers AS t JOIN (
        SELECT * FROM json_to_recordset(%(consumed_timers)s::json) AS c (
            tenant text, instance_id text, timer_id text, created_seq bigint)
        LIMIT %(consumed_timer_count)s) AS c
      ON t.tenant = c.tenant AND t.instance_id = c.instance_id AND t.timer_id = c.timer_id
     AND t.created_seq = c.created_seq
    ORDER BY t.tenant, t.instance_id, t.timer_id
    FOR UPDATE OF t
), ok AS MATERIALIZED (
    SELECT (SELECT count(*) FROM locked JOIN seen USING (tenant, id, row_version))
               = %(write_count)s
       AND (SELECT count(*) FROM held_steps) = %(consumed_step_count)s
       AND (SELECT count(*) FROM held_timers) = %(consumed_timer_count)s AS ok
), updated AS (
    UPDATE instances AS i
    SET definition_id = w.definition_id, definition_version = w.definition_version,
        version = w.version, snapshot = w.snapshot::json, value = w.value, status = w.status,
        runtime_status = coalesce(w.runtime_status, CASE
            WHEN w.status <> 'active' THEN w.status
            WHEN EXISTS (SELECT 1 FROM steps AS s
                         WHERE s.tenant = w.tenant AND s.instance_id = w.id
                           AND s.status = 'retrying' AND s.invoke_id <> ALL (w.deleted_steps))
                THEN 'retrying'
            WHEN w.starts_steps OR EXISTS (
                    SELECT 1 FROM steps AS s
                    WHERE s.tenant = w.tenant AND s.instance_id = w.id
                      AND s.invoke_id <> ALL (w.deleted_steps))
                THEN 'running'
            WHEN w.schedules_timers OR EXISTS (
                    SELECT 1 FROM timers AS t
                    WHERE t.tenant = w.tenant AND t.instance_id = w.id
                      AND t.timer_id <> ALL (w.deleted_timers))
                THEN 'waiting'
            ELSE 'active' END),
        updated_at = w.at
    FROM w
    WHERE (SELECT ok FROM ok) AND i.tenant = w.tenant AND i.id = w.id
), gone_steps AS (
    DELETE FROM steps AS s USING w
    WHERE (SELECT ok FROM ok) AND s.tenant = w.tenant AND s.instance_id = w.id
      AND (w.drop_work OR s.invoke_id = ANY (w.deleted_steps))
), gone_timers AS (
    DELETE FROM timers AS t USING w
    WHERE (SELECT ok FROM ok) AND t.tenant = w.tenant AND t.instance_id = w.id
      AND (w.drop_work OR t.timer_id = ANY (w.deleted_timers))
), seqs AS (
    SELECT value, row_number() OVER (ORDER BY value) AS n
    FROM (SELECT nextval('work_seq') AS value FROM generate_series(1, %(work_count)s)
          WHERE (SELECT ok FROM ok)) AS drawn
), new_timers AS (
    INSERT INTO timers (tenant, instance_id, timer_id, due_at, event, created_seq)
    SELECT t.tenant, t.instance_id, t.timer_id, t.due_at, t.event::json, seqs.value
    FROM json_to_recordset(%(timers)s::json) AS t (
        n integer, tenant text, instance_id text, timer_id text, due_at bigint, event text)
    JOIN seqs ON seqs.n = t.n
    {include:part_timer_replaced}
), new_steps AS (
    INSERT INTO steps (tenant, instance_id, invoke_id, src, input, state, idempotency_key,
                       retry, started_version, status, attempts, created_at, created_seq,
                       next_attempt_at, lease_until, last_error)
    SELECT s.tenant, s.instance_id, s.invoke_id, s.src, s.input::json, s.state,
           s.idempotency_key, s.retry::json, s.started_version, 'pending', 0, s.created_at,
           seqs.value, s.created_at, NULL, NULL
    FROM json_to_recordset(%(steps)s::json) AS s (
        n integer, tenant text, instance_id text, invoke_id text, src text, input text,
        state text, idempotency_key text, retry text, started_version integer,
        created_at bigint)
    JOIN seqs ON seqs.n = s.n
    {include:part_step_restarted}
), new_messages AS (
    INSERT INTO outbox (message_id, tenant, instance_id, version, event, status, attempts,
                        created_at, created_seq, next_attempt_at)
    SELECT m.message_id, m.tenant, m.instance_id, m.version, m.event::json, 'pending', 0,
           m.created_at, seqs.value, m.created_at
    FROM json_to_recordset(%(messages)s::json) AS m (
        n integer, tenant text, instance_id text, message_id text, event text,
        version integer, created_at bigint)
    JOIN seqs ON seqs.n = m.n
), new_audit AS (
    INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                       runtime_status, at, idempotency_key, microsteps, effects,
                       instance_created_at)
    SELECT w.tenant, w.id, w.version, w.event::json, w.actor, w.from_value, w.to_value,
           w.audit_status, w.audit_runtime_status, w.at, w.idempotency_key,
           w.microsteps::json, w.effects::json,
           (SELECT i.created_at FROM instances AS i WHERE i.tenant = w.tenant AND i.id = w.id)
    FROM w WHERE (SELECT ok FROM ok)
)
SELECT 1 FROM ok WHERE ok;

-- The instance rows of the writes `w` (a CTE of the including statement), locked at their
-- expected versions in key order (two statements whose writes share instances wait rather
-- than deadlock), each with its row version (xmin) to compare with the one its snapshot saw.
-- name: part_locked_writes
SELECT i.tenant, i.id, i.xmin::text AS row_version
FROM instances AS i JOIN w ON i.tenant = w.tenant AND i.id = w.id
WHERE i.version = w.expected_version
ORDER BY i.tenant, i.id
FOR NO KEY UPDATE OF i;
