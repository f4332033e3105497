package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// accountUpdated is an account.updated event of the Connect endpoint.
type accountUpdated struct {
	id, account string
	enabled     bool
	last4       string    // of the account's bank account; none when empty
	secret      string    // connectWebhookSecret when empty
	signedAt    time.Time // now when zero
}

// signed returns the event's payload and its Stripe-Signature header, signed
// as Stripe signs webhooks.
func (e accountUpdated) signed() ([]byte, string) {
	if e.secret == "" {
		e.secret = connectWebhookSecret
	}
	if e.signedAt.IsZero() {
		e.signedAt = time.Now()
	}
	external := `[]`
	if e.last4 != "" {
		external = fmt.Sprintf(`[{"id":"ba_1","object":"bank_account","last4":%q}]`, e.last4)
	}
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":"account.updated","api_version":%q,"created":%d,"account":%q,
		"data":{"object":{"id":%q,"object":"account","type":"express","payouts_enabled":%t,
		"external_accounts":{"object":"list","data":%s}}}}`,
		e.id, stripe.APIVersion, e.signedAt.Unix(), e.account, e.account, e.enabled, external)
	s := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: e.secret, Timestamp: e.signedAt})
	return s.Payload, s.Header
}

// deliverConnect posts an event to the Connect webhook endpoint.
func (b *testBundle) deliverConnect(t *testing.T, payload []byte, signature string) *response {
	t.Helper()
	return b.do(t, http.DefaultClient, http.MethodPost, "/webhooks/stripe/connect", strings.NewReader(string(payload)),
		withHeader("Stripe-Signature", signature))
}

// payoutAccount is a seller's payout account as recorded.
func (b *testBundle) payoutAccount(t *testing.T, email string) store.PayoutAccount {
	t.Helper()
	a, err := b.store.PayoutAccount(t.Context(), b.userID(t, email))
	require.NoError(t, err)
	return a
}

// onboardingLink starts a seller's onboarding and returns the address it
// leads to.
func (b *testBundle) onboardingLink(t *testing.T, seller *http.Client) string {
	t.Helper()
	res := b.postForm(t, seller, "/payouts/connect", nil)
	requireStatus(t, res, http.StatusSeeOther)
	return res.location()
}

// flash is the message the next page shows.
func (b *testBundle) flash(t *testing.T, c *http.Client) string {
	t.Helper()
	res := b.get(t, c, "/my/tickets")
	requireStatus(t, res, http.StatusOK)
	return textOf(doc(res.HTML).Find(`p.flash[role="status"]`).First())
}

var validIBAN = "DE89 3704 0044 0532 0130 00"

func TestConnectBuiltin(t *testing.T) {
	t.Parallel()

	t.Run("OnboardingEnablesPayouts", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")

			link := b.onboardingLink(t, seller)
			account := b.payoutAccount(t, "seller@example.com")
			require.Regexp(t, `^acct_builtin_`, account.AccountID)
			require.False(t, account.PayoutsEnabled)
			require.Equal(t, b.server.URL+"/payouts/connect/builtin?account="+account.AccountID, link)
			require.Equal(t, link, b.onboardingLink(t, seller), "a second click keeps the account")

			page := b.get(t, seller, link)
			requireStatus(t, page, http.StatusOK)
			requireFullPage(t, page)
			requireElement(t, page.HTML, `form#onboarding-form[method="post"][action="/payouts/connect/builtin"]`)

			res := b.postForm(t, seller, "/payouts/connect/builtin", url.Values{
				"account": {account.AccountID}, "holder": {"Ada Lovelace"}, "number": {validIBAN},
			})
			requireRedirect(t, res, "/payouts")
			require.Equal(t, "Payout account saved. Payouts are on: your sales are paid to your bank account ending 3000 once released.",
				b.flash(t, seller))
			require.Eventually(t, func() bool { return b.payoutAccount(t, "seller@example.com").PayoutsEnabled },
				10*time.Second, 20*time.Millisecond)
			account = b.payoutAccount(t, "seller@example.com")
			require.Equal(t, "bank account ending 3000", account.Details)
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM stripe_events WHERE type = 'account.updated'`),
				"the built-in onboarding goes through the Connect webhook's code")

			// Back from onboarding, the seller is told how the account stands.
			res = b.get(t, seller, "/payouts/connect/return")
			requireRedirect(t, res, "/payouts")
			require.Equal(t, "Payouts are on: your sales are paid to your bank account ending 3000 once released.", b.flash(t, seller))
		})
	})

	t.Run("BadBankAccountsAreRefused", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.onboardingLink(t, seller)
			account := b.payoutAccount(t, "seller@example.com")

			for _, c := range []struct{ holder, number, field, message string }{
				{"", "12345678", "holder", "Enter the account holder's name, in at most 100 characters."},
				{strings.Repeat("a", 101), "12345678", "holder", "Enter the account holder's name, in at most 100 characters."},
				{"Ada", "", "number", "Enter an IBAN, like DE89 3704 0044 0532 0130 00, or an account number of 4 to 17 digits."},
				{"Ada", "123", "number", "Enter an IBAN, like DE89 3704 0044 0532 0130 00, or an account number of 4 to 17 digits."},
				{"Ada", "12ab5678", "number", "Enter an IBAN, like DE89 3704 0044 0532 0130 00, or an account number of 4 to 17 digits."},
				{"Ada", "DE88 3704 0044 0532 0130 00", "number", "This IBAN's check digits do not match: look for a typing mistake."},
			} {
				res := b.postForm(t, seller, "/payouts/connect/builtin", url.Values{
					"account": {account.AccountID}, "holder": {c.holder}, "number": {c.number},
				})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, c.field, c.message)
				requireFieldValue(t, res.HTML, "holder", c.holder)
			}
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
			require.Equal(t, account, b.payoutAccount(t, "seller@example.com"))

			// An account number (not an IBAN) is fine too.
			res := b.postForm(t, seller, "/payouts/connect/builtin", url.Values{
				"account": {account.AccountID}, "holder": {"Ada"}, "number": {"000123456789"},
			})
			requireRedirect(t, res, "/payouts")
			require.Eventually(t, func() bool { return b.payoutAccount(t, "seller@example.com").Details == "bank account ending 6789" },
				10*time.Second, 20*time.Millisecond)
		})
	})

	t.Run("OnlyTheSellerOpensTheirOnboarding", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			link := b.onboardingLink(t, seller)
			account := b.payoutAccount(t, "seller@example.com")
			form := url.Values{"account": {account.AccountID}, "holder": {"Mallory"}, "number": {validIBAN}}

			other := b.signUp(t, "other@example.com")
			requireStatus(t, b.get(t, other, link), http.StatusNotFound)
			requireStatus(t, b.postForm(t, other, "/payouts/connect/builtin", form), http.StatusNotFound)
			b.onboardingLink(t, other) // with an account of their own, still not the seller's
			requireStatus(t, b.get(t, other, link), http.StatusNotFound)
			requireStatus(t, b.postForm(t, other, "/payouts/connect/builtin", form), http.StatusNotFound)

			signedOut := newClient(t)
			requireRedirect(t, b.get(t, signedOut, link), signInTo("/payouts/connect/builtin?account="+account.AccountID))
			requireStatus(t, b.postForm(t, signedOut, "/payouts/connect/builtin", form), http.StatusSeeOther)

			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
			require.Equal(t, account, b.payoutAccount(t, "seller@example.com"))
		})
	})

	t.Run("FormsRefuseOtherSites", func(t *testing.T) {
		t.Parallel()
		b, _ := paymentBundle(t, store.SQLite)
		seller := b.signUp(t, "seller@example.com")
		crossSite := withHeader("Sec-Fetch-Site", "cross-site")
		requireStatus(t, b.postForm(t, seller, "/payouts/connect", nil, crossSite), http.StatusForbidden)
		_, err := b.store.PayoutAccount(t.Context(), b.userID(t, "seller@example.com"))
		require.ErrorIs(t, err, store.ErrNotFound)

		b.onboardingLink(t, seller)
		account := b.payoutAccount(t, "seller@example.com")
		res := b.postForm(t, seller, "/payouts/connect/builtin",
			url.Values{"account": {account.AccountID}, "holder": {"Ada"}, "number": {validIBAN}}, crossSite)
		requireStatus(t, res, http.StatusForbidden)
		require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
	})

	t.Run("NoOnboardingPageWithStripe", func(t *testing.T) {
		t.Parallel()
		b, _ := stripeConnectBundle(t, store.SQLite)
		seller := b.signUp(t, "seller@example.com")
		b.onboardingLink(t, seller)
		account := b.payoutAccount(t, "seller@example.com")
		requireStatus(t, b.get(t, seller, "/payouts/connect/builtin?account="+account.AccountID), http.StatusNotFound)
		requireStatus(t, b.postForm(t, seller, "/payouts/connect/builtin",
			url.Values{"account": {account.AccountID}, "holder": {"Ada"}, "number": {validIBAN}}), http.StatusNotFound)
	})
}

// fakeConnect stands in for Stripe Connect in the handlers: each account
// link is a new one, and accounts stand as the test says.
type fakeConnect struct {
	mu       sync.Mutex
	created  int
	links    int
	standing payments.Account
	fail     error
}

func (f *fakeConnect) CreateSession(context.Context, payments.CheckoutRequest) (payments.Session, error) {
	return payments.Session{}, errors.New("no checkout in these tests")
}

func (f *fakeConnect) CreateAccount(_ context.Context, userID int64, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created++
	return fmt.Sprintf("acct_fake%d", userID), nil
}

func (f *fakeConnect) AccountLink(_ context.Context, accountID, refreshURL, returnURL string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links++
	return fmt.Sprintf("https://connect.stripe.com/setup/e/%s/link%d?refresh=%s&return=%s",
		accountID, f.links, url.QueryEscape(refreshURL), url.QueryEscape(returnURL)), nil
}

func (f *fakeConnect) Account(_ context.Context, accountID string) (payments.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.standing
	a.ID = accountID
	return a, f.fail
}

func (f *fakeConnect) set(a payments.Account, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.standing, f.fail = a, err
}

// stripeConnectBundle is a bundle whose handlers onboard sellers through a
// fake Stripe Connect.
func stripeConnectBundle(t *testing.T, dialect store.Dialect) (*testBundle, *fakeConnect) {
	t.Helper()
	b, _ := paymentBundle(t, dialect)
	connect := &fakeConnect{}
	srv, cfg := b.unstarted(t)
	t.Cleanup(srv.Close)
	b.configure(&cfg)
	srv.Config.Handler = newHandler(t, cfg, handlers.Deps{Store: b.store, Checkout: connect, Now: b.clock.Now}).Routes()
	srv.Start()
	b.server = srv
	return b, connect
}

func TestConnectStripe(t *testing.T) {
	t.Parallel()

	t.Run("OnboardingReturnsAndRefreshes", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, connect := stripeConnectBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			sellerID := b.userID(t, "seller@example.com")

			link := b.onboardingLink(t, seller)
			accountID := fmt.Sprintf("acct_fake%d", sellerID)
			require.Equal(t, "https://connect.stripe.com/setup/e/"+accountID+"/link1?refresh="+
				url.QueryEscape(b.server.URL+"/payouts/connect/refresh")+"&return="+url.QueryEscape(b.server.URL+"/payouts/connect/return"), link)
			require.Equal(t, accountID, b.payoutAccount(t, "seller@example.com").AccountID)

			// Links are single-use: the refresh URL makes a new one.
			res := b.get(t, seller, "/payouts/connect/refresh")
			requireStatus(t, res, http.StatusSeeOther)
			require.Contains(t, res.location(), "/"+accountID+"/link2?")
			res = b.get(t, seller, "/payouts/connect/refresh")
			require.Contains(t, res.location(), "/"+accountID+"/link3?")

			// Back before finishing: Stripe says what it still needs.
			connect.set(payments.Account{Details: "bank account ending 6789", Due: []string{"external_account", "individual.dob.day", "individual.dob.month", "tos_acceptance.date"}}, nil)
			requireRedirect(t, b.get(t, seller, "/payouts/connect/return"), "/payouts")
			require.Equal(t, "Payouts are not on yet: Stripe still needs a bank account, details about you and your acceptance of its terms. Choose Get paid to continue.",
				b.flash(t, seller))
			account := b.payoutAccount(t, "seller@example.com")
			require.False(t, account.PayoutsEnabled)
			require.Equal(t, "bank account ending 6789", account.Details)

			// Back once done: recorded at once, without waiting for the event.
			connect.set(payments.Account{PayoutsEnabled: true, Details: "bank account ending 6789"}, nil)
			requireRedirect(t, b.get(t, seller, "/payouts/connect/return"), "/payouts")
			require.Equal(t, "Payouts are on: your sales are paid to your bank account ending 6789 once released.", b.flash(t, seller))
			require.True(t, b.payoutAccount(t, "seller@example.com").PayoutsEnabled)

			// "Get paid" again keeps the account and makes a new link.
			require.Contains(t, b.onboardingLink(t, seller), "/"+accountID+"/link4?")
			require.Equal(t, 1, connect.created)
		})
	})

	t.Run("WithoutAnAccount", func(t *testing.T) {
		t.Parallel()
		b, connect := stripeConnectBundle(t, store.SQLite)
		seller := b.signUp(t, "seller@example.com")
		requireRedirect(t, b.get(t, seller, "/payouts/connect/refresh"), "/payouts")
		requireRedirect(t, b.get(t, seller, "/payouts/connect/return"), "/payouts")
		require.Zero(t, connect.links)
		signedOut := newClient(t)
		res := b.postForm(t, signedOut, "/payouts/connect", nil)
		requireStatus(t, res, http.StatusSeeOther)
		require.True(t, strings.HasPrefix(res.location(), "/signin"), res.location())
		requireRedirect(t, b.get(t, signedOut, "/payouts/connect/return"), signInTo("/payouts/connect/return"))
		require.Zero(t, connect.created)
	})

	t.Run("StripeDown", func(t *testing.T) {
		t.Parallel()
		b, connect := stripeConnectBundle(t, store.SQLite)
		seller := b.signUp(t, "seller@example.com")
		b.onboardingLink(t, seller)
		connect.set(payments.Account{PayoutsEnabled: true}, errors.New("stripe is down"))
		requireStatus(t, b.get(t, seller, "/payouts/connect/return"), http.StatusInternalServerError)
		require.False(t, b.payoutAccount(t, "seller@example.com").PayoutsEnabled)
	})
}

func TestConnectWebhook(t *testing.T) {
	t.Parallel()

	t.Run("RecordsTheAccountOnce", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.onboardingLink(t, seller)
			accountID := b.payoutAccount(t, "seller@example.com").AccountID

			e := accountUpdated{id: "evt_acct_1", account: accountID, enabled: true, last4: "4321"}
			for range 3 {
				payload, signature := e.signed()
				requireStatus(t, b.deliverConnect(t, payload, signature), http.StatusOK)
			}
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == 1
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM stripe_events`))
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process_stripe_event'`))
			account := b.payoutAccount(t, "seller@example.com")
			require.True(t, account.PayoutsEnabled)
			require.Equal(t, "bank account ending 4321", account.Details)

			// Stripe may turn payouts off again (it needs more details);
			// the bank account stays known.
			payload, signature := accountUpdated{id: "evt_acct_2", account: accountID}.signed()
			requireStatus(t, b.deliverConnect(t, payload, signature), http.StatusOK)
			require.Eventually(t, func() bool { return !b.payoutAccount(t, "seller@example.com").PayoutsEnabled },
				10*time.Second, 20*time.Millisecond)
			require.Equal(t, "bank account ending 4321", b.payoutAccount(t, "seller@example.com").Details)
		})
	})

	t.Run("UnknownAccountsAreIgnored", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			payload, signature := accountUpdated{id: "evt_stranger", account: "acct_stranger", enabled: true}.signed()
			requireStatus(t, b.deliverConnect(t, payload, signature), http.StatusOK)
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == 1
			}, 10*time.Second, 20*time.Millisecond)
			require.Zero(t, b.count(t, `SELECT count(*) FROM payout_accounts`))
		})
	})

	t.Run("BadEventsAreRefusedAndStoreNothing", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.onboardingLink(t, seller)
			accountID := b.payoutAccount(t, "seller@example.com").AccountID
			good := accountUpdated{id: "evt_acct", account: accountID, enabled: true}
			payload, _ := good.signed()

			for name, e := range map[string]accountUpdated{
				"Forged":           {id: "evt_acct", account: accountID, enabled: true, secret: "whsec_forged"},
				"CheckoutSecret":   {id: "evt_acct", account: accountID, enabled: true, secret: webhookSecret},
				"Stale":            {id: "evt_acct", account: accountID, enabled: true, signedAt: time.Now().Add(-10 * time.Minute)},
				"DatedInTheFuture": {id: "evt_acct", account: accountID, enabled: true, signedAt: time.Now().Add(10 * time.Minute)},
			} {
				p, signature := e.signed()
				require.Equal(t, http.StatusBadRequest, b.deliverConnect(t, p, signature).StatusCode, name)
			}
			require.Equal(t, http.StatusBadRequest, b.deliverConnect(t, payload, "").StatusCode, "Missing")
			// Bodies are bounded as the platform endpoint's are: 64 KiB is
			// read (and refused unsigned), more is too large.
			requireStatus(t, b.deliverConnect(t, make([]byte, 64<<10), ""), http.StatusBadRequest)
			requireStatus(t, b.deliverConnect(t, make([]byte, 64<<10+1), ""), http.StatusRequestEntityTooLarge)
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
			require.False(t, b.payoutAccount(t, "seller@example.com").PayoutsEnabled)

			// Each endpoint takes its own events only: a checkout event on
			// the Connect endpoint, or an account event on the platform's, is
			// acknowledged and dropped.
			checkout := event{id: "evt_cs", eventType: "checkout.session.completed", sessionID: "cs_x", orderID: 1, amount: 3000, secret: connectWebhookSecret}
			p, signature := checkout.signed()
			requireStatus(t, b.deliverConnect(t, p, signature), http.StatusOK)
			p, signature = accountUpdated{id: "evt_acct_platform", account: accountID, enabled: true, secret: webhookSecret}.signed()
			requireStatus(t, b.deliver(t, p, signature), http.StatusOK)
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
		})
	})
}

