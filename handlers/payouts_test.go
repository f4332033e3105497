package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// payoutBundle is a bundle whose jobs pay sellers through a fake Stripe,
// with adminEmail an operator.
func payoutBundle(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	return setupWith(t, dialect, bundleOpts{stripe: newFakeStripe(),
		configure: func(cfg *handlers.Config) { cfg.AdminEmails = []string{adminEmail} }})
}

// soldTicket is a ticket of an event a week away, with EventHive passes,
// sold for 30.00 and paid through the built-in checkout.
type soldTicket struct {
	seller, buyer *http.Client
	listing       store.Listing
	order         int64
}

// sellAndPay lists a ticket as the seller, buys it as the buyer and pays
// for it.
func (b *testBundle) sellAndPay(t *testing.T, seller, buyer *http.Client, name string) soldTicket {
	t.Helper()
	// EventHive passes: the tickets of an event whose e-ticket files are
	// missing are refunded at release.
	l := b.sellOK(t, seller, with(b.newEvent(t, name, 7*24*time.Hour), "checkin_with_eventhive", "1"))
	order := b.buyOK(t, buyer, l.ID)
	b.payOK(t, buyer, order)
	return soldTicket{seller: seller, buyer: buyer, listing: l, order: order}
}

// orderSales reads an order's sales.
func (b *testBundle) orderSales(t *testing.T, orderID int64) []store.Sale {
	t.Helper()
	sales, err := b.store.OrderSales(t.Context(), orderID)
	require.NoError(t, err)
	return sales
}

// release moves the clock past the release of an order's sales and
// releases them, as their job does.
func (b *testBundle) release(t *testing.T, orderID int64) {
	t.Helper()
	sales := b.orderSales(t, orderID)
	require.NotEmpty(t, sales)
	if d := sales[0].ReleaseAt.Sub(b.clock.Now()); d >= 0 {
		b.clock.Advance(d + time.Second)
	}
	err := b.store.ReleaseSales(t.Context(), orderID, b.clock.Now())
	require.NoError(t, err)
}

