package handlers_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"
	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// The fuzz targets post arbitrary bytes to each form handler and to the
// webhook, on every database available, and check that the answer is never
// a 5xx and that a refused request changes nothing. Their seed corpora are
// in testdata/fuzz; run one with, for example,
//
//	go test ./handlers -run '^$' -fuzz '^FuzzSignup$' -fuzztime 20s

const fuzzSecret = "whsec_fuzz"

// fuzzApp is EventHive on a fresh database, called in-process. Its fixture:
//
//	users    1 seller, 2 buyer, 3 bob
//	listings of one ticket each, under an event of the same name:
//	         1 Opera (seller, for sale), 2 Ballet (bob, for sale),
//	         3 Jazz (buyer's own), 4 Rock (seller, held by buyer's order),
//	         5 Folk (seller, held by bob's order)
type fuzzApp struct {
	db     *store.DB
	store  *store.Store
	routes http.Handler
	// readAt is when ticket reads the listings: one instant, so that two
	// reads differ only if the data did.
	readAt time.Time

	seller, buyer, bob *http.Cookie // session cookies
	sellerID, buyerID  int64
	opera, ballet      store.Listing
	jazz, rock         store.Listing
	held, bobs         store.Order // the buyer's and bob's pending orders
}

// fuzzApps starts one fuzzApp on each database available.
func fuzzApps(f *testing.F) []*fuzzApp {
	f.Helper()
	var apps []*fuzzApp
	for _, dialect := range storetest.Dialects() {
		apps = append(apps, newFuzzApp(f, dialect))
	}
	return apps
}

func newFuzzApp(f *testing.F, dialect store.Dialect) *fuzzApp {
	f.Helper()
	db := storetest.Open(f, dialect)
	st, err := store.New(db, store.WithMaxHolds(2))
	require.NoError(f, err)
	h := newHandler(f, handlers.Config{
		BaseURL:             "http://eventhive.test",
		OrderHold:           time.Hour,
		Currency:            "usd",
		PasswordCost:        bcrypt.MinCost,
		StripeWebhookSecret: fuzzSecret,
		// The fuzzer fails to sign in far more often than a person.
		SignInFailuresPerEmail: handlers.NoLimit,
		SignInFailuresPerIP:    handlers.NoLimit,
		SignUpsPerIP:           handlers.NoLimit,
		SignInsPerIP:           handlers.NoLimit,
		SignInsPerEmail:        handlers.NoLimit,
	}, handlers.Deps{Store: st})
	a := &fuzzApp{db: db, store: st, routes: h.Routes()}

	a.seller = a.signUp(f, "seller@example.com")
	a.buyer = a.signUp(f, "buyer@example.com")
	a.bob = a.signUp(f, "bob@example.com")
	ctx := f.Context()
	seller, err := st.UserByEmail(ctx, "seller@example.com")
	require.NoError(f, err)
	buyer, err := st.UserByEmail(ctx, "buyer@example.com")
	require.NoError(f, err)
	bob, err := st.UserByEmail(ctx, "bob@example.com")
	require.NoError(f, err)
	a.sellerID, a.buyerID = seller.ID, buyer.ID
	ticket := func(sellerID int64, title string) store.Listing {
		tk, err := st.CreateListing(ctx, sellerID, store.Single(title, 3000, "usd"), now())
		require.NoError(f, err)
		return tk
	}
	a.opera = ticket(seller.ID, "Opera")
	a.ballet = ticket(bob.ID, "Ballet")
	a.jazz = ticket(buyer.ID, "Jazz")
	a.rock = ticket(seller.ID, "Rock")
	folk := ticket(seller.ID, "Folk")
	a.held, err = st.CreateOrder(ctx, buyer.ID, a.rock.ID, 1, now(), time.Hour)
	require.NoError(f, err)
	a.bobs, err = st.CreateOrder(ctx, bob.ID, folk.ID, 1, now(), time.Hour)
	require.NoError(f, err)
	a.readAt = now()
	return a
}

// serve sends a request straight to the router. path is used as it is,
// without being parsed as a URL.
func (a *fuzzApp) serve(method, path string, body []byte, cookie *http.Cookie, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://eventhive.test/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawPath = path, ""
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	a.routes.ServeHTTP(rec, req)
	return rec
}

func (a *fuzzApp) signUp(t testing.TB, email string) *http.Cookie {
	t.Helper()
	body := url.Values{"email": {email}, "password": {password}}.Encode()
	rec := a.serve(http.MethodPost, "/signup", []byte(body), nil)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	for _, c := range rec.Result().Cookies() {
		if c.Name == "eventhive_session" {
			return c
		}
	}
	t.Fatal("sign-up set no session cookie")
	return nil
}

