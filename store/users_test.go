package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("CreateAndFind", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()

				// A time off UTC with nanoseconds comes back in UTC, to the ms.
				now := time.Date(2030, 1, 1, 13, 0, 0, 123_456_789, time.FixedZone("CET", 3600))
				u, err := bundle.store.CreateUser(ctx, "ada@example.com", "hash-a", now)
				require.NoError(t, err)
				require.Positive(t, u.ID)
				require.Equal(t, store.User{
					ID:           u.ID,
					Email:        "ada@example.com",
					PasswordHash: "hash-a",
					CreatedAt:    time.Date(2030, 1, 1, 12, 0, 0, 123_000_000, time.UTC),
				}, u)

				byEmail, err := bundle.store.UserByEmail(ctx, "ada@example.com")
				require.NoError(t, err)
				require.Equal(t, u, byEmail)
				byID, err := bundle.store.UserByID(ctx, u.ID)
				require.NoError(t, err)
				require.Equal(t, u, byID)

				other, err := bundle.store.CreateUser(ctx, "bob@example.com", "hash-b", now)
				require.NoError(t, err)
				require.NotEqual(t, u.ID, other.ID)
				byID, err = bundle.store.UserByID(ctx, other.ID)
				require.NoError(t, err)
				require.Equal(t, "bob@example.com", byID.Email)
				require.Equal(t, "hash-b", byID.PasswordHash)
			})

			t.Run("DuplicateEmail", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				first := bundle.user(t, "ada@example.com")

				u, err := bundle.store.CreateUser(ctx, "ada@example.com", "another-hash", base.Add(time.Hour))
				require.ErrorIs(t, err, store.ErrEmailTaken)
				require.Equal(t, store.User{}, u)

				// The first account is untouched and still the only one.
				require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM users`))
				got, err := bundle.store.UserByEmail(ctx, "ada@example.com")
				require.NoError(t, err)
				require.Equal(t, first, got)
			})

			t.Run("Unknown", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				u := bundle.user(t, "ada@example.com")

				_, err := bundle.store.UserByEmail(ctx, "nobody@example.com")
				require.ErrorIs(t, err, store.ErrNotFound)
				// Lookups are exact: the caller normalises emails.
				_, err = bundle.store.UserByEmail(ctx, "ADA@example.com")
				require.ErrorIs(t, err, store.ErrNotFound)
				_, err = bundle.store.UserByID(ctx, u.ID+1000)
				require.ErrorIs(t, err, store.ErrNotFound)
			})
		})
	}
}
