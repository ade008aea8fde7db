-- The live stream: audit rows by their stream_seq, per tenant (optionally one instance or
-- one definition), and how far the numbers are settled.
--
-- A stream_seq is drawn from its sequence when the row is inserted, but transactions commit
-- in any order: number 7 may be visible while 6 is still in flight (or rolled back, never
-- to appear). So a reader only goes up to a *settled* number: `stream_marker` reads the
-- sequence's last number (every holder of a number up to it has drawn it by then), then,
-- in a later statement, the transactions in flight; once none of those is in progress
-- (`stream_settled`), every number up to the marker is committed or never will be.

-- name: stream_rows
SELECT a.stream_seq, a.tenant, a.instance_id, a.seq, i.definition_id, a.event::text AS event,
       a.actor, a.from_value, a.to_value, a.status, a.runtime_status, a.at
FROM audit AS a JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id
WHERE a.tenant = %(tenant)s AND a.stream_seq > %(after)s AND a.stream_seq <= %(through)s
  AND (%(definition_id)s::text IS NULL OR i.definition_id = %(definition_id)s::text)
ORDER BY a.stream_seq LIMIT %(limit)s;

-- One instance's rows (read by its key: only its own rows are scanned).
-- name: stream_instance_rows
SELECT a.stream_seq, a.tenant, a.instance_id, a.seq, i.definition_id, a.event::text AS event,
       a.actor, a.from_value, a.to_value, a.status, a.runtime_status, a.at
FROM audit AS a JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id
WHERE a.tenant = %(tenant)s AND a.instance_id = %(instance_id)s
  AND a.stream_seq > %(after)s AND a.stream_seq <= %(through)s
ORDER BY a.stream_seq LIMIT %(limit)s;

-- name: stream_last_drawn
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS seq FROM audit_stream_seq_seq;

-- name: stream_in_flight
SELECT CASE WHEN pg_snapshot_xmin(s) = pg_snapshot_xmax(s) THEN NULL ELSE s::text END AS pending
FROM pg_current_snapshot() AS s;

-- name: stream_settled
SELECT NOT EXISTS (
    SELECT 1 FROM pg_snapshot_xip(%(pending)s::pg_snapshot) AS x
    WHERE pg_xact_status(x) = 'in progress'
) AS settled;

-- Transitions were committed: wakes the live streams (commit_listener.py), sent after the
-- commits by the notifier thread, never inside a transition's transaction.
-- name: notify_audit
SELECT pg_notify('statewright_audit', '');
