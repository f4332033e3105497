package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// ErrTargetNotEmpty means MoveToPostgres was pointed at a database that
// already holds EventHive data. It only fills an empty one.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// MoveCounts says what MoveToPostgres copied and which jobs it recreated.
type MoveCounts struct {
	Users, Sessions, Events, Listings, Tickets, Orders, Payments, StripeEvents int
	// ModerationActions are the rows of the moderation log.
	ModerationActions int
	// TicketFiles are the e-ticket files sellers attached.
	TicketFiles int
	// PassKeys is 1 when the source kept a pass signing key (pass_keys);
	// CheckIns, CheckinScans and CheckinHelpers are the rows of checkins,
	// checkin_scans and event_checkers.
	PassKeys, CheckIns, CheckinScans, CheckinHelpers int
	// Mail are the outbox's messages; PasswordResets the reset tokens.
	Mail, PasswordResets int
	// Alerts are the alerts people set; AlertSends the messages they sent.
	Alerts, AlertSends int
	// PayoutAccounts, Sales and LedgerEntries are the sellers' payout
	// accounts, the tickets paid for and the movements of their money.
	PayoutAccounts, Sales, LedgerEntries int

	// The jobs recreated in the target: one per pending order (its hold's
	// end), per unprocessed Stripe event, per payment awaiting its refund
	// and per event still to start (the close of its sales), and per
	// message not sent yet; PayoutJobs: per order with sales to release and
	// per sale with money on its way (a transfer, reversal or refund).
	ExpiryJobs, EventJobs, RefundJobs, SalesCloseJobs, MailJobs, PayoutJobs int
}

// Jobs is the number of jobs recreated.
func (c MoveCounts) Jobs() int {
	return c.ExpiryJobs + c.EventJobs + c.RefundJobs + c.SalesCloseJobs + c.MailJobs + c.PayoutJobs
}

