package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/riverqueue/river"
)

// GroupCommit runs write transactions several in one (see the package
// comment). SQLite has one write connection; handing it from one caller's
// goroutine to the next costs more than many a transaction, so instead one
// goroutine runs every write waiting, batch after batch, while any wait.
type GroupCommit struct {
	db *sql.DB
	// jobs inserts the River jobs of a batch's writes.
	jobs *river.Client[*sql.Tx]

	mu      sync.Mutex
	pending []*pendingWrite // waiting for a batch, oldest first
	writing bool            // the goroutine running batches is under way
}

// Write is one write: it runs its statements in tx with ctx and returns the
// River jobs to insert with it, which are inserted only if it returns nil.
type Write func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error)

// maxBatch bounds the writes in one transaction, so that a batch's commit
// is never far off for the first write in it.
const maxBatch = 64

type pendingWrite struct {
	ctx   context.Context
	write Write
	done  chan error // receives the outcome once
}

// NewGroupCommit returns a GroupCommit whose transactions run on db and
// whose jobs are inserted with jobs.
func NewGroupCommit(db *sql.DB, jobs *river.Client[*sql.Tx]) *GroupCommit {
	return &GroupCommit{db: db, jobs: jobs}
}

// Run runs w in a transaction, alone or in a batch, and returns its outcome
// once that transaction has committed or failed. Waiting ends with ctx; once
// its batch has begun, w runs to its end with ctx's values but without its
// cancellation.
func (g *GroupCommit) Run(ctx context.Context, w Write) error {
	p := &pendingWrite{ctx: context.WithoutCancel(ctx), write: w, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, p)
	start := !g.writing
	g.writing = true
	g.mu.Unlock()
	if start {
		go g.write()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		if g.remove(p) {
			return ctx.Err()
		}
		return <-p.done // its batch is under way
	}
}

// write runs batches until no write waits. Running them all on one
// goroutine keeps the write connection busy: when a caller's goroutine ran
// its batch and then handed the next to another caller, that caller was
// scheduled only after the goroutines of the batch just done had answered
// their requests, and the connection stood idle 1 to 12 ms between batches
// under (a)'s load (BENCHMARKS.md, 5 Dec).
func (g *GroupCommit) write() {
	for g.runBatch() {
	}
}

// remove takes p off the pending list, reporting whether it was still there.
func (g *GroupCommit) remove(p *pendingWrite) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.pending {
		if q == p {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return true
		}
	}
	return false
}

// take removes up to maxBatch of the oldest pending writes. When none wait,
// the writing goroutine is done: the next Run starts another.
func (g *GroupCommit) take() []*pendingWrite {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.writing = false
		return nil
	}
	n := min(len(g.pending), maxBatch)
	batch := make([]*pendingWrite, n)
	copy(batch, g.pending)
	g.pending = append(g.pending[:0], g.pending[n:]...)
	return batch
}

// runBatch runs the pending writes in one transaction and tells each its
// outcome, and reports whether there were any.
func (g *GroupCommit) runBatch() bool {
	batch := g.take()
	if len(batch) == 0 {
		return false
	}
	results := g.commit(batch)
	for i, p := range batch {
		p.done <- results[i]
	}
	return true
}

// commit runs the batch's writes in one transaction and returns the outcome
// of each: its own error, or the transaction's when the transaction failed.
func (g *GroupCommit) commit(batch []*pendingWrite) []error {
	results := make([]error, len(batch))
	failAll := func(err error) []error {
		for i := range results {
			results[i] = errors.Join(results[i], err)
		}
		return results
	}
	// The batch's own context: its writes belong to many callers.
	ctx := context.Background()
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return failAll(fmt.Errorf("begin: %w", err))
	}
	var jobs []river.InsertManyParams
	for i, p := range batch {
		if len(batch) == 1 {
			// A write alone needs no savepoint.
			var own []river.InsertManyParams
			if own, results[i] = call(p, tx); results[i] != nil {
				_ = tx.Rollback()
				return results
			}
			jobs = own
			break
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batched_write`); err != nil {
			_ = tx.Rollback()
			return failAll(fmt.Errorf("savepoint: %w", err))
		}
		var own []river.InsertManyParams
		if own, results[i] = call(p, tx); results[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batched_write`); err != nil {
				_ = tx.Rollback()
				return failAll(fmt.Errorf("roll back to savepoint: %w", err))
			}
		} else {
			jobs = append(jobs, own...)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batched_write`); err != nil {
			_ = tx.Rollback()
			return failAll(fmt.Errorf("release savepoint: %w", err))
		}
	}
	if len(jobs) > 0 {
		if _, err := g.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
			_ = tx.Rollback()
			return failAll(fmt.Errorf("insert jobs: %w", err))
		}
	}
	if err := tx.Commit(); err != nil {
		return failAll(fmt.Errorf("commit: %w", err))
	}
	return results
}

// call runs one write, turning a panic into its error so that the batch's
// other writes go on.
func call(p *pendingWrite, tx *sql.Tx) (jobs []river.InsertManyParams, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in a write: %v\n%s", v, debug.Stack())
		}
	}()
	return p.write(p.ctx, tx)
}
