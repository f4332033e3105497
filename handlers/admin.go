package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"riverqueue.com/riverui"

	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// jobsUIPath is where River's UI is served. riverui takes the full path as
// its prefix, so the mount in adminRoutes and the prefix must agree.
const jobsUIPath = "/admin/jobs"

// NewJobsUI returns River's web UI (riverqueue.com/riverui) over the jobs in
// driver's database, for Config.JobsUI: the handlers serve it at /admin/jobs
// to admins only, as riverui has no access control of its own. Its
// background services (cached job counts) run until ctx is done.
func NewJobsUI(ctx context.Context, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) (http.Handler, error) {
	// An insert-only client: it works no jobs, but riverui reads, cancels,
	// retries and deletes jobs through it.
	client, err := river.NewClient(driver, &river.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("jobs UI client: %w", err)
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    log,
		Prefix:    jobsUIPath,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs UI: %w", err)
	}
	if err := ui.Start(ctx); err != nil {
		return nil, fmt.Errorf("start jobs UI: %w", err)
	}
	return ui, nil
}

// adminRoutes is the operator console under /admin. Only the accounts named
// in Config.AdminEmails get past requireAdmin; everyone else gets the
// ordinary 404 page for every URL under /admin, so the console's existence
// is not revealed.
func (h *Handler) adminRoutes(r chi.Router) {
	r.Use(h.requireAdmin)
	r.Get("/", h.adminIndex)
	r.Get("/payments", h.adminPayments)
	r.Post("/payments/orders/{id}/decide", h.adminDecideProblem)
	r.Post("/payments/orders/{id}/refund", h.adminRefundOrder)
	r.Get("/mail", h.adminMail)
	h.moderationRoutes(r)
	jobs := h.cfg.JobsUI
	if jobs == nil {
		jobs = http.HandlerFunc(h.jobsUIMissing)
	}
	r.Mount("/jobs", withJobsUIPolicy(jobs))
}

// jobsUIContentSecurityPolicy is the app's policy with inline styles allowed,
// which riverui uses to place its menus, tooltips and notices. Scripts stay
// limited to the app's own files.
const jobsUIContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// withJobsUIPolicy serves River's UI under its own content security policy.
func withJobsUIPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", jobsUIContentSecurityPolicy)
		next.ServeHTTP(w, r)
	})
}

// requireAdmin lets admins through and answers 404 to anyone else, signed
// in or not.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.isAdmin(currentUser(r)) {
			h.notFound(w, r)
			return
		}
		// Payments name buyers: keep admin pages out of every cache.
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// isAdmin reports whether u is an operator: signed in with an email that
// AdminEmails lists exactly (both are in store.NormalizeEmail's form), on an
// account whose owner opened the link mailed to the address, or that the
// operator confirmed on the server (eventhive admin confirm) for a first
// operator with no mail set up. Being first to sign up with a listed address
// is not enough.
func (h *Handler) isAdmin(u *store.User) bool {
	return u != nil && (!u.EmailVerifiedAt.IsZero() || !u.AdminConfirmedAt.IsZero()) &&
		slices.Contains(h.cfg.AdminEmails, u.Email)
}

func (h *Handler) jobsUIMissing(w http.ResponseWriter, r *http.Request) {
	h.renderError(w, r, http.StatusNotFound, "Jobs unavailable", "River's UI is not running in this process.")
}

// paymentFilter is one view of the payments page: its query value, its name
// and which payments it shows.
type paymentFilter struct {
	Key         string
	Label       string
	Description string
	match       func(store.PaymentRecord) bool
}

// paymentFilters are the views of the payments page, "all" first.
var paymentFilters = []paymentFilter{
	{Key: "", Label: "All", Description: "Every payment Stripe reported, newest first.",
		match: func(store.PaymentRecord) bool { return true }},
	{Key: "late", Label: "Late", Description: "Payments recorded after their order's hold had ended.",
		match: store.PaymentRecord.Late},
	{Key: "refunds", Label: "Refunds", Description: "Payments being refunded or refunded, with the reason.",
		match: store.PaymentRecord.Refund},
	{Key: "mismatched", Label: "Mismatched", Description: "Payments that name no order of ours, or whose amount or currency differs from their order's.",
		match: store.PaymentRecord.Mismatched},
	{Key: "unsettled", Label: "Kept without a sale", Description: "Succeeded payments, not being refunded, whose order is not paid. There should be none.",
		match: store.PaymentRecord.Unsettled},
}

// paymentFilterLink is a view of the payments page as the page links to it.
type paymentFilterLink struct {
	paymentFilter
	URL     string
	Count   int
	Current bool
}

type adminIndexPage struct {
	Page
	Filters []paymentFilterLink
	JobsUI  bool
}

