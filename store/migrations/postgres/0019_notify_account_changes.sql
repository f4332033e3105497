-- Every process that keeps users and sessions in memory hears of each change
-- to them, whoever makes it (another instance, the operator's `eventhive
-- admin confirm`, a statement typed by hand), through the live hub's
-- channel: eventhive_live for tables in public, eventhive_live_<schema>
-- otherwise, cut to the 63 bytes PostgreSQL keeps of a name (live.Channel).
-- The notification goes out when the change commits, and not at all if it
-- rolls back. The payloads are live.Event's JSON.
CREATE FUNCTION live_channel(tables_schema text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left('eventhive_live' || CASE WHEN tables_schema = 'public' THEN '' ELSE '_' || tables_schema END, 63)
$$;

CREATE FUNCTION notify_users_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(live_channel(TG_TABLE_SCHEMA), '{"users":true}');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_users_changed();

-- A session is named by the hex of its token's SHA-256 (live.SessionKey),
-- never by the token. Expired sessions, which scs deletes in bulk, are
-- kept nowhere and go unannounced.
CREATE FUNCTION notify_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.expiry > current_timestamp THEN
        PERFORM pg_notify(live_channel(TG_TABLE_SCHEMA),
            json_build_object('session', encode(sha256(convert_to(OLD.token, 'UTF8')), 'hex'))::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_changed AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_session_changed();