func TestPayoutsPage(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := payoutBundle(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		sellerID := b.userID(t, "seller@example.com")

		t.Run("SignedOutIsSentToSignIn", func(t *testing.T) {
			requireRedirect(t, b.get(t, newClient(t), "/payouts"), signInTo("/payouts"))
		})

		t.Run("NoSalesYet", func(t *testing.T) {
			res := b.get(t, seller, "/payouts")
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			require.Contains(t, requireElement(t, res.HTML, "#no-sales").Text(), "You have not sold any tickets yet")
			require.Contains(t, requireElement(t, res.HTML, "#payout-account-none").Text(), "connect a payout account")
			requireElementText(t, res.HTML, `form[action="/payouts/connect"][method="post"] button`, "Get paid")
			require.Contains(t, text(res.HTML), "Selling never waits for it: what you earn waits in your balance")
			requireElementText(t, res.HTML, "#payout-fee",
				"EventHive keeps 5% of each ticket's price, rounded to the nearest cent; the rest is yours.")
			require.Contains(t, text(res.HTML), "until 2 days after the event starts (14 days after the payment")
			requireNoElement(t, res.HTML, "#payout-sales")
			requireElement(t, res.HTML, `nav[aria-label="Main"] a[href="/payouts"][aria-current="page"]`)
		})

		sold := b.sellAndPay(t, seller, buyer, "Opera gala")
		sale := b.orderSales(t, sold.order)[0]

		t.Run("HeldUntilTheRelease", func(t *testing.T) {
			res := b.get(t, seller, "/payouts")
			requireStatus(t, res, http.StatusOK)
			requireNoElement(t, res.HTML, "#no-sales")
			row := requireElement(t, res.HTML, "#sale-"+itoa(sale.ID))
			require.Equal(t, []string{sale.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC"), "Opera gala", "#" + itoa(sale.TicketID),
				"$30.00", "$1.50", "$28.50", "Held until " + sale.ReleaseAt.UTC().Format("2 Jan 2006 15:04 UTC")},
				texts(row.Find("td")))
			require.Equal(t, []string{"Held until after the event", "1", "$30.00", "$1.50", "$28.50"},
				texts(requireElement(t, res.HTML, "#total-held-usd").Find("td")))
			requireNoElement(t, res.HTML, "#total-paid-usd", "no stage without a sale")
		})

		t.Run("InTheSellersLocale", func(t *testing.T) {
			res := b.get(t, seller, "/payouts", withHeader("Accept-Language", "de-DE"))
			requireStatus(t, res, http.StatusOK)
			de := money.Match("de-DE")
			require.Equal(t, de.Price(2850, "usd"), textOf(requireElement(t, res.HTML, "#sale-"+itoa(sale.ID)+" td:nth-child(6)")))
			require.Equal(t, de.Price(2850, "usd"), textOf(requireElement(t, res.HTML, "#total-held-usd td:nth-child(5)")))
			require.NotEqual(t, "$28.50", de.Price(2850, "usd"), "the locale writes money its own way")
		})

		t.Run("SomeoneElseSeesNoneOfIt", func(t *testing.T) {
			res := b.get(t, buyer, "/payouts")
			requireStatus(t, res, http.StatusOK)
			requireElement(t, res.HTML, "#no-sales")
			require.NotContains(t, res.HTML, "Opera gala")
		})

		t.Run("WaitingForTheAccount", func(t *testing.T) {
			b.release(t, sold.order)
			res := b.get(t, seller, "/payouts")
			requireElementText(t, res.HTML, "#sale-"+itoa(sale.ID)+" td.sale-status", "Ready: waiting for your payout account")
			require.Equal(t, "$28.50", textOf(requireElement(t, res.HTML, "#total-waiting-usd td:nth-child(5)")))
			requireNoElement(t, res.HTML, "#total-held-usd")
		})

		t.Run("AccountNotFinished", func(t *testing.T) {
			_, err := b.store.CreatePayoutAccount(t.Context(), sellerID, "acct_seller", b.clock.Now())
			require.NoError(t, err)
			res := b.get(t, seller, "/payouts")
			require.Contains(t, requireElement(t, res.HTML, "#payout-account-unfinished").Text(), "finish setting it up")
			requireElementText(t, res.HTML, `form[action="/payouts/connect"] button`, "Finish setting up")
		})

		t.Run("PaidOutOnceTheAccountIsReady", func(t *testing.T) {
			require.NoError(t, b.store.UpdatePayoutAccount(t.Context(), "acct_seller", true, "bank account ending 6789", b.clock.Now()))
			require.Eventually(t, func() bool { return b.orderSales(t, sold.order)[0].State == store.SaleTransferred },
				10*time.Second, 20*time.Millisecond)
			paid := b.orderSales(t, sold.order)[0]
			res := b.get(t, seller, "/payouts")
			requireElementText(t, res.HTML, "#payout-account-ready strong", "bank account ending 6789")
			require.Contains(t, textOf(requireElement(t, res.HTML, "#payout-account-ready")), "Payouts go to bank account ending 6789")
			requireNoElement(t, res.HTML, `form[action="/payouts/connect"]`)
			requireElementText(t, res.HTML, "#sale-"+itoa(sale.ID)+" td.sale-status",
				"Paid out on "+paid.TransferredAt.UTC().Format("2 Jan 2006 15:04 UTC"))
			require.Equal(t, []string{"Paid out", "1", "$30.00", "$1.50", "$28.50"},
				texts(requireElement(t, res.HTML, "#total-paid-usd").Find("td")))
			requireNoElement(t, res.HTML, "#total-waiting-usd")
		})

		t.Run("TakenBackWhenRefundedAfterThePayout", func(t *testing.T) {
			b.signUp(t, adminEmail)
			require.NoError(t, b.store.RefundOrder(t.Context(), b.userID(t, adminEmail), sold.order, b.clock.Now()))
			require.Eventually(t, func() bool { return !b.orderSales(t, sold.order)[0].RefundedAt.IsZero() },
				10*time.Second, 20*time.Millisecond)
			reversed := b.orderSales(t, sold.order)[0]
			require.Equal(t, store.SaleReversed, reversed.State)
			res := b.get(t, seller, "/payouts")
			requireElementText(t, res.HTML, "#sale-"+itoa(sale.ID)+" td.sale-status",
				"Taken back for the buyer's refund on "+reversed.ReversedAt.UTC().Format("2 Jan 2006 15:04 UTC")+" EventHive refunded the order.")
			require.Equal(t, []string{"Taken back: the buyer was refunded", "1", "$30.00", "$1.50", "$28.50"},
				texts(requireElement(t, res.HTML, "#total-reversed-usd").Find("td")))
			requireNoElement(t, res.HTML, "#total-paid-usd")
		})
	})
}

