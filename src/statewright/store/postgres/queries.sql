-- PostgreSQL queries, one per "-- name:" section, parameters as %(name)s; sqlite/queries.sql
-- has the same names. Each operation is one transaction (see store.py); every lookup below
-- uses a primary key or an index prefix, so its cost does not grow with the number of rows.
-- Names are unqualified: the connection's search_path picks the schema.

-- name: schema_table_exists
SELECT count(*) AS found FROM pg_catalog.pg_class
WHERE oid = to_regclass('schema_migrations') AND relkind = 'r';

-- name: list_tables
SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = current_schema()
ORDER BY tablename LIMIT 5;

-- name: schema_version
SELECT coalesce(max(version), 0) AS version FROM schema_migrations;

-- Serialises migrations run by several processes at once (held until commit).
-- name: lock_migrations
SELECT pg_advisory_xact_lock(hashtext('statewright.migrate'));

-- A migration waits at most this long for each lock it takes from here to its commit
-- ('5000ms'), so that an ALTER TABLE queued behind a long transaction gives up instead of
-- making every other statement on that table queue behind it.
-- name: lock_wait_limit
SELECT set_config('lock_timeout', %(timeout)s, true);

-- The transactions holding a lock on one of the named relations of this schema that began
-- at least `waited_s` ago: those a migration that waited that long for a lock queued behind.
-- name: lock_holders
SELECT a.pid, c.relname AS relation, l.mode, a.state, a.application_name, a.query,
       (extract(epoch FROM a.xact_start) * 1000)::bigint AS xact_start_ms,
       (extract(epoch FROM a.query_start) * 1000)::bigint AS query_start_ms,
       (extract(epoch FROM now()) * 1000)::bigint AS now_ms
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid()
  AND c.relnamespace = to_regnamespace(current_schema())
  AND c.relkind IN ('r', 'p') AND c.relname = ANY(%(tables)s)
  AND a.xact_start <= now() - make_interval(secs => %(waited_s)s)
ORDER BY a.xact_start, a.pid, c.relname
LIMIT 10;

-- name: record_migration
INSERT INTO schema_migrations (version, applied_at) VALUES (%(version)s, %(applied_at)s);

-- name: reserve_work_seq
SELECT nextval('work_seq') AS value FROM generate_series(1, %(count)s) ORDER BY 1;

-- Definitions ----------------------------------------------------------------------------

-- Two processes saving a new definition at once would pick the same next version.
-- name: lock_definition
SELECT pg_advisory_xact_lock(hashtext('statewright.definitions'), hashtext(%(id)s));

-- name: find_definition_by_hash
SELECT id, version, hash, config, created_at FROM definitions WHERE id = %(id)s AND hash = %(hash)s;

-- name: insert_definition
INSERT INTO definitions (id, version, hash, config, created_at)
VALUES (%(id)s, (SELECT coalesce(max(version), 0) + 1 FROM definitions WHERE id = %(id)s),
        %(hash)s, %(config)s, %(created_at)s);

-- name: get_definition
SELECT id, version, hash, config, created_at FROM definitions WHERE id = %(id)s AND version = %(version)s;

-- A newer version than the one a start was pinned to (the start is then void).
-- name: newer_definition
SELECT version FROM definitions WHERE id = %(definition_id)s AND version > %(definition_version)s
LIMIT 1;

-- name: get_latest_definition
SELECT id, version, hash, config, created_at FROM definitions WHERE id = %(id)s
ORDER BY version DESC LIMIT 1;

-- name: list_definitions
SELECT id, version, hash, config, created_at FROM definitions AS d
WHERE version = (SELECT max(version) FROM definitions WHERE id = d.id)
ORDER BY id;

-- Instances ------------------------------------------------------------------------------

-- name: insert_instance
INSERT INTO instances (tenant, id, definition_id, definition_version, version, snapshot,
                       value, status, runtime_status, created_at, updated_at)
VALUES (%(tenant)s, %(id)s, %(definition_id)s, %(definition_version)s, %(version)s, %(snapshot)s,
        %(value)s, %(status)s, %(runtime_status)s, %(at)s, %(at)s)
ON CONFLICT (tenant, id) DO NOTHING;

