-- SQLite queries, one per "-- name:" section, parameters as :name. postgres/queries.sql has
-- the same names with %(name)s parameters. Every write runs inside BEGIN IMMEDIATE (see
-- store.py); every lookup below uses a primary key or an index prefix, so its cost does not
-- grow with the number of rows.

-- name: schema_table_exists
SELECT count(*) AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';

-- name: list_tables
SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY name LIMIT 5;

-- name: schema_version
SELECT coalesce(max(version), 0) AS version FROM schema_migrations;

-- name: record_migration
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :applied_at);

-- name: reserve_work_seq
UPDATE counters SET value = value + :count WHERE name = 'work';

-- name: read_work_seq
SELECT value FROM counters WHERE name = 'work';

-- Definitions ----------------------------------------------------------------------------

-- name: find_definition_by_hash
SELECT id, version, hash, config, created_at FROM definitions WHERE id = :id AND hash = :hash;

-- name: insert_definition
INSERT INTO definitions (id, version, hash, config, created_at)
VALUES (:id, (SELECT coalesce(max(version), 0) + 1 FROM definitions WHERE id = :id),
        :hash, :config, :created_at);

-- name: get_definition
SELECT id, version, hash, config, created_at FROM definitions WHERE id = :id AND version = :version;

-- A newer version than the one a start was pinned to (the start is then void).
-- name: newer_definition
SELECT version FROM definitions WHERE id = :definition_id AND version > :definition_version
LIMIT 1;

-- name: get_latest_definition
SELECT id, version, hash, config, created_at FROM definitions WHERE id = :id
ORDER BY version DESC LIMIT 1;

-- name: list_definitions
SELECT id, version, hash, config, created_at FROM definitions AS d
WHERE version = (SELECT max(version) FROM definitions WHERE id = d.id)
ORDER BY id;

-- Instances ------------------------------------------------------------------------------

-- name: insert_instance
INSERT INTO instances (tenant, id, definition_id, definition_version, version, snapshot,
                       value, status, runtime_status, created_at, updated_at)
VALUES (:tenant, :id, :definition_id, :definition_version, :version, :snapshot,
        :value, :status, :runtime_status, :at, :at)
ON CONFLICT (tenant, id) DO NOTHING;

-- name: update_instance
UPDATE instances
SET definition_id = :definition_id, definition_version = :definition_version,
    version = :version, snapshot = :snapshot, value = :value, status = :status,
    runtime_status = :runtime_status, updated_at = :at
WHERE tenant = :tenant AND id = :id AND version = :expected_version;

-- name: instance_version
SELECT version FROM instances WHERE tenant = :tenant AND id = :id;

-- PostgreSQL locks the instance row here; a SQLite write transaction holds the database.
-- name: lock_instance
SELECT version FROM instances WHERE tenant = :tenant AND id = :id;

-- Several instances by key; :keys is a JSON array of [tenant, id] pairs.
-- name: load_instances
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE (tenant, id) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys));

-- The runtime status an instance's pending work gives (`{include:part_runtime_status}`):
-- retrying if a step waits for its next attempt, running if a step is pending, waiting if a
-- timer is, else active; a finished instance shows its status. Each probe is a primary-key
-- prefix lookup: `+status` keeps SQLite from the steps_due index (status first), which a
-- store without statistics would otherwise pick, walking every retrying step of the store.
-- name: part_runtime_status
CASE
    WHEN status <> 'active' THEN status
    WHEN EXISTS (SELECT 1 FROM steps WHERE tenant = :tenant AND instance_id = :id
                 AND +status = 'retrying') THEN 'retrying'
    WHEN EXISTS (SELECT 1 FROM steps WHERE tenant = :tenant AND instance_id = :id) THEN 'running'
    WHEN EXISTS (SELECT 1 FROM timers WHERE tenant = :tenant AND instance_id = :id) THEN 'waiting'
    ELSE 'active' END;