// TestPayoutAfterOnboarding: a sale released while its seller had no payout
// account waits; the account.updated event that enables payouts sends it,
// once.
func TestPayoutAfterOnboarding(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		// Sales of events with no date are released at once after payment.
		terms := store.PayoutTerms{FeeBasisPoints: 500, Delay: time.Hour}
		b, stripeAPI := paymentBundleWith(t, dialect, bundleOpts{storeOptions: []store.Option{store.WithPayoutTerms(terms)}})
		seller := b.signUp(t, "seller@example.com")
		ticket := b.listTicket(t, seller, "Front row", "30")
		b.uploadOK(t, seller, ticket, 1, eticket("front row"))
		buyer := b.signUp(t, "buyer@example.com")
		order := b.buyOK(t, buyer, ticket)
		b.payOK(t, buyer, order)

		sales := func() []store.Sale {
			sales, err := b.store.OrderSales(context.Background(), order)
			if err != nil {
				return nil
			}
			return sales
		}
		require.Eventually(t, func() bool {
			s := sales()
			return len(s) == 1 && s[0].State == store.SaleReleasable
		}, 10*time.Second, 20*time.Millisecond)
		require.Empty(t, stripeAPI.transfersAsked())

		link := b.onboardingLink(t, seller)
		accountID := b.payoutAccount(t, "seller@example.com").AccountID
		// An account not enabled yet: the sale still waits.
		payload, signature := accountUpdated{id: "evt_acct_1", account: accountID}.signed()
		requireStatus(t, b.deliverConnect(t, payload, signature), http.StatusOK)
		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM stripe_events WHERE type = 'account.updated' AND processed_at IS NOT NULL`) == 1
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, store.SaleReleasable, sales()[0].State)

		requireStatus(t, b.get(t, seller, link), http.StatusOK)
		res := b.postForm(t, seller, "/payouts/connect/builtin", url.Values{"account": {accountID}, "holder": {"Ada"}, "number": {validIBAN}})
		requireRedirect(t, res, "/payouts")
		// Stripe may send the news twice.
		payload, signature = accountUpdated{id: "evt_acct_2", account: accountID, enabled: true, last4: "3000"}.signed()
		requireStatus(t, b.deliverConnect(t, payload, signature), http.StatusOK)

		require.Eventually(t, func() bool { return sales()[0].State == store.SaleTransferred }, 10*time.Second, 20*time.Millisecond)
		sale := sales()[0]
		key := fmt.Sprintf("transfer:sale:%d", sale.ID)
		require.Equal(t, map[string][]payments.Transfer{key: {{
			Destination: accountID, PaymentIntentID: b.payments(t, order)[0].PaymentIntentID, Amount: 2850, Currency: "usd",
			Group: fmt.Sprintf("order_%d", order), IdempotencyKey: key,
		}}}, stripeAPI.transfersAsked())
		require.Equal(t, "tr_"+key, sale.TransferID)
		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NULL`) == 0
		}, 10*time.Second, 20*time.Millisecond)
		require.Len(t, stripeAPI.transfersAsked()[key], 1)
	})
}

