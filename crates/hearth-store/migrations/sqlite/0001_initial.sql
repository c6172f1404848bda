-- Hearth schema, SQLite dialect. Keep in step with ../postgres/0001_initial.sql:
-- the same tables, columns and indexes, so one set of queries serves both.
-- Every *_key column holds a casefolded (ASCII lowercase) name.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE accounts (
    name_key      TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE rooms (
    name_key     TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    topic        TEXT,
    topic_set_by TEXT,
    topic_set_at INTEGER,
    modes        TEXT    NOT NULL DEFAULT '',
    room_key     TEXT,
    user_limit   INTEGER,
    created_at   INTEGER NOT NULL
);

CREATE TABLE room_bans (
    room_key TEXT    NOT NULL REFERENCES rooms (name_key) ON DELETE CASCADE,
    mask_key TEXT    NOT NULL,
    mask     TEXT    NOT NULL,
    set_by   TEXT    NOT NULL,
    set_at   INTEGER NOT NULL,
    PRIMARY KEY (room_key, mask_key)
);

CREATE TABLE room_operators (
    room_key    TEXT NOT NULL REFERENCES rooms (name_key) ON DELETE CASCADE,
    account_key TEXT NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    PRIMARY KEY (room_key, account_key)
);

-- History. `seq` breaks ties between messages of the same millisecond, in
-- insertion order; (target, time, seq) is the order every query pages by.
CREATE TABLE messages (
    seq            INTEGER NOT NULL PRIMARY KEY,
    msgid          TEXT    NOT NULL UNIQUE,
    target         TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    time           INTEGER NOT NULL,
    sender         TEXT    NOT NULL,
    sender_account TEXT,
    command        TEXT    NOT NULL,
    tags           TEXT    NOT NULL,
    text           TEXT    NOT NULL
);
CREATE INDEX messages_target_time ON messages (target, time, seq);
CREATE INDEX messages_time ON messages (time);

-- Which direct-message conversations each participant has: the candidates
-- CHATHISTORY TARGETS looks at besides the caller's channels.
CREATE TABLE dm_targets (
    participant TEXT NOT NULL,
    target      TEXT NOT NULL,
    PRIMARY KEY (participant, target)
);

CREATE TABLE read_markers (
    account_key TEXT    NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    target      TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    PRIMARY KEY (account_key, target)
);

-- Accept lists for direct messages (who may message an account that only
-- accepts listed senders). The policy itself lives in the core.
CREATE TABLE dm_accept (
    account_key  TEXT NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    accepted_key TEXT NOT NULL,
    PRIMARY KEY (account_key, accepted_key)
);
