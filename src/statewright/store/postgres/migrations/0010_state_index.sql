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
    tenant TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count INTEGER NOT NULL
);

-- The states of a value: a JSON string is its one state; an object gives every key path and
-- every leaf under its parent's path (as the engine writes values); other text has none.
CREATE FUNCTION statewright_state_paths(state_value TEXT) RETURNS SETOF TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF left(state_value, 1) = '"' THEN
        RETURN NEXT state_value::jsonb #>> '{}';
    ELSIF left(state_value, 1) = '{' THEN
        RETURN QUERY
        WITH RECURSIVE walk (path, node) AS (
            SELECT NULL::text, state_value::jsonb
            UNION ALL
            SELECT coalesce(walk.path || '.', '') || member.key, member.value
            FROM walk, jsonb_each(CASE WHEN jsonb_typeof(walk.node) = 'object'
                                       THEN walk.node ELSE '{}'::jsonb END) AS member)
        SELECT walk.path FROM walk WHERE walk.path IS NOT NULL
        UNION ALL
        SELECT coalesce(walk.path || '.', '') || (walk.node #>> '{}') FROM walk
        WHERE jsonb_typeof(walk.node) = 'string';
    END IF;
END
$$;

CREATE FUNCTION statewright_instance_states() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone TEXT[] := '{}';
    came TEXT[] := '{}';
    kept TEXT[];
    path TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (OLD.tenant, OLD.definition_id, OLD.definition_version, OLD.value, OLD.status,
                OLD.runtime_status, -1);
        gone := ARRAY(SELECT statewright_state_paths(OLD.value));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO state_count_changes (tenant, definition_id, definition_version, value,
                                         status, runtime_status, count)
        VALUES (NEW.tenant, NEW.definition_id, NEW.definition_version, NEW.value, NEW.status,
                NEW.runtime_status, 1);
        came := ARRAY(SELECT statewright_state_paths(NEW.value));
    END IF;
    -- The states an update keeps (same definition and version) are left as they are.
    IF TG_OP = 'UPDATE' AND OLD.definition_id = NEW.definition_id
       AND OLD.definition_version = NEW.definition_version THEN
        kept := ARRAY(SELECT unnest(gone) INTERSECT SELECT unnest(came));
        gone := ARRAY(SELECT unnest(gone) EXCEPT SELECT unnest(kept));
        came := ARRAY(SELECT unnest(came) EXCEPT SELECT unnest(kept));
    END IF;
    -- One state at a time: each row found by its whole key (with `state = ANY`, the planner
    -- may scan the definition's every row for the id).
    FOREACH path IN ARRAY gone LOOP
        DELETE FROM instance_states
        WHERE tenant = OLD.tenant AND definition_id = OLD.definition_id AND state = path
          AND id = OLD.id;
    END LOOP;
    IF cardinality(came) > 0 THEN
        INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
        SELECT NEW.tenant, NEW.definition_id, added, NEW.id, NEW.definition_version
        FROM unnest(came) AS added;
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
