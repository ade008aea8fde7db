-- The schema version only: on PostgreSQL this version gives each audit row its instance's
-- creation time, for a partitioned audit table; SQLite has no partitions and needs nothing.
SELECT 1;
