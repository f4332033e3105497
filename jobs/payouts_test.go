package jobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// moneyMoves is the built-in payment stand-in, keeping every movement of
// money it is asked for, in order ("transfer transfer:sale:1", ...).
type moneyMoves struct {
	*payments.Builtin
	mu    sync.Mutex
	moves []string
}

func (m *moneyMoves) add(move string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.moves = append(m.moves, move)
}

func (m *moneyMoves) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.moves...)
}

func (m *moneyMoves) count(prefix string) int {
	n := 0
	for _, move := range m.all() {
		if strings.HasPrefix(move, prefix) {
			n++
		}
	}
	return n
}

func (m *moneyMoves) Transfer(ctx context.Context, t payments.Transfer) (string, error) {
	m.add("transfer " + t.IdempotencyKey)
	return m.Builtin.Transfer(ctx, t)
}

func (m *moneyMoves) ReverseTransfer(ctx context.Context, r payments.Reversal) (string, error) {
	m.add("reversal " + r.IdempotencyKey)
	return m.Builtin.ReverseTransfer(ctx, r)
}

func (m *moneyMoves) RefundPart(ctx context.Context, pi string, amount int64, key string) (string, error) {
	m.add("refund " + key)
	return m.Builtin.RefundPart(ctx, pi, amount, key)
}

// payoutWorld is a store with River working its jobs on a test clock, a
// seller and a buyer, and the payment stand-in that records the money moved.
type payoutWorld struct {
	t      *testing.T
	db     *store.DB
	st     *store.Store
	clock  *testClock
	money  *moneyMoves
	client *river.Client[*sql.Tx]
	seller store.User
	buyer  store.User
	admin  store.User
}

// 5% of 5,000 is 250: each ticket nets its seller 4,750.
const (
	payoutDelay = 48 * time.Hour
	ticketPrice = 5000
	ticketFee   = 250
	ticketNet   = 4750
)

func newPayoutWorld(t *testing.T, dialect store.Dialect) *payoutWorld {
	ctx := t.Context()
	db := storetest.Open(t, dialect)
	st, err := store.New(db, store.WithPayoutTerms(store.PayoutTerms{FeeBasisPoints: 500, Delay: payoutDelay, Undated: 14 * 24 * time.Hour}))
	require.NoError(t, err)
	w := &payoutWorld{t: t, db: db, st: st, clock: &testClock{},
		money: &moneyMoves{Builtin: payments.NewBuiltin("http://eventhive.test", "whsec_test")}}
	w.client, err = jobs.NewClient(db.RiverDriver(), jobs.Deps{Store: st, Stripe: w.money, Now: w.clock.Now, Mail: &mailRecorder{}},
		slog.New(slog.DiscardHandler), jobs.ForTests(w.clock))
	require.NoError(t, err)
	require.NoError(t, w.client.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.client.Stop(ctx))
	})
	for _, u := range []*store.User{&w.seller, &w.buyer, &w.admin} {
		*u, err = st.CreateUser(ctx, strings.ToLower(rand8())+"@example.com", "x", w.clock.Now())
		require.NoError(t, err)
	}
	return w
}

func rand8() string { return rand.Text()[:8] }

// connect gives the seller a payout account that can be paid.
func (w *payoutWorld) connect() {
	_, err := w.st.CreatePayoutAccount(w.t.Context(), w.seller.ID, "acct_seller", w.clock.Now())
	require.NoError(w.t, err)
	require.NoError(w.t, w.st.UpdatePayoutAccount(w.t.Context(), "acct_seller", true, "bank account ending 6789", w.clock.Now()))
}

