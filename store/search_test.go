package store_test

import (
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// searchVersion is the migration that builds the search index.
const searchVersion = 8

// searchFixture is a seller and four upcoming events, soonest first:
//
//	rock   "Rock Show" at Madison Square Garden, New York, in a day; one
//	       listing at 30.00 noted "Great for jazz fans"
//	jazz   "Jazz Night at the Blue Note" at Blue Note, New York, in two days;
//	       one listing at 50.00 noted "Front row, aisle seats"
//	quiet  "Quiet Evening" in Bergen, in three days, nothing on sale
//	oya    "ØYA Festival" at Tøyenparken, Oslo, date to be announced; one
//	       listing at 40.00 noted "Day pass"
type searchFixture struct {
	*testBundle
	seller                 store.User
	rock, jazz, quiet, oya store.Event
	rockListing            store.Listing
}

func newSearchFixture(t *testing.T, dialect store.Dialect) *searchFixture {
	t.Helper()
	f := &searchFixture{testBundle: setup(t, dialect)}
	f.seller = f.user(t, "seller@example.com")
	f.rock = f.event(t, "Rock Show", "Madison Square Garden", "New York", base.Add(24*time.Hour))
	f.jazz = f.event(t, "Jazz Night at the Blue Note", "Blue Note", "New York", base.Add(48*time.Hour))
	f.quiet = f.event(t, "Quiet Evening", "", "Bergen", base.Add(72*time.Hour))
	f.oya = f.event(t, "ØYA Festival", "Tøyenparken", "Oslo", time.Time{})
	f.rockListing = f.listing(t, f.rock.ID, "Great for jazz fans", 3000)
	f.listing(t, f.jazz.ID, "Front row, aisle seats", 5000)
	f.listing(t, f.oya.ID, "Day pass", 4000)
	return f
}

func (f *searchFixture) event(t *testing.T, name, venue, city string, startsAt time.Time) store.Event {
	t.Helper()
	e, err := f.store.CreateEvent(t.Context(), f.seller.ID,
		store.NewEvent{Name: name, Venue: venue, City: city, StartsAt: startsAt, TimeZone: "UTC"}, base)
	require.NoError(t, err)
	return e
}

func (f *searchFixture) listing(t *testing.T, eventID int64, note string, price int64) store.Listing {
	t.Helper()
	l, err := f.store.CreateListing(t.Context(), f.seller.ID, store.NewListing{
		EventID: eventID, Price: price, FaceValue: price, Currency: "usd", Quantity: 1, Note: note,
	}, base)
	require.NoError(t, err)
	return l
}

// found lists the names of the events UpcomingEvents finds for q at now, in
// its order.
func (f *searchFixture) found(t *testing.T, now time.Time, q store.EventQuery) []string {
	t.Helper()
	events, err := f.store.UpcomingEvents(t.Context(), now, q, 20, 0)
	require.NoError(t, err, "query %+v", q)
	names := []string{}
	for _, e := range events {
		names = append(names, e.Name)
	}
	return names
}

// search is found for the words typed, at base, in the default order.
func (f *searchFixture) search(t *testing.T, typed string) []string {
	t.Helper()
	return f.found(t, base, store.EventQuery{Search: typed})
}

func (f *searchFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := f.db.Write.ExecContext(t.Context(), query, args...)
	require.NoError(t, err)
}

func TestSearchEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("Words", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				jazz, rock, oya := f.jazz.Name, f.rock.Name, f.oya.Name
				for typed, want := range map[string][]string{
					"blue note jaz":     {jazz}, // the last word while typing
					"NOTE jazz Blue":    {jazz}, // any order, any case
					"jazz nig":          {jazz},
					"j":                 {jazz, rock},
					"madison":           {rock}, // venue
					"bergen":            {f.quiet.Name},
					"aisle":             {jazz}, // a note
					"fans rock":         {rock}, // a note and the name
					"øya":               {oya},
					"ØYA festival":      {oya},
					"tøyenparken oslo":  {oya},
					"blue note rock":    {},
					"night blue rockin": {},
				} {
					require.Equal(t, want, f.search(t, typed), "search %q", typed)
				}
				require.ElementsMatch(t, []string{jazz, rock}, f.search(t, "new york"))
			})

			t.Run("NameAboveNote", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				// The rock show is sooner, but has jazz only in a note.
				require.Equal(t, []string{f.jazz.Name, f.rock.Name}, f.search(t, "jazz"))
				require.Equal(t, []string{f.jazz.Name, f.rock.Name}, f.found(t, base,
					store.EventQuery{Search: "jazz", Sort: store.SortRelevance}))
				// A venue counts more than a note too.
				blues := f.event(t, "Evening Blues", "Jazz Cellar", "Chicago", base.Add(time.Hour))
				require.Equal(t, []string{f.jazz.Name, blues.Name, f.rock.Name}, f.search(t, "jazz"))
			})

			t.Run("SearchSyntaxIsText", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				everything := []string{f.rock.Name, f.jazz.Name, f.quiet.Name, f.oya.Name}
				jazz, rock := f.jazz.Name, f.rock.Name
				for typed, want := range map[string][]string{
					`"`: everything, `*`: everything, `-`: everything, `(`: everything, `:`: everything,
					`'`: everything, `\`: everything, `&|!<->`: everything, `""`: everything, ` `: everything,
					`"blue note"`:        {jazz},
					`"blue note`:         {jazz},
					`blue -note`:         {jazz}, // not NOT: both words
					`jazz*`:              {jazz, rock},
					`(jazz`:              {jazz, rock},
					`^jazz`:              {jazz, rock},
					`jazz:*`:             {jazz, rock},
					`fans & rock`:        {rock},
					`jazz OR rock`:       {}, // OR is a word, none of these events has
					`jazz | rock`:        {rock},
					`NEAR(blue note)`:    {},
					`name:rock`:          {}, // not a column filter: "name" is a word
					`NOT jazz`:           {},
					`AND`:                {},
					`o'neil`:             {},
					`blue "note" 'jazz'`: {jazz},
				} {
					require.Equal(t, want, f.search(t, typed), "search %q", typed)
				}
			})

			t.Run("FindsNewText", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				ctx := t.Context()

				// An operator renames the event (moderation's edit).
				f.exec(t, `UPDATE events SET name = $1, venue = $2, city = $3 WHERE id = $4`,
					"Smooth Jazz Brunch", "Village Vanguard", "Manhattan", f.jazz.ID)
				require.Equal(t, []string{"Smooth Jazz Brunch"}, f.search(t, "brunch vanguard manhattan"))
				require.Empty(t, f.search(t, "night"))
				require.Empty(t, f.search(t, "blue note"))

				// The seller edits a note.
				_, err := f.store.UpdateListing(ctx, f.rockListing.ID, f.seller.ID,
					editOf(f.rockListing, "Standing only", 3000), base)
				require.NoError(t, err)
				require.Equal(t, []string{f.rock.Name}, f.search(t, "standing"))
				require.Empty(t, f.search(t, "fans"))
				require.Equal(t, []string{"Smooth Jazz Brunch"}, f.search(t, "jazz"))

				// A withdrawn listing's note no longer finds its event, and
				// finds it again once relisted.
				_, err = f.store.WithdrawListing(ctx, f.rockListing.ID, f.seller.ID, base)
				require.NoError(t, err)
				require.Empty(t, f.search(t, "standing"))
				require.Equal(t, []string{f.rock.Name}, f.search(t, "rock"))
				_, err = f.store.RelistListing(ctx, f.rockListing.ID, f.seller.ID, base)
				require.NoError(t, err)
				require.Equal(t, []string{f.rock.Name}, f.search(t, "standing"))

				// A second listing adds its note; the first keeps its own.
				f.listing(t, f.rock.ID, "Balcony", 3500)
				require.Equal(t, []string{f.rock.Name}, f.search(t, "balcony"))
				require.Equal(t, []string{f.rock.Name}, f.search(t, "standing"))
			})

			t.Run("Merged", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				dup := f.event(t, "Rock Show NYC", "MSG", "NYC", base.Add(24*time.Hour))
				f.listing(t, dup.ID, "Upper tier", 2000)
				require.Equal(t, []string{dup.Name}, f.search(t, "upper tier"))

				// An operator merges the duplicate into the rock show, as
				// moderation does: its listings move, then it is marked.
				f.exec(t, `UPDATE listings SET event_id = $1 WHERE event_id = $2`, f.rock.ID, dup.ID)
				f.exec(t, `UPDATE events SET merged_into = $1 WHERE id = $2`, f.rock.ID, dup.ID)
				require.Equal(t, []string{f.rock.Name}, f.search(t, "upper tier"))
				require.Equal(t, []string{f.rock.Name}, f.search(t, "fans"), "the kept event keeps its own notes")
				require.Empty(t, f.search(t, "msg"))
			})

			t.Run("OnlyListedUpcoming", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				f.exec(t, `UPDATE events SET hidden_at = $1 WHERE id = $2`, base.UnixMilli(), f.jazz.ID)
				require.Equal(t, []string{f.rock.Name}, f.search(t, "new york"))
				require.Equal(t, []string{f.rock.Name}, f.search(t, "jazz"))

				afterRock := f.rock.StartsAt
				require.Empty(t, f.found(t, afterRock, store.EventQuery{Search: "new york"}))
				require.Equal(t, []string{f.oya.Name}, f.found(t, afterRock.Add(100*24*time.Hour),
					store.EventQuery{Search: "day pass"}), "a date to be announced never starts")
			})

			t.Run("Sort", func(t *testing.T) {
				t.Parallel()
				f := newSearchFixture(t, dialect)
				rock, jazz, quiet, oya := f.rock.Name, f.jazz.Name, f.quiet.Name, f.oya.Name
				byDate := []string{rock, jazz, quiet, oya}
				for _, tc := range []struct {
					q    store.EventQuery
					want []string
				}{
					{store.EventQuery{}, byDate},
					{store.EventQuery{Sort: store.SortDate}, byDate},
					{store.EventQuery{Sort: store.SortRelevance}, byDate},
					{store.EventQuery{Search: `"`, Sort: store.SortRelevance}, byDate},
					{store.EventQuery{Sort: store.SortPrice}, []string{rock, oya, jazz, quiet}},
					{store.EventQuery{Search: "jazz", Sort: store.SortDate}, []string{rock, jazz}},
					{store.EventQuery{Search: "jazz", Sort: store.SortPrice}, []string{rock, jazz}},
					{store.EventQuery{Search: "new york", To: base.Add(36 * time.Hour)}, []string{rock}},
					{store.EventQuery{Search: "new york", From: base.Add(36 * time.Hour)}, []string{jazz}},
				} {
					require.Equal(t, tc.want, f.found(t, base, tc.q), "query %+v", tc.q)
				}

				// A cheaper listing for the jazz night puts it first; a held
				// ticket is not on sale.
				cheap := f.listing(t, f.jazz.ID, "", 1000)
				require.Equal(t, []string{jazz, rock, oya, quiet}, f.found(t, base, store.EventQuery{Sort: store.SortPrice}))
				buyer := f.user(t, "buyer@example.com")
				f.order(t, buyer.ID, cheap.ID, base)
				require.Equal(t, []string{rock, oya, jazz, quiet}, f.found(t, base, store.EventQuery{Sort: store.SortPrice}))
			})
		})
	}
}