-- The cheap updates of a transition that keeps the instance's status and definition:
-- only unindexed columns are set, so no index entry is rewritten (a column named in SET
-- rewrites its index entries even when its value stays the same). No row: the kept
-- columns changed, or the version moved; update_instance then decides which.
-- update_instance_quiet also keeps the runtime status, so it checks that the one the pending
-- work gives (see compute_runtime_status) is the stored one; the store uses it only for a
-- transition that writes no timers and no steps, so that the work it sees is the final one.
-- name: update_instance_quiet
UPDATE instances
SET version = :version, snapshot = :snapshot, value = :value, updated_at = :at
WHERE tenant = :tenant AND id = :id AND version = :expected_version
  AND status = :status AND definition_id = :definition_id
  AND definition_version = :definition_version
  AND runtime_status = {include:part_runtime_status};

-- update_instance_quiet for a transition that keeps the state value too (the commonest send:
-- a context change): the value is checked rather than set, so that the state index's
-- triggers (AFTER UPDATE OF value, status, ...) do not even start. No row: the value, or
-- anything update_instance_quiet checks, is not as given.
-- name: update_instance_quiet_same_value
UPDATE instances
SET version = :version, snapshot = :snapshot, updated_at = :at
WHERE tenant = :tenant AND id = :id AND version = :expected_version
  AND value = :value AND status = :status AND definition_id = :definition_id
  AND definition_version = :definition_version
  AND runtime_status = {include:part_runtime_status};

-- name: update_instance_kept
UPDATE instances
SET version = :version, snapshot = :snapshot, value = :value, updated_at = :at
WHERE tenant = :tenant AND id = :id AND version = :expected_version
  AND status = :status AND definition_id = :definition_id
  AND definition_version = :definition_version;

-- The runtime status the pending work gives (part_runtime_status). The row is written only
-- when it changes, so that its index entry is left alone otherwise.
-- name: compute_runtime_status
UPDATE instances
SET runtime_status = {include:part_runtime_status}
WHERE tenant = :tenant AND id = :id
  AND runtime_status <> {include:part_runtime_status};

-- name: load_instance
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE tenant = :tenant AND id = :id;

-- The WHERE clause joins the filter_* fragments below (never input), so that each
-- combination of filters uses its index instead of an "(x IS NULL OR ...)" scan.
-- name: list_instances
SELECT tenant, id, definition_id, definition_version, version, snapshot, value, status,
       runtime_status, created_at, updated_at
FROM instances WHERE {where} ORDER BY tenant, id LIMIT :limit;

-- The fragments list_instances joins with AND; each names the parameter it needs.
-- name: filter_tenant
tenant = :tenant

-- name: filter_definition_id
definition_id = :definition_id

-- name: filter_status
status = :status

-- name: filter_runtime_status
runtime_status = :runtime_status

-- name: filter_after_id
id > :after_id

-- An id prefix is a range of the primary key (tenant, id), from the prefix up to the
-- prefix with its last character incremented (sql_queries.py: id_prefix_range); never
-- LIKE, whose wildcards would match and which SQLite compares without case.
-- name: filter_id_from
id >= :id_from

-- name: filter_id_below
id < :id_below

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
SELECT count(*) AS count FROM instances WHERE tenant = :tenant;

-- Audit ----------------------------------------------------------------------------------

-- name: insert_audit
INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, to_value, status,
                   runtime_status, at, idempotency_key, microsteps, effects, stream_seq)
VALUES (:tenant, :instance_id, :seq, :event, :actor, :from_value, :to_value, :status,
        :runtime_status, :at, :idempotency_key, :microsteps, :effects,
        (SELECT coalesce(max(stream_seq), 0) + 1 FROM audit));

-- name: history
SELECT tenant, instance_id, seq, event, actor, from_value, to_value, status, runtime_status,
       at, idempotency_key, microsteps, effects
FROM audit WHERE tenant = :tenant AND instance_id = :instance_id AND seq > :after_seq
ORDER BY seq LIMIT :limit;

-- Timers ---------------------------------------------------------------------------------

-- name: delete_timer
DELETE FROM timers WHERE tenant = :tenant AND instance_id = :instance_id AND timer_id = :timer_id;

