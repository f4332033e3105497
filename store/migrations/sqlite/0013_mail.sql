-- Mail (wave 2). The outbox holds every message the app sends, queued in the
-- transaction of what causes it, with its send_mail job. key names the cause
-- ("reset:<token id>", "receipt:order:<id>"): one message per cause, however
-- often the cause repeats. data is the JSON its templates are rendered with;
-- message_id is fixed at insert so that every retry sends the same
-- Message-ID. Times are Unix ms; sent_at is NULL until the server took it.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    to_address TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    sent_at    BIGINT,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_created_idx ON outbox (created_at);

-- Password reset tokens: only the SHA-256 of a token (hex) is kept, so the
-- table's contents reset nothing. A token is used once, before expires_at.
CREATE TABLE password_resets (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    token_hash TEXT    NOT NULL UNIQUE,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    created_at BIGINT  NOT NULL
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
