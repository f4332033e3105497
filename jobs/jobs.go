// Package jobs holds EventHive's background work as River job args and
// workers. The store inserts jobs in the same transaction as the data they
// belong to; the workers call back into the store through the small
// interfaces declared here, which keeps this package free of SQL.
package jobs

import (
	"database/sql"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Deps is what the workers need.
type Deps struct {
	Orders OrderExpirer
	Now    func() time.Time
}

// NewClient returns a River client that works every EventHive job. It polls
// for work every 100 ms, so a job due now starts within about that long.
func NewClient(driver riverdriver.Driver[*sql.Tx], deps Deps, log *slog.Logger) (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &ExpireOrderWorker{Orders: deps.Orders, Now: deps.Now})
	return river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers:           workers,
		FetchPollInterval: 100 * time.Millisecond,
		Logger:            log,
	})
}
