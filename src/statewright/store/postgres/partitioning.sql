-- A time-partitioned audit table (store/partitions.py, audit_partitions.py). `{partition}`,
-- `{low}` and `{high}` stand for a partition's name and range, formatted in by the store
-- (names it made itself, numbers): DDL takes no parameters.

-- Whether audit is partitioned, and by what interval (kept in the table's comment).
-- name: audit_partitioning
SELECT c.relkind = 'p' AS partitioned, obj_description(c.oid, 'pg_class') AS note
FROM pg_class AS c WHERE c.oid = 'audit'::regclass;

-- Its partitions and their bounds (pg_get_expr: "FOR VALUES FROM ('1') TO ('2')", "DEFAULT").
-- name: audit_partitions
SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits AS h JOIN pg_class AS c ON c.oid = h.inhrelid
WHERE h.inhparent = 'audit'::regclass
ORDER BY c.relname;

-- The conversion, in one transaction: writers of audit wait from here to the commit (readers
-- go on until the old table is dropped, at the end).
-- name: partition_lock
LOCK TABLE audit IN EXCLUSIVE MODE;

-- Instances by creation: which range partition's instances are which, and the oldest.
-- name: partition_index_instances
CREATE INDEX IF NOT EXISTS instances_by_created_at ON instances (created_at);

-- name: partition_oldest
SELECT min(created_at) AS oldest FROM instances;

-- The columns of schema.sql's audit, in the same order (tests check that they agree), with
-- instance_created_at required and in the primary key, as partitioning needs. No foreign
-- key to instances: a partition is dropped after its instances are deleted (a cascade would
-- delete its rows one by one first); the engine writes audit rows only in the transaction
-- that writes their instance, and deletes them with it.
-- name: partition_create_table
CREATE TABLE audit_partitioned (
    tenant TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL,
    event JSON NOT NULL,
    actor TEXT,
    from_value TEXT,
    to_value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    at BIGINT NOT NULL,
    idempotency_key TEXT,
    microsteps JSON NOT NULL,
    effects JSON NOT NULL,
    stream_seq BIGINT GENERATED ALWAYS AS IDENTITY,
    instance_created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, instance_id, seq, instance_created_at)
) PARTITION BY RANGE (instance_created_at);

-- name: partition_create_default
CREATE TABLE audit_default PARTITION OF audit_partitioned DEFAULT;

-- name: partition_create_new_range
CREATE TABLE {partition} PARTITION OF audit_partitioned FOR VALUES FROM ({low}) TO ({high});

-- Every row, with its stream number and its instance's creation time.
-- name: partition_move_rows
INSERT INTO audit_partitioned (tenant, instance_id, seq, event, actor, from_value, to_value,
                               status, runtime_status, at, idempotency_key, microsteps,
                               effects, stream_seq, instance_created_at)
OVERRIDING SYSTEM VALUE
SELECT a.tenant, a.instance_id, a.seq, a.event, a.actor, a.from_value, a.to_value, a.status,
       a.runtime_status, a.at, a.idempotency_key, a.microsteps, a.effects, a.stream_seq,
       i.created_at
FROM audit AS a JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id;

-- name: partition_count_rows
SELECT count(*) AS count FROM audit;

-- The live stream's cursor goes on from where the old table's sequence was.
-- name: partition_carry_sequence
SELECT setval(pg_get_serial_sequence('audit_partitioned', 'stream_seq'),
              greatest(last_value, 1), is_called)
FROM audit_stream_seq_seq;

-- The old table out, the new one under its names (the stream reads the sequence by name).
-- name: partition_swap
DROP TABLE audit;
ALTER TABLE audit_partitioned RENAME TO audit;
ALTER SEQUENCE audit_partitioned_stream_seq_seq RENAME TO audit_stream_seq_seq;
ALTER INDEX audit_partitioned_pkey RENAME TO audit_pkey;
CREATE INDEX audit_stream ON audit (tenant, stream_seq);

-- name: partition_note
COMMENT ON TABLE audit IS 'statewright: partitioned by {interval}';

-- After the commit, outside the lock: statistics for the new partitions at once, and for the
-- partitioned table itself, which autovacuum never analyzes.
-- name: partition_analyze
ANALYZE audit;

-- A range added to the partitioned table. With a DEFAULT partition, PostgreSQL first checks
-- that it holds no row of the range (it fails if it does: the range is left to it).
-- name: partition_lock_timeout
SET LOCAL lock_timeout = '1s';