-- name: update_instance
UPDATE instances
SET definition_id = %(definition_id)s, definition_version = %(definition_version)s,
    version = %(version)s, snapshot = %(snapshot)s, value = %(value)s, status = %(status)s,
    runtime_status = %(runtime_status)s, updated_at = %(at)s
WHERE tenant = %(tenant)s AND id = %(id)s AND version = %(expected_version)s;

-- name: instance_version
SELECT version FROM instances WHERE tenant = %(tenant)s AND id = %(id)s;

-- Taken before a write that changes an instance's pending work and then its runtime status,
-- so that it locks the instance before the work, as transitions do (no deadlock between them).
-- name: lock_instance
SELECT version FROM instances WHERE tenant = %(tenant)s AND id = %(id)s FOR NO KEY UPDATE;

-- Several instances by key: the pairs of %(tenants)s and %(ids)s.
-- name: load_instances
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE (tenant, id) IN (
    SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]));

-- The runtime status an instance's pending work gives (`{include:part_runtime_status}`):
-- retrying if a step waits for its next attempt, running if a step is pending, waiting if a
-- timer is, else active; a finished instance shows its status. Each probe is a primary-key
-- prefix lookup: `(status = 'retrying') IS TRUE` is no index condition, so the planner
-- cannot take the steps_due index (status first) and filter every retrying step of the
-- store by instance, as its generic plan otherwise may.
-- name: part_runtime_status
CASE
    WHEN status <> 'active' THEN status
    WHEN EXISTS (SELECT 1 FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s
                 AND (status = 'retrying') IS TRUE) THEN 'retrying'
    WHEN EXISTS (SELECT 1 FROM steps WHERE tenant = %(tenant)s AND instance_id = %(id)s) THEN 'running'
    WHEN EXISTS (SELECT 1 FROM timers WHERE tenant = %(tenant)s AND instance_id = %(id)s) THEN 'waiting'
    ELSE 'active' END;

-- The updates below find the row by its key (tenant, id) and compare the rest as rows with
-- IS NOT DISTINCT FROM (the columns are NOT NULL: the same as `=`), which no index takes as
-- its condition: with `=`, the generic plan would read the row through an index leading
-- with the status, definition or runtime status (the operators' lists' indexes), and
-- compute the runtime status before it, for a tenth more per send than by the key.
-- The cheap updates of a transition that keeps the instance's status and definition:
-- only unindexed columns are set, so no index entry is rewritten (a column named in SET
-- rewrites its index entries even when its value stays the same). No row: the kept
-- columns changed, or the version moved; update_instance then decides which.
-- update_instance_quiet also keeps the runtime status, so it checks that the one the pending
-- work gives (see compute_runtime_status) is the stored one; the store uses it only for a
-- transition that writes no timers and no steps, so that the work it sees is the final one.
-- name: update_instance_quiet
UPDATE instances
SET version = %(version)s, snapshot = %(snapshot)s, value = %(value)s, updated_at = %(at)s
WHERE tenant = %(tenant)s AND id = %(id)s
  AND (version, status, definition_id, definition_version, runtime_status)
      IS NOT DISTINCT FROM (%(expected_version)s, %(status)s, %(definition_id)s,
                            %(definition_version)s, {include:part_runtime_status});

-- update_instance_quiet for a transition that keeps the state value too (the commonest send:
-- a context change): the value is checked rather than set, so that the state index's
-- trigger (AFTER UPDATE OF value, status, ...) is not even considered. No row: the value,
-- or anything update_instance_quiet checks, is not as given.
-- name: update_instance_quiet_same_value
UPDATE instances
SET version = %(version)s, snapshot = %(snapshot)s, updated_at = %(at)s
WHERE tenant = %(tenant)s AND id = %(id)s
  AND (version, value, status, definition_id, definition_version, runtime_status)
      IS NOT DISTINCT FROM (%(expected_version)s, %(value)s, %(status)s, %(definition_id)s,
                            %(definition_version)s, {include:part_runtime_status});

-- name: update_instance_kept
UPDATE instances
SET version = %(version)s, snapshot = %(snapshot)s, value = %(value)s, updated_at = %(at)s
WHERE tenant = %(tenant)s AND id = %(id)s
  AND (version, status, definition_id, definition_version)
      IS NOT DISTINCT FROM (%(expected_version)s, %(status)s, %(definition_id)s,
                            %(definition_version)s);

