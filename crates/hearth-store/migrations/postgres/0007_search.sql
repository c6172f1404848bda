-- Full-text search (soju.im/search), PostgreSQL dialect: a generated tsvector of
-- each message's text and a GIN index over PRIVMSG and NOTICE rows (events and
-- TAGMSG are never search results). Being generated, the vector is right after
-- every path that changes `messages` (append, purge, redact, trim, rename).
-- The 'simple' configuration lowercases words and neither stems nor drops stop
-- words, which matches SQLite's unicode61 tokenizer closely enough for both to
-- pass one conformance suite. Numbered 0007: 0003, 0005, 0006 and 0008 belong to
-- other changes. Keep in step with ../sqlite/0007_search.sql.

ALTER TABLE messages
    ADD COLUMN text_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;

CREATE INDEX messages_text_tsv ON messages USING GIN (text_tsv)
    WHERE command IN ('PRIVMSG', 'NOTICE');
