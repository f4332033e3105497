-- Payouts (wave 2): payout accounts, sales and the ledger. See the
-- PostgreSQL migration of the same number for what each column means.
CREATE TABLE payout_accounts (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id),
    account_id      TEXT    NOT NULL UNIQUE,
    payouts_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    details         TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE sales (
    id                  INTEGER PRIMARY KEY,
    order_id            BIGINT  NOT NULL REFERENCES orders (id),
    ticket_id           BIGINT  NOT NULL REFERENCES tickets (id),
    payment_id          BIGINT  NOT NULL REFERENCES payments (id),
    seller_id           BIGINT  NOT NULL REFERENCES users (id),
    currency            TEXT    NOT NULL,
    gross               BIGINT  NOT NULL CHECK (gross > 0),
    fee                 BIGINT  NOT NULL CHECK (fee >= 0),
    net                 BIGINT  NOT NULL CHECK (net >= 0),
    release_at          BIGINT  NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'held' CHECK (state IN
                            ('held', 'releasable', 'transferring', 'transferred', 'reversing', 'reversed', 'refunded')),
    problem_note        TEXT    NOT NULL DEFAULT '',
    problem_reported_at BIGINT,
    problem_decision    TEXT    CHECK (problem_decision IN ('refund', 'release')),
    problem_decided_at  BIGINT,
    refund_requested_at BIGINT,
    transfer_id         TEXT,
    reversal_id         TEXT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    CHECK (gross = fee + net),
    UNIQUE (order_id, ticket_id)
);
CREATE INDEX sales_seller_idx ON sales (seller_id, id);
CREATE INDEX sales_state_idx ON sales (state, release_at);

CREATE TABLE ledger_entries (
    id         INTEGER PRIMARY KEY,
    sale_id    BIGINT NOT NULL REFERENCES sales (id),
    kind       TEXT   NOT NULL CHECK (kind IN ('sale', 'transfer', 'reversal', 'refund')),
    amount     BIGINT NOT NULL CHECK (amount >= 0),
    reference  TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (sale_id, kind)
);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- Operators' decisions on an order's money go in the moderation log with the
-- order as their subject. SQLite cannot change a CHECK: the table is copied.
CREATE TABLE moderation_actions_new (
    id         INTEGER PRIMARY KEY,
    actor_id   BIGINT NOT NULL REFERENCES users (id),
    action     TEXT   NOT NULL,
    subject    TEXT   NOT NULL CHECK (subject IN ('event', 'user', 'order')),
    subject_id BIGINT NOT NULL,
    detail     TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
INSERT INTO moderation_actions_new SELECT id, actor_id, action, subject, subject_id, detail, created_at FROM moderation_actions;
DROP TABLE moderation_actions;
ALTER TABLE moderation_actions_new RENAME TO moderation_actions;
CREATE INDEX moderation_actions_subject_idx ON moderation_actions (subject, subject_id);
