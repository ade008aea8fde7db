-- The live stream: audit rows by their stream_seq, per tenant (optionally one instance or
-- one definition), and how far the numbers are settled.
--
-- A stream_seq is drawn from its sequence when the row is inserted, but transactions commit
-- in any order: number 7 may be visible while 6 is still in flight (or rolled back, never
-- to appear). So a reader only goes up to a *settled* number: `stream_marker` reads the
-- sequence's last number, then, in a later statement, the transactions holding the lock an
-- INSERT into audit takes (RowExclusiveLock, taken before the INSERT draws its number and
-- held until its transaction ends); once none of those is running any more
-- (`stream_settled`: a transaction holds the lock on its own virtual id for its whole life),
-- every number up to the marker is committed or never will be.
--
-- Not transaction ids: a transaction may draw its number before it gets one, and
-- PostgreSQL reuses a backend's last snapshot while no transaction has ended, so a snapshot's
-- in-progress list can miss a transaction that started since. Only writers of this schema's
-- audit table are waited for: a long transaction elsewhere on the server delays nothing.

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
SELECT array_agg(DISTINCT virtualtransaction)::text AS pending
FROM pg_locks
WHERE locktype = 'relation' AND relation = 'audit'::regclass AND mode = 'RowExclusiveLock'
  AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database());

-- name: stream_settled
SELECT NOT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'virtualxid' AND virtualxid = ANY (%(pending)s::text[])
) AS settled;

-- Transitions were committed: wakes the live streams (commit_listener.py), sent after the
-- commits by the notifier thread, never inside a transition's transaction.
-- name: notify_audit
SELECT pg_notify('statewright_audit', '');
