-- 006: the Rye sync, in PostgreSQL's dialect (the SQLite dialect's 006
-- says what each column holds).

-- Where a record came from ('webhook' or 'sync'), what it is about
-- (gen 2), and the order status an observation states.
ALTER TABLE events ADD COLUMN source TEXT COLLATE "C" NOT NULL DEFAULT 'webhook';
ALTER TABLE events ADD COLUMN subject TEXT COLLATE "C";
ALTER TABLE events ADD COLUMN status TEXT COLLATE "C";
CREATE INDEX events_by_subject ON events(subject, order_id)
  WHERE subject IS NOT NULL;

-- What Rye says about a parcel (gen 2).
ALTER TABLE shipments ADD COLUMN rye_shipment_id TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN rye_status TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN rye_estimated_delivery TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN rye_delivered_at TEXT COLLATE "C";
ALTER TABLE shipments ADD COLUMN rye_key TEXT COLLATE "C";
CREATE INDEX shipments_by_rye_id ON shipments(order_id, rye_shipment_id)
  WHERE rye_shipment_id IS NOT NULL;

-- Rye's tracking events of a parcel (derived: replay rebuilds them).
CREATE TABLE rye_checkpoints (
  shipment_id   BIGINT  NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  time_raw      TEXT    COLLATE "C" NOT NULL,
  time_ms       BIGINT,
  has_offset    BIGINT  NOT NULL DEFAULT 0,
  tag           TEXT    COLLATE "C" NOT NULL DEFAULT '',
  message       TEXT    COLLATE "C" NOT NULL DEFAULT '',
  location      TEXT    COLLATE "C",
  UNIQUE (shipment_id, time_raw, message, tag)
);

-- One row per order the Rye pass looks after.
CREATE TABLE rye_sync (
  order_id      TEXT    COLLATE "C" PRIMARY KEY,
  generation    BIGINT  NOT NULL,            -- 1: orderByID, 2: checkout intent
  last_sync_at  TEXT    COLLATE "C",
  last_sync_ms  BIGINT,
  sync_error    TEXT    COLLATE "C",
  sync_error_at TEXT    COLLATE "C",
  failures      BIGINT  NOT NULL DEFAULT 0,
  pending       BIGINT  NOT NULL DEFAULT 0,
  next_sync_ms  BIGINT  NOT NULL DEFAULT 0,
  final         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX rye_sync_due ON rye_sync(generation, next_sync_ms);
CREATE INDEX rye_sync_pending ON rye_sync(generation) WHERE pending = 1;

-- Gen-2 shipments a shipment.* event named, to be fetched by id.
CREATE TABLE rye_shipments_due (
  shipment_id   TEXT    COLLATE "C" PRIMARY KEY,
  failures      BIGINT  NOT NULL DEFAULT 0,
  next_sync_ms  BIGINT  NOT NULL DEFAULT 0,
  sync_error    TEXT    COLLATE "C",
  sync_error_at TEXT    COLLATE "C"
);
