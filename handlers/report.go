package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// maxReportBytes bounds the body of the report form: a note of
// store.MaxProblemNote characters of four bytes each, percent-encoded, and
// room for the rest.
const maxReportBytes = store.MaxProblemNote*4*3 + 1<<10

// isReport reports whether r posts the report form of an order.
func isReport(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/orders/") && strings.HasSuffix(r.URL.Path, "/report")
}

// guarantee is what the order page shows of the buyer guarantee: until the
// seller is paid, the buyer may report a problem, which holds the money
// until EventHive decides.
type guarantee struct {
	OrderID int64
	// HeldUntil is when the order's money is released to the seller, while
	// it is still held; zero once it is not.
	HeldUntil  time.Time
	ReportedAt time.Time // zero: no problem reported
	Decision   string    // store.DecisionRefund or DecisionRelease; empty until decided
	DecidedAt  time.Time

	// The form, shown again when it was refused.
	Note      string
	NoteError string // beside the note
	Error     string // why the report was refused
}

// CanReport reports whether the buyer may report a problem now.
func (g guarantee) CanReport() bool { return g.ReportedAt.IsZero() && !g.HeldUntil.IsZero() }

// Reported reports whether the buyer reported a problem.
func (g guarantee) Reported() bool { return !g.ReportedAt.IsZero() }

// Decided reports whether EventHive decided on the problem reported.
func (g guarantee) Decided() bool { return !g.DecidedAt.IsZero() }

// Refund reports whether EventHive decided to refund the buyer.
func (g guarantee) Refund() bool { return g.Decision == store.DecisionRefund }

// Shown reports whether the order page has anything to say of it.
func (g guarantee) Shown() bool {
	return g.Reported() || g.CanReport() || g.Error != "" || g.NoteError != ""
}

// MaxNote is the longest note the form takes, in characters.
func (g guarantee) MaxNote() int { return store.MaxProblemNote }

// guaranteeOf reads the guarantee of an order from its sales at now; nil
// when the order has none (it was never paid).
func guaranteeOf(orderID int64, sales []store.Sale, now time.Time) *guarantee {
	if len(sales) == 0 {
		return nil
	}
	g := &guarantee{OrderID: orderID}
	for _, a := range sales {
		if !a.ProblemReportedAt.IsZero() {
			g.ReportedAt, g.Decision, g.DecidedAt = a.ProblemReportedAt, a.ProblemDecision, a.ProblemDecidedAt
		}
		// As store.ReportProblem counts them: a sale held and not yet due.
		if a.State == store.SaleHeld && a.ReleaseAt.After(now) && a.ReleaseAt.After(g.HeldUntil) {
			g.HeldUntil = a.ReleaseAt
		}
	}
	return g
}

// noteProblem says what is wrong with the note of a problem, or returns "".
// Unlike a one-line field it may break lines; the rest is checked as any
// text is (textProblem).
func noteProblem(note string) string {
	flat := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, strings.TrimSpace(note))
	if flat == "" {
		return "Say what went wrong: EventHive needs it to decide."
	}
	return textProblem("note", flat, store.MaxProblemNote)
}

// reportProblem records the problem the buyer of an order reports with it,
// which holds the seller's money until EventHive decides. Someone else's
// order is 404; a bad note 422; a problem reported already, or money
// released already, 409. Nothing changes on a refusal.
func (h *Handler) reportProblem(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok || !h.parseFormUpTo(w, r, maxReportBytes) {
		return
	}
	note := r.PostFormValue("note")
	if problem := noteProblem(note); problem != "" {
		h.refuseReport(w, r, o, note, refusal{status: http.StatusUnprocessableEntity, message: problem})
		return
	}
	if err := h.store.ReportProblem(r.Context(), o.BuyerID, o.ID, note, h.now()); err != nil {
		ref, known := refusalFor(reporting, facts{err: err, now: h.now(), order: o})
		if !known {
			h.storeError(w, r, err)
			return
		}
		h.refuseReport(w, r, o, note, ref)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash,
		"Your problem is reported. EventHive holds the seller's money until it decides.")
	redirect(w, r, orderPath(o.ID)+"#guarantee")
}

// refuseReport shows the order page again with the report form refused: a
// bad note beside the field, anything else above the form.
func (h *Handler) refuseReport(w http.ResponseWriter, r *http.Request, o store.Order, note string, ref refusal) {
	data, err := h.orderPage(r, o)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Guarantee == nil {
		// An order never paid has nothing to report on.
		data.Guarantee = &guarantee{OrderID: o.ID}
	}
	data.Guarantee.Note = note
	if ref.status == http.StatusUnprocessableEntity {
		data.Guarantee.NoteError = ref.message
	} else {
		data.Guarantee.Error = ref.message
	}
	h.renderMain(w, r, ref.status, templates.Order, data)
}

// orderGuarantee reads the guarantee of a paid (or since refunded) order.
func (h *Handler) orderGuarantee(r *http.Request, o store.Order, now time.Time) (*guarantee, error) {
	sales, err := h.store.OrderSales(r.Context(), o.ID)
	if err != nil {
		return nil, err
	}
	return guaranteeOf(o.ID, sales, now), nil
}
