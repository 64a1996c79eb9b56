-- 007: the shopper's page, grown up.
--
-- Shopper lookups by order number and e-mail (or postal code) are
-- bounded: each failure is one row, keyed by an HMAC (keyed with
-- lookup_secret) of the client address or of the order number, never the
-- raw value.  Rows older than lookup_window_seconds are pruned as
-- lookups go, so the table holds at most a window's failures, and no
-- row is written for a client or number already over the limit.
CREATE TABLE lookup_failures (
  key    TEXT    NOT NULL,        -- "a:" or "n:" + hex HMAC-SHA256
  at_ms  INTEGER NOT NULL
);
CREATE INDEX lookup_failures_by_key ON lookup_failures(key, at_ms);
CREATE INDEX lookup_failures_by_time ON lookup_failures(at_ms);

-- Everything the carrier knows (AfterShip): estimates by source, each a
-- date or a date-time as given (UTC where the offset was known); where
-- to collect a parcel; who signed for it; the carrier's own tracking
-- page (https only).
ALTER TABLE shipments ADD COLUMN est_carrier_earliest TEXT;
ALTER TABLE shipments ADD COLUMN est_carrier_latest TEXT;
ALTER TABLE shipments ADD COLUMN est_predicted_earliest TEXT;
ALTER TABLE shipments ADD COLUMN est_predicted_latest TEXT;
ALTER TABLE shipments ADD COLUMN pickup_location TEXT;
ALTER TABLE shipments ADD COLUMN pickup_note TEXT;
ALTER TABLE shipments ADD COLUMN signed_by TEXT;
ALTER TABLE shipments ADD COLUMN carrier_tracking_link TEXT;

-- Stall episodes (the "delayed" notification).  stall_episode counts the
-- episodes begun; stall_scan is the last scan (last_checkpoint_at, ''
-- for none) the latest episode began at, so a later scan ends it;
-- stalled_since is when that episode began, NULL once it ended.
ALTER TABLE shipments ADD COLUMN stall_episode INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN stall_scan TEXT;
ALTER TABLE shipments ADD COLUMN stalled_since TEXT;
