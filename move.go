package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/eventhive/eventhive/store"
)

const moveUsage = `Usage: eventhive move-to-postgres --from FILE [--to URL]

Copies every user, session, event, listing, ticket, order, payment and Stripe
event from the SQLite file into an empty PostgreSQL database, in one
transaction, keeping every id, and recreates the jobs the data needs (pending
orders' expiry, unprocessed Stripe events, refunds, the close of sales of
events still to start). The target is migrated first; if it
already holds any EventHive data nothing is written. The SQLite file is only
read. Writes made after the move starts stay in the SQLite file, so move in a
quiet moment (or with the app stopped), then start it with DATABASE_URL=URL.
--to defaults to $POSTGRES_URL (what "fly postgres attach --variable-name
POSTGRES_URL" sets).

Flags:
`

// runMove runs the move-to-postgres subcommand with its arguments.
func runMove(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("move-to-postgres", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	from := flags.String("from", "", "the SQLite `FILE` to copy from, e.g. eventhive.db")
	to := flags.String("to", getenv("POSTGRES_URL"), "the PostgreSQL `URL` to copy into, postgres://user:password@host/database")
	usage := func(w io.Writer) {
		fmt.Fprint(w, moveUsage)
		flags.SetOutput(w)
		flags.PrintDefaults()
		flags.SetOutput(io.Discard)
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return nil
		}
		return moveUsageError(err.Error())
	}
	switch {
	case flags.NArg() > 0:
		return moveUsageError(fmt.Sprintf("unexpected arguments %q", flags.Args()))
	case *from == "":
		return moveUsageError("--from is required: the SQLite file to copy from")
	case *to == "":
		return moveUsageError("--to is required (or POSTGRES_URL): the PostgreSQL URL to copy into")
	case !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://"):
		return moveUsageError("--to must be a postgres:// or postgresql:// URL")
	}

	source, err := store.OpenSQLiteReadOnly(ctx, *from)
	if err != nil {
		return fmt.Errorf("move-to-postgres: --from: %w", err)
	}
	defer source.Close()
	target, err := store.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("move-to-postgres: target %s: %w", redact(*to), err)
	}
	defer target.Close()

	counts, err := store.MoveToPostgres(ctx, source, target)
	if err != nil {
		return fmt.Errorf("move-to-postgres: nothing was written to %s: %w", redact(*to), err)
	}
	fmt.Fprintf(stdout, "Moved %s to %s in one transaction:\n", *from, redact(*to))
	for _, line := range []struct {
		name string
		n    int
	}{
		{"users", counts.Users},
		{"sessions", counts.Sessions},
		{"events", counts.Events},
		{"listings", counts.Listings},
		{"tickets", counts.Tickets},
		{"orders", counts.Orders},
		{"payments", counts.Payments},
		{"stripe events", counts.StripeEvents},
		{"moderation log", counts.ModerationActions},
		{"ticket files", counts.TicketFiles},
		{"pass key", counts.PassKeys},
		{"check-ins", counts.CheckIns},
		{"door scans", counts.CheckinScans},
		{"door helpers", counts.CheckinHelpers},
		{"mail", counts.Mail},
		{"reset tokens", counts.PasswordResets},
		{"alerts", counts.Alerts},
		{"alert mail", counts.AlertSends},
		{"payout accts", counts.PayoutAccounts},
		{"sales", counts.Sales},
		{"ledger", counts.LedgerEntries},
	} {
		fmt.Fprintf(stdout, "  %-14s %d\n", line.name, line.n)
	}
	fmt.Fprintf(stdout, "  %-14s %d (%d order expiry, %d stripe event, %d refund, %d sales close, %d mail, %d payout)\n", "jobs",
		counts.Jobs(), counts.ExpiryJobs, counts.EventJobs, counts.RefundJobs, counts.SalesCloseJobs, counts.MailJobs,
		counts.PayoutJobs)
	fmt.Fprintln(stdout, "Start eventhive with DATABASE_URL set to the PostgreSQL URL.")
	return nil
}

// moveUsageError is a mistake in the subcommand's arguments.
func moveUsageError(msg string) error {
	return fmt.Errorf("move-to-postgres: %s (see eventhive move-to-postgres -h)", msg)
}

// redact hides the password in a database URL.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "the PostgreSQL database"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