-- A timer of an id the instance has already replaces it: a new due time and creation
-- number, and no claim (`{include:part_timer_replaced}`).
-- name: part_timer_replaced
ON CONFLICT (tenant, instance_id, timer_id) DO UPDATE
SET due_at = excluded.due_at, event = excluded.event, created_seq = excluded.created_seq,
    lease_until = NULL

-- name: upsert_timer
INSERT INTO timers (tenant, instance_id, timer_id, due_at, event, created_seq)
VALUES (:tenant, :instance_id, :timer_id, :due_at, :event, :created_seq)
{include:part_timer_replaced};

-- name: delete_instance_timers
DELETE FROM timers WHERE tenant = :tenant AND instance_id = :instance_id;

-- name: consume_timer
DELETE FROM timers
WHERE tenant = :tenant AND instance_id = :instance_id AND timer_id = :timer_id
  AND created_seq = :created_seq;

-- name: due_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers WHERE due_at <= :now
ORDER BY due_at, created_seq
LIMIT :limit;

-- Claim due timers for a lease: no other worker gets them until it ends (if this one dies,
-- they are due again after it). Firing deletes the row.
-- name: claim_timers
UPDATE timers SET lease_until = :lease_until
WHERE (tenant, instance_id, timer_id) IN (
    SELECT tenant, instance_id, timer_id FROM timers AS t
    WHERE due_at <= :now AND (lease_until IS NULL OR lease_until <= :now)
      -- An instance's timers fire in order: one waits while an earlier one is pending, so
      -- that two workers never fire one instance's timers out of order.
      AND NOT EXISTS (
          SELECT 1 FROM timers AS earlier
          WHERE earlier.tenant = t.tenant AND earlier.instance_id = t.instance_id
            AND (earlier.due_at < t.due_at
                 OR (earlier.due_at = t.due_at AND earlier.created_seq < t.created_seq)))
    ORDER BY due_at, created_seq
    LIMIT :limit)
RETURNING tenant, instance_id, timer_id, due_at, event, created_seq;

-- name: pending_timers
SELECT tenant, instance_id, timer_id, due_at, event, created_seq
FROM timers WHERE tenant = :tenant AND instance_id = :instance_id
ORDER BY due_at, created_seq;

-- Steps ----------------------------------------------------------------------------------

-- name: delete_step
DELETE FROM steps WHERE tenant = :tenant AND instance_id = :instance_id AND invoke_id = :invoke_id;

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
VALUES (:tenant, :instance_id, :invoke_id, :src, :input, :state, :idempotency_key, :retry,
        :started_version, 'pending', 0, :created_at, :created_seq, :created_at,
        NULL, NULL)
{include:part_step_restarted};

-- name: delete_instance_steps
DELETE FROM steps WHERE tenant = :tenant AND instance_id = :instance_id;

-- Claim due step runs for a lease; each claim is an attempt. `claimed_from` keeps the
-- status the run was taken from: 'running' is a take-over of a lapsed lease. With a list of
-- step sources (what the claiming worker provides), only runs of those: the others stay
-- pending; without (NULL), any source.
-- name: claim_steps
UPDATE steps SET status = 'running', attempts = attempts + 1, lease_until = :lease_until,
       claimed_from = status
WHERE (tenant, instance_id, invoke_id) IN (
    SELECT tenant, instance_id, invoke_id FROM steps
    WHERE status IN ('pending', 'retrying', 'running') AND next_attempt_at <= :now
      AND (lease_until IS NULL OR lease_until <= :now)
      AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
    ORDER BY next_attempt_at, created_seq
    LIMIT :limit)
RETURNING tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from;

-- A heartbeat: the claim (this attempt of this run) is still ours for longer.
-- name: renew_step_lease
UPDATE steps SET lease_until = :lease_until
WHERE tenant = :tenant AND instance_id = :instance_id AND invoke_id = :invoke_id
  AND started_version = :started_version AND attempts = :attempts AND status = 'running';

-- name: retry_step
UPDATE steps SET status = 'retrying', lease_until = NULL,
       next_attempt_at = :next_attempt_at, last_error = :error
