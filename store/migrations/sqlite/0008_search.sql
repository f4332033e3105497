-- Word search over events. event_search holds, under each event's id as its
-- rowid, the event's name, venue and city and the notes of its listings that
-- are not withdrawn: a merge moves listings, notes and all, to the event it
-- keeps. Triggers keep it in step with every write to events and listings,
-- whichever code makes it. (A migration that rebuilds either table must
-- create its triggers again: dropping a table drops its triggers.)
CREATE VIEW event_search_documents AS
SELECT e.id, e.name, e.venue, e.city,
       coalesce((SELECT group_concat(l.note, ' ') FROM listings l
                 WHERE l.event_id = e.id AND l.withdrawn_at IS NULL), '') AS notes
FROM events e;

-- unicode61 folds case and drops diacritics ("zurich" finds "Zürich");
-- prefix indexes make the last word, matched as a prefix, quick.
CREATE VIRTUAL TABLE event_search USING fts5 (
    name, venue, city, notes,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

INSERT INTO event_search (rowid, name, venue, city, notes)
SELECT id, name, venue, city, notes FROM event_search_documents;

CREATE TRIGGER event_search_event_insert AFTER INSERT ON events BEGIN
    INSERT INTO event_search (rowid, name, venue, city, notes)
    SELECT id, name, venue, city, notes FROM event_search_documents WHERE id = NEW.id;
END;

CREATE TRIGGER event_search_event_update AFTER UPDATE OF name, venue, city ON events BEGIN
    DELETE FROM event_search WHERE rowid = OLD.id;
    INSERT INTO event_search (rowid, name, venue, city, notes)
    SELECT id, name, venue, city, notes FROM event_search_documents WHERE id = NEW.id;
END;

CREATE TRIGGER event_search_event_delete AFTER DELETE ON events BEGIN
    DELETE FROM event_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER event_search_listing_insert AFTER INSERT ON listings BEGIN
    DELETE FROM event_search WHERE rowid = NEW.event_id;
    INSERT INTO event_search (rowid, name, venue, city, notes)
    SELECT id, name, venue, city, notes FROM event_search_documents WHERE id = NEW.event_id;
END;

CREATE TRIGGER event_search_listing_update AFTER UPDATE OF note, event_id, withdrawn_at ON listings BEGIN
    DELETE FROM event_search WHERE rowid IN (OLD.event_id, NEW.event_id);
    INSERT INTO event_search (rowid, name, venue, city, notes)
    SELECT id, name, venue, city, notes FROM event_search_documents WHERE id IN (OLD.event_id, NEW.event_id);
END;

CREATE TRIGGER event_search_listing_delete AFTER DELETE ON listings BEGIN
    DELETE FROM event_search WHERE rowid = OLD.event_id;
    INSERT INTO event_search (rowid, name, venue, city, notes)
    SELECT id, name, venue, city, notes FROM event_search_documents WHERE id = OLD.event_id;
END;