func TestConnectSetup(t *testing.T) {
	t.Parallel()
	st, err := store.New(storetest.Open(t, store.SQLite))
	require.NoError(t, err)
	cfg := handlers.Config{BaseURL: "http://eventhive.test", Currency: "usd", StripeWebhookSecret: webhookSecret}

	// Stripe signs the Connect endpoint's events with a secret of its own,
	// which only the operator can give.
	_, err = handlers.New(cfg, testDeps(t, &cfg, handlers.Deps{Store: st, Checkout: &fakeConnect{}}))
	require.ErrorContains(t, err, "no Connect webhook secret")
	withSecret := cfg
	withSecret.StripeConnectWebhookSecret = connectWebhookSecret
	_, err = handlers.New(withSecret, testDeps(t, &withSecret, handlers.Deps{Store: st, Checkout: &fakeConnect{}}))
	require.NoError(t, err)

	_, err = handlers.New(withSecret, testDeps(t, &withSecret, handlers.Deps{Store: st, Checkout: checkoutOnly{}}))
	require.ErrorContains(t, err, "cannot onboard sellers")
}

// checkoutOnly is a payment provider that cannot onboard sellers.
type checkoutOnly struct{}

func (checkoutOnly) CreateSession(context.Context, payments.CheckoutRequest) (payments.Session, error) {
	return payments.Session{}, nil
}
