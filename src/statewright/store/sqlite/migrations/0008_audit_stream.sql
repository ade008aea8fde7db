-- The live stream's cursor: one increasing number over every tenant's audit rows, in commit
-- order. Existing rows take their insertion order (the rowid).
ALTER TABLE audit ADD COLUMN stream_seq INTEGER;
UPDATE audit SET stream_seq = rowid;
CREATE UNIQUE INDEX audit_by_stream_seq ON audit (stream_seq);
CREATE INDEX audit_stream ON audit (tenant, stream_seq);
