// Package jobs holds EventHive's background work as River workers. The store
// inserts jobs in the same transaction as the data they belong to, so their
// args are the store's (store.ExpireOrderArgs and the like); the workers call
// back into the store and Stripe through the small interfaces declared here,
// which keeps this package free of SQL and of HTTP.
package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

// Store is what the workers need from the database.
type Store interface {
	// ExpireOrder cancels the order if it is still pending and its hold has
	// ended at now, and releases its ticket. It returns the order's checkout
	// session, if any, so that it can be expired too. For an order whose
	// hold has not ended it changes nothing and returns when the hold ends.
	ExpireOrder(ctx context.Context, orderID int64, now time.Time) (endsAt time.Time, checkoutSessionID string, err error)

	// StripeEvent returns the payload of a stored webhook event.
	StripeEvent(ctx context.Context, id string) ([]byte, error)
	// MarkStripeEventProcessed records that an event's work is done.
	MarkStripeEventProcessed(ctx context.Context, id string, now time.Time) error

	// RecordPayment records a payment once per checkout session, whatever
	// the repeats: it pays its order, or, when the order cannot have the
	// ticket, records the payment as to be refunded and inserts the refund
	// job in the same transaction.
	RecordPayment(ctx context.Context, p store.Payment, now time.Time) error
	// MarkPaymentRefunded records that a refund went through.
	MarkPaymentRefunded(ctx context.Context, paymentIntentID string, now time.Time) error
	// RecordRefund records a charge's refunds, in full or in part, made by
	// the app or in Stripe's dashboard; refunded is the total so far. A full
	// refund puts the ticket the payment bought back on sale. It returns the
	// order and the ticket whose pages changed (0 for none), and ErrNotFound
	// for a payment intent with no payment recorded.
	RecordRefund(ctx context.Context, paymentIntentID string, refunded int64, full bool, now time.Time) (orderID, ticketID int64, err error)

	// Event finds an event, for the job at its start.
	Event(ctx context.Context, id int64) (store.Event, error)
	// EventListingIDs lists every listing of an event, whose pages change
	// when its sales close.
	EventListingIDs(ctx context.Context, eventID int64) ([]int64, error)

	// MailToSend returns a message of the outbox and counts an attempt to
	// send it; MarkMailSent records that it went.
	MailToSend(ctx context.Context, id int64) (store.OutboxMail, error)
	MarkMailSent(ctx context.Context, id int64, now time.Time) error

	// ReleaseSales releases an order's due sales and returns when its next
	// sale is due (zero if none).
	ReleaseSales(ctx context.Context, orderID int64, now time.Time) error
	// TransferToMake, ReversalToMake and RefundToMake return a sale's next
	// movement of money, or store.ErrNoPayoutStep once it is made or no
	// longer wanted; RecordTransfer, RecordReversal and RecordSaleRefund
	// record it once made.
	TransferToMake(ctx context.Context, saleID int64) (store.PayoutTransfer, error)
	RecordTransfer(ctx context.Context, saleID int64, transferID string, now time.Time) error
	ReversalToMake(ctx context.Context, saleID int64) (store.PayoutReversal, error)
	RecordReversal(ctx context.Context, saleID int64, reversalID string, now time.Time) error
	RefundToMake(ctx context.Context, saleID int64) (store.SaleRefund, error)
	RecordSaleRefund(ctx context.Context, saleID int64, reference string, now time.Time) (orderID, listingID int64, err error)

	// UpdatePayoutAccount records whether payouts to a connected account
	// are enabled, and its details; enabling them starts the transfers of
	// the seller's sales waiting for it. ErrNotFound: no seller has it.
	UpdatePayoutAccount(ctx context.Context, accountID string, enabled bool, details string, now time.Time) error
}

// Stripe is what the workers need from the payment provider.
type Stripe interface {
	// ExpireCheckout ends a checkout session so it can no longer be paid.
	// If the buyer already paid, it returns that payment instead.
	ExpireCheckout(ctx context.Context, sessionID string) (*payments.Payment, error)
	// Refund refunds a payment in full; the key makes repeats harmless.
	Refund(ctx context.Context, paymentIntentID, idempotencyKey string) error
	// RefundPart refunds part of a payment; the key makes repeats harmless.
	RefundPart(ctx context.Context, paymentIntentID string, amount int64, idempotencyKey string) (string, error)
	// Transfer sends money to a seller's connected account, and
	// ReverseTransfer takes it back; their keys make repeats harmless.
	Transfer(ctx context.Context, t payments.Transfer) (string, error)
	ReverseTransfer(ctx context.Context, r payments.Reversal) (string, error)
}

