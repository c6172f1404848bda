-- Facts about the database itself, one row per key. `opened_at` (milliseconds since
-- the Unix epoch, as text) is rewritten on every open: that write is how a store
-- finds out at start, not at the first message, that it cannot write the database.
-- Keep in step with ../postgres/0002_meta.sql.

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT
);