-- The runtime status the pending work gives (part_runtime_status). The row is written only
-- when it changes, so that its index entry is left alone otherwise.
-- name: compute_runtime_status
UPDATE instances
SET runtime_status = {include:part_runtime_status}
WHERE tenant = %(tenant)s AND id = %(id)s
  AND runtime_status <> {include:part_runtime_status};

-- name: load_instance
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE tenant = %(tenant)s AND id = %(id)s;

-- The WHERE clause is built from fixed fragments in sql_store.py (never from input), so that
-- each combination of filters uses its index instead of an "(%(x)s IS NULL OR ...)" scan.
-- name: list_instances
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE {where} ORDER BY tenant, id LIMIT %(limit)s;

-- The fragments list_instances joins with AND; each names the parameter it needs.
-- name: filter_tenant
tenant = %(tenant)s

-- name: filter_definition_id
definition_id = %(definition_id)s

-- name: filter_status
status = %(status)s

-- name: filter_runtime_status
runtime_status = %(runtime_status)s

-- name: filter_after_id
id > %(after_id)s

-- An id prefix is a range of the primary key (tenant, id), from the prefix up to the
-- prefix with its last character incremented (sql_queries.py: id_prefix_range); never
-- LIKE, whose wildcards would match and which SQLite compares without case.
-- name: filter_id_from
id >= %(id_from)s

-- name: filter_id_below
id < %(id_below)s

-- Each tenant found with an index probe (min over the primary key), not a scan of every
-- instance: the cost grows with the number of tenants only.
-- name: tenants
WITH RECURSIVE found (tenant) AS (
    SELECT (SELECT min(tenant) FROM instances)
    UNION ALL
    SELECT (SELECT min(tenant) FROM instances WHERE tenant > found.tenant)
    FROM found WHERE found.tenant IS NOT NULL
)
SELECT tenant FROM found WHERE tenant IS NOT NULL ORDER BY tenant;

-- name: count_instances
SELECT count(*) AS count FROM instances;

-- name: count_tenant_instances
SELECT count(*) AS count FROM instances WHERE tenant = %(tenant)s;

-- Audit ----------------------------------------------------------------------------------

-- The instance row is written first (commit.py): its created_at goes with the audit row.
-- name: insert_audit
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects, instance_created_at)
VALUES (%(tenant)s, %(instance_id)s, %(seq)s, %(event)s, %(actor)s, %(from_value)s, %(to_value)s, %(status)s,
        %(runtime_status)s, %(at)s, %(idempotency_key)s, %(microsteps)s, %(effects)s,
        (SELECT created_at FROM instances WHERE tenant = %(tenant)s AND id = %(instance_id)s));

-- name: history
SELECT tenant, instance_id, seq, event, actor, from_value, to_value, status, runtime_status,
       at, idempotency_key, microsteps, effects
FROM audit WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND seq > %(after_seq)s
ORDER BY seq LIMIT %(limit)s;

-- Timers ---------------------------------------------------------------------------------

-- name: delete_timer
DELETE FROM timers WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND timer_id = %(timer_id)s;

-- A timer of an id the instance has already replaces it: a new due time and creation
-- number, and no claim (`{include:part_timer_replaced}`).
-- name: part_timer_replaced
ON CONFLICT (tenant, instance_id, timer_id) DO UPDATE
SET due_at = excluded.due_at, event = excluded.event, created_seq = excluded.created_seq,
    lease_until = NULL

-- name: upsert_timer
INSERT INTO timers (tenant, instance_id, timer_id, due_at, event, created_seq)
VALUES (%(tenant)s, %(instance_id)s, %(timer_id)s, %(due_at)s, %(event)s, %(created_seq)s)
{include:part_timer_replaced};

-- name: delete_instance_timers
DELETE FROM timers WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s;

-- name: consume_timer
DELETE FROM timers
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND timer_id = %(timer_id)s
  AND created_seq = %(created_seq)s;