-- name: partition_create_range
CREATE TABLE {partition} PARTITION OF audit FOR VALUES FROM ({low}) TO ({high});

-- The instances created in a range: how many, how many keep it (not finished before the
-- cutoff, or with an outbox message not delivered), and their audit rows (one per version).
-- name: partition_totals
SELECT count(*) AS instances,
       count(*) FILTER (WHERE NOT (i.status IN ('done', 'error', 'stopped')
                                   AND i.updated_at < %(before)s
                                   AND NOT EXISTS (SELECT 1 FROM outbox AS o
                                                   WHERE o.tenant = i.tenant
                                                     AND o.instance_id = i.id
                                                     AND o.status <> 'delivered')))
           AS blocking,
       coalesce(sum(i.version), 0) AS audit_rows
FROM instances AS i WHERE i.created_at >= %(low)s AND i.created_at < %(high)s;

-- name: partition_keys
SELECT tenant, id FROM instances
WHERE created_at >= %(low)s AND created_at < %(high)s
  AND (tenant, id) > (%(after_tenant)s, %(after_id)s)
ORDER BY tenant, id LIMIT %(limit)s;

-- Every removable instance of a range, locked, with its rows but the audit ones (in the
-- partition, dropped next), in one statement; the audit rows counted as one per version.
-- The instances' cascades find their rows gone already; their delete trigger keeps the
-- state index and the counts per state right.
-- name: partition_remove_instances
WITH target AS MATERIALIZED (
    SELECT i.tenant, i.id, i.version FROM instances AS i
    WHERE i.created_at >= %(low)s AND i.created_at < %(high)s
      AND i.status IN ('done', 'error', 'stopped') AND i.updated_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM outbox AS o
                      WHERE o.tenant = i.tenant AND o.instance_id = i.id
                        AND o.status <> 'delivered')
    FOR UPDATE OF i),
     removed_timers AS (DELETE FROM timers AS t USING target
                        WHERE t.tenant = target.tenant AND t.instance_id = target.id
                        RETURNING 1),
     removed_steps AS (DELETE FROM steps AS s USING target
                       WHERE s.tenant = target.tenant AND s.instance_id = target.id
                       RETURNING 1),
     removed_outbox AS (DELETE FROM outbox AS o USING target
                        WHERE o.tenant = target.tenant AND o.instance_id = target.id
                        RETURNING 1),
     removed_step_attempts AS (DELETE FROM step_attempts AS s USING target
                               WHERE s.tenant = target.tenant AND s.instance_id = target.id
                               RETURNING 1),
     removed_idempotency AS (DELETE FROM idempotency AS k USING target
                             WHERE k.tenant = target.tenant AND k.instance_id = target.id
                             RETURNING 1),
     removed_instances AS (DELETE FROM instances AS i USING target
                           WHERE i.tenant = target.tenant AND i.id = target.id
                             AND i.version = target.version
                           RETURNING i.version)
SELECT (SELECT count(*) FROM removed_instances) AS instances,
       (SELECT coalesce(sum(version), 0) FROM removed_instances) AS audit,
       (SELECT count(*) FROM removed_timers) AS timers,
       (SELECT count(*) FROM removed_steps) AS steps,
       (SELECT count(*) FROM removed_outbox) AS outbox,
       (SELECT count(*) FROM removed_step_attempts) AS step_attempts,
       (SELECT count(*) FROM removed_idempotency) AS idempotency;

-- A drop first holds the partition itself against autovacuum (which a fresh partition
-- often runs on: DETACH would wait behind it, then time out). No writer of the engine's
-- needs this lock on an old partition. Waiting for it past deadlock_timeout (1 s by
-- default) cancels a running autovacuum of the partition, so this one waits longer.
-- name: partition_hold_timeout
SET LOCAL lock_timeout = '10s';

-- name: partition_hold
LOCK TABLE {partition} IN SHARE UPDATE EXCLUSIVE MODE;

-- Instances of the range still there (not removable, or created meanwhile).
-- name: partition_left
SELECT count(*) AS remaining FROM instances WHERE created_at >= %(low)s AND created_at < %(high)s;

-- name: partition_detach
ALTER TABLE audit DETACH PARTITION {partition};

-- name: partition_drop
DROP TABLE {partition};
