package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/riverqueue/river"
)

// Event is what tickets are for: a concert, a match, a show. Its start is an
// instant; TimeZone is the IANA zone its local times are told in.
type Event struct {
	ID       int64
	Name     string
	Venue    string
	City     string
	StartsAt time.Time // zero: date to be announced
	TimeZone string
	// CreatedBy is the account that created the event while listing.
	CreatedBy int64
	// HiddenAt is when an operator hid the event; MergedInto the event an
	// operator merged this duplicate into. Either takes it off the market.
	HiddenAt   time.Time
	MergedInto int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// CheckinWithEventHive: its creator chose EventHive passes, checked in
	// at the door, and so is its organizer. Otherwise its tickets are
	// e-tickets from the organizer's own ticketing system.
	CheckinWithEventHive bool
}

// NewEvent is what a person tells of an event they list tickets for.
type NewEvent struct {
	Name, Venue, City string
	StartsAt          time.Time // zero: date to be announced
	TimeZone          string
	// CheckinWithEventHive makes its creator the organizer, who checks
	// EventHive passes in at the door.
	CheckinWithEventHive bool
}

// Started reports whether the event has started at now: its sales are closed.
// An event whose date is to be announced has not.
func (e Event) Started(now time.Time) bool {
	return !e.StartsAt.IsZero() && !now.Before(e.StartsAt)
}

// Listed reports whether people may see the event and buy for it, time aside:
// an operator has neither hidden it nor merged it into another.
func (e Event) Listed() bool { return e.HiddenAt.IsZero() && e.MergedInto == 0 }

// OrganizedBy reports whether the user organizes the event: they created it
// choosing EventHive passes, and check them in at the door.
func (e Event) OrganizedBy(userID int64) bool { return e.CheckinWithEventHive && e.CreatedBy == userID }

