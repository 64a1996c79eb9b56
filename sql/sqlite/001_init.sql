-- 001: the first schema.  Raw events are the source of truth; orders and
-- shipments are derived from them (and from carrier data) and can be
-- rebuilt with `shiptrack replay`.

-- Every accepted delivery, as received.  seq is arrival order (replay
-- walks it); id is the sender's event id, the de-duplication key.
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  id          TEXT    NOT NULL UNIQUE,
  scheme      TEXT    NOT NULL,            -- rye1, rye2, aftership
  type        TEXT    NOT NULL,
  order_id    TEXT,                        -- NULL: concerns no order
  created_at  TEXT    NOT NULL,            -- normalised ISO-8601 UTC
  created_ms  INTEGER NOT NULL,
  marketplace TEXT,
  received_at TEXT    NOT NULL,
  body        BLOB    NOT NULL
);
CREATE INDEX events_by_order ON events(order_id, created_ms, id);

-- Signed deliveries we could not accept (not JSON, required field
-- missing): kept as evidence, never applied.
CREATE TABLE rejected_deliveries (
  id          INTEGER PRIMARY KEY,
  scheme      TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  received_at TEXT    NOT NULL,
  body        BLOB    NOT NULL
);

CREATE TABLE orders (
  id          TEXT    PRIMARY KEY,
  status      TEXT    NOT NULL,
  stage       TEXT    NOT NULL,
  marketplace TEXT,
  created_at  TEXT    NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_at  TEXT    NOT NULL,
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX orders_by_created ON orders(created_ms DESC, id DESC);

-- One parcel of an order.  tracking_number is NULL while Rye has sent a
-- tracking event without a recognisable number ("details pending"); such
-- a row is keyed by the event that announced it (pending_key).
-- The *_key columns are "<createdAt ms, zero-padded>|<event id>", so they
-- sort as (createdAt, id): first_key (the earliest announcement) orders
-- the shipments; carrier_key and url_key remember which event gave the
-- carrier and the URL (the latest event that named one wins).
CREATE TABLE shipments (
  id                 INTEGER PRIMARY KEY,
  order_id           TEXT    NOT NULL,
  tracking_number    TEXT,
  pending_key        TEXT,
  carrier            TEXT,
  tracking_url       TEXT,
  first_key          TEXT,
  carrier_key        TEXT,
  url_key            TEXT,
  tag                TEXT    NOT NULL DEFAULT 'Pending',
  subtag             TEXT,
  subtag_message     TEXT,
  expected_delivery  TEXT,
  delivered_at       TEXT,
  last_checkpoint_at TEXT,
  checked_at         TEXT,
  carrier_id         TEXT,
  carrier_slug       TEXT,
  carrier_updated_ms INTEGER,
  poll_error         TEXT,
  poll_error_at      TEXT,
  poll_failures      INTEGER NOT NULL DEFAULT 0,
  next_poll_ms       INTEGER NOT NULL DEFAULT 0,
  UNIQUE (order_id, tracking_number),
  UNIQUE (order_id, pending_key)
);
CREATE INDEX shipments_by_order ON shipments(order_id, first_key);

-- Carrier scan events, a de-duplicated union of everything seen.
CREATE TABLE checkpoints (
  shipment_id   INTEGER NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  time_raw      TEXT    NOT NULL,
  time_ms       INTEGER,
  has_offset    INTEGER NOT NULL DEFAULT 0,
  tag           TEXT    NOT NULL DEFAULT '',
  subtag        TEXT,
  message       TEXT    NOT NULL DEFAULT '',
  location      TEXT,
  UNIQUE (shipment_id, time_raw, message, tag)
);

-- Small facts about the installation (last poll run, list-sync cursor).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT
);
