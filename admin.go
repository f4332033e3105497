package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/eventhive/eventhive/store"
)

const adminUsage = `Usage: eventhive admin confirm EMAIL

Confirms that the account with EMAIL is the operator's. The console at /admin
opens only to an account that ADMIN_EMAILS lists and that was confirmed this
way, on the server: signing up first with a listed address is not enough.
Sign up on the site with the address, then run this where the app runs, with
its environment (DATABASE_URL), for example:

  fly ssh console -C "/eventhive admin confirm ops@example.com"
`

// runAdmin runs the admin subcommand with its arguments.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	if len(args) != 2 || args[0] != "confirm" {
		return fmt.Errorf("admin: want \"admin confirm EMAIL\", got %q (see eventhive admin -h)", args)
	}
	email, err := store.NormalizeEmail(args[1])
	if err != nil {
		return fmt.Errorf("admin confirm: %q: %w", args[1], err)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := store.New(db)
	if err != nil {
		return err
	}
	u, err := st.ConfirmAdmin(ctx, email, time.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin confirm: no account has the email %s; sign up with it on the site first", email)
	}
	if err != nil {
		return fmt.Errorf("admin confirm: %w", err)
	}
	fmt.Fprintf(stdout, "Confirmed account %d (%s) as an operator's, on %s.\n", u.ID, u.Email, u.AdminConfirmedAt.Format(time.RFC3339))
	if slices.Contains(cfg.AdminEmails, u.Email) {
		fmt.Fprintln(stdout, "ADMIN_EMAILS lists it: it can open /admin now.")
	} else {
		fmt.Fprintln(stdout, "ADMIN_EMAILS does not list it: it can open /admin once ADMIN_EMAILS does and the app restarts.")
	}
	return nil
}
