-- 005: what is known about an order's buyer, by where it came from, in
-- PostgreSQL's dialect (the SQLite dialect's 005 explains the origins).
-- The operator's addresses move here from contacts, which goes.
CREATE TABLE order_facts (
  order_id     TEXT COLLATE "C" NOT NULL,
  origin       TEXT COLLATE "C" NOT NULL,            -- 'operator' or 'rye'
  email        TEXT COLLATE "C",
  order_number TEXT COLLATE "C",
  postal_code  TEXT COLLATE "C",
  country      TEXT COLLATE "C",                     -- ISO 3166-1 alpha-2, upper case
  locale       TEXT COLLATE "C",                     -- language tag, e.g. 'de'
  updated_at   TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (order_id, origin)
);
CREATE INDEX order_facts_by_number ON order_facts(order_number)
  WHERE order_number IS NOT NULL;

INSERT INTO order_facts(order_id, origin, email, updated_at)
  SELECT order_id, 'operator', email, updated_at FROM contacts;
DROP TABLE contacts;
