-- Times are Unix milliseconds (UTC); money is integer minor units.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- claim_order_id names the order that holds or owns the ticket. A claim with
-- claim_expires_at is a hold that ends then; a claim without one is a sale.
CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    seller_id        BIGINT  NOT NULL REFERENCES users (id),
    title            TEXT    NOT NULL,
    price            BIGINT  NOT NULL CHECK (price > 0),
    currency         TEXT    NOT NULL,
    claim_order_id   BIGINT,
    claim_expires_at BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX tickets_seller_idx ON tickets (seller_id, id);
CREATE INDEX tickets_claim_idx ON tickets (claim_expires_at);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    buyer_id            BIGINT  NOT NULL REFERENCES users (id),
    ticket_id           BIGINT  NOT NULL REFERENCES tickets (id),
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled')),
    amount              BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    expires_at          BIGINT  NOT NULL,
    checkout_session_id TEXT UNIQUE,
    cancelled_at        BIGINT,
    paid_at             BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id);
CREATE INDEX orders_ticket_idx ON orders (ticket_id);

CREATE TABLE payments (
    id                  INTEGER PRIMARY KEY,
    order_id            BIGINT  REFERENCES orders (id), -- NULL: no such order (refunded)
    checkout_session_id TEXT    NOT NULL UNIQUE,
    payment_intent_id   TEXT    NOT NULL,
    amount              BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('succeeded', 'refund_pending', 'refunded')),
    refund_reason       TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX payments_order_idx ON payments (order_id);

CREATE TABLE stripe_events (
    id           TEXT   PRIMARY KEY,
    type         TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT
);

-- The table scs's sqlite3store expects.
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
