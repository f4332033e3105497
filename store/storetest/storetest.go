// Package storetest opens a fresh, migrated database for a test: a SQLite
// file in the test's temporary directory, or, when TEST_DATABASE_URL names a
// PostgreSQL database, a schema of its own in that database. Tests that loop
// over Dialects run once on each database available.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eventhive/eventhive/store"
)

// Dialects lists the databases tests run on: SQLite always, PostgreSQL when
// TEST_DATABASE_URL is set.
func Dialects() []store.Dialect {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// PostgresOnly skips a test that is about PostgreSQL alone when
// TEST_DATABASE_URL is not set; why says why SQLite has nothing to test.
func PostgresOnly(t testing.TB, why string) {
	t.Helper()
	if !slices.Contains(Dialects(), store.Postgres) {
		t.Skip("PostgreSQL only: " + why)
	}
}

// URL returns the DATABASE_URL of a new, empty database of the dialect, which
// the test's cleanup removes.
func URL(t testing.TB, dialect store.Dialect) string {
	t.Helper()
	if dialect == store.SQLite {
		return filepath.Join(t.TempDir(), "eventhive.db")
	}
	return SchemaURL(t, "test_"+strings.ToLower(rand.Text()))
}

// SchemaURL returns the DATABASE_URL of a new, empty schema named schema in
// TEST_DATABASE_URL's PostgreSQL database, which the test's cleanup drops.
func SchemaURL(t testing.TB, schema string) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Fatal("TEST_DATABASE_URL is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(`CREATE SCHEMA ` + quoted); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + quoted + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", quoted)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated database of the dialect, closed at cleanup.
func Open(t testing.TB, dialect store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	url := URL(t, dialect)
	if dialect == store.SQLite {
		// Migrating a new file costs about half a second under -race; a
		// copy of one migrated file per test process costs a millisecond.
		if err := copyMigratedSQLite(ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

var migrated struct {
	once sync.Once
	path string
	err  error
}

// copyMigratedSQLite writes a migrated, empty SQLite database to path.
func copyMigratedSQLite(ctx context.Context, path string) error {
	migrated.once.Do(func() {
		dir, err := os.MkdirTemp("", "eventhive-storetest-")
		if err != nil {
			migrated.err = err
			return
		}
		migrated.path = filepath.Join(dir, "migrated.db")
		db, err := store.Open(ctx, migrated.path)
		if err != nil {
			migrated.err = err
			return
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			migrated.err = err
			return
		}
		// Fold the write-ahead log into the file, so the file alone is the
		// whole database.
		_, migrated.err = db.Write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	})
	if migrated.err != nil {
		return migrated.err
	}
	data, err := os.ReadFile(migrated.path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