// Location is the event's time zone, or UTC if its name is unknown here.
func (e Event) Location() *time.Location {
	if loc, err := time.LoadLocation(e.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

const eventColumns = `e.id, e.name, e.venue, e.city, e.starts_at, e.time_zone, e.created_by, e.hidden_at,
	e.merged_into, e.created_at, e.updated_at, e.checkin_with_eventhive`

// eventDest is where a scan reads eventColumns into e.
func eventDest(e *Event, starts, hidden, merged *sql.NullInt64, created, updated *int64) []any {
	return []any{&e.ID, &e.Name, &e.Venue, &e.City, starts, &e.TimeZone, &e.CreatedBy, hidden, merged, created, updated,
		&e.CheckinWithEventHive}
}

func scanEvent(row rowScanner, extra ...any) (Event, error) {
	var e Event
	var starts, hidden, merged sql.NullInt64
	var created, updated int64
	err := row.Scan(append(eventDest(&e, &starts, &hidden, &merged, &created, &updated), extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	e.StartsAt, e.HiddenAt, e.MergedInto = fromNullMS(starts), fromNullMS(hidden), merged.Int64
	e.CreatedAt, e.UpdatedAt = fromMS(created), fromMS(updated)
	return e, err
}

// ErrEventStarted means the event has started: its sales are closed.
var ErrEventStarted = errors.New("the event has started")

// insertEvent creates an event in tx and, for an event with a date, the job
// that closes its sales at its start.
func insertEvent(ctx context.Context, tx *writeTx, by int64, e NewEvent, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO events (name, venue, city, starts_at, time_zone, created_by, created_at, updated_at, checkin_with_eventhive)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id`,
		e.Name, e.Venue, e.City, nullMS(e.StartsAt), e.TimeZone, by, ms(now), e.CheckinWithEventHive).Scan(&id)
	if err != nil {
		return 0, err
	}
	scheduleSalesClose(tx, id, e.StartsAt)
	return id, nil
}

// scheduleSalesClose inserts the job that does the side effects of an
// event's start. Sales close at the start whether or not it has run.
func scheduleSalesClose(tx *writeTx, eventID int64, startsAt time.Time) {
	if startsAt.IsZero() {
		return
	}
	tx.insertJob(CloseSalesArgs{EventID: eventID}, &river.InsertOpts{ScheduledAt: startsAt})
}

// Event finds an event by id, hidden or merged ones included.
func (s *Store) Event(ctx context.Context, id int64) (Event, error) {
	return scanEvent(s.reader(ctx).QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, id))
}

// EventQuery narrows and orders the events people look for.
type EventQuery struct {
	// Search is what a person typed. An event matches when each of its
	// words is a word of the event's name, venue or city or of the note of
	// one of its listings, in any order; the last word may also be the
	// start of one, as people search while typing. Only letters and digits
	// make words: anything else, search syntax included, separates them.
	// Nothing but separators: no filter.
	Search string
	// From and To are a range of start times [From, To) (zero:
	// open-ended). Events to be announced match only without a range.
	From, To time.Time
	Sort     EventSort
}

// EventSort is an order of events.
type EventSort string

// The orders of events. Any other value, the zero one included, means
// SortRelevance when the search has words and SortDate when not.
const (
	// SortDate lists the soonest first, those to be announced last.
	SortDate EventSort = "date"
	// SortPrice lists the event of the cheapest ticket on sale first, those
	// with nothing on sale last; then by date.
	SortPrice EventSort = "price"
	// SortRelevance lists the best matches first: words in the name count
	// most, then in the venue or city, then in notes; then by date.
	SortRelevance EventSort = "relevance"
)

// EventSummary is an event as the home page lists it: how many tickets are on
// sale for it and from what price.
type EventSummary struct {
	Event
	ForSale     int   // tickets on sale now
	LowestPrice int64 // per ticket, minor units of Currency; 0 when none is on sale
	Currency    string
	// CheapestListing is the listing that offers LowestPrice, or 0.
	CheapestListing int64
}

// UpcomingEvents lists the listed events that have not started at now and
// match q, in q's order.
func (s *Store) UpcomingEvents(ctx context.Context, now time.Time, q EventQuery, limit, offset int) ([]EventSummary, error) {
	where, args := eventFilter(now, q)
	search, relevance := "", ""
	if words := SearchWords(q.Search); len(words) > 0 {
		args = append(args, searchQuery(s.db.Dialect, words))
		search, relevance = searchJoin(s.db.Dialect, param(len(args)))
	}
	args = append(args, limit, offset)
	n := len(args)
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT `+eventColumns+`, coalesce(sale.tickets, 0), coalesce(sale.lowest, 0), coalesce(sale.currency, ''),
		       coalesce((SELECT l.id FROM listings l WHERE l.event_id = e.id AND l.price = sale.lowest AND `+listingOpen+`
		                 AND EXISTS (SELECT 1 FROM tickets k WHERE k.listing_id = l.id AND `+unclaimed("k", "$1")+`)
		                 ORDER BY l.id LIMIT 1), 0)
		FROM events e `+search+`
		LEFT JOIN (
			SELECT l.event_id, count(*) AS tickets, min(l.price) AS lowest, min(l.currency) AS currency
			FROM listings l JOIN tickets k ON k.listing_id = l.id
			WHERE `+listingOpen+` AND `+unclaimed("k", "$1")+`
			GROUP BY l.event_id
		) sale ON sale.event_id = e.id
		WHERE `+where+`
		ORDER BY `+eventOrder(q.Sort, relevance)+`
		LIMIT `+param(n-1)+` OFFSET `+param(n), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []EventSummary
	for rows.Next() {
		var es EventSummary
		e, err := scanEvent(rows, &es.ForSale, &es.LowestPrice, &es.Currency, &es.CheapestListing)
		if err != nil {
			return nil, err
		}
		es.Event = e
		list = append(list, es)
	}
	return list, rows.Err()
}

// eventFilter is the WHERE clause, with its arguments from $1 (now) on, for
// the listed events that have not started at now and start in q's range.
func eventFilter(now time.Time, q EventQuery) (string, []any) {
	where := `e.hidden_at IS NULL AND e.merged_into IS NULL AND (e.starts_at IS NULL OR e.starts_at > $1)`
	args := []any{ms(now)}
	if !q.From.IsZero() {
		args = append(args, ms(q.From))
		where += ` AND e.starts_at >= ` + param(len(args))
	}
	if !q.To.IsZero() {
		args = append(args, ms(q.To))
		where += ` AND e.starts_at < ` + param(len(args))
	}
	return where, args
}

// eventOrder is the ORDER BY clause for sort; relevance is the expression
// of how well an event matches the search, higher better, or "" without one.
func eventOrder(sort EventSort, relevance string) string {
	const byDate = `e.starts_at IS NULL, e.starts_at, e.id`
	switch {
	case sort == SortPrice:
		return `sale.lowest IS NULL, sale.lowest, ` + byDate
	case sort != SortDate && relevance != "":
		return relevance + ` DESC, ` + byDate
	default:
		return byDate
	}
}

// SearchWords splits what a person typed into the words EventQuery.Search
// looks for: runs of letters and digits, as SQLite's unicode61 tokenizer cuts
// them and as PostgreSQL's parser does once punctuation is space (migration
// 0008).
func SearchWords(typed string) []string {
	return strings.FieldsFunc(typed, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// searchQuery is the dialect's full-text query for words: each word, the last
// also as a prefix. Each word is quoted, so that words such as NEAR, OR or NOT
// are words; as words hold only letters and digits, no quote needs escaping.
func searchQuery(dialect Dialect, words []string) string {
	quote, prefix, and := `"`, "*", " "
	if dialect == Postgres {
		quote, prefix, and = "'", ":*", " & "
	}
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = quote + w + quote
	}
	terms[len(terms)-1] += prefix
	return strings.Join(terms, and)
}

// searchJoin joins the events that match the full-text query in parameter p
// and returns the expression of how well each matches, higher better. Words
// in the name weigh most, then in the venue or city, then in notes.
func searchJoin(dialect Dialect, p string) (join, relevance string) {
	if dialect == Postgres {
		return `JOIN (
			SELECT event_id, ts_rank(document, query) AS relevance
			FROM event_search, to_tsquery('simple', ` + p + `) query WHERE document @@ query
		) s ON s.event_id = e.id`, `s.relevance`
	}
	// bm25 is lower for better matches.
	return `JOIN (
			SELECT rowid AS event_id, -bm25(event_search, 10, 4, 4, 1) AS relevance
			FROM event_search WHERE event_search MATCH ` + p + `
		) s ON s.event_id = e.id`, `s.relevance`
}

// CreateEvent creates an event on its own, for a seller who lists later, or
// an operator.
func (s *Store) CreateEvent(ctx context.Context, by int64, e NewEvent, now time.Time) (Event, error) {
	if !e.StartsAt.IsZero() && !now.Before(e.StartsAt) {
		return Event{}, ErrEventStarted
	}
	var id int64
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		id, err = insertEvent(ctx, tx, by, e, now)
		return err
	})
	if err != nil {
		return Event{}, err
	}
	return scanEvent(s.db.Write.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, id))
}

// EventListingIDs lists the ids of every listing of an event, whatever its
// state, oldest first: the pages to tell when the event changes.
func (s *Store) EventListingIDs(ctx context.Context, eventID int64) ([]int64, error) {
	return queryIDs(ctx, s.reader(ctx), `SELECT id FROM listings WHERE event_id = $1 ORDER BY id`, eventID)
}
