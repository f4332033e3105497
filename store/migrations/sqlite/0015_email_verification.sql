-- Verified addresses (wave 2). email_verified_at is when the account's
-- owner opened the link sign-up mailed them (Unix ms); NULL until then, and
-- for accounts made before this migration. Operator rights need it, or the
-- server-side admin_confirmed_at.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- Verification tokens, kept like password reset tokens: only the SHA-256
-- (hex), used once, before expires_at. created_at counts the links sent in
-- the last hour, which limits sending them again.
CREATE TABLE email_verifications (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    token_hash TEXT    NOT NULL UNIQUE,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    created_at BIGINT  NOT NULL
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id, created_at);
