-- The live stream's cursor: one increasing number over every tenant's audit rows, drawn
-- from a sequence at insert (existing rows are numbered as the table is rewritten).
ALTER TABLE audit ADD COLUMN stream_seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX audit_stream ON audit (tenant, stream_seq);
