-- Full-text search (soju.im/search), SQLite dialect: an FTS5 index over PRIVMSG and
-- NOTICE rows (events and TAGMSG are never search results), keyed by `messages.seq`.
--
-- Contentless (the text lives once, in `messages`) with contentless_delete, so a row
-- leaves the index by rowid alone. Besides the text, each row carries the tokens a
-- search filters on, so FTS5 intersects them with the words itself, in rowid order,
-- and a LIMIT stops early even for a common word in a small scope:
--   scope   't' || hex(target), and for a conversation 'p' || hex(participant) for
--           each of its two participants (hex: any key is one token);
--   sender  hex(casefolded nick of `nick!user@host`) and hex(casefolded account).
-- The query side builds the same tokens (crate::search::fts5_query). Results are
-- still checked against `messages` in SQL; the tokens only make it fast.
--
-- Triggers keep the index exact through every path that changes `messages`
-- (append, purge, redact, trim, rename). Numbered 0007: 0003, 0005, 0006 and 0008
-- belong to other changes. Keep in step with ../postgres/0007_search.sql.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    scope,
    sender,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    INSERT INTO messages_fts (rowid, text, scope, sender) VALUES (
        new.seq,
        new.text,
        't' || hex(new.target) || CASE WHEN instr(new.target, ' ') > 0
            THEN ' p' || hex(substr(new.target, 1, instr(new.target, ' ') - 1))
              || ' p' || hex(substr(new.target, instr(new.target, ' ') + 1))
            ELSE '' END,
        hex(lower(substr(new.sender, 1, instr(new.sender || '!', '!') - 1)))
            || ' ' || coalesce(hex(lower(new.sender_account)), '')
    );
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.command IN ('PRIVMSG', 'NOTICE')
BEGIN
    DELETE FROM messages_fts WHERE rowid = old.seq;
END;

-- A rename moves messages to another target: out of the index, and back in with
-- the new scope.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF target, text, command, sender, sender_account ON messages
BEGIN
    DELETE FROM messages_fts WHERE rowid = old.seq AND old.command IN ('PRIVMSG', 'NOTICE');
    INSERT INTO messages_fts (rowid, text, scope, sender) SELECT
        new.seq,
        new.text,
        't' || hex(new.target) || CASE WHEN instr(new.target, ' ') > 0
            THEN ' p' || hex(substr(new.target, 1, instr(new.target, ' ') - 1))
              || ' p' || hex(substr(new.target, instr(new.target, ' ') + 1))
            ELSE '' END,
        hex(lower(substr(new.sender, 1, instr(new.sender || '!', '!') - 1)))
            || ' ' || coalesce(hex(lower(new.sender_account)), '')
    WHERE new.command IN ('PRIVMSG', 'NOTICE');
END;

-- History stored before this migration.
INSERT INTO messages_fts (rowid, text, scope, sender)
SELECT
    seq,
    text,
    't' || hex(target) || CASE WHEN instr(target, ' ') > 0
        THEN ' p' || hex(substr(target, 1, instr(target, ' ') - 1))
          || ' p' || hex(substr(target, instr(target, ' ') + 1))
        ELSE '' END,
    hex(lower(substr(sender, 1, instr(sender || '!', '!') - 1))) || ' ' || coalesce(hex(lower(sender_account)), '')
FROM messages WHERE command IN ('PRIVMSG', 'NOTICE');