// TestSearchMigration checks that the search migration indexes the events
// and listings already there.
func TestSearchMigration(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db, err := store.Open(ctx, storetest.URL(t, dialect))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, db.MigrateTo(ctx, searchVersion-1))

			w := wave1{t: t, db: db}
			seller := w.user("seller@example.com", base)
			event := w.insert(`INSERT INTO events (name, venue, city, time_zone, created_by, created_at, updated_at)
				VALUES ('Jazz Night', 'Blue Note', 'New York', 'UTC', $1, $2, $2)`, seller, base.UnixMilli())
			w.insert(`INSERT INTO listings (seller_id, event_id, note, price, face_value, currency, quantity, created_at, updated_at)
				VALUES ($1, $2, 'Front row', 1000, 1000, 'usd', 1, $3, $3)`, seller, event, base.UnixMilli())

			require.NoError(t, db.Migrate(ctx))
			st, err := store.New(db)
			require.NoError(t, err)
			for _, typed := range []string{"jazz nig", "blue note", "york", "front row"} {
				events, err := st.UpcomingEvents(ctx, base, store.EventQuery{Search: typed}, 10, 0)
				require.NoError(t, err)
				require.Len(t, events, 1, "search %q", typed)
				require.Equal(t, event, events[0].ID)
			}
		})
	}
}

