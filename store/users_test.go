package store_test

import (
	"strings"
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

			t.Run("ConfirmAdmin", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				ops := bundle.user(t, "ops@example.com")
				other := bundle.user(t, "ann@example.com")
				require.True(t, ops.AdminConfirmedAt.IsZero(), "a new account is not confirmed")

				got, err := bundle.store.ConfirmAdmin(ctx, "ops@example.com", base)
				require.NoError(t, err)
				require.Equal(t, ops.ID, got.ID)
				require.Equal(t, base, got.AdminConfirmedAt)

				// Confirming again keeps the first time.
				got, err = bundle.store.ConfirmAdmin(ctx, "ops@example.com", base.Add(time.Hour))
				require.NoError(t, err)
				require.Equal(t, base, got.AdminConfirmedAt)
				byID, err := bundle.store.UserByID(ctx, ops.ID)
				require.NoError(t, err)
				require.Equal(t, base, byID.AdminConfirmedAt)

				// Only that account, and only an exact email.
				byID, err = bundle.store.UserByID(ctx, other.ID)
				require.NoError(t, err)
				require.True(t, byID.AdminConfirmedAt.IsZero())
				for _, email := range []string{"nobody@example.com", "OPS@example.com", "opſ@example.com"} {
					_, err = bundle.store.ConfirmAdmin(ctx, email, base)
					require.ErrorIs(t, err, store.ErrNotFound, email)
				}
			})

			t.Run("EndSessions", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				ann := bundle.user(t, "ann@example.com")
				bob := bundle.user(t, "bob@example.com")
				require.Zero(t, ann.SessionEpoch)

				require.NoError(t, bundle.store.EndSessions(ctx, ann.ID))
				require.NoError(t, bundle.store.EndSessions(ctx, ann.ID))
				got, err := bundle.store.UserByID(ctx, ann.ID)
				require.NoError(t, err)
				require.Equal(t, int64(2), got.SessionEpoch)
				got, err = bundle.store.UserByID(ctx, bob.ID)
				require.NoError(t, err)
				require.Zero(t, got.SessionEpoch, "another account's sessions go on")

				require.ErrorIs(t, bundle.store.EndSessions(ctx, bob.ID+1000), store.ErrNotFound)
			})
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		err      error
	}{
		{"ada@example.com", "ada@example.com", nil},
		{"  Ada.Lovelace+tix@Example.COM ", "ada.lovelace+tix@example.com", nil},
		// The domain may be international; it is lower-cased and composed.
		{"ada@BÜCHER.example", "ada@bücher.example", nil},
		{"ada@bu\u0308cher.example", "ada@bücher.example", nil},
		// Look-alikes in the part before the @ are refused, not folded.
		{"opſ@example.com", "", store.ErrEmailLocalPart},      // U+017F long s
		{"op\u212a@example.com", "", store.ErrEmailLocalPart}, // Kelvin sign, lower-cases to k
		{"оps@example.com", "", store.ErrEmailLocalPart},      // Cyrillic о
		{"ops\u200b@example.com", "", store.ErrEmailLocalPart},
		{"josé@example.com", "", store.ErrEmailLocalPart},
		{"", "", store.ErrEmailInvalid},
		{"ada", "", store.ErrEmailInvalid},
		{"ada@example", "", store.ErrEmailInvalid},
		{"Ada <ada@example.com>", "", store.ErrEmailInvalid},
		{"\"ada lovelace\"@example.com", "", store.ErrEmailInvalid},
		{"ada\x00@example.com", "", store.ErrEmailInvalid},
		{"ada@@example.com", "", store.ErrEmailInvalid},
		{"ada\xff@example.com", "", store.ErrEmailInvalid},
		{"a@" + strings.Repeat("x", 250) + ".com", "", store.ErrEmailInvalid},
	} {
		got, err := store.NormalizeEmail(tt.in)
		require.ErrorIs(t, err, tt.err, "%q", tt.in)
		require.Equal(t, tt.want, got, "%q", tt.in)
	}
}
