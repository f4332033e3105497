package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// base is the clock every test starts from. Tests that pass `now` to the
// store use times derived from it, never the wall clock, so holds end
// exactly when a test says they do.
var base = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// hold is the payment window of orders in these tests.
const hold = time.Minute

// testBundle is a fresh, migrated database of one dialect and a store on it.
type testBundle struct {
	dialect store.Dialect
	db      *store.DB
	store   *store.Store
}

// setup opens a fresh database of the dialect: a SQLite file of the test's
// own, or a PostgreSQL schema of its own.
func setup(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	db := storetest.Open(t, dialect)
	st, err := store.New(db)
	require.NoError(t, err)
	return &testBundle{dialect: dialect, db: db, store: st}
}

// setupWith is setup with a store made with opts.
func setupWith(t *testing.T, dialect store.Dialect, opts ...store.Option) *testBundle {
	t.Helper()
	bundle := setup(t, dialect)
	st, err := store.New(bundle.db, opts...)
	require.NoError(t, err)
	bundle.store = st
	return bundle
}

// user creates a user with the given (normalised) email.
func (b *testBundle) user(t *testing.T, email string) store.User {
	t.Helper()
	u, err := b.store.CreateUser(t.Context(), email, "hash-of-"+email, base)
	require.NoError(t, err)
	return u
}

// users creates n users named prefix-0@example.com and so on.
func (b *testBundle) users(t *testing.T, prefix string, n int) []store.User {
	t.Helper()
	users := make([]store.User, n)
	for i := range users {
		users[i] = b.user(t, fmt.Sprintf("%s-%d@example.com", prefix, i))
	}
	return users
}

// ticket lists a ticket in usd, created at base.
func (b *testBundle) ticket(t *testing.T, sellerID int64, title string, price int64) store.Listing {
	t.Helper()
	tk, err := b.store.CreateListing(t.Context(), sellerID, store.Single(title, price, "usd"), base)
	require.NoError(t, err)
	return tk
}

// order creates an order with the test hold, failing the test on error.
func (b *testBundle) order(t *testing.T, buyerID, ticketID int64, now time.Time) store.Order {
	t.Helper()
	o, err := b.store.CreateOrder(t.Context(), buyerID, ticketID, 1, now, hold)
	require.NoError(t, err)
	return o
}

// pay records a successful payment of the order's full amount, as the
// Stripe webhook does: this is the store's way to sell a ticket. The order's
// checkout session is the one paid, as it must be.
func (b *testBundle) pay(t *testing.T, o store.Order, now time.Time) {
	t.Helper()
	session := b.checkoutSession(t, o.ID)
	require.NoError(t, b.store.RecordPayment(t.Context(), store.Payment{
		OrderID:         o.ID,
		SessionID:       session,
		PaymentIntentID: fmt.Sprintf("pi_test_%d", o.ID),
		Amount:          o.Amount,
		Currency:        o.Currency,
	}, now))
}

// checkoutSession gives the order a checkout session, as paying it does, and
// returns it; an order that has one keeps it.
func (b *testBundle) checkoutSession(t *testing.T, orderID int64) string {
	t.Helper()
	_, err := b.db.Write.Exec(`UPDATE orders SET checkout_session_id = $1 WHERE id = $2 AND checkout_session_id IS NULL`,
		fmt.Sprintf("cs_test_%d", orderID), orderID)
	require.NoError(t, err)
	var session string
	require.NoError(t, b.db.Read.QueryRow(`SELECT checkout_session_id FROM orders WHERE id = $1`, orderID).Scan(&session))
	return session
}

// listingAt reads a listing back, its tickets counted at now.
func (b *testBundle) listingAt(t *testing.T, id int64, now time.Time) store.Listing {
	t.Helper()
	tk, err := b.store.Listing(t.Context(), id, now)
	require.NoError(t, err)
	return tk
}

// claimOf reads the claim of a listing of one ticket.
func (b *testBundle) claimOf(t *testing.T, listingID int64) store.Claim {
	t.Helper()
	claims, err := b.store.Claims(t.Context(), listingID)
	require.NoError(t, err)
	require.Len(t, claims, 1, "listing %d", listingID)
	return claims[0]
}

