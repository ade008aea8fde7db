-- History retention (sql_pruning.py): the finished instances older than a cutoff, and each
-- removed whole in one transaction with every row it owns. "Finished" is the snapshot's
-- status: done, error or stopped (an active instance is never a candidate).

-- A page of candidates, in (tenant, id) order after the last one seen.
-- name: prune_candidates
SELECT tenant, id, version, updated_at FROM instances
WHERE status IN ('done', 'error', 'stopped') AND updated_at < :before
  AND (:tenant IS NULL OR tenant = :tenant)
  AND (tenant, id) > (:after_tenant, :after_id)
ORDER BY tenant, id LIMIT :limit;

-- What a run would remove (a dry run): the candidates, their audit rows (one per version),
-- and those held back: for an outbox message not delivered yet, or for holding the newest
-- audit row (prune_holds_stream_head).
-- name: prune_totals
WITH head AS (SELECT tenant, instance_id FROM audit
              WHERE stream_seq = (SELECT max(stream_seq) FROM audit)),
     candidate AS (
    SELECT i.version,
           EXISTS (SELECT 1 FROM outbox AS o
                   WHERE o.tenant = i.tenant AND o.instance_id = i.id
                     AND o.status <> 'delivered') AS undelivered,
           EXISTS (SELECT 1 FROM head
                   WHERE head.tenant = i.tenant AND head.instance_id = i.id) AS stream_head
    FROM instances AS i
    WHERE status IN ('done', 'error', 'stopped') AND updated_at < :before
      AND (:tenant IS NULL OR tenant = :tenant))
SELECT count(*) AS candidates, coalesce(sum(version), 0) AS audit_rows,
       coalesce(sum(undelivered), 0) AS held,
       coalesce(sum(CASE WHEN undelivered THEN version ELSE 0 END), 0) AS held_audit_rows,
       coalesce(sum(stream_head AND NOT undelivered), 0) AS stream_head,
       coalesce(sum(CASE WHEN stream_head AND NOT undelivered THEN version ELSE 0 END), 0)
           AS stream_head_audit_rows
FROM candidate;

-- The instance as the removal sees it, under the write lock (BEGIN IMMEDIATE), and
-- whether an outbox message of its is not delivered yet (pending or dead-lettered).
-- name: prune_lock_instance
SELECT version, status, updated_at,
       EXISTS (SELECT 1 FROM outbox
               WHERE tenant = :tenant AND instance_id = :id AND status <> 'delivered')
           AS undelivered
FROM instances WHERE tenant = :tenant AND id = :id;

-- The live stream's next cursor is the largest stream_seq plus one (queries.sql,
-- insert_audit): the instance holding the newest audit row is kept, so that a cursor is
-- never handed out twice.
-- The instance prune_holds_stream_head keeps, for the archive to leave out.
-- name: prune_stream_head
SELECT tenant, instance_id FROM audit WHERE stream_seq = (SELECT max(stream_seq) FROM audit);

-- name: prune_holds_stream_head
SELECT EXISTS (SELECT 1 FROM audit
               WHERE tenant = :tenant AND instance_id = :id
                 AND stream_seq = (SELECT max(stream_seq) FROM audit)) AS holds;

-- The rows of a batch of instances, for their archive lines (as stored): the keys are
-- a JSON array of [tenant, id] pairs.
-- name: prune_read_instance
SELECT * FROM instances WHERE (tenant, id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, id;

-- name: prune_read_audit
SELECT * FROM audit WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, seq;

-- name: prune_read_timers
SELECT * FROM timers WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, timer_id;

-- name: prune_read_steps
SELECT * FROM steps WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, invoke_id;

-- name: prune_read_outbox
SELECT * FROM outbox WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, created_seq;

-- name: prune_read_step_attempts
SELECT * FROM step_attempts WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, invoke_id, started_version, attempt;

-- name: prune_read_idempotency
SELECT * FROM idempotency WHERE (tenant, instance_id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys))
ORDER BY tenant, instance_id, key;

-- The removal, children first, the instance last (its delete trigger updates the state
-- index and the counts per state, schema.sql).
-- name: prune_delete_audit
DELETE FROM audit WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_timers
DELETE FROM timers WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_steps
DELETE FROM steps WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_outbox
DELETE FROM outbox WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_step_attempts
DELETE FROM step_attempts WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_idempotency
DELETE FROM idempotency WHERE tenant = :tenant AND instance_id = :id;

-- name: prune_delete_instance
DELETE FROM instances WHERE tenant = :tenant AND id = :id AND version = :version;

-- Counts that fell to zero (the triggers leave them), dropped after a run.
-- name: prune_drop_empty_counts
DELETE FROM state_counts WHERE count = 0;
