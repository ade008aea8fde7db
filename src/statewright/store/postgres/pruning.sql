-- History retention (sql_pruning.py) on PostgreSQL: the same names as sqlite/pruning.sql,
-- where each is explained. The live stream's cursor comes from an identity sequence here,
-- so the newest audit row need not be kept (no prune_holds_stream_head), and the counts per
-- state are folded by the store (no prune_drop_empty_counts).

-- A page of candidates, in (tenant, id) order after the last one seen.
-- name: prune_candidates
SELECT tenant, id, version, updated_at FROM instances
WHERE status IN ('done', 'error', 'stopped') AND updated_at < %(before)s
  AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND (tenant, id) > (%(after_tenant)s, %(after_id)s)
ORDER BY tenant, id LIMIT %(limit)s;

-- What a run would remove (a dry run): the candidates, their audit rows (one per version),
-- and those held back because an outbox message of theirs is not delivered yet.
-- name: prune_totals
SELECT count(*) AS candidates, coalesce(sum(version), 0) AS audit_rows,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM outbox AS o
                                      WHERE o.tenant = i.tenant AND o.instance_id = i.id
                                        AND o.status <> 'delivered')) AS held,
       coalesce(sum(version) FILTER (WHERE EXISTS (SELECT 1 FROM outbox AS o
                                                   WHERE o.tenant = i.tenant
                                                     AND o.instance_id = i.id
                                                     AND o.status <> 'delivered')), 0)
           AS held_audit_rows,
       0 AS stream_head, 0 AS stream_head_audit_rows
FROM instances AS i
WHERE status IN ('done', 'error', 'stopped') AND updated_at < %(before)s
  AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s);

-- A removal's commit need not wait for the disk: lost to a crash, the instance comes back
-- whole (and archived); the next run removes it again.
-- name: prune_relax_commit
SELECT set_config('synchronous_commit', 'off', true);

-- The instance locked first (a transition locks it first too, then its work rows).
-- name: prune_lock_instance
SELECT version, status, updated_at,
       EXISTS (SELECT 1 FROM outbox
               WHERE tenant = %(tenant)s AND instance_id = %(id)s AND status <> 'delivered')
           AS undelivered
FROM instances WHERE tenant = %(tenant)s AND id = %(id)s FOR UPDATE;