// rows counts the rows of every table a request could add to.
type rows struct{ users, events, listings, tickets, orders, payments, stripeEvents, jobs int }

func (a *fuzzApp) rows(t testing.TB) rows {
	t.Helper()
	var r rows
	require.NoError(t, a.db.Read.QueryRow(`SELECT
		(SELECT count(*) FROM users), (SELECT count(*) FROM events), (SELECT count(*) FROM listings),
		(SELECT count(*) FROM tickets), (SELECT count(*) FROM orders), (SELECT count(*) FROM payments),
		(SELECT count(*) FROM stripe_events), (SELECT count(*) FROM river_job)`).
		Scan(&r.users, &r.events, &r.listings, &r.tickets, &r.orders, &r.payments, &r.stripeEvents, &r.jobs))
	return r
}

func (a *fuzzApp) ticket(t testing.TB, id int64) store.Listing {
	t.Helper()
	tk, err := a.store.Listing(t.Context(), id, a.readAt)
	require.NoError(t, err)
	return tk
}

// deleteListing deletes a listing that nothing was ordered from, with its
// tickets and its event, so that the next input starts from the fixture.
func (a *fuzzApp) deleteListing(t testing.TB, l store.Listing) {
	t.Helper()
	for _, q := range []struct {
		sql string
		id  int64
	}{
		{`DELETE FROM tickets WHERE listing_id = $1`, l.ID},
		{`DELETE FROM listings WHERE id = $1`, l.ID},
		{`DELETE FROM events WHERE id = $1`, l.Event.ID},
	} {
		_, err := a.db.Write.Exec(q.sql, q.id)
		require.NoError(t, err)
	}
}

func (a *fuzzApp) order(t testing.TB, o store.Order) store.Order {
	t.Helper()
	got, err := a.store.Order(t.Context(), o.ID, o.BuyerID)
	require.NoError(t, err)
	return got
}

// requireStatusIn checks that a fuzzed request got one of the answers its
// handler gives, and above all no 5xx.
func requireStatusIn(t *testing.T, rec *httptest.ResponseRecorder, input any, want ...int) {
	t.Helper()
	require.Less(t, rec.Code, 500, "input %q: server error:\n%s", input, rec.Body.String())
	require.Contains(t, want, rec.Code, "input %q: unexpected status:\n%s", input, rec.Body.String())
	if rec.Code >= 400 && rec.Header().Get("Content-Type") == "text/html; charset=utf-8" {
		// Refusals are pages that say what went wrong.
		require.Regexp(t, `role="alert"|class="field-error"|<h1>`, rec.Body.String(), "input %q", input)
	}
}

// formValue reads a field of a fuzzed body as the handler does, if the body
// is a well-formed form.
func formValue(body []byte, field string) (string, bool) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", false
	}
	return v.Get(field), true
}

// requireValidTitle checks a stored title: text of 1 to 120 characters.
func requireValidTitle(t *testing.T, title string) {
	t.Helper()
	require.True(t, utf8.ValidString(title), "title %q", title)
	require.False(t, strings.ContainsFunc(title, unicode.IsControl), "title %q", title)
	n := utf8.RuneCountInString(title)
	require.True(t, n >= 1 && n <= 120, "title %q", title)
	require.Equal(t, strings.TrimSpace(title), title)
}