// sell lists quantity tickets for an event starting in an hour (EventHive
// passes unless files is true) and has the buyer pay for all of them.
func (w *payoutWorld) sell(quantity int, files bool) store.Order {
	ctx := w.t.Context()
	l, err := w.st.CreateListing(ctx, w.seller.ID, store.NewListing{
		Event: store.NewEvent{Name: "Gig", StartsAt: w.clock.Now().Add(time.Hour), TimeZone: "UTC", CheckinWithEventHive: !files},
		Price: ticketPrice, FaceValue: ticketPrice, Currency: "usd", Quantity: quantity,
	}, w.clock.Now())
	require.NoError(w.t, err)
	o, err := w.st.CreateOrder(ctx, w.buyer.ID, l.ID, quantity, w.clock.Now(), time.Minute)
	require.NoError(w.t, err)
	session := "cs_" + rand8()
	require.NoError(w.t, w.st.SetCheckoutSession(ctx, o.ID, w.buyer.ID, session, w.clock.Now()))
	require.NoError(w.t, w.st.RecordPayment(ctx, store.Payment{OrderID: o.ID, SessionID: session,
		PaymentIntentID: "pi_" + session, Amount: int64(quantity) * ticketPrice, Currency: "usd"}, w.clock.Now()))
	return o
}

// sales waits until every sale of the order is in one of states (River
// works in the background), and returns them.
func (w *payoutWorld) sales(orderID int64, states ...store.SaleState) []store.Sale {
	w.t.Helper()
	var sales []store.Sale
	require.Eventually(w.t, func() bool {
		var err error
		sales, err = w.st.OrderSales(w.t.Context(), orderID)
		require.NoError(w.t, err)
		for _, a := range sales {
			if !containsState(states, a.State) {
				return false
			}
		}
		return len(sales) > 0
	}, 20*time.Second, 20*time.Millisecond, "sales of order %d never %v", orderID, states)
	return sales
}

func containsState(states []store.SaleState, s store.SaleState) bool {
	for _, state := range states {
		if state == s {
			return true
		}
	}
	return false
}

// jobsDone waits until River has no job left to run now.
func (w *payoutWorld) jobsDone() {
	w.t.Helper()
	require.Eventually(w.t, func() bool {
		var n int
		require.NoError(w.t, w.db.Read.QueryRowContext(w.t.Context(), `
			SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable')
			   OR (state = 'scheduled' AND scheduled_at <= $1)`, w.clock.Now()).Scan(&n))
		return n == 0
	}, 20*time.Second, 20*time.Millisecond, "jobs still to run")
}

// balanced checks that the ledger adds up and has no discrepancy.
func (w *payoutWorld) balanced() []store.LedgerBalance {
	w.t.Helper()
	balances, err := w.st.LedgerBalances(w.t.Context())
	require.NoError(w.t, err)
	for _, b := range balances {
		assert.True(w.t, b.Balanced(), "%s: states add up to %d, payments %d", b.Currency, b.Gross, b.Paid)
	}
	wrong, err := w.st.LedgerDiscrepancies(w.t.Context())
	require.NoError(w.t, err)
	assert.Empty(w.t, wrong)
	return balances
}

func byState(b store.LedgerBalance, state store.SaleState) store.LedgerTotal {
	for _, t := range b.ByState {
		if t.State == state {
			return t
		}
	}
	return store.LedgerTotal{}
}