-- The rows of a batch of instances, for their archive lines (as stored): the keys are
-- the pairs of %(tenants)s and %(ids)s.
-- name: prune_read_instance
SELECT * FROM instances WHERE (tenant, id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, id;

-- name: prune_read_audit
SELECT * FROM audit WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, seq;

-- name: prune_read_timers
SELECT * FROM timers WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, timer_id;

-- name: prune_read_steps
SELECT * FROM steps WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, invoke_id;

-- name: prune_read_outbox
SELECT * FROM outbox WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, created_seq;

-- name: prune_read_step_attempts
SELECT * FROM step_attempts WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, invoke_id, started_version, attempt;

-- name: prune_read_idempotency
SELECT * FROM idempotency WHERE (tenant, instance_id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
ORDER BY tenant, instance_id, key;

-- name: prune_delete_audit
DELETE FROM audit WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- name: prune_delete_timers
DELETE FROM timers WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- name: prune_delete_steps
DELETE FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- name: prune_delete_outbox
DELETE FROM outbox WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- name: prune_delete_step_attempts
DELETE FROM step_attempts WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- name: prune_delete_idempotency
DELETE FROM idempotency WHERE tenant = %(tenant)s AND instance_id = %(id)s;

-- Every row the instance owns, in one round trip (the statements above, for SQLite).
-- name: prune_delete_rows
WITH removed_audit AS (DELETE FROM audit WHERE tenant = %(tenant)s AND instance_id = %(id)s
               RETURNING 1),
     removed_timers AS (DELETE FROM timers WHERE tenant = %(tenant)s AND instance_id = %(id)s
                RETURNING 1),
     removed_steps AS (DELETE FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s
               RETURNING 1),
     removed_outbox AS (DELETE FROM outbox WHERE tenant = %(tenant)s AND instance_id = %(id)s
                RETURNING 1),
     removed_step_attempts AS (DELETE FROM step_attempts
                       WHERE tenant = %(tenant)s AND instance_id = %(id)s RETURNING 1),
     removed_idempotency AS (DELETE FROM idempotency
                     WHERE tenant = %(tenant)s AND instance_id = %(id)s RETURNING 1)
SELECT (SELECT count(*) FROM removed_audit) AS audit,
       (SELECT count(*) FROM removed_timers) AS timers,
       (SELECT count(*) FROM removed_steps) AS steps,
       (SELECT count(*) FROM removed_outbox) AS outbox,
       (SELECT count(*) FROM removed_step_attempts) AS step_attempts,
       (SELECT count(*) FROM removed_idempotency) AS idempotency;

-- name: prune_delete_instance
DELETE FROM instances WHERE tenant = %(tenant)s AND id = %(id)s AND version = %(version)s;

-- The pruning lock (prune_lock.py), keyed by this schema.
-- name: prune_try_lock
SELECT pg_try_advisory_lock(hashtext('statewright.prune'), hashtext(current_schema()))
    AS locked;

-- name: prune_unlock
SELECT pg_advisory_unlock(hashtext('statewright.prune'), hashtext(current_schema()));

-- Who holds it: the server process, its client and since when.
-- name: prune_lock_holder
SELECT 'PostgreSQL pid ' || a.pid || ' from ' || coalesce(host(a.client_addr), 'local socket')
       || coalesce(' (' || nullif(a.application_name, '') || ')', '')
       || ', since ' || to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    AS holder
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.classid = hashtext('statewright.prune')::oid
  AND l.objid = hashtext(current_schema())::oid
LIMIT 1;

-- A whole removal as one statement, one round trip without BEGIN and COMMIT: the instance
-- locked if it is still the finished candidate read (its version, every outbox message
-- delivered, one audit row per version), then every row it owns and itself, each delete
-- only if it was. No row back: nothing was removed, and prune_lock_instance's transaction
-- finds out why. The instance's own cascades find its rows gone already.
-- name: prune_remove_alone
WITH target AS (
    SELECT i.id, set_config('synchronous_commit', 'off', true) AS relaxed
    FROM instances AS i
    WHERE i.tenant = %(tenant)s AND i.id = %(id)s AND i.version = %(version)s
      AND i.status IN ('done', 'error', 'stopped') AND i.updated_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM outbox AS o
                      WHERE o.tenant = %(tenant)s AND o.instance_id = %(id)s
                        AND o.status <> 'delivered')
      AND (SELECT count(*) FROM audit AS a
           WHERE a.tenant = %(tenant)s AND a.instance_id = %(id)s) = i.version
    FOR UPDATE OF i),
     removed_audit AS (DELETE FROM audit WHERE tenant = %(tenant)s AND instance_id = %(id)s
                 AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_timers AS (DELETE FROM timers WHERE tenant = %(tenant)s AND instance_id = %(id)s
                  AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_steps AS (DELETE FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s
                 AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_outbox AS (DELETE FROM outbox WHERE tenant = %(tenant)s AND instance_id = %(id)s
                  AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_step_attempts AS (DELETE FROM step_attempts
                       WHERE tenant = %(tenant)s AND instance_id = %(id)s
                         AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_idempotency AS (DELETE FROM idempotency
                     WHERE tenant = %(tenant)s AND instance_id = %(id)s
                       AND EXISTS (SELECT 1 FROM target) RETURNING 1),
     removed_instance AS (DELETE FROM instances
                  WHERE tenant = %(tenant)s AND id = %(id)s AND version = %(version)s
                    AND EXISTS (SELECT 1 FROM target) RETURNING 1)
SELECT (SELECT count(*) FROM removed_instance) AS instances,
       (SELECT count(*) FROM removed_audit) AS audit,
       (SELECT count(*) FROM removed_timers) AS timers,
       (SELECT count(*) FROM removed_steps) AS steps,
       (SELECT count(*) FROM removed_outbox) AS outbox,
       (SELECT count(*) FROM removed_step_attempts) AS step_attempts,
       (SELECT count(*) FROM removed_idempotency) AS idempotency;