WHERE tenant = :tenant AND instance_id = :instance_id AND invoke_id = :invoke_id
  AND started_version = :started_version AND attempts = :attempts
  AND status = 'running';

-- name: consume_step
DELETE FROM steps
WHERE tenant = :tenant AND instance_id = :instance_id AND invoke_id = :invoke_id
  AND started_version = :started_version AND attempts = :attempts;

-- A failed attempt of a step run, kept for the history (the run's row goes when it ends).
-- name: insert_step_attempt
INSERT INTO step_attempts (tenant, instance_id, invoke_id, started_version, attempt, src,
                           error_type, error_message, started_at, ended_at)
VALUES (:tenant, :instance_id, :invoke_id, :started_version, :attempt, :src,
        :error_type, :error_message, :started_at, :ended_at)
ON CONFLICT (tenant, instance_id, invoke_id, started_version, attempt) DO NOTHING;

-- name: step_attempts
SELECT tenant, instance_id, invoke_id, started_version, attempt, src, error_type,
       error_message, started_at, ended_at
FROM step_attempts WHERE tenant = :tenant AND instance_id = :instance_id
ORDER BY ended_at, invoke_id, started_version, attempt;

-- Steps only of the sources the worker provides (all for NULL), as claim_steps: a run no
-- worker here can start is not work due for it.
-- name: next_work_at
SELECT MIN(at) AS at FROM (
    SELECT MIN(due_at) AS at FROM timers
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'pending'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'retrying'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
    UNION ALL
    SELECT MIN(lease_until) FROM steps WHERE status = 'running'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
) AS due;

-- The timers alone (next_work_at without the steps).
-- name: next_timer_at
SELECT MIN(due_at) AS at FROM timers;

-- The steps alone (next_work_at without the timers), of the sources as there.
-- name: next_step_at
SELECT MIN(at) AS at FROM (
    SELECT MIN(next_attempt_at) AS at FROM steps WHERE status = 'pending'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
    UNION ALL
    SELECT MIN(next_attempt_at) FROM steps WHERE status = 'retrying'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
    UNION ALL
    SELECT MIN(lease_until) FROM steps WHERE status = 'running'
        AND (:srcs_json IS NULL OR src IN (SELECT value FROM json_each(:srcs_json)))
) AS due;

-- name: next_outbox_at
-- :types and :prefixes as in due_outbox.
SELECT MIN(next_attempt_at) AS at FROM outbox
WHERE status = 'pending'
  AND (:types IS NULL
       OR json_extract(event, '$.type') IN (SELECT value FROM json_each(:types))
       OR EXISTS (SELECT 1 FROM json_each(:prefixes) AS prefix
                  WHERE substr(json_extract(event, '$.type'), 1, length(prefix.value))
                        = prefix.value));

-- name: last_tick
SELECT MAX(tick_at) AS at FROM schedule_ticks WHERE name = :name;

-- name: insert_tick
INSERT INTO schedule_ticks (name, tick_at, status, lease_until)
VALUES (:name, :tick_at, 'running', :lease_until)
ON CONFLICT (name, tick_at) DO NOTHING;

-- name: take_over_tick
UPDATE schedule_ticks SET lease_until = :lease_until, claims = claims + 1
WHERE name = :name AND tick_at = :tick_at AND status = 'running'
  AND lease_until <= :now;

-- name: tick_claims
SELECT claims FROM schedule_ticks WHERE name = :name AND tick_at = :tick_at;

-- A claim's holder keeps it: only while no other worker has taken the tick over (each
-- take-over counts one more claim).
-- name: renew_tick
UPDATE schedule_ticks SET lease_until = :lease_until
WHERE name = :name AND tick_at = :tick_at AND status = 'running'
  AND claims = :claims;

-- The latest tick claimed of each named schedule (none for one never claimed): each is
-- the last entry of its schedule's range of the primary key.
-- name: last_ticks
SELECT t.name, t.tick_at, t.status, t.lease_until, t.claims
FROM json_each(:names_json) AS wanted
JOIN schedule_ticks AS t ON t.name = wanted.value
 AND t.tick_at = (SELECT MAX(tick_at) FROM schedule_ticks WHERE name = wanted.value);

