package live_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// wait is how long a test waits for an event that should come.
const wait = 5 * time.Second

// testBundle is a database and a way to open hubs on it.
type testBundle struct {
	dialect store.Dialect
	url     string
	db      *sql.DB
}

func setup(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	url := storetest.URL(t, dialect)
	db, err := store.Open(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &testBundle{dialect: dialect, url: url, db: db.Write}
}

// hub opens a hub of the bundle's dialect, closed at cleanup: in-process on
// SQLite, listening on the database on PostgreSQL.
func (b *testBundle) hub(t *testing.T) *live.Hub {
	t.Helper()
	var h *live.Hub
	if b.dialect == store.Postgres {
		var err error
		h, err = live.NewPostgres(t.Context(), b.db, b.url, discardLogger())
		require.NoError(t, err)
	} else {
		h = live.New(discardLogger())
	}
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func forEachDialect(t *testing.T, test func(t *testing.T, dialect store.Dialect)) {
	t.Helper()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			test(t, dialect)
		})
	}
}

// receive waits for the next event.
func receive(t *testing.T, events <-chan live.Event) live.Event {
	t.Helper()
	select {
	case e, ok := <-events:
		require.True(t, ok, "subscription ended")
		return e
	case <-time.After(wait):
		t.Fatal("no event")
		return live.Event{}
	}
}

// requireQuiet checks that no event arrives for a while.
func requireQuiet(t *testing.T, events <-chan live.Event) {
	t.Helper()
	select {
	case e := <-events:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(300 * time.Millisecond):
	}
}

// requireClosed checks that a subscription's channel is closed.
func requireClosed(t *testing.T, events <-chan live.Event) {
	t.Helper()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-time.After(wait):
			t.Fatal("subscription still open")
		}
	}
}

func TestHub(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("PublishReachesEverySubscriber", func(t *testing.T) {
			t.Parallel()
			hub := setup(t, dialect).hub(t)
			first, unsubscribe1 := hub.Subscribe(t.Context())
			defer unsubscribe1()
			second, unsubscribe2 := hub.Subscribe(t.Context())
			defer unsubscribe2()

			hub.Publish(live.Event{TicketID: 7, OrderID: 3})
			want := live.Event{TicketID: 7, OrderID: 3}
			require.Equal(t, want, receive(t, first))
			require.Equal(t, want, receive(t, second))
			requireQuiet(t, first)
		})

		t.Run("UnsubscribeClosesTheChannel", func(t *testing.T) {
			t.Parallel()
			hub := setup(t, dialect).hub(t)
			events, unsubscribe := hub.Subscribe(t.Context())
			require.Equal(t, 1, hub.Subscribers())
			unsubscribe()
			unsubscribe() // twice is harmless
			requireClosed(t, events)
			require.Zero(t, hub.Subscribers())
			hub.Publish(live.Event{TicketID: 1}) // nobody listens: no panic
		})

		t.Run("EndingTheContextUnsubscribes", func(t *testing.T) {
			t.Parallel()
			hub := setup(t, dialect).hub(t)
			ctx, cancel := context.WithCancel(t.Context())
			events, unsubscribe := hub.Subscribe(ctx)
			defer unsubscribe()
			cancel()
			requireClosed(t, events)
			require.Eventually(t, func() bool { return hub.Subscribers() == 0 }, wait, 10*time.Millisecond)
		})

		t.Run("CloseEndsEverySubscription", func(t *testing.T) {
			t.Parallel()
			hub := setup(t, dialect).hub(t)
			events, unsubscribe := hub.Subscribe(t.Context())
			defer unsubscribe()
			require.NoError(t, hub.Close())
			requireClosed(t, events)
			late, _ := hub.Subscribe(t.Context())
			requireClosed(t, late)
		})

		t.Run("SlowSubscriberDoesNotBlock", func(t *testing.T) {
			t.Parallel()
			hub := setup(t, dialect).hub(t)
			// slow reads nothing until the end; fast reads all along.
			slow, unsubscribeSlow := hub.Subscribe(t.Context())
			defer unsubscribeSlow()
			fast, unsubscribeFast := hub.Subscribe(t.Context())
			defer unsubscribeFast()

			const n = 200
			var fastGot []live.Event
			var wg sync.WaitGroup
			wg.Go(func() { fastGot = drain(fast, 2*time.Second) })
			published := make(chan struct{})
			go func() {
				defer close(published)
				for i := int64(1); i <= n; i++ {
					hub.Publish(live.Event{TicketID: i})
				}
			}()
			select {
			case <-published:
			case <-time.After(20 * time.Second):
				t.Fatal("publishing blocked on a subscriber that does not read")
			}
			wg.Wait()
			slowGot := drain(slow, 300*time.Millisecond)

			// Neither can miss that something changed: each one's last event
			// is the last one published, or Any, which stands for all it
			// missed. The slow one's backlog is bounded.
			for _, got := range [][]live.Event{fastGot, slowGot} {
				require.NotEmpty(t, got)
				require.Contains(t, []live.Event{live.Any, {TicketID: n}}, got[len(got)-1])
			}
			require.LessOrEqual(t, len(slowGot), 16, "a slow subscriber's backlog is bounded")
			require.Contains(t, slowGot, live.Any)
		})
	})
}