// TestPayoutsPageSaysWhyASaleWasRefunded: a ticket whose e-ticket file
// was still missing when its event started is refunded at release, and its
// seller reads why.
func TestPayoutsPageSaysWhyASaleWasRefunded(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := payoutBundle(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		l := b.sellOK(t, seller, b.newEvent(t, "Opera gala", 7*24*time.Hour)) // e-tickets, none attached
		order := b.buyOK(t, buyer, l.ID)
		b.payOK(t, buyer, order)
		b.release(t, order)
		sale := b.orderSales(t, order)[0]
		require.Equal(t, store.SaleRefunded, sale.State)

		res := b.get(t, seller, "/payouts")
		requireStatus(t, res, http.StatusOK)
		status := requireElement(t, res.HTML, "#sale-"+itoa(sale.ID)+" td.sale-status")
		require.True(t, strings.HasPrefix(textOf(status), "Refunded to the buyer"), textOf(status))
		requireElementText(t, res.HTML, "#sale-"+itoa(sale.ID)+" .refund-reason", "You had not attached its e-ticket when the event started.")
		require.Equal(t, []string{"Refunded to the buyer before you were paid", "1", "$30.00", "$1.50", "$28.50"},
			texts(requireElement(t, res.HTML, "#total-refunded-usd").Find("td")))
		requireNoElement(t, res.HTML, "#total-held-usd")
	})
}

// reportPath is where the buyer of an order reports a problem with it.
func reportPath(orderID int64) string { return "/orders/" + itoa(orderID) + "/report" }

// problemState is what the store holds of an order's problem, to check
// that a refused report changed nothing.
func (b *testBundle) problemState(t *testing.T, orderID int64) []string {
	t.Helper()
	var state []string
	for _, a := range b.orderSales(t, orderID) {
		state = append(state, string(a.State)+"|"+a.ProblemNote+"|"+a.ProblemReportedAt.String()+"|"+a.ProblemDecision)
	}
	return state
}

