-- Nothing to change on PostgreSQL: its full-text column is generated with the row
-- (0007). The SQLite migration of the same number moves indexing from a per-row
-- trigger to one statement per appended batch; this file keeps the numbering of
-- both dialects in step.
SELECT 1;
