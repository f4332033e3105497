-- Word search over events. event_search holds each event's document: its
-- name (weight A), venue and city (B) and the notes of its listings that are
-- not withdrawn (D); a merge moves listings, notes and all, to the event it
-- keeps. Triggers keep it in step with every write to events and listings,
-- whichever code makes it.

-- The words of a text, case folded by the 'simple' configuration, which
-- neither stems nor drops words. Punctuation becomes space first: PostgreSQL's
-- parser would otherwise keep e-mail addresses, URLs, paths, hyphenated words
-- and signed or decimal numbers ("3-4" gives '3' and '-4') as tokens of their
-- own, where SQLite and the app's search words see plain words.
CREATE FUNCTION search_words(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_tsvector('simple'::regconfig, regexp_replace($1, '[[:punct:]]+', ' ', 'g')) $$;

CREATE VIEW event_search_documents AS
SELECT e.id,
       setweight(search_words(e.name), 'A') ||
       setweight(search_words(e.venue || ' ' || e.city), 'B') ||
       setweight(search_words(coalesce((SELECT string_agg(l.note, ' ') FROM listings l
                                        WHERE l.event_id = e.id AND l.withdrawn_at IS NULL), '')), 'D') AS document
FROM events e;

CREATE TABLE event_search (
    event_id BIGINT   PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    document tsvector NOT NULL
);
INSERT INTO event_search (event_id, document) SELECT id, document FROM event_search_documents;
CREATE INDEX event_search_document_idx ON event_search USING GIN (document);

-- event_search_refresh writes an event's document anew. Writers of one
-- document take turns on its row, and each reads the notes in a statement
-- that starts after the previous writer committed, so two transactions that
-- add listings to one event at once cannot leave out each other's notes.
CREATE FUNCTION event_search_refresh(event BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM event_search WHERE event_id = event FOR UPDATE;
    INSERT INTO event_search (event_id, document)
    SELECT id, document FROM event_search_documents WHERE id = event
    ON CONFLICT (event_id) DO UPDATE SET document = excluded.document;
END $$;

CREATE FUNCTION event_search_of_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM event_search_refresh(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION event_search_of_listing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM event_search_refresh(OLD.event_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.event_id IS DISTINCT FROM OLD.event_id) THEN
        PERFORM event_search_refresh(NEW.event_id);
    END IF;
    RETURN NULL;
END $$;

-- The triggers run at commit (deferred): a transaction locks documents only
-- once its own statements are done, so waiting for one never deadlocks with
-- the locks the app's statements take.
CREATE CONSTRAINT TRIGGER event_search_event
    AFTER INSERT OR UPDATE OF name, venue, city ON events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_search_of_event();

CREATE CONSTRAINT TRIGGER event_search_listing
    AFTER INSERT OR DELETE OR UPDATE OF note, event_id, withdrawn_at ON listings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_search_of_listing();
