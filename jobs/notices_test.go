package jobs_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// mailRecorder keeps the messages sent.
type mailRecorder struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (r *mailRecorder) Send(_ context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return nil
}

func (r *mailRecorder) to(addr string) []mail.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found []mail.Message
	for _, m := range r.sent {
		if m.To == addr {
			found = append(found, m)
		}
	}
	return found
}

// TestPaidOrderSendsOneReceipt records the payment of an order four times,
// as Stripe's redelivery may, and runs the send jobs: the buyer gets one
// receipt linking to the order under BASE_URL, the seller one sold notice.
func TestPaidOrderSendsOneReceipt(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, dialect)
			st, err := store.New(db)
			require.NoError(t, err)
			clock := &testClock{}
			sent := &mailRecorder{}
			client, err := jobs.NewClient(db.RiverDriver(),
				jobs.Deps{Store: st, Now: clock.Now, Mail: sent, BaseURL: "https://tickets.example"},
				slog.New(slog.DiscardHandler), jobs.ForTests(clock))
			require.NoError(t, err)

			seller, err := st.CreateUser(ctx, "seller@example.com", "x", clock.Now())
			require.NoError(t, err)
			buyer, err := st.CreateUser(ctx, "buyer@example.com", "x", clock.Now())
			require.NoError(t, err)
			l, err := st.CreateListing(ctx, seller.ID, store.Single("Night Show", 4000, "eur"), clock.Now())
			require.NoError(t, err)
			o, err := st.CreateOrder(ctx, buyer.ID, l.ID, 1, clock.Now(), time.Hour)
			require.NoError(t, err)
			require.NoError(t, st.SetCheckoutSession(ctx, o.ID, buyer.ID, "cs_1", clock.Now()))
			for range 4 {
				require.NoError(t, st.RecordPayment(ctx, store.Payment{OrderID: o.ID, SessionID: "cs_1",
					PaymentIntentID: "pi_1", Amount: 4000, Currency: "eur"}, clock.Now()))
			}

			require.NoError(t, client.Start(ctx))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, client.Stop(ctx))
			})
			for _, to := range []string{"buyer@example.com", "seller@example.com"} {
				waitFor(t, client, sendJob(t, client, outboxTo(t, st, to).ID).ID, rivertype.JobStateCompleted)
			}

			receipts := sent.to("buyer@example.com")
			require.Len(t, receipts, 1)
			require.Equal(t, "Your tickets for Night Show", receipts[0].Subject)
			require.Contains(t, receipts[0].Text, "Paid: 40.00 EUR")
			require.Contains(t, receipts[0].Text, "https://tickets.example/orders/"+strconv.FormatInt(o.ID, 10)+"\n")
			require.Contains(t, receipts[0].HTML, `href="https://tickets.example/orders/`+strconv.FormatInt(o.ID, 10)+`"`)
			notices := sent.to("seller@example.com")
			require.Len(t, notices, 1)
			require.Contains(t, notices[0].Text, "You will be paid after the event.")
		})
	}
}
