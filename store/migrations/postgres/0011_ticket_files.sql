-- E-tickets from other ticketing systems (wave 2): the seller attaches one
-- file per seat, which goes with the seat to whoever holds it. A seat is the
-- first ticket row of its history (tickets.root_id names it on later rows),
-- so a resale needs no copy. The same file (by SHA-256) is on at most one
-- seat: an e-ticket can be sold once. Deleting a ticket the seller listed
-- too many of deletes its file. Times are Unix ms; replaced_at is the last
-- replacement, NULL until then.
CREATE TABLE ticket_files (
    ticket_id    BIGINT  PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    content      BYTEA   NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    sha256       TEXT    NOT NULL UNIQUE,
    uploaded_by  BIGINT  NOT NULL REFERENCES users (id),
    uploaded_at  BIGINT  NOT NULL,
    replaced_at  BIGINT
);
