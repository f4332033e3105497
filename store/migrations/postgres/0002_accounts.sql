-- admin_confirmed_at: when the operator confirmed the account on the server
-- (eventhive admin confirm EMAIL); only a confirmed account listed in
-- ADMIN_EMAILS opens /admin. session_epoch: a session carries the epoch it
-- began in and ends when the account's epoch moves on (sign out everywhere).
ALTER TABLE users ADD COLUMN admin_confirmed_at BIGINT;
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
