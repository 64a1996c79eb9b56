-- 004: running totals for GET /v1/metrics that no other row can tell:
-- webhooks answered without storing anything (duplicates, refusals),
-- the poller's carrier requests, and histograms.  Every process adds
-- its own deltas with an upsert (value = value + delta), so the receiver's
-- processes and the poller never coordinate; a reader sees the sums.
--
-- name:   the metric family, e.g. shiptrack_webhooks_total
-- labels: its label pairs as the text format writes them, e.g.
--         reason="bad_signature" (empty: none)
-- part:   empty for a counter; for a histogram the upper bound of one
--         bucket (that bucket alone, not cumulative; +Inf for the last)
--         or sum (in the family's integer unit)
CREATE TABLE metrics (
  name   TEXT    NOT NULL,
  labels TEXT    NOT NULL DEFAULT '',
  part   TEXT    NOT NULL DEFAULT '',
  value  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (name, labels, part)
) WITHOUT ROWID;
