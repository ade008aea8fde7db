-- Each audit row carries its instance's creation time, so that the audit table can be
-- partitioned by it (`statewright db partition-audit`): every row of one instance then lives
-- in one partition, and history retention drops whole partitions. Rows written before this
-- migration leave it NULL; the conversion fills it in from their instance.
ALTER TABLE audit ADD COLUMN instance_created_at BIGINT;