// TestSellerIsPaidOnceAfterTheEvent sells two tickets, and crosses the
// event's start and the payout delay: each sale's net goes to the seller in
// exactly one transfer, the seller is told, and the ledger adds up at every
// step. Running the transfer jobs again moves nothing more.
func TestSellerIsPaidOnceAfterTheEvent(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			w := newPayoutWorld(t, dialect)
			w.connect()
			o := w.sell(2, true)
			err := w.st.AttachFile(t.Context(), w.seller.ID, o.ListingID, 1, []byte("%PDF-1 a"), "application/pdf", w.clock.Now())
			require.NoError(t, err)
			err = w.st.AttachFile(t.Context(), w.seller.ID, o.ListingID, 2, []byte("%PDF-1 b"), "application/pdf", w.clock.Now())
			require.NoError(t, err)

			held := w.sales(o.ID, store.SaleHeld)
			require.Len(t, held, 2)
			for _, a := range held {
				assert.Equal(t, []int64{ticketPrice, ticketFee, ticketNet}, []int64{a.Gross, a.Fee, a.Net})
				assert.WithinDuration(t, w.clock.Now().Add(time.Hour+payoutDelay), a.ReleaseAt, time.Minute)
			}
			b := w.balanced()
			require.Len(t, b, 1)
			assert.Equal(t, int64(2*ticketPrice), byState(b[0], store.SaleHeld).Gross)

			// The event starts; the delay has not passed: nothing moves.
			w.clock.Advance(2 * time.Hour)
			w.jobsDone()
			assert.Empty(t, w.money.all())
			w.sales(o.ID, store.SaleHeld)

			w.clock.Advance(payoutDelay)
			paid := w.sales(o.ID, store.SaleTransferred)
			w.jobsDone()
			assert.Equal(t, 2, w.money.count("transfer "))
			for _, a := range paid {
				assert.NotEmpty(t, a.TransferID)
				assert.False(t, a.TransferredAt.IsZero())
			}
			b = w.balanced()
			assert.Equal(t, store.LedgerTotal{Currency: "usd", State: store.SaleTransferred, Sales: 2,
				Gross: 2 * ticketPrice, Fee: 2 * ticketFee, Net: 2 * ticketNet}, byState(b[0], store.SaleTransferred))

			// A retried transfer job finds the transfer made.
			res, err := w.client.JobList(t.Context(), river.NewJobListParams().Kinds(store.TransferSaleArgs{}.Kind()).First(10))
			require.NoError(t, err)
			require.Len(t, res.Jobs, 2)
			for _, job := range res.Jobs {
				_, err := w.client.JobRetry(t.Context(), job.ID)
				require.NoError(t, err)
			}
			w.jobsDone()
			assert.Equal(t, 2, w.money.count("transfer "), "still one transfer per sale")

			notices := 0
			all, err := w.st.RecentMail(t.Context(), 100)
			require.NoError(t, err)
			for _, m := range all {
				if m.Kind == store.MailPayoutSent {
					notices++
				}
			}
			assert.Equal(t, 2, notices, "one payout notice per sale")
		})
	}
}

// TestReportedProblemHoldsTheTransfer reports a problem before the release:
// the release passes and nothing is transferred until the operator decides.
// Released, the seller is paid; refunded (another order), the buyer gets
// the money back and the seller never does.
func TestReportedProblemHoldsTheTransfer(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := newPayoutWorld(t, dialect)
			w.connect()
			released, refunded := w.sell(1, false), w.sell(2, false)
			for _, o := range []store.Order{released, refunded} {
				require.ErrorIs(t, w.st.ReportProblem(ctx, w.seller.ID, o.ID, "wrong", w.clock.Now()), store.ErrNotFound,
					"only the buyer reports")
				require.ErrorIs(t, w.st.ReportProblem(ctx, w.buyer.ID, o.ID, "  ", w.clock.Now()), store.ErrProblemNote)
				require.NoError(t, w.st.ReportProblem(ctx, w.buyer.ID, o.ID, "The QR code was refused at the door", w.clock.Now()))
				require.ErrorIs(t, w.st.ReportProblem(ctx, w.buyer.ID, o.ID, "again", w.clock.Now()), store.ErrProblemReported)
			}

			w.clock.Advance(time.Hour + payoutDelay + time.Minute)
			w.jobsDone()
			w.sales(released.ID, store.SaleHeld)
			w.sales(refunded.ID, store.SaleHeld)
			assert.Empty(t, w.money.all(), "a reported problem holds the money")

			require.NoError(t, w.st.DecideProblem(ctx, w.admin.ID, released.ID, store.DecisionRelease, w.clock.Now()))
			require.ErrorIs(t, w.st.DecideProblem(ctx, w.admin.ID, released.ID, store.DecisionRefund, w.clock.Now()),
				store.ErrNoOpenProblem, "decided once")
			w.sales(released.ID, store.SaleTransferred)

			require.NoError(t, w.st.DecideProblem(ctx, w.admin.ID, refunded.ID, store.DecisionRefund, w.clock.Now()))
			w.sales(refunded.ID, store.SaleRefunded)
			w.jobsDone()
			sales := w.sales(refunded.ID, store.SaleRefunded)
			for _, a := range sales {
				assert.False(t, a.RefundedAt.IsZero(), "the refund went through")
				assert.Empty(t, a.TransferID)
			}
			assert.Equal(t, 1, w.money.count("transfer "), "only the released sale")
			assert.Equal(t, 2, w.money.count("refund "))
			payments, err := w.st.PaymentsForOrder(ctx, refunded.ID)
			require.NoError(t, err)
			require.Len(t, payments, 1)
			assert.Equal(t, store.PaymentRefunded, payments[0].Status)
			assert.Equal(t, store.RefundProblem, payments[0].RefundReason)
			// Tickets that did not work are not sold again.
			l, err := w.st.Listing(ctx, refunded.ListingID, w.clock.Now())
			require.NoError(t, err)
			assert.Equal(t, 0, l.Free)
			w.balanced()

			log, err := w.st.ModerationLog(ctx, 10)
			require.NoError(t, err)
			require.Len(t, log, 2)
			assert.Equal(t, store.ActionProblemRefund, log[0].Action)
			assert.Equal(t, store.ActionProblemRelease, log[1].Action)
		})
	}
}

