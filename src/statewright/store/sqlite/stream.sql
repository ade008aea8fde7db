-- The live stream: audit rows by their stream_seq, per tenant (optionally one instance or
-- one definition), and the largest number committed. SQLite commits one writer at a time,
-- so every row up to the largest is committed: nothing is ever pending.

-- name: stream_rows
SELECT a.stream_seq, a.tenant, a.instance_id, a.seq, i.definition_id, a.event, a.actor,
       a.from_value, a.to_value, a.status, a.runtime_status, a.at
FROM audit AS a JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id
WHERE a.tenant = :tenant AND a.stream_seq > :after AND a.stream_seq <= :through
  AND (:definition_id IS NULL OR i.definition_id = :definition_id)
ORDER BY a.stream_seq LIMIT :limit;

-- One instance's rows, read by its key (the audit table's primary key): only its own rows
-- are scanned (SQLite plans without statistics, and would take the tenant's range).
-- name: stream_instance_rows
SELECT a.stream_seq, a.tenant, a.instance_id, a.seq, i.definition_id, a.event,
       a.actor, a.from_value, a.to_value, a.status, a.runtime_status, a.at
FROM audit AS a INDEXED BY sqlite_autoindex_audit_1 JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id
WHERE a.tenant = :tenant AND a.instance_id = :instance_id
  AND a.stream_seq > :after AND a.stream_seq <= :through
ORDER BY a.stream_seq LIMIT :limit;

-- name: stream_marker
SELECT coalesce(max(stream_seq), 0) AS seq, NULL AS pending FROM audit;