-- The latest tick of every schedule whose latest tick is at :since or later, by name: the
-- names are walked one key range at a time (a skip scan of the primary key), so the cost
-- grows with the number of schedules, not of their ticks.
-- name: ticked_schedules
WITH RECURSIVE names (name) AS (
    SELECT MIN(name) FROM schedule_ticks
    UNION ALL
    SELECT (SELECT MIN(name) FROM schedule_ticks WHERE name > names.name)
    FROM names WHERE names.name IS NOT NULL
)
SELECT t.name, t.tick_at, t.status, t.lease_until, t.claims
FROM names
JOIN schedule_ticks AS t ON t.name = names.name
 AND t.tick_at = (SELECT MAX(tick_at) FROM schedule_ticks WHERE name = names.name)
WHERE t.tick_at >= :since
ORDER BY t.name;

-- name: finish_tick
UPDATE schedule_ticks SET status = 'done', lease_until = NULL
WHERE name = :name AND tick_at = :tick_at;

-- name: notify_work
-- PostgreSQL's wake-up statement (its notifier sends it); SQLite's wake-ups are datagrams
-- sent after the commit (wakeup.py), so this is never run. Both backends name the same queries.
SELECT 1;

-- name: steps
SELECT tenant, instance_id, invoke_id, src, input, state, idempotency_key, retry,
       started_version, status, attempts, created_at, next_attempt_at, lease_until, last_error,
       claimed_from
FROM steps WHERE tenant = :tenant AND instance_id = :instance_id
ORDER BY created_seq;

-- Outbox ---------------------------------------------------------------------------------

-- name: insert_outbox
INSERT INTO outbox (message_id, tenant, instance_id, version, event, status, attempts,
                    created_at, created_seq, next_attempt_at)
VALUES (:message_id, :tenant, :instance_id, :version, :event, 'pending', 0,
        :created_at, :created_seq, :created_at);

-- name: due_outbox
-- :types and :prefixes, JSON arrays of event types and of type prefixes (`order.` for a
-- listener of `order.*`), keep the claim to the messages this worker has listeners for; with
-- both NULL it claims every message. The ids in :tried, a JSON array (or NULL), are not
-- claimed. The first :started due are started (charged an attempt, so that a delivery lost
-- with its worker has spent one); the others are held uncharged until start_outbox starts
-- them. `started` and created_seq give the delivery order.
WITH due AS MATERIALIZED (
    SELECT message_id, next_attempt_at, created_seq FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= :now
      AND (:types IS NULL
           OR json_extract(event, '$.type') IN (SELECT value FROM json_each(:types))
           OR EXISTS (SELECT 1 FROM json_each(:prefixes) AS prefix
                      WHERE substr(json_extract(event, '$.type'), 1, length(prefix.value))
                            = prefix.value))
      AND (:tried IS NULL
           OR message_id NOT IN (SELECT value FROM json_each(:tried)))
    ORDER BY next_attempt_at, created_seq
    LIMIT :limit),
head AS MATERIALIZED (
    SELECT message_id FROM due ORDER BY next_attempt_at, created_seq LIMIT :started)
UPDATE outbox SET next_attempt_at = :lease_until, attempts = attempts + (message_id IN head)
WHERE message_id IN (SELECT message_id FROM due)
RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
          next_attempt_at, last_error, delivered_at, created_seq, message_id IN head AS started;

-- name: start_outbox
-- Start a message held uncharged by a claim that is still ours (held until :held_until, which
-- any other claim would have moved, also after this one ran out): charge its attempt, and
-- hold it a whole lease from now.
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = :lease_until
WHERE message_id = :next_id AND status = 'pending' AND attempts = :next_attempts
  AND next_attempt_at = :held_until
RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
          next_attempt_at, last_error, delivered_at;

