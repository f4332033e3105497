package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"
)

// batchBundle is a batcher on a SQLite file of its own with a table to
// write to: item, whose parent must be another item (checked at commit when
// a write defers foreign keys). Each item written inserts an itemJob, which
// the batcher's job insert records in the table job.
type batchBundle struct {
	db *DB
	b  *batcher
}

type itemJob struct{ Item int64 }

func (itemJob) Kind() string { return "item" }

func newBatchBundle(t *testing.T) *batchBundle {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "batch.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.Write.ExecContext(t.Context(), `
		CREATE TABLE item (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES item (id));
		CREATE TABLE job (item INTEGER PRIMARY KEY, batch INTEGER NOT NULL)`)
	require.NoError(t, err)
	batches := 0
	insertJobs := func(ctx context.Context, tx *sql.Tx, jobs []river.InsertManyParams) error {
		batches++
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO job (item, batch) VALUES ($1, $2)`, j.Args.(itemJob).Item, batches); err != nil {
				return err
			}
		}
		return nil
	}
	return &batchBundle{db: db, b: newBatcher(db.Write, insertJobs)}
}

// batch runs the writes at once, in one batch: it holds the lead until all
// of them wait, then lets one of them lead. It returns each write's outcome.
func (bb *batchBundle) batch(t *testing.T, writes ...func(ctx context.Context, tx *writeTx) error) []error {
	t.Helper()
	bb.b.lead <- struct{}{}
	results := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { results[i] = bb.b.run(t.Context(), w) })
	}
	bb.waitPending(t, len(writes))
	<-bb.b.lead
	wg.Wait()
	return results
}

// waitPending waits until n writes wait for a batch.
func (bb *batchBundle) waitPending(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		bb.b.mu.Lock()
		defer bb.b.mu.Unlock()
		return len(bb.b.pending) == n
	}, 5*time.Second, time.Millisecond)
}

func (bb *batchBundle) ids(t *testing.T) []int64 {
	t.Helper()
	rows, err := bb.db.Read.QueryContext(t.Context(), `SELECT id FROM item ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// jobs returns the items whose jobs were inserted, by the batch that
// inserted them.
func (bb *batchBundle) jobs(t *testing.T) map[int64]int {
	t.Helper()
	rows, err := bb.db.Read.QueryContext(t.Context(), `SELECT item, batch FROM job`)
	require.NoError(t, err)
	defer rows.Close()
	jobs := map[int64]int{}
	for rows.Next() {
		var item int64
		var batch int
		require.NoError(t, rows.Scan(&item, &batch))
		jobs[item] = batch
	}
	require.NoError(t, rows.Err())
	return jobs
}

// insertItem writes an item and inserts its job, then fails with fail.
func insertItem(id int64, fail error) func(ctx context.Context, tx *writeTx) error {
	return func(ctx context.Context, tx *writeTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO item (id) VALUES ($1)`, id); err != nil {
			return err
		}
		tx.insertJob(itemJob{Item: id}, nil)
		return fail
	}
}

func TestBatcher(t *testing.T) {
	t.Parallel()

	t.Run("AFailedWriteChangesNothingAndTheOthersCommit", func(t *testing.T) {
		t.Parallel()
		bb := newBatchBundle(t)
		refused := errors.New("refused")
		var writes []func(context.Context, *writeTx) error
		for id := range int64(20) {
			var fail error
			if id%2 == 1 {
				fail = refused
			}
			writes = append(writes, insertItem(id, fail))
		}
		// A statement that fails, and a write that panics, are one write's
		// failure too.
		require.NoError(t, bb.b.run(t.Context(), insertItem(1000, nil)))
		writes = append(writes, insertItem(1000, nil), func(ctx context.Context, tx *writeTx) error {
			_, _ = tx.ExecContext(ctx, `INSERT INTO item (id) VALUES (100)`)
			panic("a bug")
		})

		results := bb.batch(t, writes...)
		for id := range 20 {
			if id%2 == 1 {
				require.ErrorIs(t, results[id], refused, "write %d", id)
			} else {
				require.NoError(t, results[id], "write %d", id)
			}
		}
		require.ErrorContains(t, results[20], "UNIQUE constraint failed", "item 1000 exists")
		require.ErrorContains(t, results[21], "panic in a write: a bug")
		require.Equal(t, []int64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1000}, bb.ids(t))
		// Item 1000 was written alone, in batch 1; the others' jobs were
		// inserted together, and a failed write's job not at all.
		require.Equal(t, map[int64]int{0: 2, 2: 2, 4: 2, 6: 2, 8: 2, 10: 2, 12: 2, 14: 2, 16: 2, 18: 2, 1000: 1}, bb.jobs(t))
	})

	t.Run("AFailedCommitFailsEveryWrite", func(t *testing.T) {
		t.Parallel()
		bb := newBatchBundle(t)
		results := bb.batch(t, insertItem(1, nil), func(ctx context.Context, tx *writeTx) error {
			// A foreign key checked only at commit, to an item that does not
			// exist.
			if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO item (id, parent) VALUES (2, 99)`)
			return err
		}, insertItem(3, nil))
		for i, err := range results {
			require.ErrorContains(t, err, "commit", "write %d", i)
		}
		require.Equal(t, []int64{}, bb.ids(t))
		require.Empty(t, bb.jobs(t))
	})

	t.Run("AWriteAloneIsAPlainTransaction", func(t *testing.T) {
		t.Parallel()
		bb := newBatchBundle(t)
		refused := errors.New("refused")
		require.ErrorIs(t, bb.b.run(t.Context(), insertItem(1, refused)), refused)
		require.NoError(t, bb.b.run(t.Context(), insertItem(2, nil)))
		require.Equal(t, []int64{2}, bb.ids(t))
		require.Equal(t, map[int64]int{2: 1}, bb.jobs(t))
	})

	t.Run("GivingUpWhileWaitingRunsNothing", func(t *testing.T) {
		t.Parallel()
		bb := newBatchBundle(t)
		bb.b.lead <- struct{}{} // a batch is under way
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- bb.b.run(ctx, insertItem(1, nil)) }()
		bb.waitPending(t, 1)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		<-bb.b.lead
		require.NoError(t, bb.b.run(t.Context(), insertItem(2, nil)))
		require.Equal(t, []int64{2}, bb.ids(t))
	})

	t.Run("ManyWritersAtOnce", func(t *testing.T) {
		t.Parallel()
		bb := newBatchBundle(t)
		fails := make([]error, 300)
		results := make([]error, 300)
		var wg sync.WaitGroup
		for id := range int64(300) {
			if id%3 == 0 {
				fails[id] = errors.New("refused")
			}
			wg.Go(func() { results[id] = bb.b.run(t.Context(), insertItem(id, fails[id])) })
		}
		wg.Wait()
		require.Equal(t, fails, results)
		var want []int64
		for id := range int64(300) {
			if id%3 != 0 {
				want = append(want, id)
			}
		}
		require.Equal(t, want, bb.ids(t))
	})
}
