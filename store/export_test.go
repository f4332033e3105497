package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// NewWithoutJobInserts returns a Store whose River client goes through all of
// its insert work except the INSERT statement itself, so that a benchmark can
// tell what River's insert adds to a transaction.
func NewWithoutJobInserts(db *DB, opts ...Option) (*Store, error) {
	return newStore(db, &river.Config{Middleware: []rivertype.Middleware{&skipInsert{}}}, opts...)
}

// skipInsert answers River's insert with made-up job rows instead of
// inserting them.
type skipInsert struct{ river.MiddlewareDefaults }

func (*skipInsert) InsertMany(_ context.Context, params []*rivertype.JobInsertParams, _ func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	results := make([]*rivertype.JobInsertResult, len(params))
	for i, p := range params {
		results[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{Kind: p.Kind, EncodedArgs: p.EncodedArgs}}
	}
	return results, nil
}

// Claim is a ticket's claim: the order that holds or bought it (0 for none)
// and when a hold ends (zero for a sale).
type Claim struct {
	OrderID   int64
	ExpiresAt time.Time
}

// Claims reads the claims of a listing's tickets, in ticket order, as they
// are stored: an ended hold not yet recorded still shows.
func (s *Store) Claims(ctx context.Context, listingID int64) ([]Claim, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT claim_order_id, claim_expires_at FROM tickets WHERE listing_id = $1 ORDER BY id`, listingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var claims []Claim
	for rows.Next() {
		var order, expires sql.NullInt64
		if err := rows.Scan(&order, &expires); err != nil {
			return nil, err
		}
		claims = append(claims, Claim{OrderID: order.Int64, ExpiresAt: fromNullMS(expires)})
	}
	return claims, rows.Err()
}

// MigrateTo applies the app migrations numbered up to version, and River's:
// a database as an older EventHive left it.
func (d *DB) MigrateTo(ctx context.Context, version int) error { return d.migrate(ctx, version) }

// InsertJob inserts a job with River's own insert, in a transaction of its
// own.
func (s *Store) InsertJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return s.inTx(ctx, func(_ context.Context, tx *writeTx) error {
		tx.insertJob(args, opts)
		return nil
	})
}

// AgeKeptUsers makes the users UserByID keeps in memory older by d.
func (s *Store) AgeKeptUsers(d time.Duration) {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	for id, kept := range s.users.users {
		kept.at = kept.at.Add(-d)
		s.users.users[id] = kept
	}
}

// UserMemoFor is how long UserByID keeps a user in memory.
const UserMemoFor = userMemoFor

// CheckBuyerSQL is the statement that counts a buyer's holds and lapses on
// SQLite.
var CheckBuyerSQL = checkBuyerSQL

// ExplainEventListings is PostgreSQL's plan of EventListings' query.
func (s *Store) ExplainEventListings(ctx context.Context, eventID int64, now time.Time) (string, error) {
	return s.Explain(ctx, eventListingsSQL, eventID, ms(now))
}

// Explain is PostgreSQL's plan of a statement with args, a line of it a
// line.
func (s *Store) Explain(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := s.db.Read.QueryContext(ctx, `EXPLAIN `+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan.WriteString(line + "\n")
	}
	return plan.String(), rows.Err()
}

// Uncontended is noteContention's condition on orders, for a test of its plan.
const Uncontended = uncontended

// IDs reads the ids a query selects, through the read pool.
func (d *DB) IDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	return queryIDs(ctx, d.Read, query, args...)
}
