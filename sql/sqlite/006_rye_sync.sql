-- 006: the Rye sync.  Webhooks are the fast path, Rye's API the truth:
-- what the Rye pass of shiptrack-poll fetches is stored raw in events,
-- like a webhook, and folded by the same rules (README "The Rye pass").

-- Where a record came from: 'webhook' (a delivery to the receiver) or
-- 'sync' (fetched by the Rye pass: a swept event, an observation, a
-- gen-1 order's embedded event).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook';
-- Gen 2: what the record is about, "<source.type>:<source.id>"
-- (checkout_intent:ci_1, shipment:shp_2); NULL otherwise.  A shipment's
-- events name no order until the Rye pass learns the shipment's intent.
ALTER TABLE events ADD COLUMN subject TEXT;
-- The order status an observation states (Rye's API answer at fetch
-- time: SUCCEEDED, ACTION_REQUIRED, ...); NULL for every other record.
ALTER TABLE events ADD COLUMN status TEXT;
CREATE INDEX events_by_subject ON events(subject, order_id)
  WHERE subject IS NOT NULL;

-- What Rye says about a parcel (gen 2): its shipment id, status
-- (ordered, shipped, delayed, out_for_delivery, delivered, canceled, or
-- one Rye adds), estimated delivery and delivery time, from the latest
-- observation of that shipment (rye_key: "<ms zero-padded>|<record id>").
ALTER TABLE shipments ADD COLUMN rye_shipment_id TEXT;
ALTER TABLE shipments ADD COLUMN rye_status TEXT;
ALTER TABLE shipments ADD COLUMN rye_estimated_delivery TEXT;
ALTER TABLE shipments ADD COLUMN rye_delivered_at TEXT;
ALTER TABLE shipments ADD COLUMN rye_key TEXT;
CREATE INDEX shipments_by_rye_id ON shipments(order_id, rye_shipment_id)
  WHERE rye_shipment_id IS NOT NULL;

-- Rye's tracking events of a parcel, shown while the carrier service has
-- no scan of its own (then the carrier's checkpoints are the parcel's).
-- Derived from the observations: replay rebuilds them.
CREATE TABLE rye_checkpoints (
  shipment_id   INTEGER NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  time_raw      TEXT    NOT NULL,
  time_ms       INTEGER,
  has_offset    INTEGER NOT NULL DEFAULT 0,
  tag           TEXT    NOT NULL DEFAULT '',
  message       TEXT    NOT NULL DEFAULT '',
  location      TEXT,
  UNIQUE (shipment_id, time_raw, message, tag)
);

-- One row per order the Rye pass looks after.  pending: a new event asks
-- for a fetch in the next run; next_sync_ms: the next re-read (resync,
-- or the back-off after an error); final: nothing more will change.
CREATE TABLE rye_sync (
  order_id      TEXT    PRIMARY KEY,
  generation    INTEGER NOT NULL,            -- 1: orderByID, 2: checkout intent
  last_sync_at  TEXT,
  last_sync_ms  INTEGER,
  sync_error    TEXT,
  sync_error_at TEXT,
  failures      INTEGER NOT NULL DEFAULT 0,
  pending       INTEGER NOT NULL DEFAULT 0,
  next_sync_ms  INTEGER NOT NULL DEFAULT 0,
  final         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rye_sync_due ON rye_sync(generation, next_sync_ms);
CREATE INDEX rye_sync_pending ON rye_sync(generation) WHERE pending = 1;

-- Gen-2 shipments a shipment.* event named, to be fetched by id (which
-- also tells their checkout intent); the row goes once the fetch is done.
CREATE TABLE rye_shipments_due (
  shipment_id   TEXT    PRIMARY KEY,
  failures      INTEGER NOT NULL DEFAULT 0,
  next_sync_ms  INTEGER NOT NULL DEFAULT 0,
  sync_error    TEXT,
  sync_error_at TEXT
);
