-- Room memberships of accounts: since when each account has been a member of each
-- room (history visibility, channel mode +H: in a "joined" room a member reads only
-- what was said since `since`). A membership starts at a JOIN and ends at PART or
-- KICK; a disconnect does not end it. Numbered 0006: 0003 stays unused, 0005, 0007
-- and 0008 belong to other changes.
-- Keep in step with ../postgres/0006_room_members.sql.

CREATE TABLE room_members (
    room_key    TEXT    NOT NULL REFERENCES rooms (name_key) ON DELETE CASCADE,
    account_key TEXT    NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    since       INTEGER NOT NULL,
    PRIMARY KEY (room_key, account_key)
);
