-- 007: the shopper's page, grown up, in PostgreSQL's dialect (the SQLite
-- dialect's 007 explains the lookup bounds, the carrier's facts and the
-- stall episodes).

-- Failed shopper lookups, keyed by an HMAC, never the raw value.
CREATE TABLE lookup_failures (
  key    TEXT    COLLATE "C" NOT NULL,        -- "a:" or "n:" + hex HMAC-SHA256
  at_ms  BIGINT  NOT NULL
);
CREATE INDEX lookup_failures_by_key ON lookup_failures(key, at_ms);
CREATE INDEX lookup_failures_by_time ON lookup_failures(at_ms);

-- Everything the carrier knows (AfterShip).
ALTER TABLE shipments ADD COLUMN est_carrier_earliest TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN est_carrier_latest TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN est_predicted_earliest TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN est_predicted_latest TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN pickup_location TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN pickup_note TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN signed_by TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN carrier_tracking_link TEXT COLLATE "C";

-- Stall episodes (the "delayed" notification).
ALTER TABLE shipments ADD COLUMN stall_episode BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN stall_scan TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN stalled_since TEXT COLLATE "C";
