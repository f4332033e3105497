package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestUnavailable(t *testing.T) {
	t.Parallel()

	t.Run("Classify", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name string
			err  error
			want bool
		}{
			{"Nil", nil, false},
			{"BadConn", fmt.Errorf("query: %w", driver.ErrBadConn), true},
			{"ConnDone", sql.ErrConnDone, true},
			{"ConnClosed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
			{"Refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
			{"Reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
			{"UnexpectedEOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
			{"AdminShutdown", &pgconn.PgError{Code: "57P01"}, true},
			{"CrashShutdown", &pgconn.PgError{Code: "57P02"}, true},
			{"StartingUp", &pgconn.PgError{Code: "57P03"}, true},
			{"TooManyConnections", &pgconn.PgError{Code: "53300"}, true},
			{"ConnectionFailure", &pgconn.PgError{Code: "08006"}, true},
			{"UniqueViolation", &pgconn.PgError{Code: "23505"}, false},
			{"InvalidText", &pgconn.PgError{Code: "22021"}, false},
			{"QueryCanceled", &pgconn.PgError{Code: "57014"}, false},
			{"NotFound", store.ErrNotFound, false},
			{"NoRows", sql.ErrNoRows, false},
			{"Canceled", context.Canceled, false},
			{"Other", errors.New("boom"), false},
		} {
			require.Equal(t, tt.want, store.Unavailable(tt.err), tt.name)
		}
	})

	t.Run("Postgres", func(t *testing.T) {
		// The server goes away under an open store, and comes back: every
		// failure meanwhile is classed as unavailability, and the same
		// store works again afterwards without being reopened.
		t.Parallel()
		if !hasDialect(store.Postgres) {
			t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
		}
		outage := storetest.NewOutage(t, storetest.URL(t, store.Postgres))
		ctx := t.Context()
		db, err := store.Open(ctx, outage.URL)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Migrate(ctx))
		st, err := store.New(db)
		require.NoError(t, err)
		u, err := st.CreateUser(ctx, "ann@example.com", "hash", base)
		require.NoError(t, err)

		outage.Down()
		for range 5 {
			_, err := st.UserByID(ctx, u.ID)
			require.Error(t, err)
			require.True(t, store.Unavailable(err), "%v (%T)", err, err)
			_, err = st.CreateListing(ctx, u.ID, store.Single("Show", 1000, "usd"), base)
			require.True(t, store.Unavailable(err), "%v (%T)", err, err)
			require.True(t, store.Unavailable(db.Ping(ctx)))
		}

		outage.Up()
		require.Eventually(t, func() bool { return db.Ping(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
		got, err := st.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)
		_, err = st.CreateListing(ctx, u.ID, store.Single("Show", 1000, "usd"), base)
		require.NoError(t, err)
	})
}

func hasDialect(dialect store.Dialect) bool {
	for _, d := range storetest.Dialects() {
		if d == dialect {
			return true
		}
	}
	return false
}
