-- The business states of instances, kept beside them so that the console's lists and counts
-- cost the same at any size: `instance_states` holds a row per state an instance is in
-- (`review` and `review.legal` for {"review": "legal"}), so that a list by state or tag reads
-- an index range in id order; `state_counts` holds how many instances are in each
-- (definition, version, value, status, runtime status). A trigger on `instances` keeps both
-- in the transaction that changes an instance. The counts are written as appended changes
-- (+1, -1) to `state_count_changes`, never as updates of a shared row: concurrent
-- transitions never wait for each other on a count (nor deadlock); a reader of the counts
-- sums both tables and folds the changes into `state_counts` now and then (operations.sql).

CREATE TABLE instance_states (
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, state, id)
);

CREATE TABLE state_counts (
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (tenant, definition_id, definition_version, value, status, runtime_status)
);

CREATE TABLE state_count_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count INTEGER NOT NULL
);

-- The states of a value: every key path, and every leaf under its parent's path. A value
-- is a JSON string or object (as the engine writes them); other text has no states.
CREATE FUNCTION statewright_state_paths(state_value TEXT) RETURNS SETOF TEXT
LANGUAGE sql IMMUTABLE AS $$
    WITH RECURSIVE walk (path, node) AS (
        SELECT NULL::text, state_value::jsonb WHERE left(state_value, 1) IN ('"', '{')
        UNION ALL
        SELECT coalesce(walk.path || '.', '') || member.key, member.value
        FROM walk, jsonb_each(CASE WHEN jsonb_typeof(walk.node) = 'object'
                                   THEN walk.node ELSE '{}'::jsonb END) AS member)
    SELECT path FROM walk WHERE path IS NOT NULL
    UNION
    SELECT coalesce(path || '.', '') || (node #>> '{}') FROM walk
    WHERE jsonb_typeof(node) = 'string'
$$;

CREATE FUNCTION statewright_instance_states() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (OLD.tenant, OLD.definition_id, OLD.definition_version, OLD.value, OLD.status,
                OLD.runtime_status, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (NEW.tenant, NEW.definition_id, NEW.definition_version, NEW.value, NEW.status,
                NEW.runtime_status, 1);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.value IS NOT DISTINCT FROM NEW.value
       AND OLD.definition_id IS NOT DISTINCT FROM NEW.definition_id
       AND OLD.definition_version IS NOT DISTINCT FROM NEW.definition_version THEN
        RETURN NULL;  -- the same states: only the count moved
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM instance_states
        WHERE tenant = OLD.tenant AND definition_id = OLD.definition_id AND id = OLD.id
          AND state IN (SELECT statewright_state_paths(OLD.value));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
        SELECT NEW.tenant, NEW.definition_id, path, NEW.id, NEW.definition_version
        FROM statewright_state_paths(NEW.value) AS path;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER instances_states_rows AFTER INSERT OR DELETE ON instances
FOR EACH ROW EXECUTE FUNCTION statewright_instance_states();

CREATE TRIGGER instances_states_update
AFTER UPDATE OF value, status, runtime_status, definition_id, definition_version ON instances
FOR EACH ROW
WHEN (OLD.value IS DISTINCT FROM NEW.value OR OLD.status IS DISTINCT FROM NEW.status
      OR OLD.runtime_status IS DISTINCT FROM NEW.runtime_status
      OR OLD.definition_id IS DISTINCT FROM NEW.definition_id
      OR OLD.definition_version IS DISTINCT FROM NEW.definition_version)
EXECUTE FUNCTION statewright_instance_states();

-- The instances a database already holds: counted, and their states filed.
INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                          runtime_status, count)
SELECT tenant, definition_id, definition_version, value, status, runtime_status, count(*)
FROM instances GROUP BY tenant, definition_id, definition_version, value, status, runtime_status;

INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
SELECT i.tenant, i.definition_id, path, i.id, i.definition_version
FROM instances AS i, statewright_state_paths(i.value) AS path;
