-- Messages enter the full-text index once per appended batch, not by a trigger per
-- row: `Store::append` runs one `INSERT INTO messages_fts … SELECT … FROM messages
-- WHERE seq > <the largest seq before the batch>` in the same transaction
-- (crate::sql::queries, FTS_INDEX_NEW). Through the trigger, every row was a
-- sub-statement of its own and FTS5 flushed its pending terms for each one, which
-- cost ~30 µs of CPU per message, two thirds of storing it (docs/performance.md).
-- The delete and update triggers stay: purges, trims, redactions and renames are
-- rare and go through them unchanged. Keep in step with ../postgres/0010.
DROP TRIGGER messages_fts_insert;
