package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// payoutStage is where a seller's money is, in the words of the payouts
// page: a sale's state, seen from the seller's side.
type payoutStage struct {
	Key   string // the id of its total on the page
	Label string
}

// The stages, in the order money moves through them.
var (
	stageHeld        = payoutStage{"held", "Held until after the event"}
	stageWaiting     = payoutStage{"waiting", "Ready, waiting for your payout account"}
	stageSending     = payoutStage{"sending", "On its way to you"}
	stagePaid        = payoutStage{"paid", "Paid out"}
	stageReversed    = payoutStage{"reversed", "Taken back: the buyer was refunded"}
	stageRefunded    = payoutStage{"refunded", "Refunded to the buyer before you were paid"}
	payoutStages     = []payoutStage{stageHeld, stageWaiting, stageSending, stagePaid, stageReversed, stageRefunded}
	stageOfSaleState = map[store.SaleState]payoutStage{
		store.SaleHeld:         stageHeld,
		store.SaleReleasable:   stageWaiting,
		store.SaleTransferring: stageSending,
		store.SaleTransferred:  stagePaid,
		store.SaleReversing:    stageReversed,
		store.SaleReversed:     stageReversed,
		store.SaleRefunded:     stageRefunded,
	}
)

// payoutSale is a sale as its seller sees it: what became of the money, in
// words, and the date that goes with them.
type payoutSale struct {
	store.Sale
	Status string
	// On is the date Status speaks of (zero for none): when the money is
	// released, was paid out, taken back or refunded.
	On time.Time
	// Refund says why the buyer got the money back, if they did and the
	// reason is known.
	Refund string
}

// sellerRefundReasons say to a seller why a sale was refunded: the store's
// reasons speak to the buyer.
var sellerRefundReasons = map[string]string{
	store.RefundMissingFile: "You had not attached its e-ticket when the event started.",
	store.RefundProblem:     "EventHive upheld the problem the buyer reported.",
	store.RefundByOperator:  "EventHive refunded the order.",
	store.RefundInStripe:    "EventHive refunded the payment.",
}

// payoutSaleOf words what became of a sale's money for its seller.
func payoutSaleOf(a store.Sale) payoutSale {
	s := payoutSale{Sale: a, Refund: sellerRefundReasons[a.RefundReason]}
	switch a.State {
	case store.SaleHeld:
		s.Status, s.On = "Held until", a.ReleaseAt
		if a.ProblemOpen() {
			s.Status, s.On = "Held: the buyer reported a problem on", a.ProblemReportedAt
		}
	case store.SaleReleasable:
		s.Status = "Ready: waiting for your payout account"
	case store.SaleTransferring:
		s.Status = "On its way to your payout account"
	case store.SaleTransferred:
		s.Status, s.On = "Paid out on", a.TransferredAt
	case store.SaleReversing:
		s.Status = "Being taken back: the buyer is refunded"
	case store.SaleReversed:
		s.Status, s.On = "Taken back for the buyer's refund on", a.ReversedAt
	case store.SaleRefunded:
		s.Status = "Refunded to the buyer"
		if !a.RefundedAt.IsZero() {
			s.Status, s.On = "Refunded to the buyer on", a.RefundedAt
		}
	}
	return s
}

// payoutTotal is the money of a seller's sales at one stage, in one
// currency.
type payoutTotal struct {
	payoutStage
	Currency   string
	Sales      int
	Gross, Fee int64
	Net        int64
}

// payoutTotals sums sales by currency and stage, in payoutStages' order,
// leaving out the stages without a sale.
func payoutTotals(sales []store.Sale) []payoutTotal {
	var totals []payoutTotal
	index := map[string]int{} // currency -> its first total
	for _, a := range sales {
		first, ok := index[a.Currency]
		if !ok {
			first = len(totals)
			index[a.Currency] = first
			for _, stage := range payoutStages {
				totals = append(totals, payoutTotal{payoutStage: stage, Currency: a.Currency})
			}
		}
		t := &totals[first+slices.Index(payoutStages, stageOfSaleState[a.State])]
		t.Sales++
		t.Gross += a.Gross
		t.Fee += a.Fee
		t.Net += a.Net
	}
	return slices.DeleteFunc(totals, func(t payoutTotal) bool { return t.Sales == 0 })
}

type payoutsPage struct {
	Page
	// Account is the seller's payout account; nil before onboarding.
	Account *store.PayoutAccount
	Sales   []payoutSale
	Totals  []payoutTotal
	Terms   payoutTermsText
}

// Ready reports whether payouts go to the seller's account.
func (p payoutsPage) Ready() bool { return p.Account != nil && p.Account.PayoutsEnabled }

// payoutTermsText is store.PayoutTerms in words.
type payoutTermsText struct {
	FeePercent string // "5", "2.5"
	Delay      string // after the event's start: "2 days"
	Undated    string // after the payment, for an event with no date
}

func payoutTermsTextOf(t store.PayoutTerms) payoutTermsText {
	return payoutTermsText{FeePercent: basisPointsPercent(t.FeeBasisPoints), Delay: formatDuration(t.Delay),
		Undated: formatDuration(t.Undated)}
}

// basisPointsPercent writes hundredths of a percent as a percentage without
// trailing zeros: 500 is "5", 250 "2.5", 1234 "12.34".
func basisPointsPercent(bp int64) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// formatDuration writes a length of time for people, in its largest whole
// unit, seconds rounded up: "1 minute", "90 seconds", "36 hours", "2 days".
func formatDuration(d time.Duration) string {
	unit, n := "second", int64((d+time.Second-1)/time.Second)
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		unit, n = "minute", int64(d/time.Minute)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// payouts is the seller's payouts page: their payout account, and what
// became of the money of every ticket they sold.
func (h *Handler) payouts(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	u := currentUser(r)
	data := payoutsPage{Page: h.page(r, "Payouts"), Terms: payoutTermsTextOf(h.store.PayoutTerms())}
	switch account, err := h.store.PayoutAccount(r.Context(), u.ID); {
	case err == nil:
		data.Account = &account
	case !errors.Is(err, store.ErrNotFound):
		h.serverError(w, r, err)
		return
	}
	sales, err := h.store.SellerSales(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, a := range sales {
		data.Sales = append(data.Sales, payoutSaleOf(a))
	}
	data.Totals = payoutTotals(sales)
	h.render(w, r, http.StatusOK, templates.Payouts, data)
}
