package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/riverqueue/river/rivermigrate"
)

// Each dialect has its own migration files, numbered alike.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// Migrate brings the app's tables, the scs sessions table and River's tables
// up to date. Each app migration runs in its own transaction and is recorded
// in schema_migrations.
func (d *DB) Migrate(ctx context.Context) error { return d.migrate(ctx, math.MaxInt) }

// migrate applies the app migrations numbered up to upTo, and River's.
func (d *DB) migrate(ctx context.Context, upTo int) error {
	dir := path.Join("migrations", string(d.Dialect))
	names, err := fs.Glob(migrationFS, dir+"/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)

	if d.Dialect == Postgres {
		// Instances starting together take turns; the lock is per schema.
		conn, err := d.Write.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext(current_schema()))`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext(current_schema()))`) //nolint:errcheck // closing the connection unlocks too
	}

	if _, err := d.Write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		if version > upTo {
			break
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if err := d.migrateOne(ctx, version, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}

	migrator, err := rivermigrate.New(d.RiverDriver(), nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

func (d *DB) migrateOne(ctx context.Context, version int, body string) error {
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var applied int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&applied); err != nil {
		return err
	}
	if applied > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
		return err
	}
	return tx.Commit()
}