func FuzzSignup(f *testing.F) {
	apps := fuzzApps(f)
	f.Add([]byte("email=new%40example.com&password=correct+horse+battery"))
	f.Add([]byte("email=%FF%40example.com&password=correct+horse+battery"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range apps {
			before := a.rows(t)
			rec := a.serve(http.MethodPost, "/signup", body, nil)
			requireStatusIn(t, rec, body, http.StatusSeeOther, http.StatusBadRequest,
				http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
			after := a.rows(t)
			if rec.Code != http.StatusSeeOther {
				require.Equal(t, before, after, "input %q changed data", body)
				continue
			}
			before.users++
			before.jobs++ // the verification message's
			require.Equal(t, before, after, "input %q", body)
			var id int64
			var email string
			require.NoError(t, a.db.Read.QueryRow(`SELECT id, email FROM users ORDER BY id DESC LIMIT 1`).Scan(&id, &email))
			require.True(t, utf8.ValidString(email), "email %q", email)
			require.Equal(t, strings.ToLower(email), email)
			require.False(t, strings.ContainsFunc(email, unicode.IsControl), "email %q", email)
			// SQLite reuses the deleted token's id, so its message goes too:
			// the outbox keeps one message per token id.
			_, err := a.db.Write.Exec(`DELETE FROM email_verifications WHERE user_id = $1`, id)
			require.NoError(t, err)
			_, err = a.db.Write.Exec(`DELETE FROM outbox WHERE to_address = $1`, email)
			require.NoError(t, err)
			_, err = a.db.Write.Exec(`DELETE FROM users WHERE id = $1`, id)
			require.NoError(t, err)
		}
	})
}

func FuzzSignin(f *testing.F) {
	apps := fuzzApps(f)
	f.Add([]byte("email=seller%40example.com&password=correct+horse+battery"))
	f.Add([]byte("email=seller%40example.com%00&password=correct+horse+battery"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range apps {
			before := a.rows(t)
			rec := a.serve(http.MethodPost, "/signin", body, nil)
			requireStatusIn(t, rec, body, http.StatusSeeOther, http.StatusBadRequest,
				http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
			require.Equal(t, before, a.rows(t), "input %q changed data", body)
			if rec.Code == http.StatusSeeOther {
				// Only the right password of an account signs in.
				pw, _ := formValue(body, "password")
				require.Equal(t, password, pw, "input %q signed in", body)
			}
		}
	})
}

func FuzzCreateTicket(f *testing.F) {
	apps := fuzzApps(f)
	f.Add([]byte("title=Jazz+night&price=30"))
	f.Add([]byte("title=%3Cscript%3E&price=0.5"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range apps {
			before := a.rows(t)
			rec := a.serve(http.MethodPost, "/tickets", body, a.seller)
			requireStatusIn(t, rec, body, http.StatusSeeOther, http.StatusBadRequest,
				http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
			after := a.rows(t)
			if rec.Code != http.StatusSeeOther {
				require.Equal(t, before, after, "input %q changed data", body)
				continue
			}
			// One ticket listed under a new event.
			before.events++
			before.listings++
			before.tickets++
			require.Equal(t, before, after, "input %q", body)
			id, err := strconv.ParseInt(strings.TrimPrefix(rec.Header().Get("Location"), "/tickets/"), 10, 64)
			require.NoError(t, err)
			tk := a.ticket(t, id)
			requireValidTitle(t, tk.Title())
			require.Positive(t, tk.Price)
			require.Equal(t, a.sellerID, tk.SellerID)
			// Whatever was stored can be shown.
			page := a.serve(http.MethodGet, "/tickets/"+strconv.FormatInt(id, 10), nil, nil)
			require.Equal(t, http.StatusOK, page.Code, "input %q", body)
			a.deleteListing(t, tk)
		}
	})
}

func FuzzUpdateTicket(f *testing.F) {
	apps := fuzzApps(f)
	f.Add("1", []byte("title=Opera+gala&price=45.50"))
	f.Add("2", []byte("title=Mine+now&price=1"))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		for _, a := range apps {
			before := a.rows(t)
			others := []store.Listing{a.ticket(t, a.ballet.ID), a.ticket(t, a.jazz.ID)}
			// The seller's Opera is for sale; their Rock is held by the
			// buyer, so only its price and note may change.
			mine := []store.Listing{a.ticket(t, a.opera.ID), a.ticket(t, a.rock.ID)}
			held := a.order(t, a.held)
			rec := a.serve(http.MethodPost, "/tickets/"+id, body, a.seller)
			input := []any{id, body}
			requireStatusIn(t, rec, input, http.StatusSeeOther, http.StatusBadRequest, http.StatusNotFound,
				http.StatusMethodNotAllowed, http.StatusConflict, http.StatusRequestEntityTooLarge,
				http.StatusUnprocessableEntity)
			require.Equal(t, before, a.rows(t), "input %q", input)
			for _, tk := range others {
				require.Equal(t, tk, a.ticket(t, tk.ID), "input %q changed someone else's ticket", input)
			}
			require.Equal(t, held, a.order(t, held), "input %q changed the buyer's hold", input)
			var edited int64
			if rec.Code == http.StatusSeeOther {
				var err error
				edited, err = strconv.ParseInt(id, 10, 64)
				require.NoError(t, err, "input %q", input)
				require.Contains(t, []int64{a.opera.ID, a.rock.ID}, edited, "input %q", input)
			}
			for _, tk := range mine {
				got := a.ticket(t, tk.ID)
				if tk.ID != edited {
					require.Equal(t, tk, got, "input %q changed the ticket", input)
					continue
				}
				// The title field edits the note; the event keeps its name.
				requireValidTitle(t, got.Note)
				require.Positive(t, got.Price)
				tk.Note, tk.Price, tk.UpdatedAt = got.Note, got.Price, got.UpdatedAt
				require.Equal(t, tk, got, "input %q changed more than the price and the note", input)
			}
		}
	})
}

func FuzzCreateOrder(f *testing.F) {
	apps := fuzzApps(f)
	f.Add([]byte("ticket_id=1"))
	f.Add([]byte("ticket_id=99999999999999999999"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range apps {
			before := a.rows(t)
			tickets := []store.Listing{a.ticket(t, a.opera.ID), a.ticket(t, a.ballet.ID), a.ticket(t, a.jazz.ID), a.ticket(t, a.rock.ID)}
			rec := a.serve(http.MethodPost, "/orders", body, a.buyer)
			requireStatusIn(t, rec, body, http.StatusSeeOther, http.StatusBadRequest, http.StatusNotFound,
				http.StatusConflict, http.StatusRequestEntityTooLarge)
			after := a.rows(t)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") == "/orders/"+strconv.FormatInt(a.held.ID, 10) {
				// Refused, or Buy on the ticket the buyer holds: their order.
				require.Equal(t, before, after, "input %q changed data", body)
				for _, tk := range tickets {
					require.Equal(t, tk, a.ticket(t, tk.ID), "input %q", body)
				}
				continue
			}
			before.orders++
			before.jobs++
			require.Equal(t, before, after, "input %q", body)
			id, err := strconv.ParseInt(strings.TrimPrefix(rec.Header().Get("Location"), "/orders/"), 10, 64)
			require.NoError(t, err)
			o, err := a.store.Order(t.Context(), id, a.buyerID)
			require.NoError(t, err)
			require.Contains(t, []int64{a.opera.ID, a.ballet.ID}, o.ListingID, "input %q bought a ticket not for sale", body)
			// Put it back on sale for the next input.
			require.NoError(t, a.store.CancelOrder(t.Context(), o.ID, a.buyerID, now()))
		}
	})
}

