-- PostgreSQL statements beyond the queries both backends share (queries.sql): each does in
-- ONE statement what the shared code would do in a transaction of several, so that it costs
-- one round trip in autocommit. The store tries one first and, when it changes no row (the
-- case was not the simple one), takes the general path, which finds out why.

-- A quiet transition whole, in one statement (so in one round trip, in autocommit): the
-- update_instance_quiet update and, only if it matched, the audit row (insert_audit). No row
-- inserted: nothing was written, and the store takes the general path. The audit row's
-- seq and at are the instance's new version and update time (the store checks the first).
-- name: commit_quiet_transition
WITH updated AS (
    UPDATE instances
    SET version = %(version)s, snapshot = %(snapshot)s, value = %(value)s, updated_at = %(at)s
    WHERE tenant = %(tenant)s AND id = %(id)s AND version = %(expected_version)s
      AND status = %(status)s AND definition_id = %(definition_id)s
      AND definition_version = %(definition_version)s
      AND runtime_status = CASE
        WHEN status <> 'active' THEN status
        WHEN EXISTS (SELECT 1 FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s) THEN 'running'
        WHEN EXISTS (SELECT 1 FROM timers WHERE tenant = %(tenant)s AND instance_id = %(id)s) THEN 'waiting'
        ELSE 'active' END
    RETURNING tenant, id
)
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects)
SELECT tenant, id, %(version)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s,
       %(audit_status)s, %(audit_runtime_status)s, %(at)s, %(idempotency_key)s,
       %(microsteps)s, %(effects)s
FROM updated;