-- name: due_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers WHERE due_at <= %(now)s
ORDER BY due_at, created_seq
LIMIT %(limit)s;

-- Claim due timers for a lease: no other worker gets them until it ends (if this one dies,
-- they are due again after it). Firing deletes the row.
-- The claims read their rows in a MATERIALIZED CTE, run once: as a subquery of the UPDATE,
-- PostgreSQL may plan it as the inner side of a nested loop (with stale statistics it did),
-- run again for each row of the table, each run skipping the rows claimed by the runs
-- before it, so that one claim took every due row whatever its LIMIT.
-- name: claim_timers
WITH due AS MATERIALIZED (
    SELECT tenant, instance_id, timer_id FROM timers AS t
    WHERE due_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)
      -- An instance's timers fire in order: one waits while an earlier one is pending, so
      -- that two workers never fire one instance's timers out of order.
      AND NOT EXISTS (
          SELECT 1 FROM timers AS earlier
          WHERE earlier.tenant = t.tenant AND earlier.instance_id = t.instance_id
            AND (earlier.due_at < t.due_at
                 OR (earlier.due_at = t.due_at AND earlier.created_seq < t.created_seq)))
    ORDER BY due_at, created_seq
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
UPDATE timers SET lease_until = %(lease_until)s
WHERE (tenant, instance_id, timer_id) IN (SELECT tenant, instance_id, timer_id FROM due)
RETURNING tenant, instance_id, timer_id, due_at, event, created_seq;

-- name: pending_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
ORDER BY due_at, created_seq;

-- Steps ----------------------------------------------------------------------------------

-- name: delete_step
DELETE FROM steps WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND invoke_id = %(invoke_id)s;

-- A step of an invoke id the instance has already restarts it: a new run, pending, with no
-- attempts, claim or error (`{include:part_step_restarted}`).
-- name: part_step_restarted
ON CONFLICT (tenant, instance_id, invoke_id) DO UPDATE
SET src = excluded.src, input = excluded.input, state = excluded.state,
    idempotency_key = excluded.idempotency_key, retry = excluded.retry,
    started_version = excluded.started_version, status = excluded.status,
    attempts = excluded.attempts, created_at = excluded.created_at,
    created_seq = excluded.created_seq, next_attempt_at = excluded.next_attempt_at,
    lease_until = NULL, last_error = NULL, claimed_from = NULL

-- name: upsert_step
INSERT INTO steps (tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
                   started_version, status, attempts, created_at, created_seq, next_attempt_at,
                   lease_until, last_error)
VALUES (%(tenant)s, %(instance_id)s, %(invoke_id)s, %(src)s, %(input)s, %(state)s, %(idempotency_key)s, %(retry)s,
        %(started_version)s, 'pending', 0, %(created_at)s, %(created_seq)s, %(created_at)s,
        NULL, NULL)
{include:part_step_restarted};

-- name: delete_instance_steps
DELETE FROM steps WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s;

