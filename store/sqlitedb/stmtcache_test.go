package sqlitedb

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// cacheBundle is one connection of a pool from Open, on a SQLite file with
// a table of three numbers.
type cacheBundle struct {
	conn *sql.Conn
}

func newCacheBundle(t *testing.T) *cacheBundle {
	t.Helper()
	db, err := Open("file:" + filepath.Join(t.TempDir(), "cache.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.ExecContext(t.Context(), `CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3)`)
	require.NoError(t, err)
	return &cacheBundle{conn: conn}
}

// cache returns the connection's cache.
func (cb *cacheBundle) cache(t *testing.T) *stmtCacheConn {
	t.Helper()
	var c *stmtCacheConn
	require.NoError(t, cb.conn.Raw(func(dc any) error {
		c = dc.(*stmtCacheConn)
		return nil
	}))
	return c
}

func (cb *cacheBundle) values(t *testing.T, query string, args ...any) []int64 {
	t.Helper()
	rows, err := cb.conn.QueryContext(t.Context(), query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

func TestStmtCache(t *testing.T) {
	t.Parallel()

	t.Run("AStatementIsPreparedOnceAndReused", func(t *testing.T) {
		t.Parallel()
		cb := newCacheBundle(t)
		const query = `SELECT v FROM n WHERE v >= $1 ORDER BY v`
		require.Equal(t, []int64{2, 3}, cb.values(t, query, 2))
		c := cb.cache(t)
		first := c.stmts[query].Value.(*stmtEntry).stmt
		require.Equal(t, []int64{1, 2, 3}, cb.values(t, query, 1), "new arguments, same statement")
		_, err := cb.conn.ExecContext(t.Context(), `INSERT INTO n VALUES ($1)`, 4)
		require.NoError(t, err)
		require.Equal(t, []int64{3, 4}, cb.values(t, query, 3))
		require.Same(t, first, c.stmts[query].Value.(*stmtEntry).stmt)
	})

	t.Run("AQueryRepeatedWhileItsRowsAreOpen", func(t *testing.T) {
		t.Parallel()
		cb := newCacheBundle(t)
		const query = `SELECT v FROM n WHERE v >= $1 ORDER BY v`
		rows, err := cb.conn.QueryContext(t.Context(), query, 1)
		require.NoError(t, err)
		var outer []int64
		for rows.Next() {
			var v int64
			require.NoError(t, rows.Scan(&v))
			outer = append(outer, v)
			// The cached statement is busy: this runs on a statement of its
			// own and leaves the open rows where they are.
			require.Equal(t, []int64{3}, cb.values(t, query, 3))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.Equal(t, []int64{1, 2, 3}, outer)
		require.False(t, cb.cache(t).stmts[query].Value.(*stmtEntry).busy, "closing the rows frees the statement")
	})

	t.Run("TheLeastRecentlyUsedGoBeyondTheSizeButNotOneInUse", func(t *testing.T) {
		t.Parallel()
		cb := newCacheBundle(t)
		const open = `SELECT v FROM n ORDER BY v`
		rows, err := cb.conn.QueryContext(t.Context(), open)
		require.NoError(t, err)
		require.True(t, rows.Next())
		for i := range stmtCacheSize + 10 {
			require.Equal(t, []int64{int64(i)}, cb.values(t, fmt.Sprintf(`SELECT %d`, i)))
		}
		c := cb.cache(t)
		require.Equal(t, stmtCacheSize, c.lru.Len())
		require.Len(t, c.stmts, stmtCacheSize)
		require.Contains(t, c.stmts, open, "its rows are open")
		require.NotContains(t, c.stmts, `SELECT 0`)
		require.Contains(t, c.stmts, fmt.Sprintf(`SELECT %d`, stmtCacheSize+9))
		var v int64
		require.NoError(t, rows.Scan(&v))
		require.Equal(t, int64(1), v)
		require.True(t, rows.Next())
		require.NoError(t, rows.Close())
	})

	t.Run("TheDriversConnectionStaysReachable", func(t *testing.T) {
		t.Parallel()
		cb := newCacheBundle(t)
		// sqlite.Limit works on modernc's own connection only.
		n, err := sqlite.Limit(cb.conn, sqlite3.SQLITE_LIMIT_LENGTH, -1)
		require.NoError(t, err)
		require.Positive(t, n)
	})
}
