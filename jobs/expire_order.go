package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ExpireOrderArgs ends the hold of a pending order at its expires_at.
type ExpireOrderArgs struct {
	OrderID int64 `json:"order_id"`
}

// Kind names the job in River's tables.
func (ExpireOrderArgs) Kind() string { return "expire_order" }

// OrderExpirer cancels orders whose hold has run out.
type OrderExpirer interface {
	// ExpireOrder cancels the order if it is still pending and its hold has
	// ended at now, and releases its ticket. For an order still pending whose
	// hold has not ended it changes nothing and returns when the hold ends.
	ExpireOrder(ctx context.Context, orderID int64, now time.Time) (endsAt time.Time, err error)
}

// ExpireOrderWorker records the cancellation of an order whose hold ran out.
// Readers already treat such an order as expired; this makes it durable.
type ExpireOrderWorker struct {
	river.WorkerDefaults[ExpireOrderArgs]
	Orders OrderExpirer
	Now    func() time.Time
}

// Work expires the order, or snoozes until the hold ends if River ran the job
// early (its scheduler and the database clock may differ slightly).
func (w *ExpireOrderWorker) Work(ctx context.Context, job *river.Job[ExpireOrderArgs]) error {
	now := w.Now()
	endsAt, err := w.Orders.ExpireOrder(ctx, job.Args.OrderID, now)
	if err != nil {
		return err
	}
	if endsAt.After(now) {
		return river.JobSnooze(endsAt.Sub(now))
	}
	return nil
}
