package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// adminEmail is the operator's account in these tests; ADMIN_EMAILS names
// it in another case and with spaces around it.
const adminEmail = "ops@example.com"

// adminSetup starts EventHive with the operator console on: AdminEmails
// names adminEmail and River's UI is mounted. No River worker runs, so the
// jobs a test causes stay where River's UI can list them.
func adminSetup(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	b := setupWith(t, dialect, bundleOpts{noWorkers: true})
	jobsUI, err := handlers.NewJobsUI(t.Context(), b.db.RiverDriver(), discardLogger())
	require.NoError(t, err)
	b.server = b.serve(t, func(cfg *handlers.Config) {
		cfg.AdminEmails = []string{"  Ops@Example.COM ", "someone-else@example.com"}
		cfg.JobsUI = jobsUI
	})
	return b
}

// confirmOperator confirms the account with the email as an operator's, as
// "eventhive admin confirm EMAIL" does on the server.
func (b *testBundle) confirmOperator(t *testing.T, email string) {
	t.Helper()
	_, err := b.store.ConfirmAdmin(t.Context(), email, now())
	require.NoError(t, err)
}

// adminPaths are URLs under /admin: the console's pages, River's UI and its
// JSON API, and a page that does not exist.
var adminPaths = []string{
	"/admin", "/admin/", "/admin/payments", "/admin/payments?show=late", "/admin/mail", "/admin/nothing",
	"/admin/jobs", "/admin/jobs/", "/admin/jobs/jobs", "/admin/jobs/api/jobs?state=scheduled",
	"/admin/jobs/api/states", "/admin/jobs/api/queues",
}

func TestAdminConsole(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := adminSetup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ticketID := b.listTicket(t, seller, "Opera", "30")
		buyer := b.signUp(t, "buyer@example.com")
		orderID := b.buyOK(t, buyer, ticketID)
		// Sign-up lower-cases the email; AdminEmails matches it in any case.
		admin := b.signUp(t, "OPS@Example.com")
		b.confirmOperator(t, adminEmail)

		t.Run("AdminSeesIndex", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, admin, "/admin")
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			requireSignedInAs(t, res.HTML, adminEmail)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			requireElementText(t, res.HTML, "h1", "Operator console")
			requireElementText(t, res.HTML, `a[href="/admin/payments"]`, "Payments")
			requireElementText(t, res.HTML, `a[href="/admin/jobs/"]`, "Jobs")
		})

		t.Run("AdminSeesPayments", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, admin, "/admin/payments")
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			requireElementText(t, res.HTML, "h1", "Payments")
			require.Contains(t, res.HTML, "No payments here.")
		})

		t.Run("AdminSeesJobsUI", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, admin, "/admin/jobs")
			requireStatus(t, res, http.StatusMovedPermanently)
			require.Equal(t, "/admin/jobs/", res.location())

			for _, path := range []string{"/admin/jobs/", "/admin/jobs/jobs?state=scheduled"} {
				res = b.get(t, admin, path, withHeader("Accept", "text/html"))
				requireStatus(t, res, http.StatusOK)
				require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
				requireElementText(t, res.HTML, "title", "River")
				require.Contains(t, res.HTML, `"apiUrl":"/admin/jobs/api"`, "riverui knows its prefix")
				requireElement(t, res.HTML, `[src^="/admin/jobs/assets/"]`)
				require.Contains(t, res.Header.Get("Content-Security-Policy"), "style-src 'self' 'unsafe-inline'")
				require.NotContains(t, res.Header.Get("Content-Security-Policy"), "script-src")
			}
		})

		t.Run("JobsAPIListsExpiry", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, admin, "/admin/jobs/api/jobs?state=scheduled")
			requireStatus(t, res, http.StatusOK)
			require.Contains(t, res.Header.Get("Content-Type"), "application/json")
			var list struct {
				Data []struct {
					Kind  string `json:"kind"`
					State string `json:"state"`
					Args  string `json:"args"` // the job's args, encoded as JSON
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal([]byte(res.HTML), &list), res.HTML)
			require.Len(t, list.Data, 1, res.HTML)
			require.Equal(t, "expire_order", list.Data[0].Kind)
			require.Equal(t, "scheduled", list.Data[0].State)
			var args store.ExpireOrderArgs
			require.NoError(t, json.Unmarshal([]byte(list.Data[0].Args), &args))
			require.Equal(t, orderID, args.OrderID)

			res = b.get(t, admin, "/admin/jobs/api/states")
			requireStatus(t, res, http.StatusOK)
			require.Contains(t, res.HTML, `"scheduled":`)
		})

		t.Run("OthersGetNotFound", func(t *testing.T) {
			t.Parallel()
			for name, c := range map[string]*http.Client{
				"SignedOut": newClient(t),
				"SignedIn":  buyer,
				"Seller":    seller,
			} {
				// The ordinary 404 page, as this visitor sees it anywhere once
				// their browser holds the CSS (see TestFirstVisitCarriesTheCSS).
				b.get(t, c, "/")
				want := b.get(t, c, "/no-such-page")
				requireStatus(t, want, http.StatusNotFound)
				for _, path := range adminPaths {
					res := b.get(t, c, path, withHeader("Accept", "text/html"))
					requireStatus(t, res, http.StatusNotFound)
					require.Equal(t, want.HTML, res.HTML, "%s: GET %s", name, path)
					require.Empty(t, res.location(), "%s: GET %s", name, path)
					require.NotContains(t, res.Header.Get("Cache-Control"), "no-store", "%s: GET %s", name, path)
					require.Equal(t, want.Header.Get("Content-Security-Policy"), res.Header.Get("Content-Security-Policy"))
				}
				// River's UI changes nothing for them either.
				res := b.do(t, c, http.MethodPost, "/admin/jobs/api/jobs/cancel", nil,
					withHeader("Content-Type", "application/json"))
				requireStatus(t, res, http.StatusNotFound)
				require.Equal(t, want.HTML, res.HTML, "%s: POST", name)
			}
			// The expiry job is still scheduled.
			res := b.get(t, admin, "/admin/jobs/api/jobs?state=scheduled")
			require.Contains(t, res.HTML, `"kind":"expire_order"`)
		})

		t.Run("SigningOutEndsAccess", func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			requireStatus(t, b.signIn(t, c, "Ops@example.com"), http.StatusSeeOther)
			requireStatus(t, b.get(t, c, "/admin"), http.StatusOK)
			requireStatus(t, b.postForm(t, c, "/signout", nil), http.StatusSeeOther)
			requireStatus(t, b.get(t, c, "/admin"), http.StatusNotFound)
			requireStatus(t, b.get(t, c, "/admin/jobs/"), http.StatusNotFound)
		})
	})
}