func TestHubAcrossProcesses(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Dialects(), store.Postgres) {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}

	t.Run("EventsReachAnotherHubInOrder", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		one, other := b.hub(t), b.hub(t)
		events, unsubscribe := other.Subscribe(t.Context())
		defer unsubscribe()
		own, unsubscribeOwn := one.Subscribe(t.Context())
		defer unsubscribeOwn()

		// Published at once, they go out in few statements, in order, and
		// the publishing instance hears each once too.
		const n = 12 // fewer than a subscriber's buffer
		for i := int64(1); i <= n; i++ {
			one.Publish(live.Event{TicketID: i, OrderID: 5})
		}
		for i := int64(1); i <= n; i++ {
			require.Equal(t, live.Event{TicketID: i, OrderID: 5}, receive(t, events), "another instance hears it")
			require.Equal(t, live.Event{TicketID: i, OrderID: 5}, receive(t, own), "the publishing instance hears it")
		}
		requireQuiet(t, events)
		requireQuiet(t, own)
	})

	t.Run("ThisProcessHearsWithoutWaitingForTheDatabase", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		hub := b.hub(t)
		events, unsubscribe := hub.Subscribe(t.Context())
		defer unsubscribe()

		require.NoError(t, b.db.Close()) // every NOTIFY fails from here
		hub.Publish(live.Event{TicketID: 3})
		require.Equal(t, live.Event{TicketID: 3}, receive(t, events))
		requireQuiet(t, events)
	})

	t.Run("ElsewhereHearsOnlyOtherHubs", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		one, other := b.hub(t), b.hub(t)
		elsewhere, unsubscribe := one.SubscribeElsewhere(t.Context())
		defer unsubscribe()
		all, unsubscribeAll := one.Subscribe(t.Context())
		defer unsubscribeAll()

		one.Publish(live.Event{TicketID: 1})
		require.Equal(t, live.Event{TicketID: 1}, receive(t, all))
		other.Publish(live.Event{TicketID: 2})
		require.Equal(t, live.Event{TicketID: 2}, receive(t, all))
		require.Equal(t, live.Event{TicketID: 2}, receive(t, elsewhere), "the other hub's event, not its own")
		requireQuiet(t, elsewhere)
	})

	t.Run("AppsInOtherSchemasDoNotHear", func(t *testing.T) {
		t.Parallel()
		ours, theirs := setup(t, store.Postgres).hub(t), setup(t, store.Postgres).hub(t)
		events, unsubscribe := theirs.Subscribe(t.Context())
		defer unsubscribe()
		ours.Publish(live.Event{TicketID: 1})
		requireQuiet(t, events)
	})

	t.Run("TheDatabaseTellsOfAccountChanges", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		db, err := store.Open(t.Context(), b.url)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Migrate(t.Context()))
		events, unsubscribe := b.hub(t).SubscribeElsewhere(t.Context())
		defer unsubscribe()
		exec := func(query string, args ...any) {
			t.Helper()
			_, err := b.db.ExecContext(t.Context(), query, args...)
			require.NoError(t, err)
		}

		exec(`INSERT INTO users (email, password_hash, created_at) VALUES ('ann@example.com', 'hash', 0)`)
		exec(`INSERT INTO sessions (token, data, expiry) VALUES ('tok', '\x00', now() + interval '1 hour')`)
		requireQuiet(t, events) // new ones are kept nowhere yet
		exec(`UPDATE users SET password_hash = 'hash-2'`)
		require.Equal(t, live.Event{Users: true}, receive(t, events))
		exec(`UPDATE sessions SET data = '\x01'`)
		require.Equal(t, live.Event{Session: live.SessionKey("tok")}, receive(t, events))
		exec(`DELETE FROM sessions`)
		require.Equal(t, live.Event{Session: live.SessionKey("tok")}, receive(t, events))

		// Nothing for a change that rolls back, or for expired sessions
		// deleted.
		tx, err := b.db.BeginTx(t.Context(), nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(t.Context(), `UPDATE users SET password_hash = 'hash-3'`)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		exec(`INSERT INTO sessions (token, data, expiry) VALUES ('old', '\x00', now() - interval '1 second')`)
		exec(`DELETE FROM sessions`)
		requireQuiet(t, events)

		for _, e := range []live.Event{{Users: true}, {Session: live.SessionKey("tok")}} {
			require.False(t, e.ConcernsTickets(), "%+v changes nothing on sale", e)
			require.False(t, e.ConcernsListing(1), "%+v changes no listing", e)
		}
	})

	t.Run("ASchemaWithALongNameHearsItsTriggers", func(t *testing.T) {
		t.Parallel()
		storetest.PostgresOnly(t, "channels are PostgreSQL's")
		// 61 bytes, 46 characters: its channel is longer than the 63 bytes
		// PostgreSQL keeps of a name, and the cut falls inside an "é".
		schema := "test_" + strings.ToLower(rand.Text()) + strings.Repeat("é", 15)
		url := storetest.SchemaURL(t, schema)
		db, err := store.Open(t.Context(), url)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Migrate(t.Context()))
		hub, err := live.NewPostgres(t.Context(), db.Write, url, discardLogger())
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, hub.Close()) })
		events, unsubscribe := hub.SubscribeElsewhere(t.Context())
		defer unsubscribe()

		_, err = db.Write.ExecContext(t.Context(), `INSERT INTO users (email, password_hash, created_at) VALUES ('ann@example.com', 'hash', 0)`)
		require.NoError(t, err)
		_, err = db.Write.ExecContext(t.Context(), `UPDATE users SET password_hash = 'hash-2'`)
		require.NoError(t, err, "the trigger's notification")
		require.Equal(t, live.Event{Users: true}, receive(t, events))
	})

	t.Run("ASilentConnectionIsNoticed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		outage := storetest.NewOutage(t, b.url)
		const every, timeout = 100 * time.Millisecond, 200 * time.Millisecond
		hub, err := live.NewPostgresPinging(t.Context(), b.db, outage.URL, discardLogger(), every, timeout)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, hub.Close()) })
		events, unsubscribe := hub.Subscribe(t.Context())
		defer unsubscribe()
		require.True(t, hub.Listening())

		// The network drops every packet, and says nothing.
		outage.Silence()
		require.Equal(t, live.Any, receive(t, events), "no longer listening, it says anything may have changed")
		require.False(t, hub.Listening())
		time.Sleep(3 * timeout) // attempts to connect meanwhile time out
		require.False(t, hub.Listening())

		outage.Up()
		require.Equal(t, live.Any, receive(t, events), "listening again, it says so too")
		require.True(t, hub.Listening())
	})

	t.Run("ListenerReconnects", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.Postgres)
		publisher, listener := b.hub(t), b.hub(t)
		events, unsubscribe := listener.Subscribe(t.Context())
		defer unsubscribe()

		// Cut the listening connections of this schema's hubs, as a
		// database restart or a network failure would.
		var schema string
		require.NoError(t, b.db.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema))
		var cut int
		require.NoError(t, b.db.QueryRowContext(t.Context(), `
			SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE query = 'LISTEN "eventhive_live_' || $1 || '"'`, schema).Scan(&cut))
		require.Equal(t, 2, cut)

		// Cut, and back, it says that anything may have changed...
		require.Equal(t, live.Any, receive(t, events))
		// ...and hears new events again. The publisher reconnects too, so
		// wait until a published event comes through.
		require.Eventually(t, func() bool {
			publisher.Publish(live.Event{OrderID: 9})
			for {
				select {
				case e := <-events:
					if e == (live.Event{OrderID: 9}) {
						return true
					}
				case <-time.After(200 * time.Millisecond):
					return false
				}
			}
		}, 15*time.Second, 10*time.Millisecond)
	})
}

// drain reads events until none comes for quiet.
func drain(events <-chan live.Event, quiet time.Duration) []live.Event {
	var got []live.Event
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-time.After(quiet):
			return got
		}
	}
}