func TestReportProblem(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := payoutBundle(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		sold := b.sellAndPay(t, seller, buyer, "Opera gala")
		path := orderURL(sold.order)
		untouched := b.problemState(t, sold.order)

		t.Run("TheOrderPageOffersIt", func(t *testing.T) {
			res := b.get(t, buyer, path)
			requireStatus(t, res, http.StatusOK)
			held := b.orderSales(t, sold.order)[0].ReleaseAt
			require.Contains(t, requireElement(t, res.HTML, "#guarantee-terms").Text(),
				"EventHive holds the seller's money until "+held.UTC().Format("2 Jan 2006 15:04 UTC"))
			requireElementText(t, res.HTML, "#report summary", "Report a problem with this order")
			note := requireElement(t, res.HTML, `#report-form[action="`+reportPath(sold.order)+`"] textarea#note[name="note"][required]`)
			require.Equal(t, "2000", note.AttrOr("maxlength", ""))
			requireElementText(t, res.HTML, "#report-button", "Report the problem and hold the payment")

			// The order refreshes itself with it (once paid, say), keeping
			// what the buyer is typing.
			frag := b.get(t, buyer, path, htmx)
			requireStatus(t, frag, http.StatusOK)
			requireElement(t, frag.HTML, "#order #guarantee details#report[hx-preserve] textarea#note")
		})

		t.Run("NotBeforePaying", func(t *testing.T) {
			other := b.sellOK(t, seller, b.newEvent(t, "Ballet", 7*24*time.Hour))
			pending := b.buyOK(t, buyer, other.ID)
			res := b.get(t, buyer, orderURL(pending))
			requireStatus(t, res, http.StatusOK)
			requireNoElement(t, res.HTML, "#guarantee")
			refused := b.postForm(t, buyer, reportPath(pending), url.Values{"note": {"It did not work."}})
			requireStatus(t, refused, http.StatusConflict)
			require.Contains(t, requireElement(t, refused.HTML, "#report-error").Text(), "can no longer be reported")
			require.Empty(t, b.orderSales(t, pending))
		})

		t.Run("SomeoneElsesOrderIsNotFound", func(t *testing.T) {
			stranger := b.signUp(t, "stranger@example.com")
			res := b.postForm(t, stranger, reportPath(sold.order), url.Values{"note": {"It did not work."}})
			requireStatus(t, res, http.StatusNotFound)
			requireStatus(t, b.postForm(t, seller, reportPath(sold.order), url.Values{"note": {"It did not work."}}), http.StatusNotFound)
			requireStatus(t, b.postForm(t, buyer, reportPath(999999), url.Values{"note": {"It did not work."}}), http.StatusNotFound)
			signedOut := b.postForm(t, newClient(t), reportPath(sold.order), url.Values{"note": {"x"}})
			requireStatus(t, signedOut, http.StatusSeeOther)
			require.True(t, strings.HasPrefix(signedOut.location(), "/signin"), signedOut.location())
			require.Equal(t, untouched, b.problemState(t, sold.order))
		})

		t.Run("BadNotes", func(t *testing.T) {
			for _, tt := range []struct{ name, note, message string }{
				{"Empty", "", "Say what went wrong: EventHive needs it to decide."},
				{"Blank", " \n\t ", "Say what went wrong: EventHive needs it to decide."},
				{"TooLong", strings.Repeat("a", 2001), "Use at most 2000 characters."},
				{"DirectionControl", "It did not\u202e work", "The note contains invisible characters that change the direction of text. Please remove them."},
				{"NothingVisible", "\u200b\u3164", "The note has no visible characters."},
				{"ControlCharacters", "It did\x00 not work", "The note contains characters that are not valid text."},
			} {
				t.Run(tt.name, func(t *testing.T) {
					res := b.postForm(t, buyer, reportPath(sold.order), url.Values{"note": {tt.note}})
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFullPage(t, res)
					requireElementText(t, res.HTML, "#note-error", tt.message)
					note := requireElement(t, res.HTML, "textarea#note")
					require.Equal(t, "true", note.AttrOr("aria-invalid", ""))
					require.Equal(t, "note-help note-error", note.AttrOr("aria-describedby", ""))
					requireElement(t, res.HTML, "details#report[open]")
					require.Equal(t, untouched, b.problemState(t, sold.order))
				})
			}
		})

		// The longest note in a script of three bytes a character is
		// larger than other forms may be.
		long := strings.Repeat("券", 2000)

		t.Run("Reported", func(t *testing.T) {
			res := b.postForm(t, buyer, reportPath(sold.order), url.Values{"note": {long}})
			requireRedirect(t, res, path+"#guarantee")
			sales := b.orderSales(t, sold.order)
			require.Equal(t, long, sales[0].ProblemNote)
			page := b.get(t, buyer, path)
			requireStatus(t, page, http.StatusOK)
			require.Equal(t, "Your problem is reported. EventHive holds the seller's money until it decides.", requireElement(t, page.HTML, ".flash").Text())
			reported := textOf(requireElement(t, page.HTML, "#problem-reported"))
			require.Contains(t, reported, "Problem reported on "+sales[0].ProblemReportedAt.UTC().Format("2 Jan 2006 15:04 UTC"))
			require.Contains(t, reported, "EventHive is looking into it. The seller's money stays held until it decides.")
			requireNoElement(t, page.HTML, "#report-form")
		})

		t.Run("OnlyOnce", func(t *testing.T) {
			before := b.problemState(t, sold.order)
			res := b.postForm(t, buyer, reportPath(sold.order), url.Values{"note": {"Again."}})
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, "#report-error", "You have already reported a problem with this order: EventHive is looking into it.")
			require.Equal(t, before, b.problemState(t, sold.order))
		})

		t.Run("TheDecisionShows", func(t *testing.T) {
			b.signUp(t, adminEmail)
			require.NoError(t, b.store.DecideProblem(t.Context(), b.userID(t, adminEmail), sold.order, store.DecisionRelease, b.clock.Now()))
			decided := b.orderSales(t, sold.order)[0].ProblemDecidedAt
			page := b.get(t, buyer, path)
			requireElementText(t, page.HTML, "#problem-decision", "On "+decided.UTC().Format("2 Jan 2006 15:04 UTC")+
				" EventHive decided to pay the seller: the money goes to them.")
		})

		t.Run("NotOnceTheMoneyIsReleased", func(t *testing.T) {
			late := b.sellAndPay(t, seller, buyer, "Jazz night")
			b.release(t, late.order)
			page := b.get(t, buyer, orderURL(late.order))
			requireStatus(t, page, http.StatusOK)
			requireNoElement(t, page.HTML, "#report-form")
			before := b.problemState(t, late.order)
			res := b.postForm(t, buyer, reportPath(late.order), url.Values{"note": {"It did not work."}})
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, "#report-error",
				"A problem can no longer be reported here: the money for this order has already gone to the seller, or back to you.")
			require.Equal(t, before, b.problemState(t, late.order))
		})
	})
}