func TestAdminEmailsCaseInsensitive(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		for _, tt := range []struct {
			name       string
			config     []string
			signUpAs   string
			wantStatus int
		}{
			{"ConfigUpperCase", []string{"ADA@EXAMPLE.COM"}, "ada@example.com", http.StatusOK},
			{"SignUpMixedCase", []string{"bob@example.com"}, "Bob@Example.Com", http.StatusOK},
			{"SpacesAround", []string{" x@example.com", " cy@example.com "}, "cy@example.com", http.StatusOK},
			{"NotListed", []string{"dee@example.com"}, "dee2@example.com", http.StatusNotFound},
			{"PrefixIsNotEnough", []string{"eve@example.com"}, "eve@example.com.evil.example", http.StatusNotFound},
			{"NobodyListed", nil, "fay@example.com", http.StatusNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				srv := b.serve(t, func(cfg *handlers.Config) { cfg.AdminEmails = tt.config })
				c := b.signUp(t, tt.signUpAs)
				b.confirmOperator(t, strings.ToLower(tt.signUpAs))
				res := b.get(t, c, srv.URL+"/admin")
				requireStatus(t, res, tt.wantStatus)
				res = b.get(t, c, srv.URL+"/admin/payments")
				requireStatus(t, res, tt.wantStatus)
			})
		}
	})
}

