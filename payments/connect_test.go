package payments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/payments"
)

// TestConnectStripeMock checks the payout calls against stripe-mock, which
// answers with Stripe's own fixtures (acct_123's bank account ends 6789).
func TestConnectStripeMock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreateAccount", func(t *testing.T) {
		t.Parallel()
		id, err := stripeMock(t).CreateAccount(ctx, 7, "seller@example.com")
		require.NoError(t, err)
		require.Regexp(t, `^acct_`, id)
	})
	t.Run("AccountLink", func(t *testing.T) {
		t.Parallel()
		link, err := stripeMock(t).AccountLink(ctx, "acct_123", "http://localhost:8080/payouts/connect/refresh",
			"http://localhost:8080/payouts/connect/return")
		require.NoError(t, err)
		require.Regexp(t, `^https://`, link)
	})
	t.Run("Account", func(t *testing.T) {
		t.Parallel()
		a, err := stripeMock(t).Account(ctx, "acct_123")
		require.NoError(t, err)
		require.Equal(t, "acct_123", a.ID)
		require.Equal(t, "bank account ending 6789", a.Details)
		require.False(t, a.PayoutsEnabled)
		require.Contains(t, a.Due, "external_account")
	})
	t.Run("Transfer", func(t *testing.T) {
		t.Parallel()
		id, err := stripeMock(t).Transfer(ctx, payments.Transfer{Destination: "acct_123", PaymentIntentID: "pi_123",
			Amount: 2850, Currency: "usd", Group: "order_42", IdempotencyKey: "transfer:sale:1"})
		require.NoError(t, err)
		require.Regexp(t, `^tr_`, id)
	})
	t.Run("ReverseTransfer", func(t *testing.T) {
		t.Parallel()
		id, err := stripeMock(t).ReverseTransfer(ctx, payments.Reversal{TransferID: "tr_123", Amount: 2850, IdempotencyKey: "reversal:sale:1"})
		require.NoError(t, err)
		require.Regexp(t, `^trr_`, id)
	})
	t.Run("RefundPart", func(t *testing.T) {
		t.Parallel()
		id, err := stripeMock(t).RefundPart(ctx, "pi_123", 1500, "refund:sale:1")
		require.NoError(t, err)
		require.Regexp(t, `^re_`, id)
	})
}

// TestConnectRequests checks what the payout calls send: stripe-mock checks
// that a request is valid, not that it asks for the right thing.
func TestConnectRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	requireForm := func(t *testing.T, form map[string][]string, want map[string]string) {
		t.Helper()
		for key, value := range want {
			require.Equal(t, []string{value}, form[key], key)
		}
	}

	t.Run("CreateAccountAsksForAnExpressAccountThatTakesTransfers", func(t *testing.T) {
		t.Parallel()
		fake, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/accounts": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"acct_new","object":"account"}`))
			},
		})
		id, err := payments.NewStripe("sk_test_123", url, time.Now).CreateAccount(ctx, 7, "seller@example.com")
		require.NoError(t, err)
		require.Equal(t, "acct_new", id)
		require.Equal(t, "connect-account:7", fake.requests[0].Header.Get("Idempotency-Key"))
		requireForm(t, fake.forms[0], map[string]string{
			"type":                               "express",
			"capabilities[transfers][requested]": "true",
			"email":                              "seller@example.com",
			"metadata[user_id]":                  "7",
		})
	})
	t.Run("AccountLinkIsForOnboarding", func(t *testing.T) {
		t.Parallel()
		fake, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/account_links": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"object":"account_link","url":"https://connect.stripe.com/setup/e/acct_1/abc"}`))
			},
		})
		link, err := payments.NewStripe("sk_test_123", url, time.Now).AccountLink(ctx, "acct_1", "http://app/refresh", "http://app/return")
		require.NoError(t, err)
		require.Equal(t, "https://connect.stripe.com/setup/e/acct_1/abc", link)
		requireForm(t, fake.forms[0], map[string]string{
			"account": "acct_1", "type": "account_onboarding", "refresh_url": "http://app/refresh", "return_url": "http://app/return",
		})
	})
	t.Run("TransferIsFundedByTheBuyersCharge", func(t *testing.T) {
		t.Parallel()
		fake, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"GET /v1/payment_intents/pi_1": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"pi_1","object":"payment_intent","latest_charge":{"id":"ch_1","object":"charge"}}`))
			},
			"POST /v1/transfers": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"tr_1","object":"transfer"}`))
			},
		})
		id, err := payments.NewStripe("sk_test_123", url, time.Now).Transfer(ctx, payments.Transfer{Destination: "acct_1",
			PaymentIntentID: "pi_1", Amount: 2850, Currency: "usd", Group: "order_42", IdempotencyKey: "transfer:sale:9"})
		require.NoError(t, err)
		require.Equal(t, "tr_1", id)
		require.Len(t, fake.requests, 2)
		require.Equal(t, "transfer:sale:9", fake.requests[1].Header.Get("Idempotency-Key"))
		requireForm(t, fake.forms[1], map[string]string{
			"amount": "2850", "currency": "usd", "destination": "acct_1", "source_transaction": "ch_1", "transfer_group": "order_42",
		})
	})
}

