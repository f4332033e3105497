package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
)

// CloseSalesWorker does the side effects of an event's start. Sales close
// at the start at read time whether or not this has run; this tells the open
// pages, which would otherwise show the event's listings until they reload.
type CloseSalesWorker struct {
	river.WorkerDefaults[store.CloseSalesArgs]
	deps Deps
}

// Work snoozes until the event's start if the job came early (or the event
// was moved later), and otherwise tells the live pages of each of the
// event's listings that it ended.
func (w *CloseSalesWorker) Work(ctx context.Context, job *river.Job[store.CloseSalesArgs]) error {
	e, err := w.deps.Store.Event(ctx, job.Args.EventID)
	if err != nil {
		return err
	}
	now := w.deps.Now()
	if e.StartsAt.IsZero() {
		return nil // the date is to be announced again; a new job comes with the date
	}
	if now.Before(e.StartsAt) {
		return river.JobSnooze(e.StartsAt.Sub(now))
	}
	listings, err := w.deps.Store.EventListingIDs(ctx, e.ID)
	if err != nil {
		return err
	}
	for _, id := range listings {
		w.deps.publish(live.Event{TicketID: id})
	}
	return nil
}