// TestRefundAfterTransferReversesFirst refunds an order whose sales were
// transferred: each transfer is reversed before the buyer's refund, once.
func TestRefundAfterTransferReversesFirst(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := newPayoutWorld(t, dialect)
			w.connect()
			o := w.sell(2, false)
			w.clock.Advance(time.Hour + payoutDelay + time.Minute)
			w.sales(o.ID, store.SaleTransferred)
			require.ErrorIs(t, w.st.ReportProblem(ctx, w.buyer.ID, o.ID, "too late", w.clock.Now()), store.ErrNoProblemToReport)

			require.NoError(t, w.st.RefundOrder(ctx, w.admin.ID, o.ID, w.clock.Now()))
			require.ErrorIs(t, w.st.RefundOrder(ctx, w.admin.ID, o.ID, w.clock.Now()), store.ErrNothingToRefund)
			w.sales(o.ID, store.SaleReversed)
			w.jobsDone()
			sales := w.sales(o.ID, store.SaleReversed)
			moves := w.money.all()
			for _, a := range sales {
				assert.False(t, a.ReversedAt.IsZero())
				assert.False(t, a.RefundedAt.IsZero())
				id := strconv.FormatInt(a.ID, 10)
				reversal := slices.Index(moves, "reversal reversal:sale:"+id)
				refund := slices.Index(moves, "refund refund:sale:"+id)
				require.NotEqual(t, -1, reversal, "reversed: %v", moves)
				require.NotEqual(t, -1, refund, "refunded: %v", moves)
				assert.Less(t, reversal, refund, "the reversal comes first: %v", moves)
			}
			assert.Equal(t, 2, w.money.count("reversal "))
			assert.Equal(t, 2, w.money.count("refund "))
			b := w.balanced()
			assert.Equal(t, int64(2*ticketPrice), byState(b[0], store.SaleReversed).Gross)
		})
	}
}

