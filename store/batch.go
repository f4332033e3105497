package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/riverqueue/river"
)

// batcher runs SQLite's write transactions several in one ("group commit").
// SQLite has one write connection, so in a rush every purchase waited its
// turn for it, and handing it from one request's goroutine to the next cost
// more than many a transaction: the connection sat idle about half the time.
// Instead, whoever finds the connection free runs every write waiting at that
// moment (up to maxBatch) in one transaction, each inside a savepoint of its
// own: a write that fails is rolled back to its savepoint and changes nothing,
// the others commit together, and each caller gets its own write's outcome
// only after the commit. The River jobs of the batch's writes are inserted
// with one statement before the commit (see writeTx). A write alone runs as a
// plain transaction, so a quiet app works as before.
type batcher struct {
	db *sql.DB
	// insertJobs inserts the jobs of a batch's writes, all at once.
	insertJobs func(ctx context.Context, tx *sql.Tx, jobs []river.InsertManyParams) error
	// lead is held by the goroutine running a batch.
	lead chan struct{}

	mu      sync.Mutex
	pending []*pendingWrite // waiting for a batch, oldest first
}

// maxBatch bounds the writes in one transaction, so that a batch's commit
// is never far off for the first write in it.
const maxBatch = 64

type pendingWrite struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *writeTx) error
	done chan error // receives the outcome once
}

func newBatcher(db *sql.DB, insertJobs func(ctx context.Context, tx *sql.Tx, jobs []river.InsertManyParams) error) *batcher {
	return &batcher{db: db, insertJobs: insertJobs, lead: make(chan struct{}, 1)}
}

// run runs fn in a transaction, alone or in a batch, and returns its
// outcome once that transaction has committed or failed. Waiting ends with
// ctx; once its batch has begun, fn runs to its end with ctx's values but
// without its cancellation.
func (b *batcher) run(ctx context.Context, fn func(ctx context.Context, tx *writeTx) error) error {
	w := &pendingWrite{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, w)
	b.mu.Unlock()
	for {
		select {
		case err := <-w.done:
			return err
		case b.lead <- struct{}{}:
			b.runBatch()
			<-b.lead
		case <-ctx.Done():
			if b.remove(w) {
				return ctx.Err()
			}
			return <-w.done // its batch is under way
		}
	}
}

// remove takes w off the pending list, reporting whether it was still there.
func (b *batcher) remove(w *pendingWrite) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range b.pending {
		if p == w {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			return true
		}
	}
	return false
}

// take removes up to maxBatch of the oldest pending writes.
func (b *batcher) take() []*pendingWrite {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.pending), maxBatch)
	batch := make([]*pendingWrite, n)
	copy(batch, b.pending)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	return batch
}

// runBatch runs the pending writes in one transaction and tells each its
// outcome.
func (b *batcher) runBatch() {
	batch := b.take()
	if len(batch) == 0 {
		return
	}
	results := b.commit(batch)
	for i, w := range batch {
		w.done <- results[i]
	}
}

// commit runs the batch's writes in one transaction and returns the outcome
// of each: its own error, or the transaction's when the transaction failed.
func (b *batcher) commit(batch []*pendingWrite) []error {
	results := make([]error, len(batch))
	failAll := func(err error) []error {
		for i := range results {
			results[i] = errors.Join(results[i], err)
		}
		return results
	}
	// The batch's own context: its writes belong to many requests.
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return failAll(fmt.Errorf("begin: %w", err))
	}
	var jobs []river.InsertManyParams
	for i, w := range batch {
		if len(batch) == 1 {
			// A write alone needs no savepoint.
			wtx := &writeTx{Tx: tx}
			if results[i] = call(w, wtx); results[i] != nil {
				_ = tx.Rollback()
				return results
			}
			jobs = wtx.jobs
			break
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batched_write`); err != nil {
			_ = tx.Rollback()
			return failAll(fmt.Errorf("savepoint: %w", err))
		}
		wtx := &writeTx{Tx: tx}
		if results[i] = call(w, wtx); results[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batched_write`); err != nil {
				_ = tx.Rollback()
				return failAll(fmt.Errorf("roll back to savepoint: %w", err))
			}
		} else {
			jobs = append(jobs, wtx.jobs...)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batched_write`); err != nil {
			_ = tx.Rollback()
			return failAll(fmt.Errorf("release savepoint: %w", err))
		}
	}
	if err := b.insertJobs(ctx, tx, jobs); err != nil {
		_ = tx.Rollback()
		return failAll(err)
	}
	if err := tx.Commit(); err != nil {
		return failAll(fmt.Errorf("commit: %w", err))
	}
	return results
}

// call runs one write, turning a panic into its error so that the batch's
// other writes go on.
func call(w *pendingWrite, tx *writeTx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in a write: %v\n%s", v, debug.Stack())
		}
	}()
	return w.fn(w.ctx, tx)
}
