-- 003: notifications, a transactional outbox.  A row is written in the
-- same transaction as the stage change it announces and is unique per
-- (order, stage, shipment), so replays and re-polls cannot announce a
-- stage twice.  Delivery (`shiptrack notify`, run by cron) records every
-- attempt and never loses a row: it ends as sent, skipped or failed.

-- The customer's address for e-mail, set by the operator.
CREATE TABLE contacts (
  order_id    TEXT PRIMARY KEY,
  email       TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE notifications (
  id               INTEGER PRIMARY KEY,
  uid              TEXT    NOT NULL UNIQUE,   -- webhook-id: stable per row
  order_id         TEXT    NOT NULL,
  stage            TEXT    NOT NULL,
  previous_stage   TEXT,
  shipment         TEXT    NOT NULL DEFAULT '', -- tracking number for a parcel's own trouble
  occurred_at      TEXT    NOT NULL,
  created_ms       INTEGER NOT NULL,
  webhook_state    TEXT    NOT NULL DEFAULT 'pending', -- pending, sent, skipped, failed
  email_state      TEXT    NOT NULL DEFAULT 'pending',
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
  claimed_until_ms INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  UNIQUE (order_id, stage, shipment)
);
CREATE INDEX notifications_by_order ON notifications(order_id, id);
CREATE INDEX notifications_due ON notifications(next_attempt_ms)
  WHERE webhook_state = 'pending' OR email_state = 'pending';

CREATE TABLE notification_attempts (
  notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
  channel         TEXT    NOT NULL,            -- webhook, email
  at              TEXT    NOT NULL,
  status          INTEGER,                     -- HTTP or SMTP status, if any
  error           TEXT
);
CREATE INDEX notification_attempts_by_row ON notification_attempts(notification_id);
