-- The business states of instances, kept beside them so that the console's lists and counts
-- cost the same at any size: `instance_states` holds a row per state an instance is in
-- (`review` and `review.legal` for {"review": "legal"}), so that a list by state or tag reads
-- an index range in id order; `state_counts` holds how many instances are in each
-- (definition, version, value, status, runtime status), so that counting per state reads a
-- few rows instead of every instance. Triggers on `instances` keep both in the transaction
-- that changes an instance (SQLite has one writer: no row is ever contended).

CREATE TABLE instance_states (
    tenant TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    state TEXT NOT NULL,
    id TEXT NOT NULL,
    definition_version INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, state, id)
) WITHOUT ROWID;

CREATE TABLE state_counts (
    tenant TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    definition_version INTEGER NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant, definition_id, definition_version, value, status, runtime_status)
) WITHOUT ROWID;

-- The states of a value (SQLite has no functions in SQL, so each trigger spells the walk
-- out): a text value is its one state; an object gives every key path and every leaf under
-- its parent's path. Text that is not JSON has none. A scalar is read without json_tree, which
-- costs ten times as much on one.

CREATE TRIGGER instances_states_insert AFTER INSERT ON instances BEGIN
    INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                              runtime_status, count)
    VALUES (new.tenant, new.definition_id, new.definition_version, new.value, new.status,
            new.runtime_status, 1)
    ON CONFLICT (tenant, definition_id, definition_version, value, status, runtime_status)
    DO UPDATE SET count = count + 1;
    INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
    SELECT new.tenant, new.definition_id, path, new.id, new.definition_version FROM (
        SELECT json_extract(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE entered (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(entered.path || '.', '') || t.key
                FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.parent = entered.node)
            SELECT path FROM entered WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(entered.path || '.', '') || t.atom
            FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.id = entered.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'object');
END;

CREATE TRIGGER instances_states_update
AFTER UPDATE OF value, status, runtime_status, definition_id, definition_version ON instances
WHEN old.value IS NOT new.value OR old.status IS NOT new.status
  OR old.runtime_status IS NOT new.runtime_status OR old.definition_id IS NOT new.definition_id
  OR old.definition_version IS NOT new.definition_version
BEGIN
    UPDATE state_counts SET count = count - 1
    WHERE tenant = old.tenant AND definition_id = old.definition_id
      AND definition_version = old.definition_version AND value = old.value
      AND status = old.status AND runtime_status = old.runtime_status;
    INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                              runtime_status, count)
    VALUES (new.tenant, new.definition_id, new.definition_version, new.value, new.status,
            new.runtime_status, 1)
    ON CONFLICT (tenant, definition_id, definition_version, value, status, runtime_status)
    DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER instances_states_move
AFTER UPDATE OF value, definition_id, definition_version ON instances
WHEN old.value IS NOT new.value OR old.definition_id IS NOT new.definition_id
  OR old.definition_version IS NOT new.definition_version
BEGIN
    DELETE FROM instance_states
    WHERE tenant = old.tenant AND definition_id = old.definition_id AND id = old.id
      AND state IN (
        SELECT json_extract(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE left (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(left.path || '.', '') || t.key
                FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.parent = left.node)
            SELECT path FROM left WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(left.path || '.', '') || t.atom
            FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.id = left.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'object');
    INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
    SELECT new.tenant, new.definition_id, path, new.id, new.definition_version FROM (
        SELECT json_extract(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE entered (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(entered.path || '.', '') || t.key
                FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.parent = entered.node)
            SELECT path FROM entered WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(entered.path || '.', '') || t.atom
            FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.id = entered.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'object');
END;

CREATE TRIGGER instances_states_delete AFTER DELETE ON instances BEGIN
    UPDATE state_counts SET count = count - 1
    WHERE tenant = old.tenant AND definition_id = old.definition_id
      AND definition_version = old.definition_version AND value = old.value
      AND status = old.status AND runtime_status = old.runtime_status;
    DELETE FROM instance_states
    WHERE tenant = old.tenant AND definition_id = old.definition_id AND id = old.id
      AND state IN (
        SELECT json_extract(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE left (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(left.path || '.', '') || t.key
                FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.parent = left.node)
            SELECT path FROM left WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(left.path || '.', '') || t.atom
            FROM left JOIN json_tree(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) AS t ON t.id = left.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(old.value) THEN old.value ELSE 'null' END) = 'object');
END;

-- The instances a database already holds: counted, and their states filed by a trigger of a
-- scratch table (the states of each value are found per row, as for a new one).
INSERT INTO state_counts (tenant, definition_id, definition_version, value, status,
                          runtime_status, count)
SELECT tenant, definition_id, definition_version, value, status, runtime_status, count(*)
FROM instances GROUP BY tenant, definition_id, definition_version, value, status, runtime_status;

CREATE TABLE state_index_backfill (
    tenant TEXT, id TEXT, definition_id TEXT, definition_version INTEGER, value TEXT);
CREATE TRIGGER state_index_backfill_insert AFTER INSERT ON state_index_backfill BEGIN
    INSERT INTO instance_states (tenant, definition_id, state, id, definition_version)
    SELECT new.tenant, new.definition_id, path, new.id, new.definition_version FROM (
        SELECT json_extract(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END, '$') AS path
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'text'
        UNION ALL
        SELECT path FROM (
            WITH RECURSIVE entered (node, path) AS (
                SELECT id, NULL FROM json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) WHERE parent IS NULL
                UNION ALL
                SELECT t.id, coalesce(entered.path || '.', '') || t.key
                FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.parent = entered.node)
            SELECT path FROM entered WHERE path IS NOT NULL
            UNION ALL
            SELECT coalesce(entered.path || '.', '') || t.atom
            FROM entered JOIN json_tree(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) AS t ON t.id = entered.node WHERE t.type = 'text')
        WHERE json_type(CASE WHEN json_valid(new.value) THEN new.value ELSE 'null' END) = 'object');
END;
INSERT INTO state_index_backfill (tenant, id, definition_id, definition_version, value)
SELECT tenant, id, definition_id, definition_version, value FROM instances;
DROP TABLE state_index_backfill;