// TestAdminLookAlikesAndUnconfirmed tries to reach the console as a stranger:
// through an address that only looks like (or folds to) the operator's, and
// by being first to sign up with the operator's own address.
func TestAdminLookAlikesAndUnconfirmed(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := adminSetup(t, dialect)
		requireNoConsole := func(t *testing.T, c *http.Client) {
			t.Helper()
			for _, path := range adminPaths {
				requireStatus(t, b.get(t, c, path), http.StatusNotFound)
			}
		}

		t.Run("LookAlikeRefusedAtSignUp", func(t *testing.T) {
			for _, email := range []string{"opſ@example.com", "OPſ@Example.com", "op\u212a@example.com", "оps@example.com"} {
				c := newClient(t)
				res := b.postForm(t, c, "/signup", url.Values{"email": {email}, "password": {password}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "email",
					"Use only plain ASCII letters, digits and punctuation before the @, with no accents or other alphabets.")
				requireSignedOut(t, res.HTML)
				requireNoConsole(t, c)
				// Signing in with it is refused too, and finds nobody.
				res = b.signIn(t, c, email)
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireNoConsole(t, c)
			}
			var n int
			require.NoError(t, b.db.Read.QueryRowContext(t.Context(), `SELECT count(*) FROM users`).Scan(&n))
			require.Zero(t, n, "no account was made")
		})

		t.Run("LookAlikeDomainNeverOperator", func(t *testing.T) {
			// A look-alike after the @ makes an ordinary account: even
			// confirmed, it is not the listed address.
			lookAlike := "ops@ехample.com" // Cyrillic е and х
			c := b.signUp(t, lookAlike)
			b.confirmOperator(t, lookAlike)
			requireNoConsole(t, c)
		})

		t.Run("FirstToSignUpIsNotOperator", func(t *testing.T) {
			// The listed address, signed up by whoever came first, is
			// nothing until the operator confirms it on the server.
			c := b.signUp(t, "Someone-Else@example.com")
			requireNoConsole(t, c)
			b.confirmOperator(t, "someone-else@example.com")
			requireStatus(t, b.get(t, c, "/admin/payments"), http.StatusOK)
			requireStatus(t, b.get(t, c, "/admin"), http.StatusOK)
		})

		t.Run("ConfirmedButNotListed", func(t *testing.T) {
			c := b.signUp(t, "former-ops@example.com")
			b.confirmOperator(t, "former-ops@example.com")
			requireNoConsole(t, c)
		})
	})
}

func TestAdminEmailsRefusedUnlessPlain(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	st, err := store.New(db)
	require.NoError(t, err)
	for _, email := range []string{"opſ@example.com", "not an email", "ops@example"} {
		cfg := handlers.Config{BaseURL: "http://localhost", AdminEmails: []string{email}}
		_, err := handlers.New(cfg, testDeps(t, &cfg, handlers.Deps{Store: st}))
		require.Error(t, err, email)
	}
}

func TestAdminWithoutJobsUI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		b.server = b.serve(t, func(cfg *handlers.Config) { cfg.AdminEmails = []string{adminEmail} })
		admin := b.signUp(t, adminEmail)
		b.confirmOperator(t, adminEmail)

		res := b.get(t, admin, "/admin")
		requireStatus(t, res, http.StatusOK)
		require.Contains(t, res.HTML, "River's UI is not running in this process.")
		requireNoElement(t, res.HTML, `[href="/admin/jobs/"]`)
		res = b.get(t, admin, "/admin/jobs/")
		requireStatus(t, res, http.StatusNotFound)
		require.Contains(t, res.HTML, "River&#39;s UI is not running in this process.")
		requireStatus(t, b.get(t, newClient(t), "/admin/jobs/"), http.StatusNotFound)
	})
}