func FuzzCancelOrder(f *testing.F) {
	apps := fuzzApps(f)
	f.Add("1")
	f.Add("2")
	f.Fuzz(func(t *testing.T, id string) {
		for _, a := range apps {
			before := a.rows(t)
			held, bobs := a.order(t, a.held), a.order(t, a.bobs)
			rec := a.serve(http.MethodPost, "/orders/"+id+"/cancel", nil, a.buyer)
			requireStatusIn(t, rec, id, http.StatusSeeOther, http.StatusNotFound, http.StatusMethodNotAllowed,
				http.StatusConflict)
			require.Equal(t, before, a.rows(t), "input %q", id)
			require.Equal(t, bobs, a.order(t, bobs), "input %q cancelled someone else's order", id)
			if rec.Code != http.StatusSeeOther {
				require.Equal(t, held, a.order(t, held), "input %q", id)
				continue
			}
			n, err := strconv.ParseInt(id, 10, 64)
			require.NoError(t, err, "input %q", id)
			require.Equal(t, held.ID, n)
			require.Equal(t, store.Cancelled, a.order(t, held).Status)
			// Hold the ticket again for the next input.
			a.held, err = a.store.CreateOrder(t.Context(), a.buyerID, a.rock.ID, 1, now(), time.Hour)
			require.NoError(t, err)
		}
	})
}

func FuzzStripeWebhook(f *testing.F) {
	apps := fuzzApps(f)
	payload, header := signedEvent(fuzzSecret, "evt_seed", "checkout.session.completed")
	f.Add(payload, header, false)
	f.Add(payload, "", true)
	f.Fuzz(func(t *testing.T, payload []byte, signature string, sign bool) {
		if sign {
			signature = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: fuzzSecret}).Header
		}
		input := []any{payload, signature, sign}
		signed := webhook.ValidatePayloadIgnoringTolerance(payload, signature, fuzzSecret) == nil
		for _, a := range apps {
			before := a.rows(t)
			rec := a.serve(http.MethodPost, "/webhooks/stripe", payload, nil, "Stripe-Signature", signature,
				"Content-Type", "application/json")
			if !signed {
				// Unsigned or wrongly signed: refused, nothing stored.
				requireStatusIn(t, rec, input, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
				require.Equal(t, before, a.rows(t), "input %q", input)
				continue
			}
			requireStatusIn(t, rec, input, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			after := a.rows(t)
			if rec.Code != http.StatusOK {
				require.Equal(t, before, after, "input %q", input)
				continue
			}
			// A correctly signed event is stored once with its job, or
			// acknowledged and dropped (a type EventHive ignores, a repeat).
			require.Contains(t, []int{before.stripeEvents, before.stripeEvents + 1}, after.stripeEvents, "input %q", input)
			require.Equal(t, after.stripeEvents-before.stripeEvents, after.jobs-before.jobs, "input %q", input)
			before.stripeEvents, before.jobs = after.stripeEvents, after.jobs
			require.Equal(t, before, after, "input %q", input)
		}
	})
}
