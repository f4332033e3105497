package handlers

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Connect onboards sellers to the accounts their payouts go to: Stripe
// Connect Express accounts, or the built-in stand-in's (*payments.Builtin),
// whose onboarding page this package serves.
type Connect interface {
	// CreateAccount creates a seller's account; asking again for the same
	// user gives the same account.
	CreateAccount(ctx context.Context, userID int64, email string) (accountID string, err error)
	// AccountLink returns the address of the account's onboarding, a link
	// that works once: refreshURL is where a seller whose link no longer
	// works is sent, returnURL where they come back when done.
	AccountLink(ctx context.Context, accountID, refreshURL, returnURL string) (url string, err error)
}

// AccountReader tells how a connected account stands. Stripe does; the
// built-in stand-in's accounts are only what its onboarding page's events
// recorded in the store, so it has none to tell.
type AccountReader interface {
	Account(ctx context.Context, accountID string) (payments.Account, error)
}

// connectAccount sends the seller to onboarding, creating their payout
// account first if they have none.
func (h *Handler) connectAccount(w http.ResponseWriter, r *http.Request) {
	user := currentUser(r)
	account, err := h.store.PayoutAccount(r.Context(), user.ID)
	if errors.Is(err, store.ErrNotFound) {
		var id string
		id, err = h.connect.CreateAccount(r.Context(), user.ID, user.Email)
		if err == nil {
			account, err = h.store.CreatePayoutAccount(r.Context(), user.ID, id, h.now())
		}
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.toOnboarding(w, r, account.AccountID)
}

// connectRefresh gives a seller whose onboarding link no longer works (they
// are single-use and short-lived) a new one.
func (h *Handler) connectRefresh(w http.ResponseWriter, r *http.Request) {
	account, ok := h.payoutAccount(w, r)
	if !ok {
		return
	}
	h.toOnboarding(w, r, account.AccountID)
}

func (h *Handler) toOnboarding(w http.ResponseWriter, r *http.Request, accountID string) {
	link, err := h.connect.AccountLink(r.Context(), accountID,
		h.cfg.BaseURL+"/payouts/connect/refresh", h.cfg.BaseURL+"/payouts/connect/return")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirect(w, r, link)
}

// connectReturn is where onboarding sends the seller back. Stripe is asked
// how the account stands at once, rather than waiting for its
// account.updated event, and the seller told.
func (h *Handler) connectReturn(w http.ResponseWriter, r *http.Request) {
	account, ok := h.payoutAccount(w, r)
	if !ok {
		return
	}
	status := payments.Account{ID: account.AccountID, PayoutsEnabled: account.PayoutsEnabled, Details: account.Details}
	if h.accounts != nil {
		var err error
		if status, err = h.accounts.Account(r.Context(), account.AccountID); err == nil {
			err = h.store.UpdatePayoutAccount(r.Context(), account.AccountID, status.PayoutsEnabled, status.Details, h.now())
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.sessions.Put(r.Context(), sessionFlash, payoutsFlash(status))
	redirect(w, r, "/payouts")
}

// payoutAccount loads the signed-in seller's payout account. One who has
// none yet is sent to the payouts page, which offers to make one.
func (h *Handler) payoutAccount(w http.ResponseWriter, r *http.Request) (store.PayoutAccount, bool) {
	account, err := h.store.PayoutAccount(r.Context(), currentUser(r).ID)
	if errors.Is(err, store.ErrNotFound) {
		redirect(w, r, "/payouts")
		return account, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return account, false
	}
	return account, true
}

// payoutsFlash tells a seller back from onboarding how their account stands.
func payoutsFlash(a payments.Account) string {
	switch {
	case a.PayoutsEnabled && a.Details != "":
		return "Payouts are on: your sales are paid to your " + a.Details + " once released."
	case a.PayoutsEnabled:
		return "Payouts are on: your sales are paid to your account once released."
	case len(a.Due) > 0:
		return "Payouts are not on yet: Stripe still needs " + duePhrase(a.Due) + ". Choose Get paid to continue."
	default:
		return "Payouts are not on yet. Choose Get paid to finish setting up your payout account."
	}
}

// duePhrase says in words what Stripe's requirements (field paths such as
// "individual.dob.day") ask for: "a bank account and details about you".
func duePhrase(due []string) string {
	var phrases []string
	for _, field := range due {
		var phrase string
		switch prefix, _, _ := strings.Cut(field, "."); prefix {
		case "external_account":
			phrase = "a bank account"
		case "tos_acceptance":
			phrase = "your acceptance of its terms"
		case "business_profile", "business_type", "company":
			phrase = "details about your business"
		case "individual", "representative", "owners", "directors", "executives":
			phrase = "details about you"
		default:
			if strings.HasPrefix(prefix, "person_") {
				phrase = "details about you"
			} else {
				phrase = "more details"
			}
		}
		if !slices.Contains(phrases, phrase) {
			phrases = append(phrases, phrase)
		}
	}
	if len(phrases) == 1 {
		return phrases[0]
	}
	return strings.Join(phrases[:len(phrases)-1], ", ") + " and " + phrases[len(phrases)-1]
}

// builtinOnboardingPage is the built-in stand-in's onboarding, where a
// seller gives the bank account payouts go to.
type builtinOnboardingPage struct {
	Page
	AccountID string
	Form      BankAccountForm
}

// BankAccountForm is the built-in onboarding's form.
type BankAccountForm struct {
	Holder string
	Number string // an IBAN or an account number
	Errors BankAccountErrors
}

// BankAccountErrors are the messages beside the form's fields.
type BankAccountErrors struct {
	Holder, Number string
}

// validate checks the form and returns the last four characters of the
// account number, all that is kept of it.
func (f *BankAccountForm) validate() (last4 string) {
	holder := strings.TrimSpace(f.Holder)
	if holder == "" || utf8.RuneCountInString(holder) > 100 || strings.ContainsFunc(holder, unicode.IsControl) {
		f.Errors.Holder = "Enter the account holder's name, in at most 100 characters."
	}
	number := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, f.Number))
	switch {
	case isIBAN(number):
		if !ibanChecks(number) {
			f.Errors.Number = "This IBAN's check digits do not match: look for a typing mistake."
		}
	case len(number) < 4 || len(number) > 17 || strings.Trim(number, "0123456789") != "":
		f.Errors.Number = "Enter an IBAN, like DE89 3704 0044 0532 0130 00, or an account number of 4 to 17 digits."
	}
	if f.Errors != (BankAccountErrors{}) {
		return ""
	}
	return number[len(number)-4:]
}

// isIBAN reports whether s is shaped as an IBAN: a country code, two check
// digits, then 11 to 30 letters and digits (ISO 13616).
func isIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i, c := range []byte(s) {
		letter, digit := c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
		if (i < 2 && !letter) || (i >= 2 && i < 4 && !digit) || (!letter && !digit) {
			return false
		}
	}
	return true
}