// orderURL is an order's page.
func orderURL(orderID int64) string { return "/orders/" + itoa(orderID) }

// ledgerState is what the store holds of every sale of some orders, to
// check that a refused action changed nothing.
func (b *testBundle) ledgerState(t *testing.T, orders ...int64) [][]string {
	t.Helper()
	var state [][]string
	for _, id := range orders {
		state = append(state, b.problemState(t, id))
	}
	state = append(state, []string{itoa(int64(b.rowCount(t, "ledger_entries"))), itoa(int64(b.rowCount(t, "moderation_actions")))})
	return state
}

func TestAdminPayouts(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := payoutBundle(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		ops := b.signUp(t, adminEmail)
		b.confirmOperator(t, adminEmail)
		reported := b.sellAndPay(t, seller, buyer, "Opera gala")
		requireRedirect(t, b.postForm(t, buyer, reportPath(reported.order), url.Values{"note": {"The <b>barcode</b> was refused at the door."}}),
			orderURL(reported.order)+"#guarantee")
		quiet := b.sellAndPay(t, seller, buyer, "Jazz night")
		decidePath := "/admin/payments/orders/" + itoa(reported.order) + "/decide"
		refundPath := "/admin/payments/orders/" + itoa(quiet.order) + "/refund"

		t.Run("LedgerAndProblems", func(t *testing.T) {
			res := b.get(t, ops, "/admin/payments")
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, []string{"held", "2", "60.00 USD", "3.00 USD", "57.00 USD"},
				texts(requireElement(t, res.HTML, "#ledger-usd-held").Find("td")))
			require.Equal(t, []string{"All states", "2", "60.00 USD", "3.00 USD", "57.00 USD"},
				texts(requireElement(t, res.HTML, "#ledger-usd-total").Find("td")))
			require.Equal(t, []string{"refunded", "0", "0.00 USD", "0.00 USD", "0.00 USD"},
				texts(requireElement(t, res.HTML, "#ledger-usd-refunded").Find("td")))
			requireElementText(t, res.HTML, "#ledger-usd-check .badge", "adds up")
			require.Contains(t, textOf(requireElement(t, res.HTML, "#ledger-usd-check")), "equals the payments recorded, 60.00 USD")
			requireElementText(t, res.HTML, "p#discrepancies", "None: every sale adds up.")

			row := requireElement(t, res.HTML, "#problem-"+itoa(reported.order))
			cells := texts(row.Find("td"))
			require.Equal(t, []string{"Opera gala", "buyer@example.com", "seller@example.com", "The <b>barcode</b> was refused at the door."},
				cells[1:5], "the note shows as text")
			form := requireElement(t, res.HTML, `#problem-`+itoa(reported.order)+` form[method="post"][action="`+decidePath+`"]`)
			require.Equal(t, []string{"Refund the buyer", "Release to the seller"}, texts(form.Find(`button[name="decision"]`)))
			require.Equal(t, []string{"refund", "release"}, form.Find("button").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }))
			requireNoElement(t, res.HTML, "#problem-"+itoa(quiet.order))

			for _, id := range []int64{reported.order, quiet.order} {
				link := requireElement(t, res.HTML, "#refund-order-"+itoa(id))
				require.Equal(t, "/admin/payments?order="+itoa(id)+"&confirm=refund#confirm-refund", link.AttrOr("href", ""))
			}
		})

		t.Run("OneOrder", func(t *testing.T) {
			res := b.get(t, ops, "/admin/payments?order="+itoa(reported.order))
			requireStatus(t, res, http.StatusOK)
			requireElementText(t, res.HTML, "h1", "Payments: order #"+itoa(reported.order))
			requireElement(t, res.HTML, "#problem-"+itoa(reported.order))
			require.Len(t, doc(res.HTML).Find(`#payments-all tbody tr`).Nodes, 1)
			requireElement(t, res.HTML, "#refund-order-"+itoa(reported.order))
			requireNoElement(t, res.HTML, "#refund-order-"+itoa(quiet.order))
			requireNoElement(t, res.HTML, "#confirm-refund")

			other := b.get(t, ops, "/admin/payments?order="+itoa(quiet.order))
			requireElementText(t, other.HTML, "#no-problems", "No problems reported for this order.")

			for _, bad := range []string{"abc", "0", "-1", ""} {
				requireStatus(t, b.get(t, ops, "/admin/payments?order="+bad), http.StatusNotFound)
			}
		})

		t.Run("ConfirmRefund", func(t *testing.T) {
			res := b.get(t, ops, "/admin/payments?order="+itoa(quiet.order)+"&confirm=refund")
			requireStatus(t, res, http.StatusOK)
			requireElementText(t, res.HTML, "#confirm-refund h2", "Refund order #"+itoa(quiet.order)+" in full?")
			requireElementText(t, res.HTML, `#confirm-refund form[method="post"][action="`+refundPath+`"] button`,
				"Yes, refund order #"+itoa(quiet.order))
		})

		t.Run("NotForOthers", func(t *testing.T) {
			before := b.ledgerState(t, reported.order, quiet.order)
			for _, c := range []*http.Client{seller, buyer, newClient(t)} {
				requireStatus(t, b.postForm(t, c, decidePath, url.Values{"decision": {"refund"}}), http.StatusNotFound)
				requireStatus(t, b.postForm(t, c, refundPath, url.Values{}), http.StatusNotFound)
				requireStatus(t, b.get(t, c, "/admin/payments?order="+itoa(quiet.order)+"&confirm=refund"), http.StatusNotFound)
			}
			require.Equal(t, before, b.ledgerState(t, reported.order, quiet.order))
		})

		t.Run("BadDecision", func(t *testing.T) {
			before := b.ledgerState(t, reported.order, quiet.order)
			for _, decision := range []string{"", "keep", "REFUND"} {
				res := b.postForm(t, ops, decidePath, url.Values{"decision": {decision}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireElementText(t, res.HTML, "#payout-action-error", "Choose to refund the buyer or to release the money to the seller.")
			}
			res := b.postForm(t, ops, "/admin/payments/orders/"+itoa(quiet.order)+"/decide", url.Values{"decision": {"release"}})
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, "#payout-action-error", "This order has no problem waiting for a decision: it was decided already.")
			require.Equal(t, before, b.ledgerState(t, reported.order, quiet.order))
		})

		t.Run("RefundTheBuyer", func(t *testing.T) {
			res := b.postForm(t, ops, decidePath, url.Values{"decision": {"refund"}})
			requireRedirect(t, res, "/admin/payments?order="+itoa(reported.order))
			require.Equal(t, store.ActionProblemRefund, b.moderationLog(t)[0].Action)
			page := b.get(t, ops, res.location())
			requireElementText(t, page.HTML, ".flash", "Order #"+itoa(reported.order)+": the buyer is being refunded; the seller is not paid.")
			require.Contains(t, textOf(requireElement(t, page.HTML, "#problem-"+itoa(reported.order))), "Refunded to the buyer")
			requireNoElement(t, page.HTML, `form[action="`+decidePath+`"]`)
			// The moderation log links to the order's payments.
			logPage := b.get(t, ops, "/admin/log")
			link := requireElement(t, logPage.HTML, `a[href="/admin/payments?order=`+itoa(reported.order)+`"]`)
			requireStatus(t, b.get(t, ops, link.AttrOr("href", "")), http.StatusOK)
			order := b.get(t, buyer, orderURL(reported.order))
			require.Contains(t, textOf(requireElement(t, order.HTML, "#problem-decision")), "EventHive decided to refund you")

			again := b.postForm(t, ops, decidePath, url.Values{"decision": {"release"}})
			requireStatus(t, again, http.StatusConflict)
			requireElementText(t, again.HTML, "#payout-action-error", "This order has no problem waiting for a decision: it was decided already.")
		})

		t.Run("RefundAnOrder", func(t *testing.T) {
			res := b.postForm(t, ops, refundPath, url.Values{})
			requireRedirect(t, res, "/admin/payments?order="+itoa(quiet.order))
			require.Equal(t, store.ActionRefund, b.moderationLog(t)[0].Action)
			require.Equal(t, store.SaleRefunded, b.orderSales(t, quiet.order)[0].State)

			again := b.postForm(t, ops, refundPath, url.Values{})
			requireStatus(t, again, http.StatusConflict)
			requireElementText(t, again.HTML, "#payout-action-error", "This order is refunded already, or its refund is under way.")
		})

		t.Run("StillAddsUp", func(t *testing.T) {
			// The refund jobs record each refund in the ledger.
			require.Eventually(t, func() bool {
				return b.order(t, quiet.order).PaymentStatus == store.PaymentRefunded &&
					b.order(t, reported.order).PaymentStatus == store.PaymentRefunded
			}, 10*time.Second, 20*time.Millisecond)
			res := b.get(t, ops, "/admin/payments")
			require.Equal(t, []string{"refunded", "2", "60.00 USD", "3.00 USD", "57.00 USD"},
				texts(requireElement(t, res.HTML, "#ledger-usd-refunded").Find("td")))
			requireElementText(t, res.HTML, "#ledger-usd-check .badge", "adds up")
			requireElementText(t, res.HTML, "p#discrepancies", "None: every sale adds up.")
			requireNoElement(t, res.HTML, "[id^=refund-order-]", "nothing left to refund")
		})

		t.Run("ShowsWhatDoesNotAddUp", func(t *testing.T) {
			// The database keeps every sale's gross = fee + net, and the
			// ledger append-only: a payment's amount is what can drift.
			sale := b.orderSales(t, quiet.order)[0]
			b.exec(t, `UPDATE payments SET amount = amount + 1 WHERE id = $1`, sale.PaymentID)
			res := b.get(t, ops, "/admin/payments")
			require.Equal(t, "Sale #"+itoa(sale.ID)+" of order #"+itoa(quiet.order)+": the sales of its payment do not add up to the amount paid",
				requireElement(t, res.HTML, "#discrepancies li").Text())
			requireElement(t, res.HTML, `#discrepancies li a[href="/admin/payments?order=`+itoa(quiet.order)+`"]`)
			requireElementText(t, res.HTML, "#ledger-usd-check .badge", "does NOT add up")
			require.Contains(t, textOf(requireElement(t, res.HTML, "#ledger-usd-check")), "differs from the payments recorded, 60.01 USD")
		})
	})
}