type adminPaymentsPage struct {
	Page
	Filter   paymentFilterLink
	Filters  []paymentFilterLink
	Payments []store.PaymentRecord

	Ledger        []store.LedgerBalance
	Discrepancies []store.LedgerDiscrepancy
	Problems      []adminProblem

	// OrderID is the order the page is about (?order=), or 0 for all.
	OrderID int64
	// ConfirmRefund asks the operator to confirm refunding OrderID.
	ConfirmRefund bool
	// Error says why the operator's last action on OrderID was refused.
	Error string
}

// adminProblem is the problem a buyer reported with an order: the order's
// sales the report held, in one line.
type adminProblem struct {
	store.Sale       // the order's first sale the report held
	Tickets    int   // how many tickets the report held
	Total      int64 // their gross
}

// Refunded reports whether the operator decided to refund the buyer.
func (p adminProblem) Refunded() bool { return p.ProblemDecision == store.DecisionRefund }

// adminProblemsShown is how many reported sales the payments page reads.
const adminProblemsShown = 500

// adminProblemsOf groups reported sales by order, in the order given.
func adminProblemsOf(sales []store.Sale) []adminProblem {
	var problems []adminProblem
	index := map[int64]int{}
	for _, a := range sales {
		i, ok := index[a.OrderID]
		if !ok {
			i = len(problems)
			index[a.OrderID] = i
			problems = append(problems, adminProblem{Sale: a})
		}
		problems[i].Tickets++
		problems[i].Total += a.Gross
	}
	return problems
}

// paymentFilterLinks counts the payments in every view; current is the
// query value of the view being shown.
func paymentFilterLinks(records []store.PaymentRecord, current string) []paymentFilterLink {
	links := make([]paymentFilterLink, len(paymentFilters))
	for i, f := range paymentFilters {
		links[i] = paymentFilterLink{paymentFilter: f, URL: "/admin/payments", Current: f.Key == current}
		if f.Key != "" {
			links[i].URL += "?show=" + f.Key
		}
		for _, r := range records {
			if f.match(r) {
				links[i].Count++
			}
		}
	}
	return links
}

func (h *Handler) adminIndex(w http.ResponseWriter, r *http.Request) {
	records, err := h.store.PaymentRecords(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Admin, adminIndexPage{
		Page:    h.page(r, "Operator console"),
		Filters: paymentFilterLinks(records, ""),
		JobsUI:  h.cfg.JobsUI != nil,
	})
}

// adminPayments shows the ledger's balances and any sale that does not add
// up, the problems buyers reported, and the payments with their orders in
// the view named by ?show=; ?order= narrows problems and payments to one
// order, and ?confirm=refund asks to confirm refunding it. An unknown view
// or order number is 404.
func (h *Handler) adminPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var orderID int64
	if q.Has("order") {
		if orderID = positiveID(q.Get("order")); orderID == 0 {
			h.notFound(w, r)
			return
		}
	}
	data, ok := h.adminPaymentsPage(w, r, q.Get("show"), orderID)
	if !ok {
		return
	}
	data.ConfirmRefund = orderID != 0 && q.Get("confirm") == "refund"
	h.render(w, r, http.StatusOK, templates.AdminPayments, data)
}

// adminPaymentsPage reads the payments page in the view show, narrowed to
// orderID unless it is 0. It reports false, having answered, when show is
// unknown or reading fails.
func (h *Handler) adminPaymentsPage(w http.ResponseWriter, r *http.Request, show string, orderID int64) (adminPaymentsPage, bool) {
	i := slices.IndexFunc(paymentFilters, func(f paymentFilter) bool { return f.Key == show })
	if i < 0 {
		h.notFound(w, r)
		return adminPaymentsPage{}, false
	}
	ctx := r.Context()
	records, err := h.store.PaymentRecords(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return adminPaymentsPage{}, false
	}
	balances, err := h.store.LedgerBalances(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return adminPaymentsPage{}, false
	}
	discrepancies, err := h.store.LedgerDiscrepancies(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return adminPaymentsPage{}, false
	}
	var reported []store.Sale
	if orderID != 0 {
		// The order's own sales: it may be older than the latest reports.
		reported, err = h.store.OrderSales(ctx, orderID)
		reported = slices.DeleteFunc(reported, func(a store.Sale) bool { return a.ProblemReportedAt.IsZero() })
	} else {
		reported, err = h.store.ProblemSales(ctx, adminProblemsShown)
	}
	if err != nil {
		h.serverError(w, r, err)
		return adminPaymentsPage{}, false
	}
	links := paymentFilterLinks(records, show) // of every order: they lead to the views of every order
	title := "Payments: " + paymentFilters[i].Label
	if orderID != 0 {
		title = fmt.Sprintf("Payments: order #%d", orderID)
		records = slices.DeleteFunc(records, func(rec store.PaymentRecord) bool { return !rec.HasOrder || rec.Order.ID != orderID })
	}
	data := adminPaymentsPage{
		Page:          h.page(r, title),
		Filter:        links[i],
		Filters:       links,
		Payments:      []store.PaymentRecord{},
		Discrepancies: discrepancies,
		Problems:      adminProblemsOf(reported),
		OrderID:       orderID,
	}
	data.Ledger = balances
	for _, rec := range records {
		if paymentFilters[i].match(rec) {
			data.Payments = append(data.Payments, rec)
		}
	}
	return data, true
}

