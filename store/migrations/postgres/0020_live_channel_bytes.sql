-- live_channel cut the name to 63 characters, but PostgreSQL keeps 63
-- bytes of a name: LISTEN cuts a longer one at the last whole character
-- within them, and pg_notify refuses it, so a schema with a long name in
-- other than ASCII failed every change to users and sessions. The name is
-- now cut as LISTEN cuts it (and as live.NewPostgres does).
CREATE OR REPLACE FUNCTION live_channel(tables_schema text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    name text := 'eventhive_live' || CASE WHEN tables_schema = 'public' THEN '' ELSE '_' || tables_schema END;
BEGIN
    WHILE octet_length(name) > 63 LOOP
        name := left(name, -1);
    END LOOP;
    RETURN name;
END
$$;