// Publisher tells open pages that tickets or orders changed (see package
// live). Publish runs after the change has committed and never fails the job.
type Publisher interface {
	Publish(e live.Event)
}

// Deps is what the workers need.
type Deps struct {
	Store  Store
	Stripe Stripe
	Now    func() time.Time
	// Live hears of every order the workers expire, pay or refund, and of
	// every listing whose sales close at its event's start; nil tells
	// nobody.
	Live Publisher
	// Mail sends the outbox's messages; nil writes them to NewClient's log
	// (mail.LogSender).
	Mail mail.Sender
	// BaseURL is the app's absolute URL (BASE_URL), which prefixes the
	// links of the messages sent.
	BaseURL string
}

// publish tells open pages about e, if anyone listens.
func (d Deps) publish(e live.Event) {
	if d.Live != nil {
		d.Live.Publish(e)
	}
}

// recordPayment records a payment Stripe reported.
func (d Deps) recordPayment(ctx context.Context, p payments.Payment) error {
	return d.Store.RecordPayment(ctx, store.Payment{
		OrderID:         p.OrderID,
		SessionID:       p.SessionID,
		PaymentIntentID: p.PaymentIntentID,
		Amount:          p.Amount,
		Currency:        p.Currency,
	}, d.Now())
}

// maxWorkers is how many jobs run at once. Jobs spend most of their time
// waiting for the database (or Stripe), and are cheap goroutines meanwhile.
const maxWorkers = 100

// NewClient returns a River client that works every EventHive job. It polls
// for work every 100 ms, so a job due now starts within about that long.
//
// Every job is short (a transaction, perhaps one Stripe call), so a job still
// marked running after a minute belongs to a process that died: River's
// rescuer then retries it, and since every job's effect is idempotent, the
// retry finishes the work without doing any of it twice.
func NewClient(driver riverdriver.Driver[*sql.Tx], deps Deps, log *slog.Logger, opts ...Option) (*river.Client[*sql.Tx], error) {
	if deps.Mail == nil {
		deps.Mail = mail.LogSender{Log: log}
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &ExpireOrderWorker{deps: deps})
	river.AddWorker(workers, &ProcessStripeEventWorker{deps: deps, log: log})
	river.AddWorker(workers, &RefundPaymentWorker{deps: deps})
	river.AddWorker(workers, &CloseSalesWorker{deps: deps})
	river.AddWorker(workers, &SendMailWorker{deps: deps})
	river.AddWorker(workers, &ReleaseSalesWorker{deps: deps})
	river.AddWorker(workers, &TransferSaleWorker{deps: deps})
	river.AddWorker(workers, &ReverseTransferWorker{deps: deps})
	river.AddWorker(workers, &RefundSaleWorker{deps: deps})
	config := &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers: workers,
		// A full fetch is followed by the next one as soon as a worker is
		// free and FetchCooldown has passed: a short cooldown and many
		// workers let the holds of a rush, which end together, be recorded
		// together rather than a few at a time.
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    100 * time.Millisecond,
		JobTimeout:           30 * time.Second,
		RescueStuckJobsAfter: time.Minute,
		Logger:               log,
	}
	for _, opt := range opts {
		opt(config)
	}
	return river.NewClient(driver, config)
}

// Option changes the River client that NewClient returns.
type Option func(*river.Config)

// ForTests sets River up for a test: it takes the time from clock, in its own
// timing and in what it writes and compares in the database, instead of the
// system's and the database's, so a test that moves clock (and gives
// deps.Now the same clock) makes a job scheduled for the end of a hold due;
// and its maintenance starts without River's random delay of up to a second
// (river.Config.TestOnly).
func ForTests(clock rivertype.TimeGenerator) Option {
	return func(c *river.Config) {
		c.Test.Time = clock
		c.TestOnly = true
	}
}
