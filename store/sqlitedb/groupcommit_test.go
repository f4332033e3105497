package sqlitedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// groupBundle is a GroupCommit on a SQLite file of its own, set up as the
// store sets up its write pool, with River's tables and a table to write
// to: item, whose parent must be another item (checked at commit when a
// write defers foreign keys). Each item written inserts an itemJob through
// a real River client, whose insert calls are counted.
type groupBundle struct {
	db      *sql.DB
	g       *GroupCommit
	inserts *insertRecorder
}

type itemJob struct {
	Item int64 `json:"item"`
}

func (itemJob) Kind() string { return "item" }

// insertRecorder numbers River's insert calls and notes which items' jobs
// each one inserted.
type insertRecorder struct {
	river.MiddlewareDefaults
	mu    sync.Mutex
	calls int
	batch map[int64]int // item → the insert call that inserted its job
}

func (r *insertRecorder) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	r.mu.Lock()
	r.calls++
	for _, p := range params {
		var job itemJob
		if err := json.Unmarshal(p.EncodedArgs, &job); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		r.batch[job.Item] = r.calls
	}
	r.mu.Unlock()
	return doInner(ctx)
}

func newGroupBundle(t *testing.T) *groupBundle {
	t.Helper()
	ctx := t.Context()
	db, err := Open("file:" + filepath.Join(t.TempDir(), "group.db") +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)&_txlock=immediate")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	migrator, err := rivermigrate.New(riversqlite.New(db), nil)
	require.NoError(t, err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE item (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES item (id))`)
	require.NoError(t, err)
	inserts := &insertRecorder{batch: map[int64]int{}}
	jobs, err := river.NewClient(riversqlite.New(db), &river.Config{Middleware: []rivertype.Middleware{inserts}})
	require.NoError(t, err)
	return &groupBundle{db: db, g: NewGroupCommit(db, jobs), inserts: inserts}
}

// hold keeps the writes Run queues waiting, as behind a batch under way,
// until release.
func (gb *groupBundle) hold() {
	gb.g.mu.Lock()
	defer gb.g.mu.Unlock()
	gb.g.writing = true
}

// release runs the writes waiting, as the end of the batch under way would.
func (gb *groupBundle) release() { go gb.g.write() }

// batch runs the writes at once, in one batch: it holds the batches until
// all of them wait. It returns each write's outcome.
func (gb *groupBundle) batch(t *testing.T, writes ...Write) []error {
	t.Helper()
	gb.hold()
	results := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { results[i] = gb.g.Run(t.Context(), w) })
	}
	gb.waitPending(t, len(writes))
	gb.release()
	wg.Wait()
	return results
}

// waitPending waits until n writes wait for a batch.
func (gb *groupBundle) waitPending(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		gb.g.mu.Lock()
		defer gb.g.mu.Unlock()
		return len(gb.g.pending) == n
	}, 5*time.Second, time.Millisecond)
}

func (gb *groupBundle) ids(t *testing.T) []int64 {
	t.Helper()
	rows, err := gb.db.QueryContext(t.Context(), `SELECT id FROM item ORDER BY id`)
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

// jobs returns the items whose jobs are in River's table, by the insert
// call that inserted them.
func (gb *groupBundle) jobs(t *testing.T) map[int64]int {
	t.Helper()
	rows, err := gb.db.QueryContext(t.Context(), `SELECT json(args) FROM river_job`)
	require.NoError(t, err)
	defer rows.Close()
	gb.inserts.mu.Lock()
	defer gb.inserts.mu.Unlock()
	jobs := map[int64]int{}
	for rows.Next() {
		var args []byte
		require.NoError(t, rows.Scan(&args))
		var job itemJob
		require.NoError(t, json.Unmarshal(args, &job))
		jobs[job.Item] = gb.inserts.batch[job.Item]
	}
	require.NoError(t, rows.Err())
	return jobs
}

// insertItem writes an item and returns its job, then fails with fail.
func insertItem(id int64, fail error) Write {
	return func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO item (id) VALUES ($1)`, id); err != nil {
			return nil, err
		}
		return []river.InsertManyParams{{Args: itemJob{Item: id}}}, fail
	}
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()

	t.Run("AFailedWriteChangesNothingAndTheOthersCommit", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		refused := errors.New("refused")
		var writes []Write
		for id := range int64(20) {
			var fail error
			if id%2 == 1 {
				fail = refused
			}
			writes = append(writes, insertItem(id, fail))
		}
		// A statement that fails, and a write that panics, are one write's
		// failure too.
		require.NoError(t, gb.g.Run(t.Context(), insertItem(1000, nil)))
		writes = append(writes, insertItem(1000, nil), func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
			_, _ = tx.ExecContext(ctx, `INSERT INTO item (id) VALUES (100)`)
			panic("a bug")
		})

		results := gb.batch(t, writes...)
		for id := range 20 {
			if id%2 == 1 {
				require.ErrorIs(t, results[id], refused, "write %d", id)
			} else {
				require.NoError(t, results[id], "write %d", id)
			}
		}
		require.ErrorContains(t, results[20], "UNIQUE constraint failed", "item 1000 exists")
		require.ErrorContains(t, results[21], "panic in a write: a bug")
		require.Equal(t, []int64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1000}, gb.ids(t))
		// Item 1000 was written alone, its job inserted by the first River
		// insert; the others' jobs were inserted together by the second, and
		// a failed write's job not at all.
		require.Equal(t, map[int64]int{0: 2, 2: 2, 4: 2, 6: 2, 8: 2, 10: 2, 12: 2, 14: 2, 16: 2, 18: 2, 1000: 1}, gb.jobs(t))
	})

	t.Run("AFailedCommitFailsEveryWrite", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		results := gb.batch(t, insertItem(1, nil), func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
			// A foreign key checked only at commit, to an item that does not
			// exist.
			if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
				return nil, err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO item (id, parent) VALUES (2, 99)`)
			return nil, err
		}, insertItem(3, nil))
		for i, err := range results {
			require.ErrorContains(t, err, "commit", "write %d", i)
		}
		require.Equal(t, []int64{}, gb.ids(t))
		require.Empty(t, gb.jobs(t))
	})

	t.Run("AFailedJobInsertFailsEveryWrite", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		results := gb.batch(t, insertItem(1, nil), func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
			return []river.InsertManyParams{{Args: itemJob{Item: 2}, InsertOpts: &river.InsertOpts{Queue: "not a queue name!"}}}, nil
		})
		for i, err := range results {
			require.ErrorContains(t, err, "insert jobs", "write %d", i)
		}
		require.Equal(t, []int64{}, gb.ids(t))
		require.Empty(t, gb.jobs(t))
	})

	t.Run("AWriteAloneIsAPlainTransaction", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		refused := errors.New("refused")
		require.ErrorIs(t, gb.g.Run(t.Context(), insertItem(1, refused)), refused)
		require.NoError(t, gb.g.Run(t.Context(), insertItem(2, nil)))
		require.Equal(t, []int64{2}, gb.ids(t))
		require.Equal(t, map[int64]int{2: 1}, gb.jobs(t))
	})

	t.Run("GivingUpWhileWaitingRunsNothing", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		gb.hold()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- gb.g.Run(ctx, insertItem(1, nil)) }()
		gb.waitPending(t, 1)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		gb.release()
		require.NoError(t, gb.g.Run(t.Context(), insertItem(2, nil)))
		require.Equal(t, []int64{2}, gb.ids(t))
	})

	t.Run("GivingUpOnceBegunWaitsForTheOutcome", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		ctx, cancel := context.WithCancel(t.Context())
		err := gb.g.Run(ctx, func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
			cancel()
			// The write's context keeps the caller's values, not its
			// cancellation, so its statements still run.
			require.NoError(t, ctx.Err())
			return insertItem(1, nil)(ctx, tx)
		})
		require.NoError(t, err)
		require.Equal(t, []int64{1}, gb.ids(t))
		require.Equal(t, map[int64]int{1: 1}, gb.jobs(t))
	})

	t.Run("ManyWritersAtOnce", func(t *testing.T) {
		t.Parallel()
		gb := newGroupBundle(t)
		fails := make([]error, 300)
		results := make([]error, 300)
		var wg sync.WaitGroup
		for id := range int64(300) {
			if id%3 == 0 {
				fails[id] = errors.New("refused")
			}
			wg.Go(func() { results[id] = gb.g.Run(t.Context(), insertItem(id, fails[id])) })
		}
		wg.Wait()
		require.Equal(t, fails, results)
		var want []int64
		for id := range int64(300) {
			if id%3 != 0 {
				want = append(want, id)
			}
		}
		require.Equal(t, want, gb.ids(t))
		require.Len(t, gb.jobs(t), len(want))
	})
}
