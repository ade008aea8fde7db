-- Due timers are claimed with a lease, so that workers share them instead of all
-- firing the same ones (the losers found their work gone).
ALTER TABLE timers ADD COLUMN lease_until BIGINT;
