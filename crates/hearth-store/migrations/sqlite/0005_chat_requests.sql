-- Chat requests (consent before private messages) and the unread private messages of
-- accounts that were offline. Numbered 0005: 0003 stays unused, 0006-0008 belong to
-- other changes. Keep in step with the other dialect's 0005_chat_requests.sql.

-- A pending (declined_at NULL) or declined request from one account to another; `held`
-- is a JSON array of the messages held until the recipient answers.
CREATE TABLE dm_requests (
    sender_key    TEXT NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    recipient_key TEXT NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    declined_at   BIGINT,
    held          TEXT NOT NULL,
    PRIMARY KEY (sender_key, recipient_key)
);

-- Private messages an account received while offline, counted per sender, for the
-- summary at its next login.
CREATE TABLE dm_unread (
    account_key TEXT NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    sender_key  TEXT NOT NULL,
    sender_nick TEXT NOT NULL,
    first_at    BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (account_key, sender_key)
);