func TestAdminPayments(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := adminSetup(t, dialect)
		admin := b.signUp(t, adminEmail)
		b.confirmOperator(t, adminEmail)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		lateOrder := b.buyOK(t, buyer, b.listTicket(t, seller, "Late show", "40"))
		paidOrder := b.buyOK(t, buyer, b.listTicket(t, seller, "Matinee", "30"))
		shortOrder := b.buyOK(t, buyer, b.listTicket(t, seller, "Short change", "50"))

		record := func(orderID int64, session string, amount int64, currency string, at time.Time) {
			t.Helper()
			b.useSession(t, orderID, "cs_"+session)
			require.NoError(t, b.store.RecordPayment(t.Context(), store.Payment{
				OrderID: orderID, SessionID: "cs_" + session, PaymentIntentID: "pi_" + session,
				Amount: amount, Currency: currency,
			}, at))
		}
		// Paid after the hold ended; nobody had taken the ticket, so it sold.
		record(lateOrder, "late", 4000, "usd", now().Add(b.hold+time.Second))
		// Paid in time, then on another session naming the order: the
		// second payment is not the order's, and is refunded.
		record(paidOrder, "on_time", 3000, "usd", now())
		record(paidOrder, "twice", 3000, "usd", now())
		// The wrong amount, and a payment for no order of ours: both refunded.
		record(shortOrder, "short", 4999, "usd", now())
		record(0, "stray", 1234, "eur", now())

		t.Run("All", func(t *testing.T) {
			t.Parallel()
			rows := adminPaymentRows(t, b, admin, "/admin/payments")
			require.ElementsMatch(t, []string{"cs_late", "cs_on_time", "cs_twice", "cs_short", "cs_stray"}, adminKeys(rows))

			late := rows["cs_late"]
			require.Contains(t, texts(late.Find("td")), "buyer@example.com")
			require.Contains(t, texts(late.Find("td")), "Late show")
			require.Contains(t, textOf(late), "#"+itoa(lateOrder))
			require.Contains(t, texts(late.Find("code")), "pi_late")
			require.Contains(t, texts(late.Find("span.badge.badge-paid")), "paid", "the order's status")
			require.Contains(t, texts(late.Find("span.badge")), "late")

			short := rows["cs_short"]
			require.Contains(t, texts(short.Find("td")), "49.99 USD", "the payment's amount")
			require.Contains(t, texts(short.Find("td")), "50.00 USD", "the order's amount")
			require.Contains(t, texts(short.Find("span.badge.badge-pending")), "pending")
			require.Contains(t, texts(short.Find("span.badge")), "mismatch")
			require.Contains(t, textOf(short), store.RefundMismatch)

			stray := rows["cs_stray"]
			require.Contains(t, texts(stray.Find("td")), "12.34 EUR")
			require.Contains(t, textOf(stray), "No order of ours")
			require.Contains(t, textOf(stray), store.RefundNoOrder)

			require.Contains(t, texts(rows["cs_on_time"].Find("td")), "ok")
		})

		t.Run("Late", func(t *testing.T) {
			t.Parallel()
			rows := adminPaymentRows(t, b, admin, "/admin/payments?show=late")
			require.Equal(t, []string{"cs_late"}, adminKeys(rows))
		})

		t.Run("Refunds", func(t *testing.T) {
			t.Parallel()
			rows := adminPaymentRows(t, b, admin, "/admin/payments?show=refunds")
			require.ElementsMatch(t, []string{"cs_twice", "cs_short", "cs_stray"}, adminKeys(rows))
			require.Contains(t, textOf(rows["cs_twice"]), "refund in progress")
			require.Contains(t, textOf(rows["cs_twice"]), store.RefundNotSession)
			require.Contains(t, textOf(rows["cs_twice"]), "No order of ours")
		})

		t.Run("Mismatched", func(t *testing.T) {
			t.Parallel()
			rows := adminPaymentRows(t, b, admin, "/admin/payments?show=mismatched")
			require.ElementsMatch(t, []string{"cs_short", "cs_stray", "cs_twice"}, adminKeys(rows))
		})

		t.Run("Unsettled", func(t *testing.T) {
			t.Parallel()
			rows := adminPaymentRows(t, b, admin, "/admin/payments?show=unsettled")
			require.Empty(t, rows)
		})

		t.Run("Counts", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, admin, "/admin/payments?show=refunds")
			requireStatus(t, res, http.StatusOK)
			requireElementText(t, res.HTML, `a[href="/admin/payments"]:not([aria-current])`, "All (5)")
			requireElementText(t, res.HTML, `a[href="/admin/payments?show=late"]:not([aria-current])`, "Late (1)")
			requireElementText(t, res.HTML, `a[href="/admin/payments?show=refunds"][aria-current="page"]`, "Refunds (3)")
			requireElementText(t, res.HTML, `a[href="/admin/payments?show=mismatched"]:not([aria-current])`, "Mismatched (3)")

			res = b.get(t, admin, "/admin")
			requireStatus(t, res, http.StatusOK)
			requireElementText(t, res.HTML, `a[href="/admin/payments?show=mismatched"]`, "Mismatched")
			require.Regexp(t, `^Mismatched: 3\b`, requireElement(t, res.HTML, `li:has(a[href="/admin/payments?show=mismatched"])`).Text())
		})

		t.Run("UnknownView", func(t *testing.T) {
			t.Parallel()
			requireStatus(t, b.get(t, admin, "/admin/payments?show=everything"), http.StatusNotFound)
		})
	})
}

// adminPaymentRows fetches a payments page and returns its table's rows by
// checkout session id.
func adminPaymentRows(t *testing.T, b *testBundle, c *http.Client, path string) map[string]*goquery.Selection {
	t.Helper()
	res := b.get(t, c, path)
	requireStatus(t, res, http.StatusOK)
	rows := map[string]*goquery.Selection{}
	doc(res.HTML).Find(`tr[id^="payment-"]`).Each(func(_ int, tr *goquery.Selection) {
		if _, ok := pathID(tr.AttrOr("id", ""), "payment-"); !ok {
			return
		}
		session := tr.Find("code").FilterFunction(func(_ int, code *goquery.Selection) bool {
			return strings.HasPrefix(code.Text(), "cs_")
		}).First()
		require.NotZero(t, session.Length(), "row without a session: %s", textOf(tr))
		rows[session.Text()] = tr
	})
	return rows
}

func adminKeys(m map[string]*goquery.Selection) []string {
	list := make([]string, 0, len(m))
	for k := range m {
		list = append(list, k)
	}
	return list
}