// adminPaymentsPath is the payments page about one order.
func adminPaymentsPath(orderID int64) string {
	return "/admin/payments?order=" + strconv.FormatInt(orderID, 10)
}

// adminDecideProblem records the operator's decision on the problem the
// buyer of the order in the URL reported: decision=refund refunds the
// buyer, decision=release lets the money go to the seller.
func (h *Handler) adminDecideProblem(w http.ResponseWriter, r *http.Request) {
	orderID, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	decision := r.PostFormValue("decision")
	if decision != store.DecisionRefund && decision != store.DecisionRelease {
		h.refusePayoutAction(w, r, orderID, refusal{status: http.StatusUnprocessableEntity,
			message: "Choose to refund the buyer or to release the money to the seller."})
		return
	}
	if err := h.store.DecideProblem(r.Context(), currentUser(r).ID, orderID, decision, h.now()); err != nil {
		h.refusePayoutError(w, r, orderID, err)
		return
	}
	flash := fmt.Sprintf("Order #%d: the money is released to the seller.", orderID)
	if decision == store.DecisionRefund {
		flash = fmt.Sprintf("Order #%d: the buyer is being refunded; the seller is not paid.", orderID)
	}
	h.sessions.Put(r.Context(), sessionFlash, flash)
	redirect(w, r, adminPaymentsPath(orderID))
}

// adminRefundOrder refunds the order in the URL in full, once the operator
// confirmed it: money already paid out to its seller is taken back first.
func (h *Handler) adminRefundOrder(w http.ResponseWriter, r *http.Request) {
	orderID, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	if err := h.store.RefundOrder(r.Context(), currentUser(r).ID, orderID, h.now()); err != nil {
		h.refusePayoutError(w, r, orderID, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash,
		fmt.Sprintf("Order #%d is being refunded in full; money already paid out to the seller is taken back first.", orderID))
	redirect(w, r, adminPaymentsPath(orderID))
}

// refusePayoutError answers an error of a decision or a refund: the
// payments page about the order with the message when the table knows it,
// else storeError's answer.
func (h *Handler) refusePayoutError(w http.ResponseWriter, r *http.Request, orderID int64, err error) {
	ref, ok := refusalFor(deciding, facts{err: err, now: h.now()})
	if !ok {
		h.storeError(w, r, err)
		return
	}
	h.refusePayoutAction(w, r, orderID, ref)
}

// refusePayoutAction shows the payments page about the order with why the
// operator's action was refused.
func (h *Handler) refusePayoutAction(w http.ResponseWriter, r *http.Request, orderID int64, ref refusal) {
	data, ok := h.adminPaymentsPage(w, r, "", orderID)
	if !ok {
		return
	}
	data.Error = ref.message
	h.renderMain(w, r, ref.status, templates.AdminPayments, data)
}

// adminMailShown is how many messages the mail page shows.
const adminMailShown = 100

// adminMailRow is a message of the outbox as the mail page shows it.
type adminMailRow struct {
	store.OutboxMail
	Subject, Text string
	// Problem says why the message cannot be rendered, if it cannot.
	Problem string
}

type adminMailPage struct {
	Page
	Mail   []adminMailRow
	Logged bool // no SMTP server: messages go to the log
}

// adminMail shows the outbox's latest messages as they are sent: subject,
// recipient, text and whether they went.
func (h *Handler) adminMail(w http.ResponseWriter, r *http.Request) {
	queued, err := h.store.RecentMail(r.Context(), adminMailShown)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	rows := make([]adminMailRow, len(queued))
	for i, m := range queued {
		rows[i].OutboxMail = m
		content, err := mail.Render(m.Kind, m.Data)
		if err != nil {
			rows[i].Problem = "This message cannot be rendered: " + err.Error()
			continue
		}
		rows[i].Subject, rows[i].Text = content.Subject, content.Text
	}
	h.render(w, r, http.StatusOK, templates.AdminMail, adminMailPage{
		Page: h.page(r, "Mail"), Mail: rows, Logged: h.cfg.MailToLog,
	})
}