// ibanChecks runs an IBAN's mod-97 check: with its first four characters
// moved to the end and its letters read as numbers (A is 10), it leaves 1.
func ibanChecks(iban string) bool {
	var digits strings.Builder
	for _, c := range []byte(iban[4:] + iban[:4]) {
		if c >= 'A' {
			digits.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			digits.WriteByte(c)
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	return n.Mod(n, big.NewInt(97)).Int64() == 1
}

// builtinAccount loads the built-in account the request names, which must be
// the signed-in seller's own; anything else is 404.
func (h *Handler) builtinAccount(w http.ResponseWriter, r *http.Request, accountID string) (store.PayoutAccount, bool) {
	account, err := h.store.PayoutAccount(r.Context(), currentUser(r).ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && account.AccountID != accountID) {
		h.notFound(w, r)
		return account, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return account, false
	}
	return account, true
}

func (h *Handler) builtinOnboardingPage(w http.ResponseWriter, r *http.Request) {
	account, ok := h.builtinAccount(w, r, r.URL.Query().Get("account"))
	if !ok {
		return
	}
	noStore(w)
	// As Stripe's test-mode onboarding offers test details, the stand-in,
	// where no money moves, comes filled in with a test account: one click
	// shows the whole flow.
	h.render(w, r, http.StatusOK, templates.PayoutsBuiltinOnboarding,
		builtinOnboardingPage{Page: h.page(r, "Get paid"), AccountID: account.AccountID,
			Form: BankAccountForm{Holder: "Test account holder", Number: builtinTestIBAN}})
}

// builtinTestIBAN is the test IBAN the built-in onboarding offers (the
// well-known example of a German IBAN, whose check digits are right).
const builtinTestIBAN = "DE89 3704 0044 0532 0130 00"

// builtinOnboard records the bank account a seller gave the built-in
// onboarding: it signs the account.updated event Stripe would send and hands
// it to the Connect webhook's own code.
func (h *Handler) builtinOnboard(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	account, ok := h.builtinAccount(w, r, r.PostFormValue("account"))
	if !ok {
		return
	}
	p := builtinOnboardingPage{Page: h.page(r, "Get paid"), AccountID: account.AccountID,
		Form: BankAccountForm{Holder: r.PostFormValue("holder"), Number: r.PostFormValue("number")}}
	last4 := p.Form.validate()
	if last4 == "" {
		noStore(w)
		h.render(w, r, http.StatusUnprocessableEntity, templates.PayoutsBuiltinOnboarding, p)
		return
	}
	payload, signature, err := h.builtin.AccountUpdatedEvent(account.AccountID, last4, h.cfg.StripeConnectWebhookSecret, h.now())
	if err == nil {
		err = h.receiveStripeEvent(r.Context(), h.connectEvents, payload, signature)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, "Payout account saved. "+
		payoutsFlash(payments.Account{PayoutsEnabled: true, Details: payments.BankAccountDetails(last4)}))
	redirect(w, r, "/payouts")
}
