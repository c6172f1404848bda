-- Login tokens ("stay signed in on this device"): a client logs in with SASL PLAIN and
-- the password `token:<token>`. Only the lowercase hex SHA-256 of a token is stored,
-- never the token itself. Deleting the account (or changing its password) removes them.
-- Keep in step with ../postgres/0009_login_tokens.sql.

CREATE TABLE login_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    account_key  TEXT    NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    device       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE INDEX login_tokens_by_account ON login_tokens (account_key);