-- Claim due step runs for a lease; each claim is an attempt. `claimed_from` keeps the
-- status the run was taken from: 'running' is a take-over of a lapsed lease. With a list of
-- step sources (what the claiming worker provides), only runs of those: the others stay
-- pending; without (NULL), any source.
-- name: claim_steps
-- Read once, as claim_timers says.
WITH due AS MATERIALIZED (
    SELECT tenant, instance_id, invoke_id FROM steps
    WHERE status IN ('pending', 'retrying', 'running') AND next_attempt_at <= %(now)s
      AND (lease_until IS NULL OR lease_until <= %(now)s)
      AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
    ORDER BY next_attempt_at, created_seq
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
UPDATE steps SET status = 'running', attempts = attempts + 1, lease_until = %(lease_until)s,
       claimed_from = status
WHERE (tenant, instance_id, invoke_id) IN (SELECT tenant, instance_id, invoke_id FROM due)
RETURNING tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from;

-- A heartbeat: the claim (this attempt of this run) is still ours for longer.
-- name: renew_step_lease
UPDATE steps SET lease_until = %(lease_until)s
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND invoke_id = %(invoke_id)s
  AND started_version = %(started_version)s AND attempts = %(attempts)s AND status = 'running';

-- name: retry_step
UPDATE steps SET status = 'retrying', lease_until = NULL,
       next_attempt_at = %(next_attempt_at)s, last_error = %(error)s
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND invoke_id = %(invoke_id)s
  AND started_version = %(started_version)s AND attempts = %(attempts)s
  AND status = 'running';

-- name: consume_step
DELETE FROM steps
WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND invoke_id = %(invoke_id)s
  AND started_version = %(started_version)s AND attempts = %(attempts)s;

-- A failed attempt of a step run, kept for the history (the run's row goes when it ends).
-- name: insert_step_attempt
INSERT INTO step_attempts (tenant, instance_id, invoke_id, started_version, attempt, src,
                           error_type, error_message, started_at, ended_at)
VALUES (%(tenant)s, %(instance_id)s, %(invoke_id)s, %(started_version)s, %(attempt)s, %(src)s,
        %(error_type)s, %(error_message)s, %(started_at)s, %(ended_at)s)
ON CONFLICT (tenant, instance_id, invoke_id, started_version, attempt) DO NOTHING;

-- name: step_attempts
SELECT tenant, instance_id, invoke_id, started_version, attempt, src, error_type,
       error_message, started_at, ended_at
FROM step_attempts WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
ORDER BY ended_at, invoke_id, started_version, attempt;

-- Steps only of the sources the worker provides (all for NULL), as claim_steps: a run no
-- worker here can start is not work due for it.
-- name: next_work_at
SELECT MIN(at) AS at FROM (
    SELECT MIN(due_at) AS at FROM timers
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'pending'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'retrying'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
    UNION ALL
    SELECT MIN(lease_until) FROM steps WHERE status = 'running'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
) AS due;

-- The timers alone (next_work_at without the steps).
-- name: next_timer_at
SELECT MIN(due_at) AS at FROM timers;

-- The steps alone (next_work_at without the timers), of the sources as there.
-- name: next_step_at
SELECT MIN(at) AS at FROM (
    SELECT MIN(next_attempt_at) AS at FROM steps WHERE status = 'pending'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'retrying'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
    UNION ALL
    SELECT MIN(lease_until) FROM steps WHERE status = 'running'
        AND (%(srcs)s::text[] IS NULL OR src = ANY(%(srcs)s::text[]))
) AS due;

-- name: next_outbox_at
-- :types and :prefixes as in due_outbox.
SELECT MIN(next_attempt_at) AS at FROM outbox
WHERE status = 'pending'
  AND (%(types)s::json IS NULL
       OR event ->> 'type' IN (SELECT value FROM json_array_elements_text(%(types)s::json))
       OR EXISTS (SELECT 1 FROM json_array_elements_text(%(prefixes)s::json) AS prefix(value)
                  WHERE substr(event ->> 'type', 1, length(prefix.value)) = prefix.value));

-- name: last_tick
SELECT MAX(tick_at) AS at FROM schedule_ticks WHERE name = %(name)s;

-- name: insert_tick
INSERT INTO schedule_ticks (name, tick_at, status, lease_until)
VALUES (%(name)s, %(tick_at)s, 'running', %(lease_until)s)
ON CONFLICT (name, tick_at) DO NOTHING;

-- name: take_over_tick
UPDATE schedule_ticks SET lease_until = %(lease_until)s, claims = claims + 1
WHERE name = %(name)s AND tick_at = %(tick_at)s AND status = 'running'
  AND lease_until <= %(now)s;

-- name: tick_claims
SELECT claims FROM schedule_ticks WHERE name = %(name)s AND tick_at = %(tick_at)s;

-- A claim's holder keeps it: only while no other worker has taken the tick over (each
-- take-over counts one more claim).
-- name: renew_tick
UPDATE schedule_ticks SET lease_until = %(lease_until)s
WHERE name = %(name)s AND tick_at = %(tick_at)s AND status = 'running'
  AND claims = %(claims)s;

-- The latest tick claimed of each named schedule (none for one never claimed): each is
-- the last entry of its schedule's range of the primary key.
-- name: last_ticks
SELECT t.name, t.tick_at, t.status, t.lease_until, t.claims
FROM unnest(%(names)s::text[]) AS wanted (name)
CROSS JOIN LATERAL (
    SELECT name, tick_at, status, lease_until, claims FROM schedule_ticks
    WHERE schedule_ticks.name = wanted.name
    ORDER BY tick_at DESC LIMIT 1) AS t;

-- The latest tick of every schedule whose latest tick is at %(since)s or later, by name:
-- the names are walked one key range at a time (a skip scan of the primary key), so the
-- cost grows with the number of schedules, not of their ticks.
-- name: ticked_schedules
WITH RECURSIVE names (name) AS (
    SELECT MIN(name) FROM schedule_ticks
    UNION ALL
    SELECT (SELECT MIN(name) FROM schedule_ticks WHERE schedule_ticks.name > names.name)
    FROM names WHERE names.name IS NOT NULL
)
SELECT t.name, t.tick_at, t.status, t.lease_until, t.claims
FROM names
CROSS JOIN LATERAL (
    SELECT name, tick_at, status, lease_until, claims FROM schedule_ticks
    WHERE schedule_ticks.name = names.name
    ORDER BY tick_at DESC LIMIT 1) AS t
WHERE t.tick_at >= %(since)s
ORDER BY t.name;

-- name: finish_tick
UPDATE schedule_ticks SET status = 'done', lease_until = NULL
WHERE name = %(name)s AND tick_at = %(tick_at)s;

-- Sent by the notifier thread on a connection of its own, beside the commits (notifier.py).
-- name: notify_work
SELECT pg_notify('statewright_work', '');

-- name: steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from
FROM steps WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
ORDER BY created_seq;

-- Outbox ---------------------------------------------------------------------------------

-- name: insert_outbox
INSERT INTO outbox (message_id, tenant, instance_id, version, event, status, attempts,
                    created_at, created_seq, next_attempt_at)
VALUES (%(message_id)s, %(tenant)s, %(instance_id)s, %(version)s, %(event)s, 'pending', 0,
        %(created_at)s, %(created_seq)s, %(created_at)s);

-- name: due_outbox
-- :types and :prefixes, JSON arrays of event types and of type prefixes (`order.` for a
-- listener of `order.*`), keep the claim to the messages this worker has listeners for; with
-- both NULL it claims every message. The ids in :tried, a JSON array (or NULL), are not
-- claimed. The first :started due are started (charged an attempt, so that a delivery lost
-- with its worker has spent one); the others are held uncharged until start_outbox starts
-- them. `started` and created_seq give the delivery order.
-- Read once, as claim_timers says.
WITH due AS MATERIALIZED (
    SELECT message_id, next_attempt_at, created_seq FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= %(now)s
      AND (%(types)s::json IS NULL
           OR event ->> 'type' IN (SELECT value FROM json_array_elements_text(%(types)s::json))
           OR EXISTS (SELECT 1 FROM json_array_elements_text(%(prefixes)s::json) AS prefix(value)
                      WHERE substr(event ->> 'type', 1, length(prefix.value)) = prefix.value))
      AND (%(tried)s::json IS NULL
           OR message_id NOT IN (SELECT value FROM json_array_elements_text(%(tried)s::json)))
    ORDER BY next_attempt_at, created_seq
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED),
head AS MATERIALIZED (
    SELECT message_id FROM due ORDER BY next_attempt_at, created_seq LIMIT %(started)s)
UPDATE outbox SET next_attempt_at = %(lease_until)s,
       attempts = attempts + CASE WHEN message_id IN (SELECT message_id FROM head)
                                  THEN 1 ELSE 0 END
WHERE message_id IN (SELECT message_id FROM due)
RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
          next_attempt_at, last_error, delivered_at, created_seq,
          message_id IN (SELECT message_id FROM head) AS started;

-- name: start_outbox
-- Start a message held uncharged by a claim that is still ours (held until :held_until, which
-- any other claim would have moved, also after this one ran out): charge its attempt, and
-- hold it a whole lease from now.
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = %(lease_until)s
WHERE message_id = %(next_id)s AND status = 'pending' AND attempts = %(next_attempts)s
  AND next_attempt_at = %(held_until)s
RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
          next_attempt_at, last_error, delivered_at;

-- name: outbox_delivered_start
-- outbox_delivered of :message_id and start_outbox of :next_id in one statement (a worker
-- delivering a batch writes once per message): the rows changed, each as it is now.
WITH delivered AS (
    UPDATE outbox SET status = 'delivered', delivered_at = %(now)s, last_error = NULL
    WHERE message_id = %(message_id)s AND status = 'pending' AND attempts = %(attempts)s
    RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
              next_attempt_at, last_error, delivered_at),
started AS (
    UPDATE outbox SET attempts = attempts + 1, next_attempt_at = %(lease_until)s
    WHERE message_id = %(next_id)s AND status = 'pending' AND attempts = %(next_attempts)s
      AND next_attempt_at = %(held_until)s
    RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
              next_attempt_at, last_error, delivered_at)
SELECT * FROM delivered UNION ALL SELECT * FROM started;

-- name: renew_outbox_lease
-- A claim is the message's attempts (each start charges one) and next_attempt_at, both of which
-- a later claim (after this one ran out) moves.
UPDATE outbox SET next_attempt_at = %(lease_until)s
WHERE message_id = %(message_id)s AND status = 'pending' AND attempts = %(attempts)s
  AND next_attempt_at = %(held_until)s;

-- name: outbox_delivered
-- The attempt was charged at its start; the claim is still ours if the attempts are the same.
UPDATE outbox SET status = 'delivered', delivered_at = %(now)s, last_error = NULL
WHERE message_id = %(message_id)s AND status = 'pending' AND attempts = %(attempts)s;

-- name: outbox_failed
-- :recorded_attempts is the claim's attempts, or one fewer for a claim that dead-letters a
-- message whose last attempt was lost with its worker (the claim's own was never made).
UPDATE outbox SET status = %(status)s, attempts = %(recorded_attempts)s,
       next_attempt_at = %(next_attempt_at)s, last_error = %(error)s
WHERE message_id = %(message_id)s AND status = 'pending' AND attempts = %(attempts)s;

-- A message just dead-lettered (in the transaction of `outbox_failed`, which locked the
-- outbox table first) gets the number that orders it among the dead (dead_seq).
-- name: outbox_dead_seq
UPDATE outbox SET dead_seq = %(dead_seq)s WHERE message_id = %(message_id)s;

-- name: dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox WHERE status = 'dead'
ORDER BY created_seq
LIMIT %(limit)s;

-- name: redrive_outbox
UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, last_error = NULL,
       dead_seq = NULL
WHERE message_id = %(message_id)s AND status = 'dead';

-- name: outbox
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s
ORDER BY created_seq;

-- Idempotency ----------------------------------------------------------------------------

-- name: insert_idempotency
INSERT INTO idempotency (tenant, instance_id, key, request_hash, version)
VALUES (%(tenant)s, %(instance_id)s, %(key)s, %(request_hash)s, %(version)s)
ON CONFLICT (tenant, instance_id, key) DO NOTHING;

-- name: find_idempotency
SELECT tenant, instance_id, key, request_hash, version
FROM idempotency WHERE tenant = %(tenant)s AND instance_id = %(instance_id)s AND key = %(key)s;

-- Workers --------------------------------------------------------------------------------

-- A worker says it runs (at its start, then on every heartbeat) and what it provides.
-- name: upsert_worker
INSERT INTO workers (id, host, pid, steps, listeners, started_at, heartbeat_at, schedules)
VALUES (%(id)s, %(host)s, %(pid)s, %(steps)s, %(listeners)s, %(started_at)s, %(heartbeat_at)s,
        %(schedules)s)
ON CONFLICT (id) DO UPDATE
SET steps = excluded.steps, listeners = excluded.listeners, heartbeat_at = excluded.heartbeat_at,
    schedules = excluded.schedules;

-- name: delete_worker
DELETE FROM workers WHERE id = %(id)s;

-- Workers not heard of for long (killed, or their host lost): forgotten. The table holds a
-- row per worker process, so it is small and read whole.
-- name: forget_workers
DELETE FROM workers WHERE heartbeat_at < %(before)s;

-- name: live_workers
SELECT id, host, pid, steps, listeners, started_at, heartbeat_at, schedules
FROM workers WHERE heartbeat_at >= %(alive_after)s
ORDER BY started_at, id;