// TestSearchConcurrentNotes adds listings with notes to one event from two
// PostgreSQL transactions at once: the second to update the event's
// document must wait for the first and include its note.
func TestSearchConcurrentNotes(t *testing.T) {
	t.Parallel()
	storetest.PostgresOnly(t, "SQLite has one writer at a time")
	f := newSearchFixture(t, store.Postgres)
	ctx := t.Context()
	begin := func(note string) (*sql.Tx, int) {
		tx, err := f.db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		var pid int
		require.NoError(t, tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
		_, err = tx.ExecContext(ctx, `INSERT INTO listings (seller_id, event_id, note, price, face_value, currency,
			quantity, created_at, updated_at) VALUES ($1, $2, $3, 1000, 1000, 'usd', 1, $4, $4)`,
			f.seller.ID, f.quiet.ID, note, base.UnixMilli())
		require.NoError(t, err)
		return tx, pid
	}
	first, firstPID := begin("Balcony")
	second, _ := begin("Stalls")

	// The first writes the document, as its commit would, and holds it.
	_, err := first.ExecContext(ctx, `SET CONSTRAINTS ALL IMMEDIATE`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var secondErr error
	wg.Go(func() {
		_, secondErr = second.ExecContext(ctx, `SET CONSTRAINTS ALL IMMEDIATE`)
	})
	require.Eventually(t, func() bool {
		var waiting bool
		err := f.db.Read.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))`, firstPID).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, 5*time.Millisecond, "the second transaction waits for the first")
	require.NoError(t, first.Commit())
	wg.Wait()
	require.NoError(t, secondErr)
	require.NoError(t, second.Commit())

	require.Equal(t, []string{f.quiet.Name}, f.search(t, "balcony"))
	require.Equal(t, []string{f.quiet.Name}, f.search(t, "stalls"))
}
