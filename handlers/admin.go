package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

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

// adminPayments lists payments with their orders, in the view named by
// ?show=; an unknown view is 404.
func (h *Handler) adminPayments(w http.ResponseWriter, r *http.Request) {
	show := r.URL.Query().Get("show")
	i := slices.IndexFunc(paymentFilters, func(f paymentFilter) bool { return f.Key == show })
	if i < 0 {
		h.notFound(w, r)
		return
	}
	records, err := h.store.PaymentRecords(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	links := paymentFilterLinks(records, show)
	shown := []store.PaymentRecord{}
	for _, rec := range records {
		if paymentFilters[i].match(rec) {
			shown = append(shown, rec)
		}
	}
	h.render(w, r, http.StatusOK, templates.AdminPayments, adminPaymentsPage{
		Page:     h.page(r, "Payments: "+paymentFilters[i].Label),
		Filter:   links[i],
		Filters:  links,
		Payments: shown,
	})
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