// TestMoneyWaitsForThePayoutAccount releases sales of a seller with no payout
// account: they wait (releasable) and are transferred once the account can be
// paid. A sale whose e-ticket file never came is refunded instead.
func TestMoneyWaitsForThePayoutAccount(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := newPayoutWorld(t, dialect)
			withFile := w.sell(1, true)
			err := w.st.AttachFile(ctx, w.seller.ID, withFile.ListingID, 1, []byte("%PDF-1 c"), "application/pdf", w.clock.Now())
			require.NoError(t, err)
			noFile := w.sell(1, true)

			w.clock.Advance(time.Hour + payoutDelay + time.Minute)
			w.sales(withFile.ID, store.SaleReleasable)
			w.sales(noFile.ID, store.SaleRefunded)
			w.jobsDone()
			assert.Equal(t, 0, w.money.count("transfer "))
			assert.Equal(t, 1, w.money.count("refund "))

			_, err = w.st.CreatePayoutAccount(ctx, w.seller.ID, "acct_seller", w.clock.Now())
			require.NoError(t, err)
			require.NoError(t, w.st.UpdatePayoutAccount(ctx, "acct_seller", false, "", w.clock.Now()))
			w.jobsDone()
			w.sales(withFile.ID, store.SaleReleasable)
			require.NoError(t, w.st.UpdatePayoutAccount(ctx, "acct_seller", true, "bank account ending 6789", w.clock.Now()))
			w.sales(withFile.ID, store.SaleTransferred)
			w.jobsDone()
			assert.Equal(t, 1, w.money.count("transfer "))
			w.balanced()
		})
	}
}

// TestSuspendedSellerIsNotPaid suspends a seller before their sales are
// released: the money waits, even when their payout account is enabled again,
// and goes to them once an operator reinstates them. A sale of a seller still
// suspended can be refunded to its buyer instead.
func TestSuspendedSellerIsNotPaid(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := newPayoutWorld(t, dialect)
			w.connect()
			kept, refunded := w.sell(1, false), w.sell(1, false)
			_, err := w.st.SuspendUser(ctx, w.admin.ID, w.seller.ID, "selling tickets twice", w.clock.Now())
			require.NoError(t, err)

			w.clock.Advance(time.Hour + payoutDelay + time.Minute)
			w.sales(kept.ID, store.SaleReleasable)
			w.sales(refunded.ID, store.SaleReleasable)
			require.NoError(t, w.st.UpdatePayoutAccount(ctx, "acct_seller", true, "bank account ending 6789", w.clock.Now()))
			w.jobsDone()
			w.sales(kept.ID, store.SaleReleasable)
			assert.Equal(t, 0, w.money.count("transfer "), "no money to a suspended seller")
			w.balanced()

			require.NoError(t, w.st.RefundOrder(ctx, w.admin.ID, refunded.ID, w.clock.Now()))
			w.sales(refunded.ID, store.SaleRefunded)
			require.NoError(t, w.st.ReinstateUser(ctx, w.admin.ID, w.seller.ID, w.clock.Now()))
			w.sales(kept.ID, store.SaleTransferred)
			w.jobsDone()
			assert.Equal(t, 1, w.money.count("transfer "))
			assert.Equal(t, 1, w.money.count("refund "))
			w.balanced()
		})
	}
}

// TestPostponedEventPostponesThePayout moves an event a week later after its
// tickets sold: the release follows the new start.
func TestPostponedEventPostponesThePayout(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := newPayoutWorld(t, dialect)
			w.connect()
			o := w.sell(1, false)
			l, err := w.st.Listing(ctx, o.ListingID, w.clock.Now())
			require.NoError(t, err)
			later := l.Event.StartsAt.Add(7 * 24 * time.Hour)
			_, err = w.st.UpdateEvent(ctx, w.admin.ID, l.Event.ID, store.NewEvent{Name: "Gig", StartsAt: later, TimeZone: "UTC",
				CheckinWithEventHive: true}, w.clock.Now())
			require.NoError(t, err)

			w.clock.Advance(time.Hour + payoutDelay + time.Minute)
			w.jobsDone()
			held := w.sales(o.ID, store.SaleHeld)
			assert.True(t, held[0].ReleaseAt.Equal(later.Add(payoutDelay)), "released at %s", held[0].ReleaseAt)
			assert.Empty(t, w.money.all())

			w.clock.Advance(7 * 24 * time.Hour)
			w.sales(o.ID, store.SaleTransferred)
		})
	}
}
