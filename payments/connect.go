package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Account is a seller's connected account as the payment provider reports it.
type Account struct {
	ID             string
	PayoutsEnabled bool
	// Details is what the seller may see of where the money goes, such as
	// "bank account ending 6789"; empty when no payout account is known.
	Details string
	// Due lists what Stripe still needs from the seller (its requirements'
	// currently_due fields, such as "external_account").
	Due []string
}

// HandledConnectEventTypes are the events the Connect webhook endpoint acts
// on; like HandledEventTypes, others are acknowledged and ignored.
var HandledConnectEventTypes = map[stripe.EventType]bool{
	stripe.EventTypeAccountUpdated: true,
}

// CreateAccount creates a seller's Express connected account, able to
// receive transfers. The idempotency key per user makes a second click on
// "Get paid" return the same account.
func (s *Stripe) CreateAccount(ctx context.Context, userID int64, email string) (string, error) {
	id := strconv.FormatInt(userID, 10)
	params := &stripe.AccountParams{
		Type: stripe.String(string(stripe.AccountTypeExpress)),
		Capabilities: &stripe.AccountCapabilitiesParams{
			Transfers: &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	if email != "" {
		params.Email = stripe.String(email)
	}
	params.AddMetadata("user_id", id)
	params.Context = ctx
	params.SetIdempotencyKey("connect-account:" + id)
	a, err := s.accounts.New(params)
	if err != nil {
		return "", fmt.Errorf("create connected account: %w", err)
	}
	return a.ID, nil
}

// AccountLink returns the address of Stripe's onboarding for an account.
// Links work once and expire within minutes: refreshURL is where Stripe
// sends a seller whose link no longer works, to be given a new one.
func (s *Stripe) AccountLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error) {
	params := &stripe.AccountLinkParams{
		Account:    stripe.String(accountID),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
	}
	params.Context = ctx
	link, err := s.accountLinks.New(params)
	if err != nil {
		return "", fmt.Errorf("account link for %s: %w", accountID, err)
	}
	return link.URL, nil
}

// Account fetches how a connected account stands.
func (s *Stripe) Account(ctx context.Context, accountID string) (Account, error) {
	params := &stripe.AccountParams{}
	params.Context = ctx
	a, err := s.accounts.GetByID(accountID, params)
	if err != nil {
		return Account{}, fmt.Errorf("account %s: %w", accountID, err)
	}
	return accountOf(a), nil
}

// AccountFromEvent reads the account an account.updated event reports.
func AccountFromEvent(event stripe.Event) (Account, error) {
	if event.Data == nil {
		return Account{}, errors.New("event has no data")
	}
	var a stripe.Account
	if err := json.Unmarshal(event.Data.Raw, &a); err != nil {
		return Account{}, fmt.Errorf("account: %w", err)
	}
	if a.ID == "" {
		return Account{}, errors.New("account has no id")
	}
	return accountOf(&a), nil
}

// BankAccountDetails is what a seller sees of a bank account: "bank account
// ending 6789".
func BankAccountDetails(last4 string) string { return "bank account ending " + last4 }

func accountOf(a *stripe.Account) Account {
	acct := Account{ID: a.ID, PayoutsEnabled: a.PayoutsEnabled}
	if a.Requirements != nil {
		acct.Due = a.Requirements.CurrentlyDue
	}
	if a.ExternalAccounts == nil {
		return acct
	}
	for _, ext := range a.ExternalAccounts.Data {
		switch {
		case ext.BankAccount != nil && ext.BankAccount.Last4 != "":
			acct.Details = BankAccountDetails(ext.BankAccount.Last4)
		case ext.Card != nil && ext.Card.Last4 != "":
			acct.Details = "card ending " + ext.Card.Last4
		default:
			continue
		}
		return acct
	}
	return acct
}

// BuiltinAccountPrefix starts the id of every built-in payout account.
const BuiltinAccountPrefix = "acct_builtin_"

// CreateAccount returns the seller's built-in account, whose id is derived
// from the user id: asking twice gives the same account, as at Stripe.
func (b *Builtin) CreateAccount(_ context.Context, userID int64, _ string) (string, error) {
	return b.builtinID(BuiltinAccountPrefix, "connect-account:"+strconv.FormatInt(userID, 10)), nil
}

// AccountLink returns the app's own onboarding page for the account, where
// the seller enters the bank account payouts go to.
func (b *Builtin) AccountLink(_ context.Context, accountID, _, _ string) (string, error) {
	return b.baseURL + "/payouts/connect/builtin?account=" + url.QueryEscape(accountID), nil
}

// AccountUpdatedEvent builds the account.updated event Stripe would send once
// a seller has given the bank account ending in last4, and payouts to it are
// enabled. It is signed as Stripe signs webhooks, with the Connect endpoint's
// secret, and returned with its Stripe-Signature header.
func (b *Builtin) AccountUpdatedEvent(accountID, last4, connectSecret string, now time.Time) ([]byte, string, error) {
	account := map[string]any{
		"id":                accountID,
		"object":            "account",
		"type":              "express",
		"payouts_enabled":   true,
		"charges_enabled":   false,
		"details_submitted": true,
		"capabilities":      map[string]string{"transfers": "active"},
		"requirements":      map[string]any{"currently_due": []string{}},
		"external_accounts": map[string]any{"object": "list", "data": []map[string]string{
			{"id": "ba_builtin_" + randomHex(12), "object": "bank_account", "last4": last4},
		}},
	}
	return signedEvent(stripe.EventTypeAccountUpdated, accountID, account, connectSecret, now)
}
