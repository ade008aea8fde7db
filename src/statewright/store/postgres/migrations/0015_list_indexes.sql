-- Indexes for the operators' lists, so that a page costs the same at any number of rows:
-- a tenant's instances by definition and status, or definition and runtime status, in id
-- order (a filter of both columns otherwise read every instance of the definition, or of
-- the status, to find the few of both); a tenant's outbox messages in one status (pending,
-- dead) by message id (the pending list and the dead letters otherwise sorted every
-- message in that status to show the first page).
CREATE INDEX IF NOT EXISTS instances_by_definition_status
    ON instances (tenant, definition_id, status, id);
CREATE INDEX IF NOT EXISTS instances_by_definition_runtime_status
    ON instances (tenant, definition_id, runtime_status, id);
CREATE INDEX IF NOT EXISTS outbox_by_tenant_status ON outbox (tenant, status, message_id);
