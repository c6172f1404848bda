-- Full-text search (soju.im/search), SQLite dialect: an FTS5 index over the text
-- of PRIVMSG and NOTICE rows (events and TAGMSG are never search results).
-- External content: the text lives once, in `messages`; the index holds only
-- tokens, keyed by `messages.seq`. Triggers keep it exact through every path that
-- changes `messages` (append, purge, redact, trim, rename), so no query has to
-- remember it. The condition is the same in every trigger: an FTS5 external-content
-- 'delete' must name exactly what was indexed. Numbered 0007: 0003, 0005, 0006 and
-- 0008 belong to other changes. Keep in step with ../postgres/0007_search.sql.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;

CREATE TRIGGER messages_fts_update_old AFTER UPDATE OF text, command ON messages
WHEN old.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;

CREATE TRIGGER messages_fts_update_new AFTER UPDATE OF text, command ON messages
WHEN new.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;

-- History stored before this migration.
INSERT INTO messages_fts (rowid, text)
SELECT seq, text FROM messages WHERE command IN ('PRIVMSG', 'NOTICE');