// getOrder reads a buyer's order back.
func (b *testBundle) getOrder(t *testing.T, id, buyerID int64) store.Order {
	t.Helper()
	o, err := b.store.Order(t.Context(), id, buyerID)
	require.NoError(t, err)
	return o
}

// count runs a SELECT count(*) query.
func (b *testBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Read.QueryRowContext(t.Context(), query, args...).Scan(&n))
	return n
}

// ids runs a query that selects ids.
func (b *testBundle) ids(t *testing.T, query string, args ...any) []int64 {
	t.Helper()
	ids, err := b.db.IDs(t.Context(), query, args...)
	require.NoError(t, err)
	return ids
}

// orderRows counts every row in orders.
func (b *testBundle) orderRows(t *testing.T) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM orders`)
}

// expireJobs counts the expire_order jobs River holds, in any state.
func (b *testBundle) expireJobs(t *testing.T) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM river_job WHERE kind = $1`, store.ExpireOrderArgs{}.Kind())
}

// forSaleIDs lists the ids TicketsForSale returns.
func (b *testBundle) forSaleIDs(t *testing.T, now time.Time, search string, limit, offset int) []int64 {
	t.Helper()
	tickets, err := b.store.ListingsForSale(t.Context(), now, search, limit, offset)
	require.NoError(t, err)
	ids := []int64{}
	for _, tk := range tickets {
		ids = append(ids, tk.ID)
	}
	return ids
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("Idempotent", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				u := bundle.user(t, "kept@example.com")

				// storetest.Open migrated once already; twice more changes nothing.
				require.NoError(t, bundle.db.Migrate(t.Context()))
				require.NoError(t, bundle.db.Migrate(t.Context()))

				files, err := filepath.Glob(filepath.Join("migrations", string(dialect), "*.sql"))
				require.NoError(t, err)
				require.NotEmpty(t, files)
				require.Equal(t, len(files), bundle.count(t, `SELECT count(*) FROM schema_migrations`))
				require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM users`))
				got, err := bundle.store.UserByID(t.Context(), u.ID)
				require.NoError(t, err)
				require.Equal(t, u, got)
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM river_job`))
			})

			t.Run("Ping", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				require.Equal(t, dialect, bundle.db.Dialect)
				require.Same(t, bundle.db, bundle.store.DB())
				require.NoError(t, bundle.db.Ping(t.Context()))
			})
		})
	}
}

// editOf is an edit of l to note and price that keeps the rest.
func editOf(l store.Listing, note string, price int64) store.ListingEdit {
	return store.ListingEdit{Note: note, Price: price, FaceValue: l.FaceValue, Quantity: l.Quantity, Together: l.Together}
}

// TestSQLiteConnectionSettings checks what every SQLite connection is opened
// with. The writer's claims run in savepoints that share one transaction
// (sqlitedb.GroupCommit): with temp_store on MEMORY their statement journal
// stays in memory, where a file would cost a write syscall per page once a
// batch has changed 64 KiB (bench: 5 to 7.5 % of the app's CPU a hold).
func TestSQLiteConnectionSettings(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	for _, pool := range []struct {
		name      string
		conn      *sql.DB
		queryOnly string
	}{{"write", db.Write, "0"}, {"read", db.Read, "1"}} {
		pragma := func(name string) string {
			var v string
			require.NoError(t, pool.conn.QueryRowContext(t.Context(), `PRAGMA `+name).Scan(&v))
			return v
		}
		require.Equal(t, "wal", pragma("journal_mode"), pool.name)
		require.Equal(t, "1", pragma("synchronous"), pool.name+": NORMAL")
		require.Equal(t, "1", pragma("foreign_keys"), pool.name)
		require.Equal(t, "2", pragma("temp_store"), pool.name+": MEMORY")
		require.Equal(t, pool.queryOnly, pragma("query_only"), pool.name)
	}
}