-- name: outbox_delivered_start
-- outbox_delivered of :message_id and start_outbox of :next_id in one statement (a worker
-- delivering a batch writes once per message): the rows changed, each as it is now.
UPDATE outbox SET
    status = iif(message_id = :message_id, 'delivered', status),
    delivered_at = iif(message_id = :message_id, :now, delivered_at),
    last_error = iif(message_id = :message_id, NULL, last_error),
    attempts = iif(message_id = :message_id, attempts, attempts + 1),
    next_attempt_at = iif(message_id = :message_id, next_attempt_at, :lease_until)
WHERE (message_id = :message_id AND status = 'pending' AND attempts = :attempts)
   OR (message_id = :next_id AND status = 'pending' AND attempts = :next_attempts
       AND next_attempt_at = :held_until)
RETURNING tenant, instance_id, message_id, version, event, status, attempts, created_at,
          next_attempt_at, last_error, delivered_at;

-- name: renew_outbox_lease
-- A claim is the message's attempts (each start charges one) and next_attempt_at, both of which
-- a later claim (after this one ran out) moves.
UPDATE outbox SET next_attempt_at = :lease_until
WHERE message_id = :message_id AND status = 'pending' AND attempts = :attempts
  AND next_attempt_at = :held_until;

-- name: outbox_delivered
-- The attempt was charged at its start; the claim is still ours if the attempts are the same.
UPDATE outbox SET status = 'delivered', delivered_at = :now, last_error = NULL
WHERE message_id = :message_id AND status = 'pending' AND attempts = :attempts;

-- name: outbox_failed
-- :recorded_attempts is the claim's attempts, or one fewer for a claim that dead-letters a
-- message whose last attempt was lost with its worker (the claim's own was never made).
UPDATE outbox SET status = :status, attempts = :recorded_attempts,
       next_attempt_at = :next_attempt_at, last_error = :error
WHERE message_id = :message_id AND status = 'pending' AND attempts = :attempts;

-- A message just dead-lettered (in the transaction of `outbox_failed`, which locked the
-- outbox table first) gets the number that orders it among the dead (dead_seq).
-- name: outbox_dead_seq
UPDATE outbox SET dead_seq = :dead_seq WHERE message_id = :message_id;

-- name: dead_letters
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox WHERE status = 'dead'
ORDER BY created_seq
LIMIT :limit;

-- name: redrive_outbox
UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now, last_error = NULL,
       dead_seq = NULL
WHERE message_id = :message_id AND status = 'dead';

-- name: outbox
SELECT tenant, instance_id, message_id, version, event, status, attempts, created_at,
       next_attempt_at, last_error, delivered_at
FROM outbox WHERE tenant = :tenant AND instance_id = :instance_id
ORDER BY created_seq;

-- Idempotency ----------------------------------------------------------------------------

-- name: insert_idempotency
INSERT INTO idempotency (tenant, instance_id, key, request_hash, version)
VALUES (:tenant, :instance_id, :key, :request_hash, :version)
ON CONFLICT (tenant, instance_id, key) DO NOTHING;

-- name: find_idempotency
SELECT tenant, instance_id, key, request_hash, version
FROM idempotency WHERE tenant = :tenant AND instance_id = :instance_id AND key = :key;

-- Workers --------------------------------------------------------------------------------

-- A worker says it runs (at its start, then on every heartbeat) and what it provides.
-- name: upsert_worker
INSERT INTO workers (id, host, pid, steps, listeners, started_at, heartbeat_at, schedules)
VALUES (:id, :host, :pid, :steps, :listeners, :started_at, :heartbeat_at,
        :schedules)
ON CONFLICT (id) DO UPDATE
SET steps = excluded.steps, listeners = excluded.listeners, heartbeat_at = excluded.heartbeat_at,
    schedules = excluded.schedules;

-- name: delete_worker
DELETE FROM workers WHERE id = :id;

-- Workers not heard of for long (killed, or their host lost): forgotten. The table holds a
-- row per worker process, so it is small and read whole.
-- name: forget_workers
DELETE FROM workers WHERE heartbeat_at < :before;

-- name: live_workers
SELECT id, host, pid, steps, listeners, started_at, heartbeat_at, schedules
FROM workers WHERE heartbeat_at >= :alive_after
ORDER BY started_at, id;
