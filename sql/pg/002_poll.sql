-- 002: what the carrier poller and AfterShip's push webhooks look
-- shipments up by, in PostgreSQL's dialect (the same partial indexes).

-- Due shipments: numbered, not final (Delivered, Expired), by when they
-- are due; a rejected number is due at INT64_MAX, that is never.
CREATE INDEX shipments_due ON shipments(next_poll_ms)
  WHERE tracking_number IS NOT NULL AND tag NOT IN ('Delivered', 'Expired');

-- A tracking from a list page or a push, by AfterShip's id ...
CREATE INDEX shipments_by_carrier_id ON shipments(carrier_id)
  WHERE carrier_id IS NOT NULL;

-- ... or, before the poller registered it, by its number.
CREATE INDEX shipments_by_number ON shipments(tracking_number)
  WHERE tracking_number IS NOT NULL;