// OpenSQLiteReadOnly opens an existing SQLite database for reading only: the
// file is opened read-only and every statement that would write fails. Write,
// Read and Live are one read-only pool. It is the source of MoveToPostgres.
func OpenSQLiteReadOnly(ctx context.Context, url string) (*DB, error) {
	if isPostgresURL(url) {
		return nil, errors.New("want a SQLite file, not a PostgreSQL URL")
	}
	file, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	// A missing file is an error here: opening it would create it.
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", file)
	}
	dsn := "file:" + file + "?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	if !fileExists(file+"-wal") && !fileExists(file+"-journal") {
		// Nothing has the database open and every commit is in the file
		// itself: read it as immutable, which neither locks it nor leaves
		// behind the -wal and -shm files any other WAL reader creates.
		dsn += "&immutable=1"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	d := &DB{Dialect: SQLite, Write: db, Read: db, Live: db}
	if err := d.ping(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	return d, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// moveTable is an app table MoveToPostgres copies as it is.
type moveTable struct {
	name    string
	columns []string
	// identity: the id column is an identity column on PostgreSQL.
	identity bool
	count    func(*MoveCounts) *int
	// booleans are the columns SQLite keeps as 0 or 1 and PostgreSQL as
	// BOOLEAN.
	booleans []string
}

// moveTables are the app's tables in an order that satisfies their foreign
// keys. Their columns hold the same values in both dialects (integers, text,
// Unix milliseconds), booleans aside; sessions differ and are copied by
// moveSessions. Events are copied without merged_into, which moveMerges
// copies once every event is there.
var moveTables = []moveTable{
	{"users", []string{"id", "email", "password_hash", "created_at", "admin_confirmed_at", "session_epoch",
		"suspended_at"}, true,
		func(c *MoveCounts) *int { return &c.Users }, nil},
	{"events", []string{"id", "name", "venue", "city", "starts_at", "time_zone", "created_by", "hidden_at",
		"checkin_with_eventhive", "created_at", "updated_at"}, true,
		func(c *MoveCounts) *int { return &c.Events }, []string{"checkin_with_eventhive"}},
	{"listings", []string{"id", "seller_id", "event_id", "note", "price", "face_value", "currency", "quantity",
		"together", "withdrawn_at", "created_at", "updated_at"}, true,
		func(c *MoveCounts) *int { return &c.Listings }, []string{"together"}},
	{"orders", []string{"id", "buyer_id", "listing_id", "quantity", "status", "amount", "currency", "expires_at",
		"checkout_session_id", "cancelled_at", "paid_at", "created_at", "updated_at", "extended_at", "contended_at"}, true,
		func(c *MoveCounts) *int { return &c.Orders }, nil},
	{"tickets", []string{"id", "listing_id", "claim_order_id", "claim_expires_at", "resale_of", "root_id",
		"generation"}, true,
		func(c *MoveCounts) *int { return &c.Tickets }, nil},
	{"payments", []string{"id", "order_id", "checkout_session_id", "payment_intent_id", "amount", "currency",
		"status", "refund_reason", "amount_refunded", "created_at", "updated_at"}, true,
		func(c *MoveCounts) *int { return &c.Payments }, nil},
	{"stripe_events", []string{"id", "type", "payload", "received_at", "processed_at"}, false,
		func(c *MoveCounts) *int { return &c.StripeEvents }, nil},
	{"moderation_actions", []string{"id", "actor_id", "action", "subject", "subject_id", "detail", "created_at"}, true,
		func(c *MoveCounts) *int { return &c.ModerationActions }, nil},
	{"pass_keys", []string{"id", "public_key", "private_key", "created_at"}, false,
		func(c *MoveCounts) *int { return &c.PassKeys }, nil},
	{"checkins", []string{"id", "root_id", "generation", "event_id", "at", "by_user", "nonce"}, true,
		func(c *MoveCounts) *int { return &c.CheckIns }, nil},
	{"checkin_scans", []string{"id", "nonce", "event_id", "by_user", "answer", "root_id", "generation", "at"}, true,
		func(c *MoveCounts) *int { return &c.CheckinScans }, nil},
	{"event_checkers", []string{"id", "event_id", "email", "created_at"}, true,
		func(c *MoveCounts) *int { return &c.CheckinHelpers }, nil},
	{"outbox", []string{"id", "key", "to_address", "kind", "data", "message_id", "created_at", "sent_at", "attempts"}, true,
		func(c *MoveCounts) *int { return &c.Mail }, nil},
	{"password_resets", []string{"id", "user_id", "token_hash", "expires_at", "used_at", "created_at"}, true,
		func(c *MoveCounts) *int { return &c.PasswordResets }, nil},
	{"alerts", []string{"id", "user_id", "event_id", "max_price", "created_at", "last_sent_at"}, true,
		func(c *MoveCounts) *int { return &c.Alerts }, nil},
	{"alert_sends", []string{"alert_id", "listing_id", "token_hash", "sent_at"}, false,
		func(c *MoveCounts) *int { return &c.AlertSends }, nil},
	{"payout_accounts", []string{"user_id", "account_id", "payouts_enabled", "details", "created_at", "updated_at"}, false,
		func(c *MoveCounts) *int { return &c.PayoutAccounts }, []string{"payouts_enabled"}},
	{"sales", []string{"id", "order_id", "ticket_id", "payment_id", "seller_id", "currency", "gross", "fee", "net",
		"release_at", "state", "problem_note", "problem_reported_at", "problem_decision", "problem_decided_at",
		"refund_requested_at", "transfer_id", "reversal_id", "created_at", "updated_at"}, true,
		func(c *MoveCounts) *int { return &c.Sales }, nil},
	{"ledger_entries", []string{"id", "sale_id", "kind", "amount", "reference", "created_at"}, true,
		func(c *MoveCounts) *int { return &c.LedgerEntries }, nil},
}

// moveTargetTables are the tables that must be empty in the target.
var moveTargetTables = []string{"users", "events", "listings", "tickets", "orders", "payments", "stripe_events", "sessions",
	"moderation_actions", "ticket_files", "checkins", "checkin_scans", "event_checkers", "outbox", "password_resets",
	"alerts", "alert_sends", "payout_accounts", "sales", "ledger_entries"}

// MoveToPostgres copies every user, session, event, listing, ticket, e-ticket
// file, order, payment and Stripe event from a SQLite database into an empty PostgreSQL
// database, keeping every id, and recreates the jobs the data still needs:
// the end of each pending order's hold (due at once if the hold has already
// ended), the processing of each unprocessed Stripe event, the refund of each
// payment awaiting one and the close of sales of each event still to start.
// It migrates the target first.
//
// The source is only read, in one read transaction, so the copy is a
// consistent snapshot; stop the app on it first, or later writes are not
// copied. Everything is written in one PostgreSQL transaction: on any error,
// including a target that already holds data (ErrTargetNotEmpty), nothing
// is written. (Only the identity sequences, which PostgreSQL never rolls back,
// are set in that transaction's last statements.)
func MoveToPostgres(ctx context.Context, from, to *DB) (MoveCounts, error) {
	var counts MoveCounts
	if from.Dialect != SQLite {
		return counts, fmt.Errorf("the source must be a SQLite database, not %s", from.Dialect)
	}
	if to.Dialect != Postgres {
		return counts, fmt.Errorf("the target must be a PostgreSQL database, not %s", to.Dialect)
	}
	if err := checkSourceVersion(ctx, from); err != nil {
		return counts, err
	}
	if err := to.Migrate(ctx); err != nil {
		return counts, fmt.Errorf("migrate the target: %w", err)
	}
	inserter, err := river.NewClient(to.RiverDriver(), &river.Config{})
	if err != nil {
		return counts, fmt.Errorf("river insert client: %w", err)
	}

	src, err := from.Read.BeginTx(ctx, nil)
	if err != nil {
		return counts, fmt.Errorf("read the source: %w", err)
	}
	defer src.Rollback() //nolint:errcheck // read-only

	dst, err := to.Write.BeginTx(ctx, nil)
	if err != nil {
		return counts, fmt.Errorf("begin: %w", err)
	}
	defer dst.Rollback() //nolint:errcheck // a no-op after Commit

	// Nobody else writes these tables until the copy commits, so the target
	// stays empty between the check and the copy.
	if _, err := dst.ExecContext(ctx,
		`LOCK TABLE `+strings.Join(moveTargetTables, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return counts, fmt.Errorf("lock the target's tables: %w", err)
	}
	if err := checkTargetEmpty(ctx, dst); err != nil {
		return counts, err
	}
	if err := dropUnusedPassKey(ctx, dst); err != nil {
		return counts, err
	}

	for _, t := range moveTables {
		n, err := moveTableRows(ctx, src, dst, t)
		if err != nil {
			return counts, fmt.Errorf("copy %s: %w", t.name, err)
		}
		*t.count(&counts) = n
	}
	if err := moveMerges(ctx, src, dst); err != nil {
		return counts, fmt.Errorf("copy merged events: %w", err)
	}
	if counts.Sessions, err = moveSessions(ctx, src, dst); err != nil {
		return counts, fmt.Errorf("copy sessions: %w", err)
	}
	if counts.TicketFiles, err = moveTicketFiles(ctx, src, dst); err != nil {
		return counts, fmt.Errorf("copy ticket files: %w", err)
	}
	if err := recreateJobs(ctx, dst, inserter, &counts); err != nil {
		return counts, err
	}

	// New rows must get ids above the copied ones.
	for _, t := range moveTables {
		if !t.identity {
			continue
		}
		if _, err := dst.ExecContext(ctx, `
			SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM `+t.name,
			t.name); err != nil {
			return counts, fmt.Errorf("set the id sequence of %s: %w", t.name, err)
		}
	}
	if err := dst.Commit(); err != nil {
		return counts, fmt.Errorf("commit: %w", err)
	}
	return counts, nil
}

// checkSourceVersion makes sure the source's tables are those this program
// knows: the same app migrations applied.
func checkSourceVersion(ctx context.Context, from *DB) error {
	want, err := migrationVersions(SQLite)
	if err != nil {
		return err
	}
	rows, err := from.Read.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("the source is not an EventHive database: %w", err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("the source has migrations %v applied and this eventhive has %v: "+
			"run this version of eventhive on it once, so that it migrates it, then stop it and move it", got, want)
	}
	return nil
}

// migrationVersions lists the numbers of a dialect's embedded migrations.
func migrationVersions(dialect Dialect) ([]int, error) {
	names, err := fs.Glob(migrationFS, path.Join("migrations", string(dialect))+"/*.sql")
	if err != nil {
		return nil, err
	}
	versions := make([]int, 0, len(names))
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions, nil
}

// checkTargetEmpty fails with ErrTargetNotEmpty, naming the tables that hold
// rows, unless all of them are empty.
func checkTargetEmpty(ctx context.Context, dst *sql.Tx) error {
	var full []string
	for _, table := range moveTargetTables {
		var exists bool
		if err := dst.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&exists); err != nil {
			return fmt.Errorf("check the target: %w", err)
		}
		if exists {
			full = append(full, table)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: it already has rows in %s", ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// dropUnusedPassKey deletes the pass signing key that an app started on the
// empty target made: with no ticket there, no pass was signed with it, and
// the source's key, with which passes in people's hands were signed, takes
// its place.
func dropUnusedPassKey(ctx context.Context, dst *sql.Tx) error {
	if _, err := dst.ExecContext(ctx, `LOCK TABLE pass_keys IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the target's pass key: %w", err)
	}
	if _, err := dst.ExecContext(ctx, `DELETE FROM pass_keys`); err != nil {
		return fmt.Errorf("drop the target's unused pass key: %w", err)
	}
	return nil
}

// moveBatchRows is how many rows one INSERT carries, so that a remote
// database is not one round trip per row away. PostgreSQL allows 65535
// parameters per statement; the widest table has 12 columns.
const moveBatchRows = 500

func moveTableRows(ctx context.Context, src, dst *sql.Tx, t moveTable) (int, error) {
	columns := strings.Join(t.columns, ", ")
	insert := `INSERT INTO ` + t.name + ` (` + columns + `)`
	if t.identity {
		insert += ` OVERRIDING SYSTEM VALUE`
	}
	var convert func([]any) error
	if len(t.booleans) > 0 {
		convert = convertBooleans(t.columns, t.booleans)
	}
	return copyRows(ctx, src, dst,
		`SELECT `+columns+` FROM `+t.name+` ORDER BY `+t.columns[0], insert, len(t.columns), convert)
}

// convertBooleans converts the named columns of a row of columns from
// SQLite's 0 or 1 to a bool.
func convertBooleans(columns, booleans []string) func([]any) error {
	var at []int
	for i, c := range columns {
		if slices.Contains(booleans, c) {
			at = append(at, i)
		}
	}
	return func(row []any) error {
		for _, i := range at {
			switch v := row[i].(type) {
			case int64:
				row[i] = v != 0
			case bool:
			default:
				return fmt.Errorf("%s is %T, want 0 or 1", columns[i], row[i])
			}
		}
		return nil
	}
}

// moveMerges copies which events an operator merged into which. It runs once
// every event is in the target, as an event may be merged into one with a
// higher id, which an earlier batch would lack.
func moveMerges(ctx context.Context, src, dst *sql.Tx) error {
	rows, err := src.QueryContext(ctx, `SELECT id, merged_into FROM events WHERE merged_into IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, into int64
		if err := rows.Scan(&id, &into); err != nil {
			return err
		}
		if _, err := dst.ExecContext(ctx, `UPDATE events SET merged_into = $1 WHERE id = $2`, into, id); err != nil {
			return err
		}
	}
	return rows.Err()
}

// moveSessions copies scs's sessions. SQLite keeps their expiry as a Julian
// day number (REAL), PostgreSQL as a TIMESTAMPTZ; the data is the same bytes.
func moveSessions(ctx context.Context, src, dst *sql.Tx) (int, error) {
	return copyRows(ctx, src, dst, `SELECT token, data, expiry FROM sessions ORDER BY token`,
		`INSERT INTO sessions (token, data, expiry)`, 3, func(row []any) error {
			switch data := row[1].(type) {
			case []byte:
			case string:
				row[1] = []byte(data)
			default:
				return fmt.Errorf("session data is %T, want bytes", row[1])
			}
			var day float64
			switch v := row[2].(type) {
			case float64:
				day = v
			case int64:
				day = float64(v)
			default:
				return fmt.Errorf("session expiry is %T, want a Julian day number", row[2])
			}
			row[2] = fromJulianDay(day)
			return nil
		})
}

// moveTicketFiles copies the e-ticket files one at a time: each may be
// megabytes, too big to batch as copyRows does. SQLite's BLOB and
// PostgreSQL's BYTEA both read and write as []byte.
func moveTicketFiles(ctx context.Context, src, dst *sql.Tx) (int, error) {
	const columns = `ticket_id, content, content_type, size, sha256, uploaded_by, uploaded_at, replaced_at`
	rows, err := src.QueryContext(ctx, `SELECT `+columns+` FROM ticket_files ORDER BY ticket_id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var ticketID, size, uploadedBy, uploadedAt int64
		var content []byte
		var contentType, sum string
		var replacedAt sql.NullInt64
		if err := rows.Scan(&ticketID, &content, &contentType, &size, &sum, &uploadedBy, &uploadedAt, &replacedAt); err != nil {
			return n, err
		}
		if _, err := dst.ExecContext(ctx, `INSERT INTO ticket_files (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			ticketID, content, contentType, size, sum, uploadedBy, uploadedAt, replacedAt); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// unixEpochJulianDay is the Julian day number of 1970-01-01T00:00:00Z.
const unixEpochJulianDay = 2440587.5

// fromJulianDay converts SQLite's julianday() to a time, to the millisecond
// (a REAL Julian day holds about 40 µs of precision).
func fromJulianDay(day float64) time.Time {
	return time.UnixMilli(int64(math.Round((day - unixEpochJulianDay) * 86400 * 1000))).UTC()
}

// copyRows reads every row of query from src and inserts it into dst with
// insert (an INSERT … up to its VALUES), several rows per statement. convert,
// if any, changes each row's values before they are written.
func copyRows(ctx context.Context, src, dst *sql.Tx, query, insert string, ncols int, convert func([]any) error) (int, error) {
	rows, err := src.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()

	n := 0
	batch := make([]any, 0, moveBatchRows*ncols)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString(insert)
		b.WriteString(" VALUES ")
		for r := range len(batch) / ncols {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range ncols {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(r*ncols+c+1))
			}
			b.WriteByte(')')
		}
		if _, err := dst.ExecContext(ctx, b.String(), batch...); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}

	values := make([]any, ncols)
	pointers := make([]any, ncols)
	for i := range values {
		pointers[i] = &values[i]
	}
	for rows.Next() {
		clear(values)
		if err := rows.Scan(pointers...); err != nil {
			return n, err
		}
		if convert != nil {
			if err := convert(values); err != nil {
				return n, err
			}
		}
		batch = append(batch, values...)
		n++
		if n%moveBatchRows == 0 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// recreateJobs inserts, in the target's transaction, the jobs its copied data
// needs. The source's own job queue is not copied: every job EventHive needs
// follows from the data.
func recreateJobs(ctx context.Context, dst *sql.Tx, inserter *river.Client[*sql.Tx], counts *MoveCounts) error {
	var params []river.InsertManyParams
	now := time.Now()

	err := queryEach(ctx, dst, `SELECT id, expires_at FROM orders WHERE status = 'pending' ORDER BY id`,
		func(rows *sql.Rows) error {
			var id, expires int64
			if err := rows.Scan(&id, &expires); err != nil {
				return err
			}
			opts := &river.InsertOpts{}
			if at := fromMS(expires); at.After(now) {
				opts.ScheduledAt = at
			} // else the hold has ended: the job is due now.
			params = append(params, river.InsertManyParams{Args: ExpireOrderArgs{OrderID: id}, InsertOpts: opts})
			counts.ExpiryJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("pending orders: %w", err)
	}
	err = queryEach(ctx, dst, `SELECT id FROM stripe_events WHERE processed_at IS NULL ORDER BY received_at, id`,
		func(rows *sql.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: ProcessStripeEventArgs{EventID: id}})
			counts.EventJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("unprocessed stripe events: %w", err)
	}
	err = queryEach(ctx, dst, `SELECT checkout_session_id, payment_intent_id FROM payments WHERE status = 'refund_pending' ORDER BY id`,
		func(rows *sql.Rows) error {
			var a RefundPaymentArgs
			if err := rows.Scan(&a.SessionID, &a.PaymentIntentID); err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: a})
			counts.RefundJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("payments awaiting refund: %w", err)
	}
	err = queryEach(ctx, dst, `SELECT id, starts_at FROM events WHERE starts_at > $1 ORDER BY id`,
		func(rows *sql.Rows) error {
			var id, starts int64
			if err := rows.Scan(&id, &starts); err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: CloseSalesArgs{EventID: id},
				InsertOpts: &river.InsertOpts{ScheduledAt: fromMS(starts)}})
			counts.SalesCloseJobs++
			return nil
		}, ms(now))
	if err != nil {
		return fmt.Errorf("events still to start: %w", err)
	}
	err = queryEach(ctx, dst, `SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id`,
		func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: SendMailArgs{MailID: id}})
			counts.MailJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("mail not sent yet: %w", err)
	}
	err = queryEach(ctx, dst, `SELECT order_id, min(release_at) FROM sales WHERE state = 'held' GROUP BY order_id ORDER BY order_id`,
		func(rows *sql.Rows) error {
			var id, release int64
			if err := rows.Scan(&id, &release); err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: ReleaseSalesArgs{OrderID: id},
				InsertOpts: &river.InsertOpts{ScheduledAt: fromMS(release)}})
			counts.PayoutJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("sales to release: %w", err)
	}
	err = queryEach(ctx, dst, `
		SELECT a.id, a.state FROM sales a WHERE a.state IN ('transferring', 'reversing')
		   OR (a.state IN ('refunded', 'reversed') AND NOT EXISTS (
		       SELECT 1 FROM ledger_entries le WHERE le.sale_id = a.id AND le.kind = 'refund'))
		ORDER BY a.id`,
		func(rows *sql.Rows) error {
			var id int64
			var state SaleState
			if err := rows.Scan(&id, &state); err != nil {
				return err
			}
			var args river.JobArgs = RefundSaleArgs{SaleID: id}
			switch state {
			case SaleTransferring:
				args = TransferSaleArgs{SaleID: id}
			case SaleReversing:
				args = ReverseTransferArgs{SaleID: id}
			}
			params = append(params, river.InsertManyParams{Args: args})
			counts.PayoutJobs++
			return nil
		})
	if err != nil {
		return fmt.Errorf("money on its way: %w", err)
	}

	for chunk := range slices.Chunk(params, 1000) {
		if _, err := inserter.InsertManyTx(ctx, dst, chunk); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
	}
	return nil
}

// queryEach runs query with args in tx and calls fn for each row.
func queryEach(ctx context.Context, tx *sql.Tx, query string, fn func(*sql.Rows) error, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
