package sqlitedb

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the prepared statements each SQLite connection keeps.
// The app and River together issue about a hundred distinct statements.
const stmtCacheSize = 256

// Open opens a pool on the modernc driver, with dsn as sqlite.NewConnector
// takes it, whose connections keep the statements they have prepared (see
// the package comment). modernc prepares (parses and plans) every statement
// run through database/sql anew and finalizes it afterwards; River's job
// insert, one large statement, is the one this matters most for.
func Open(dsn string) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtCacheConnector{base}), nil
}

type stmtCacheConnector struct{ driver.Connector }

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil // not the driver this was written for: no cache
	}
	return &stmtCacheConn{sqliteConn: sc, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

// sqliteConn is what every modernc connection implements; the wrapper
// forwards all of it, as modernc asks of wrappers (see sqlite.NewConnector).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmtCacheConn keeps a connection's prepared statements, least recently
// used first out. database/sql uses a connection from one goroutine at a
// time, so it needs no lock.
type stmtCacheConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *stmtEntry
	lru   *list.List               // most recently used at the front
}

type stmtEntry struct {
	query string
	stmt  cachedStmt
	// busy is set while rows read from the statement are open: a query
	// repeated meanwhile is prepared afresh instead of disturbing them.
	busy bool
}

// Unwrap returns the driver's own connection (sqlite.Limit looks for it).
func (c *stmtCacheConn) Unwrap() driver.Conn { return c.sqliteConn }

// entry returns the statement for query, preparing it the first time; nil
// when the cached one is in use.
func (c *stmtCacheConn) entry(ctx context.Context, query string) (*stmtEntry, error) {
	if el, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*stmtEntry)
		if e.busy {
			return nil, nil
		}
		return e, nil
	}
	s, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs, ok := s.(cachedStmt)
	if !ok {
		s.Close()
		return nil, nil
	}
	e := &stmtEntry{query: query, stmt: cs}
	c.stmts[query] = c.lru.PushFront(e)
	c.evict()
	return e, nil
}

// evict closes the least recently used statements beyond the cache's size,
// skipping any whose rows are open.
func (c *stmtCacheConn) evict() {
	for el := c.lru.Back(); el != nil && c.lru.Len() > stmtCacheSize; {
		prev := el.Prev()
		if e := el.Value.(*stmtEntry); !e.busy {
			c.lru.Remove(el)
			delete(c.stmts, e.query)
			e.stmt.Close()
		}
		el = prev
	}
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, err := c.entry(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return e.stmt.ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	e, err := c.entry(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := e.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	e.busy = true
	if sr, ok := rows.(sqliteRows); ok {
		return &cachedRows{sqliteRows: sr, entry: e}, nil
	}
	return &plainCachedRows{Rows: rows, entry: e}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *stmtCacheConn) Close() error {
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*stmtEntry).stmt.Close())
	}
	c.stmts, c.lru = nil, list.New()
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// sqliteRows is what modernc's rows implement.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows frees its statement for the next query when closed; closing
// rows of a cached statement resets it rather than finalizing it.
type cachedRows struct {
	sqliteRows
	entry *stmtEntry
}

func (r *cachedRows) Close() error {
	r.entry.busy = false
	return r.sqliteRows.Close()
}

// plainCachedRows is cachedRows for rows without column types, in case the
// driver's rows ever lose them.
type plainCachedRows struct {
	driver.Rows
	entry *stmtEntry
}

func (r *plainCachedRows) Close() error {
	r.entry.busy = false
	return r.Rows.Close()
}
