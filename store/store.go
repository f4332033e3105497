// Package store keeps every piece of EventHive's data: users, tickets, orders,
// payments and Stripe events, in SQLite or PostgreSQL. Every query lives here,
// and so does every transaction; River jobs that belong to a change are
// inserted in the change's own transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/eventhive/eventhive/store/sqlitedb"
)

// Sentinel errors returned by store methods. Callers map them to responses.
var (
	ErrNotFound   = errors.New("not found")
	ErrEmailTaken = errors.New("email already registered")
	ErrOwnTicket  = errors.New("ticket belongs to the buyer")
	ErrHeld       = errors.New("ticket is held by a buyer")
	ErrSold       = errors.New("ticket is sold")
	ErrNotPending = errors.New("order is no longer pending")
	ErrChanged    = errors.New("ticket changed while buying")
	// ErrTooManyHolds means the buyer already holds as many tickets as
	// Store.MaxHolds allows.
	ErrTooManyHolds = errors.New("buyer holds too many tickets")
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database: a pool for writes and one for reads. On SQLite the
// write pool has exactly one connection and transactions begin IMMEDIATE, so
// writers queue instead of failing with SQLITE_BUSY; reads go to a separate
// read-only pool so they never wait for a writer.
type DB struct {
	Dialect Dialect
	Write   *sql.DB
	Read    *sql.DB
	// Live serves the reads of live pages' renderings (see ForLivePages).
	// On PostgreSQL it is a pool of its own: in an on-sale rush hundreds of
	// buyers' requests wait for the 20 connections of the other, and a
	// rendering that every open page waits for would wait behind them (with
	// 19,000 pages open, renderings took up to 326 ms there and at most
	// 121 ms on a pool of their own, BENCHMARKS.md). On SQLite, where reads never
	// wait for a writer, it is Read.
	Live *sql.DB

	// listener serves River's LISTEN/NOTIFY on PostgreSQL, so that workers
	// hear of new jobs at once instead of polling.
	listener *pgxpool.Pool
}

// Open connects to the database named by url: a postgres:// or postgresql://
// URL, or else a SQLite file path or file: URI.
func Open(ctx context.Context, url string) (*DB, error) {
	if isPostgresURL(url) {
		db, err := sql.Open("pgx", url)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		listener, err := pgxpool.New(ctx, url)
		if err != nil {
			db.Close()
			return nil, err
		}
		live, err := sql.Open("pgx", url)
		if err != nil {
			db.Close()
			listener.Close()
			return nil, err
		}
		// Renderings of one topic run one at a time; two connections let
		// two topics render at once, as many as the 2 cores run.
		live.SetMaxOpenConns(2)
		live.SetMaxIdleConns(2)
		d := &DB{Dialect: Postgres, Write: db, Read: db, Live: live, listener: listener}
		return d, d.ping(ctx)
	}

	path, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)"
	write, err := sqlitedb.Open("file:" + path + "?" + pragmas + "&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	// Create the file and switch it to WAL before the read pool opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sqlitedb.Open("file:" + path + "?" + pragmas + "&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	d := &DB{Dialect: SQLite, Write: write, Read: read, Live: read}
	return d, d.ping(ctx)
}

func isPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// sqlitePath returns the file a SQLite DATABASE_URL names: the path itself,
// or a file: URI's path without its query.
func sqlitePath(url string) (string, error) {
	path := strings.TrimPrefix(url, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "", fmt.Errorf("empty SQLite path in %q", url)
	}
	return path, nil
}

func (d *DB) ping(ctx context.Context) error {
	if err := d.Read.PingContext(ctx); err != nil {
		d.Close()
		return fmt.Errorf("connect to database: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Analyze has PostgreSQL gather the statistics its planner uses for the
// tables that buyers' requests read, as autovacuum does for a table that
// grew by a tenth, but only after its nap of a minute. A database loaded in
// bulk and read at once needs it: until then a statement prepared while
// the tables were small keeps the plan it got then (BENCHMARKS.md, 5 Dec).
// SQLite's planner keeps no such plans, and there it does nothing.
func (d *DB) Analyze(ctx context.Context) error {
	if d.Dialect != Postgres {
		return nil
	}
	_, err := d.Write.ExecContext(ctx, `ANALYZE users, sessions, events, listings, tickets, orders`)
	return err
}

// livePages marks a context whose reads are for live pages' renderings.
type livePages struct{}

// ForLivePages returns ctx for a live page's rendering: the Store's reads
// made with it use DB.Live.
func ForLivePages(ctx context.Context) context.Context {
	return context.WithValue(ctx, livePages{}, true)
}

// reader is the pool a read made with ctx uses.
func (s *Store) reader(ctx context.Context) *sql.DB {
	if ctx.Value(livePages{}) != nil {
		return s.db.Live
	}
	return s.db.Read
}

// Close closes the pools.
func (d *DB) Close() error {
	err := d.Write.Close()
	if d.Read != d.Write {
		err = errors.Join(err, d.Read.Close())
	}
	if d.Live != nil && d.Live != d.Read {
		err = errors.Join(err, d.Live.Close())
	}
	if d.listener != nil {
		d.listener.Close()
	}
	return err
}

// RiverDriver returns the River driver for this database, on the write pool so
// that River's inserts join the app's transactions.
func (d *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if d.Dialect == Postgres {
		return riverdatabasesql.NewWithPgxListener(d.Write, d.listener)
	}
	return riversqlite.New(d.Write)
}

// Store runs EventHive's queries and transactions.
type Store struct {
	db *DB
	// jobs is an insert-only River client: it inserts the jobs that belong to
	// a change inside the change's transaction. The client that works jobs is
	// the app's, built with workers that call back into this store.
	jobs *river.Client[*sql.Tx]
	// maxHolds is how many unexpired pending orders a buyer may have at
	// once; 0 means no limit.
	maxHolds int
	// cooldown makes buyers who let holds lapse wait (see WithHoldCooldown).
	cooldown Cooldown
	// observer hears of holds, payments and refunds (see WithObserver).
	observer Observer
	// writes counts the writes this Store has finished (see Writes).
	writes atomic.Uint64
	// heard counts the changes other processes made (see ChangedElsewhere).
	heard atomic.Uint64
	// batch runs write transactions on SQLite, several in one; nil on
	// PostgreSQL.
	batch *sqlitedb.GroupCommit
	// listing is the listing's last version (see ListingVersion).
	listing listingMemo
	// sweeping is set while a sweep of ended holds runs (see
	// sweepPostgres).
	sweeping atomic.Bool
	// contention spares repeated notes of contended holds (see refused).
	contention contentionMemo
	// refusals tells CreateOrder when to read a listing before claiming it.
	refusals refusalMemo
	// users keeps users read by id (see userMemo).
	users userMemo
	// hearing tells whether what is read may be kept (see HearsEveryChange).
	hearing hearing
	// priceCap is the resale cap (see WithPriceCap), or nil.
	priceCap func(faceValue int64) (int64, bool)
	// passKey signs EventHive passes (see LoadPassKey).
	passKey passKey
	// mailHost ends the outbox's Message-IDs (see WithMailHost).
	mailHost string
	// payout is the platform's fee and when sales are released (see
	// WithPayoutTerms).
	payout PayoutTerms
}

// Option changes how a Store behaves.
type Option func(*Store)

// WithMaxHolds limits how many tickets one buyer may hold at once, in all of
// their unexpired pending orders; CreateOrder refuses more with
// ErrTooManyHolds. 0, the default, means no limit.
func WithMaxHolds(n int) Option {
	return func(s *Store) { s.maxHolds = max(n, 0) }
}

// WithPriceCap caps the price of a listing's tickets: most returns the
// highest price allowed for a face value, and capped false for no cap.
// CreateListing and UpdateListing refuse a higher price with a
// *PriceCapError. Without it, prices are not capped.
func WithPriceCap(most func(faceValue int64) (price int64, capped bool)) Option {
	return func(s *Store) { s.priceCap = most }
}

// New returns a Store on db.
func New(db *DB, opts ...Option) (*Store, error) {
	return newStore(db, &river.Config{}, opts...)
}

// newStore returns a Store on db whose River client has config.
func newStore(db *DB, config *river.Config, opts ...Option) (*Store, error) {
	jobs, err := river.NewClient(db.RiverDriver(), config)
	if err != nil {
		return nil, fmt.Errorf("river insert client: %w", err)
	}
	s := &Store{db: db, jobs: jobs, observer: nopObserver{}, payout: DefaultPayoutTerms}
	if db.Dialect == SQLite {
		s.batch = sqlitedb.NewGroupCommit(db.Write, jobs)
	}
	s.users.keeps = s.HearsEveryChange
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// SoleWriter reports whether this process makes every change people make to
// the database, so that what it last read or wrote of a row still holds
// until it writes the row again: on SQLite, which serves one machine (the
// operator's commands on the server aside). On PostgreSQL other instances
// write too.
func (s *Store) SoleWriter() bool { return s.db.Dialect == SQLite }

// MaxHolds is how many tickets one buyer may hold at once; 0 means no limit.
func (s *Store) MaxHolds() int { return s.maxHolds }

// DB returns the database the store runs on.
func (s *Store) DB() *DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// SessionStore returns scs's store on the sessions table, which commits and
// deletes sessions through the write pool and deletes expired sessions every
// five minutes, from a goroutine each call starts, until done closes (never
// when done is nil). Sessions are read with FindSession.
func (s *Store) SessionStore(done <-chan struct{}) scs.Store {
	var store interface {
		scs.Store
		StopCleanup()
	}
	if s.db.Dialect == Postgres {
		store = postgresstore.New(s.db.Write)
	} else {
		store = sqlite3store.New(s.db.Write)
	}
	if done != nil {
		go func() {
			<-done
			store.StopCleanup()
		}()
	}
	return store
}

// FindSession reads a session from the table SessionStore writes, through
// the read pool: its data and when it expires. found is false when there is
// none, or it has expired.
func (s *Store) FindSession(ctx context.Context, token string) (data []byte, expiry time.Time, found bool, err error) {
	var at int64
	err = s.reader(ctx).QueryRowContext(ctx, `SELECT `+s.sessionColumns()+` FROM sessions WHERE `+s.sessionFound(), token).Scan(&data, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("find session: %w", err)
	}
	return data, fromMS(at), true, nil
}

// FindSessionAndUser is FindSession and, in the same round trip, the user
// with userID, whom the caller expects the session to hold. found is false
// when there is no such session, or no such user: the caller then reads the
// two apart.
func (s *Store) FindSessionAndUser(ctx context.Context, token string, userID int64) (data []byte, expiry time.Time, u User, found bool, err error) {
	var at int64
	u, err = scanUser(s.reader(ctx).QueryRowContext(ctx, `SELECT `+userColumns+`, `+s.sessionColumns()+`
		FROM sessions, users WHERE `+s.sessionFound()+` AND users.id = $2`, token, userID), &data, &at)
	if errors.Is(err, ErrNotFound) {
		return nil, time.Time{}, User{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, User{}, false, fmt.Errorf("find session and user: %w", err)
	}
	return data, fromMS(at), u, true, nil
}

// sessionColumns selects a session's data and its expiry in milliseconds
// since the epoch: scs's stores keep the expiry as a timestamp on
// PostgreSQL and as a Julian day number on SQLite.
func (s *Store) sessionColumns() string {
	if s.db.Dialect == Postgres {
		return `sessions.data, CAST(round(extract(epoch FROM sessions.expiry) * 1000) AS BIGINT)`
	}
	return `sessions.data, CAST(round((sessions.expiry - 2440587.5) * 86400000) AS INTEGER)`
}

// sessionFound is the condition that finds the unexpired session whose
// token is $1.
func (s *Store) sessionFound() string {
	if s.db.Dialect == Postgres {
		return `sessions.token = $1 AND current_timestamp < sessions.expiry`
	}
	return `sessions.token = $1 AND julianday('now') < sessions.expiry`
}

// Writes counts the writes this Store has finished, committed or not, but
// for those refused by their own statements (a claim of tickets already
// taken, say), which rolled back having changed nothing. When it
// returns the same number before and after a read, no write through this
// Store committed in between, so the read's result still holds at the second
// call (apart from holds that end meanwhile). Writes by other processes, such
// as other instances on PostgreSQL, are not counted.
func (s *Store) Writes() uint64 { return s.writes.Load() }

// wrote counts a write that has finished. Every write calls it once it has
// committed or failed, never before.
func (s *Store) wrote() { s.writes.Add(1) }

// writeTx is a write's transaction. The River jobs a write inserts wait in it
// until the write is done, and are inserted all at once, with those of the
// other writes in a batch on SQLite, just before the transaction commits:
// they commit with their write or not at all.
type writeTx struct {
	*sql.Tx
	jobs []river.InsertManyParams
}

// insertJob inserts a job with the write.
func (tx *writeTx) insertJob(args river.JobArgs, opts *river.InsertOpts) {
	tx.jobs = append(tx.jobs, river.InsertManyParams{Args: args, InsertOpts: opts})
}

// inTx runs fn in a transaction on the write pool and commits when fn returns
// nil, along with the jobs fn inserted. fn must run its statements with the
// context it is given, and must not use the pools itself.
//
// On SQLite, fn runs through group commit (see package sqlitedb): it may
// share its transaction with other writes waiting at the same time, each
// inside a savepoint, and inTx returns only once the shared transaction has
// committed. Only the wait ends with ctx; once begun, fn runs to its end
// without ctx's cancellation, as it never waits for a lock. On PostgreSQL
// transactions run side by side, and ctx bounds the whole transaction, since
// a statement can wait for a row lock.
//
// A write that fn refused (returned an error) rolled back and changed
// nothing, so it is not counted by Writes.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx *writeTx) error) error {
	var refused bool
	defer func() {
		if !refused {
			s.wrote()
		}
	}()
	if s.batch != nil {
		return s.batch.Run(ctx, func(ctx context.Context, tx *sql.Tx) ([]river.InsertManyParams, error) {
			w := &writeTx{Tx: tx}
			err := fn(ctx, w)
			refused = err != nil
			return w.jobs, err
		})
	}
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	w := &writeTx{Tx: tx}
	if err := fn(ctx, w); err != nil {
		refused = true
		_ = tx.Rollback()
		return err
	}
	if err := s.insertJobs(ctx, tx, w.jobs); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// insertJobs inserts jobs in tx with one River insert.
func (s *Store) insertJobs(ctx context.Context, tx *sql.Tx, jobs []river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// querier runs queries: a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryIDs returns the ids a query selects, in its order.
func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ms converts a time to the stored form: Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts a stored time back, in UTC.
func fromMS(n int64) time.Time { return time.UnixMilli(n).UTC() }

// fromNullMS converts a nullable stored time; NULL becomes the zero time.
func fromNullMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMS(n.Int64)
}

// nullMS stores a time that may be zero: the zero time becomes NULL.
func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(t), Valid: true}
}

// param names the nth query parameter: $n, in both dialects.
func param(n int) string { return "$" + strconv.Itoa(n) }
