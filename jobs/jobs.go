// Package jobs holds EventHive's background work as River job args and
// workers. The store inserts jobs in the same transaction as the data they
// belong to; the workers call back into the store through the small
// interfaces declared here, which keeps this package free of SQL.
package jobs

import (
	"time"

	"github.com/riverqueue/river"
)

// Workers returns the River workers for every job kind.
func Workers(orders OrderExpirer, now func() time.Time) *river.Workers {
	workers := river.NewWorkers()
	river.AddWorker(workers, &ExpireOrderWorker{Orders: orders, Now: now})
	return workers
}
