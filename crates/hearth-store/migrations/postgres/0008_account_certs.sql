-- Client-certificate fingerprints for SASL EXTERNAL: a certificate (by the lowercase
-- hex SHA-256 of its DER form) logs in to exactly one account; an account may have
-- several. Numbered 0008: 0003 stays unused, 0005-0007 belong to other changes.
-- Keep in step with ../sqlite/0008_account_certs.sql.

CREATE TABLE account_certs (
    fingerprint TEXT    NOT NULL PRIMARY KEY,
    account_key TEXT    NOT NULL REFERENCES accounts (name_key) ON DELETE CASCADE,
    added_at    BIGINT NOT NULL
);

CREATE INDEX account_certs_by_account ON account_certs (account_key);
