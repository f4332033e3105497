-- EventHive passes (wave 2). Every pass is signed with one Ed25519 key, made
-- at first start or supplied by PASS_SIGNING_KEY, and kept here for good:
-- passes already in people's hands were signed with it. One row at most.
-- Both keys are base64: the public key's 32 bytes, the private key's 64
-- (seed, then public key).
CREATE TABLE pass_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_key  TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- A pass let in at the door: one generation of a seat (root_id, the first
-- ticket row of its history), checked in at most once, by a signed-in
-- organizer or helper, at the door of event_id.
CREATE TABLE checkins (
    id         INTEGER PRIMARY KEY,
    root_id    BIGINT  NOT NULL REFERENCES tickets (id),
    generation INTEGER NOT NULL,
    event_id   BIGINT  NOT NULL REFERENCES events (id),
    at         BIGINT  NOT NULL,
    by_user    BIGINT  NOT NULL REFERENCES users (id),
    nonce      TEXT    NOT NULL,
    UNIQUE (root_id, generation)
);
CREATE INDEX checkins_event_idx ON checkins (event_id);

-- Every scan's answer under the nonce its scanner sent, so that a retried
-- request gets the same answer. root_id and generation name the check-in
-- the answer tells of, if any.
CREATE TABLE checkin_scans (
    id         INTEGER PRIMARY KEY,
    nonce      TEXT    NOT NULL UNIQUE,
    event_id   BIGINT  NOT NULL REFERENCES events (id),
    by_user    BIGINT  NOT NULL REFERENCES users (id),
    answer     TEXT    NOT NULL,
    root_id    BIGINT,
    generation INTEGER,
    at         BIGINT  NOT NULL
);

-- The helpers an organizer names, by email, to check passes in with them.
CREATE TABLE event_checkers (
    id         INTEGER PRIMARY KEY,
    event_id   BIGINT  NOT NULL REFERENCES events (id),
    email      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (event_id, email)
);
