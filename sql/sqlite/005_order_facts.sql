-- 005: what is known about an order's buyer, by where it came from.
-- An operator sets facts by hand (PUT /v1/orders/{id}/contact, shiptrack
-- contact); the Rye pass takes them from Rye's buyer data.  One row per
-- (order, origin); a field's effective value is the operator's when set,
-- else Rye's, so a synced value never overwrites what an operator typed.
-- order_number is the store's own order number (Rye's referenceId), which
-- shoppers look their order up by.
CREATE TABLE order_facts (
  order_id     TEXT NOT NULL,
  origin       TEXT NOT NULL,            -- 'operator' or 'rye'
  email        TEXT,
  order_number TEXT,
  postal_code  TEXT,
  country      TEXT,                     -- ISO 3166-1 alpha-2, upper case
  locale       TEXT,                     -- language tag, e.g. 'de'
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (order_id, origin)
);
CREATE INDEX order_facts_by_number ON order_facts(order_number)
  WHERE order_number IS NOT NULL;

INSERT INTO order_facts(order_id, origin, email, updated_at)
  SELECT order_id, 'operator', email, updated_at FROM contacts;
DROP TABLE contacts;