func TestAccountFromEvent(t *testing.T) {
	t.Parallel()
	read := func(t *testing.T, account string) payments.Account {
		t.Helper()
		a, err := payments.AccountFromEvent(stripe.Event{Type: stripe.EventTypeAccountUpdated, Data: &stripe.EventData{Raw: json.RawMessage(account)}})
		require.NoError(t, err)
		return a
	}
	t.Run("BankAccount", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, payments.Account{ID: "acct_1", PayoutsEnabled: true, Details: "bank account ending 6789", Due: []string{}},
			read(t, `{"id":"acct_1","object":"account","payouts_enabled":true,"requirements":{"currently_due":[]},
				"external_accounts":{"object":"list","data":[{"id":"ba_1","object":"bank_account","last4":"6789"}]}}`))
	})
	t.Run("Card", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "card ending 4242", read(t, `{"id":"acct_1","object":"account","payouts_enabled":true,
			"external_accounts":{"object":"list","data":[{"id":"card_1","object":"card","last4":"4242"}]}}`).Details)
	})
	t.Run("NothingYet", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, payments.Account{ID: "acct_1", Due: []string{"external_account", "tos_acceptance.date"}},
			read(t, `{"id":"acct_1","object":"account","payouts_enabled":false,
				"requirements":{"currently_due":["external_account","tos_acceptance.date"]}}`))
	})
	t.Run("NoAccount", func(t *testing.T) {
		t.Parallel()
		_, err := payments.AccountFromEvent(stripe.Event{Data: &stripe.EventData{Raw: json.RawMessage(`{"object":"account"}`)}})
		require.Error(t, err)
		_, err = payments.AccountFromEvent(stripe.Event{})
		require.Error(t, err)
	})
}

func TestBuiltinConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	builtin := payments.NewBuiltin("http://localhost:8080", "whsec_test")

	t.Run("AccountIsOnePerUser", func(t *testing.T) {
		t.Parallel()
		first, err := builtin.CreateAccount(ctx, 7, "seller@example.com")
		require.NoError(t, err)
		again, err := builtin.CreateAccount(ctx, 7, "seller@example.com")
		require.NoError(t, err)
		require.Equal(t, first, again)
		require.Regexp(t, `^acct_builtin_[0-9a-f]+$`, first)
		other, err := builtin.CreateAccount(ctx, 8, "other@example.com")
		require.NoError(t, err)
		require.NotEqual(t, first, other)
	})
	t.Run("AccountLinkIsTheAppsOwnPage", func(t *testing.T) {
		t.Parallel()
		link, err := builtin.AccountLink(ctx, "acct_builtin_1", "http://localhost:8080/payouts/connect/refresh", "http://localhost:8080/payouts/connect/return")
		require.NoError(t, err)
		require.Equal(t, "http://localhost:8080/payouts/connect/builtin?account=acct_builtin_1", link)
	})
	t.Run("AccountUpdatedEventIsSignedLikeStripes", func(t *testing.T) {
		t.Parallel()
		payload, header, err := builtin.AccountUpdatedEvent("acct_builtin_1", "6789", "whsec_connect", time.Now())
		require.NoError(t, err)
		event, err := webhook.ConstructEvent(payload, header, "whsec_connect")
		require.NoError(t, err)
		require.Equal(t, stripe.EventTypeAccountUpdated, event.Type)
		require.Equal(t, "acct_builtin_1", event.Account)
		a, err := payments.AccountFromEvent(event)
		require.NoError(t, err)
		require.Equal(t, payments.Account{ID: "acct_builtin_1", PayoutsEnabled: true, Details: "bank account ending 6789", Due: []string{}}, a)

		_, err = webhook.ConstructEvent(payload, header, "whsec_test")
		require.Error(t, err, "the checkout's secret must not verify a Connect event")
	})
}
