-- 004: running totals for GET /v1/metrics, in PostgreSQL's dialect (the
-- SQLite dialect's 004 says what name, labels and part hold).  Every
-- process adds its own deltas with an upsert (value = value + delta).
-- SQLite's WITHOUT ROWID has no counterpart: the primary key is the
-- table's only index either way.
CREATE TABLE metrics (
  name   TEXT    COLLATE "C" NOT NULL,
  labels TEXT    COLLATE "C" NOT NULL DEFAULT '',
  part   TEXT    COLLATE "C" NOT NULL DEFAULT '',
  value  BIGINT  NOT NULL DEFAULT 0,
  PRIMARY KEY (name, labels, part)
);
