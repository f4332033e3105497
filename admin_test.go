package main

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestAdminConfirm runs the app with ADMIN_EMAILS and tries to reach its
// console: through a look-alike address, and as the first to sign up with
// the listed one. Only "eventhive admin confirm", run on the server, opens it.
func TestAdminConfirm(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			databaseURL := storetest.URL(t, dialect)
			a := startApp(t, databaseURL, time.Minute, "ADMIN_EMAILS=Ops@Example.com")
			getenv := mapEnv(map[string]string{"DATABASE_URL": databaseURL, "ADMIN_EMAILS": "ops@example.com"})
			requireConsole := func(u *user, want int) {
				t.Helper()
				for _, path := range []string{"/admin", "/admin/payments"} {
					resp, _ := u.get(a.url + path)
					require.Equal(t, want, resp.StatusCode, path)
				}
			}

			// The look-alike of issue 11: refused at sign-up, never an operator.
			stranger := newUser(t)
			resp, body := stranger.post(a.url+"/signup", url.Values{"email": {"opſ@example.com"}, "password": {"password123"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, "plain ASCII letters")
			requireConsole(stranger, http.StatusNotFound)
			err := run(t.Context(), []string{"admin", "confirm", "opſ@example.com"}, getenv, &bytes.Buffer{})
			require.ErrorIs(t, err, store.ErrEmailLocalPart)

			// The listed address, signed up but not confirmed.
			ops := newUser(t)
			ops.signUp(a, "OPS@example.com")
			requireConsole(ops, http.StatusNotFound)

			var out bytes.Buffer
			require.NoError(t, run(t.Context(), []string{"admin", "confirm", " Ops@Example.COM "}, getenv, &out))
			require.Contains(t, out.String(), "(ops@example.com) as an operator's")
			require.Contains(t, out.String(), "it can open /admin now")
			requireConsole(ops, http.StatusOK)
			requireConsole(stranger, http.StatusNotFound)
		})
	}
}

func TestAdminCommand(t *testing.T) {
	t.Parallel()
	databaseURL := storetest.URL(t, store.SQLite)
	getenv := mapEnv(map[string]string{"DATABASE_URL": databaseURL, "ADMIN_EMAILS": "ops@example.com"})

	t.Run("UnknownEmail", func(t *testing.T) {
		err := run(t.Context(), []string{"admin", "confirm", "nobody@example.com"}, getenv, &bytes.Buffer{})
		require.ErrorContains(t, err, "no account has the email nobody@example.com")
	})

	t.Run("BadArguments", func(t *testing.T) {
		for _, args := range [][]string{{"admin"}, {"admin", "confirm"}, {"admin", "promote", "ops@example.com"},
			{"admin", "confirm", "a@example.com", "b@example.com"}, {"admin", "confirm", "not an email"}} {
			err := run(t.Context(), args, getenv, &bytes.Buffer{})
			require.ErrorContains(t, err, "admin", "%q", args)
		}
	})

	t.Run("Help", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, run(t.Context(), []string{"admin", "-h"}, getenv, &out))
		require.Contains(t, out.String(), "Usage: eventhive admin confirm EMAIL")
	})

	t.Run("ConfirmsAndSaysWhetherListed", func(t *testing.T) {
		db, err := store.Open(t.Context(), databaseURL)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Migrate(t.Context()))
		st, err := store.New(db)
		require.NoError(t, err)
		for _, email := range []string{"ops@example.com", "ada@example.com", "bob@example.com"} {
			_, err := st.CreateUser(t.Context(), email, "hash", time.Now())
			require.NoError(t, err)
		}

		var out bytes.Buffer
		require.NoError(t, run(t.Context(), []string{"admin", "confirm", "ada@example.com"}, getenv, &out))
		require.Contains(t, out.String(), "ADMIN_EMAILS does not list it")
		out.Reset()
		require.NoError(t, run(t.Context(), []string{"admin", "confirm", "ops@example.com"}, getenv, &out))
		require.Contains(t, out.String(), "ADMIN_EMAILS lists it")

		for email, confirmed := range map[string]bool{"ops@example.com": true, "ada@example.com": true, "bob@example.com": false} {
			u, err := st.UserByEmail(t.Context(), email)
			require.NoError(t, err)
			require.Equal(t, confirmed, !u.AdminConfirmedAt.IsZero(), email)
		}
	})
}
