-- Alerts (wave 2): "tell me when tickets are listed" for an event, at or
-- under an optional highest price (minor units; NULL: any price). One alert
-- per person and event. last_sent_at (Unix ms) keeps an alert to one message
-- an hour.
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    event_id     BIGINT  NOT NULL REFERENCES events (id),
    max_price    BIGINT,
    created_at   BIGINT  NOT NULL,
    last_sent_at BIGINT,
    UNIQUE (user_id, event_id)
);
CREATE INDEX alerts_event_idx ON alerts (event_id);

-- The messages alerts sent: at most one per alert and listing. Each message
-- carries its own one-click unsubscribe token, of which only the SHA-256
-- (hex) is kept: a token is made when its message is, and no later message
-- could carry a token the database only has the hash of.
CREATE TABLE alert_sends (
    alert_id   BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    listing_id BIGINT  NOT NULL REFERENCES listings (id),
    token_hash TEXT    NOT NULL UNIQUE,
    sent_at    BIGINT  NOT NULL,
    UNIQUE (alert_id, listing_id)
);
