package handlers

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/eventhive/eventhive/static"
)

// Routes returns the whole route table. extra adds routes behind the same
// middleware as the pages people use; the benchmark (bench/) adds a handler
// that does nothing this way, to measure the router and middleware alone.
func (h *Handler) Routes(extra ...func(chi.Router)) http.Handler {
	r := chi.NewRouter()
	// GetHead answers HEAD with the GET route's headers; net/http drops
	// the body.
	r.Use(requestID, h.metrics.Middleware, h.logRequests, h.recoverPanics, securityHeaders, limitBodies, middleware.GetHead)

	// Machine-facing routes: no session, no forgery check. The webhook is
	// authenticated by its signature.
	r.Get("/healthz", h.healthz)
	r.Handle("/static/*", static.Handler())
	r.Post("/webhooks/stripe", h.stripeWebhook)
	r.Post("/webhooks/stripe/connect", h.stripeConnectWebhook)
	r.Get("/.well-known/eventhive-pass-key", h.passKey)

	// Everything people use in a browser: sessions, the signed-in user, and
	// protection against cross-site request forgery for every state-changing
	// request.
	r.Group(func(r chi.Router) {
		r.Use(http.NewCrossOriginProtection().Handler, h.prefetchUser, h.sessions.LoadAndSave, h.loadUser)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(h.methodNotAllowed)

		r.Get("/", h.home)
		r.Get("/live", h.liveListings)
		r.Get("/signup", h.signupPage)
		r.Post("/signup", h.signup)
		r.Get("/signin", h.signinPage)
		r.Post("/signin", h.signin)
		r.Post("/signout", h.signout)
		r.Get("/password/forgot", h.forgotPasswordPage)
		r.Post("/password/forgot", h.forgotPassword)
		r.Get("/password/reset/{token}", h.resetPasswordPage)
		r.Post("/password/reset/{token}", h.resetPassword)
		r.Get("/account/verify/{token}", h.verifyEmail)
		r.Get("/tickets/{id}", h.showTicket)
		r.Get("/events/{id}", h.showEvent)
		r.Get("/events/live", h.homeLive)
		r.Get("/events/{id}/live", h.eventLive)
		r.Get("/tickets/{id}/live", h.ticketLive)
		// E-ticket downloads answer 404 to anyone but their reader, signed
		// out included.
		r.Get("/tickets/{id}/files/{n}", h.listingFile)
		r.Get("/orders/{id}/tickets/{n}/file", h.orderFile)
		r.Get("/passes/{code}", h.showPass)
		r.Route("/admin", h.adminRoutes)
		// The links in alert messages work signed out; a mail client's
		// one-click POST has no session.
		r.Get("/alerts/unsubscribe/{token}", h.confirmUnsubscribe)
		r.Post("/alerts/unsubscribe/{token}", h.unsubscribe)

		r.Group(func(r chi.Router) {
			r.Use(h.requireUser)
			r.Post("/signout/everywhere", h.signoutEverywhere)
			r.Get("/account/password", h.accountPasswordPage)
			r.Post("/account/password", h.changePassword)
			r.Post("/account/verify/resend", h.resendVerification)
			r.Get("/tickets/new", h.newTicketPage)
			r.Get("/events/picker", h.eventPicker)
			r.Get("/my/tickets", h.myTickets)
			r.Post("/tickets", h.createTicket)
			r.Get("/tickets/{id}/edit", h.editTicketPage)
			r.Post("/tickets/{id}", h.updateTicket)
			r.Post("/tickets/{id}/withdraw", h.withdrawTicket)
			r.Post("/tickets/{id}/relist", h.relistTicket)
			r.Post("/tickets/{id}/files/{n}", h.attachFile)
			r.Get("/my/tickets/{ticketID}/sell", h.resaleForm)
			r.Post("/my/tickets/{ticketID}/sell", h.resell)
			r.Post("/orders", h.createOrder)
			r.Get("/orders", h.listOrders)
			r.Get("/orders/{id}", h.showOrder)
			r.Get("/orders/{id}/live", h.orderLive)
			r.Get("/orders/{id}/cancellation", h.confirmCancel)
			r.Post("/orders/{id}/cancel", h.cancelOrder)
			r.Post("/orders/{id}/pay", h.payOrder)
			r.Post("/orders/{id}/extend", h.extendOrder)
			r.Get("/payments", h.listPayments)
			r.Get("/payouts", h.payouts)
			r.Post("/orders/{id}/report", h.reportProblem)
			r.Get("/events/{id}/checkin", h.showDoor)
			r.Post("/events/{id}/checkin", h.checkIn)
			r.Get("/events/{id}/checkin/live", h.checkinLive)
			r.Post("/events/{id}/checkin/helpers", h.addCheckinHelper)
			r.Post("/events/{id}/checkin/helpers/remove", h.removeCheckinHelper)
			r.Post("/events/{id}/alerts", h.createAlert)
			r.Get("/alerts", h.listAlerts)
			r.Post("/alerts/{id}/delete", h.deleteAlert)
			r.Post("/payouts/connect", h.connectAccount)
			r.Get("/payouts/connect/return", h.connectReturn)
			r.Get("/payouts/connect/refresh", h.connectRefresh)
			if h.builtin != nil {
				r.Get("/checkout/{session}", h.checkoutPage)
				r.Post("/checkout/{session}/pay", h.checkoutPay)
				r.Get("/payouts/connect/builtin", h.builtinOnboardingPage)
				r.Post("/payouts/connect/builtin", h.builtinOnboard)
			}
		})
		for _, add := range extra {
			add(r)
		}
	})
	return r
}

// contentSecurityPolicy allows only the app's own scripts, styles and forms.
// The one inline style allowed is the site's own CSS, which a first visit's
// page carries (see inlineCSS), by its hash. base.css draws a select's
// arrow with a data: image; forms may lead to Stripe Checkout, which the Pay
// form redirects to, and to Stripe Connect's onboarding, which the Get paid
// form redirects to (browsers hold a form's redirects to form-action too).
var contentSecurityPolicy = "default-src 'self'; style-src 'self' " + static.StylesheetCSP() + "; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
	"form-action 'self' https://checkout.stripe.com https://connect.stripe.com"

// maxBodyBytes bounds the body of every request, except the webhook's
// (maxWebhookBytes), e-ticket uploads' (maxUploadBytes) and problem
// reports' (maxReportBytes). The form handlers set their own limit too.
const maxBodyBytes = maxFormBytes

// limitBodies makes reading more than the route's limit of a request body
// fail, so that no handler (nor the riverui API) reads an unbounded body.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBodyBytes)
		switch {
		case r.URL.Path == "/webhooks/stripe" || r.URL.Path == "/webhooks/stripe/connect":
			limit = maxWebhookBytes
		case isUpload(r):
			limit = maxUploadBytes
		case isReport(r):
			limit = maxReportBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if err := h.store.Ping(r.Context()); err != nil {
		h.log.ErrorContext(r.Context(), "health check", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
