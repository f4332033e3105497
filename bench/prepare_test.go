package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eventhive/eventhive/store"
)

// TestWrkAgainstAStartedApp prepares (a)'s holds and the rush for wrk
// against the app started as a process of its own, on each dialect, runs
// wrk with the script written, and tallies: every ask answered, and the
// database agrees with what the buyers were told. A told file that lost a
// 303 then fails the tally.
func TestWrkAgainstAStartedApp(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wrk is missing (Debian's wrk package)")
		}
		t.Skip("wrk is missing (Debian's wrk package)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := buildApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	dialects := []store.Dialect{store.SQLite}
	pgURL := os.Getenv("TEST_DATABASE_URL")
	if pgURL != "" {
		dialects = append(dialects, store.Postgres)
	}
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			db, err := newDatabase(ctx, dialect, dir, "wrk", pgURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.drop()
			a, err := startApp(bin, db, filepath.Join(dir, string(dialect)+".log"), false, "ORDER_HOLD=1h", "TRUST_PROXY_HEADERS=true")
			if err != nil {
				t.Fatal(err)
			}
			defer a.stop()
			for _, c := range []struct {
				name                   string
				holds, buyers, tickets int
				want                   string
			}{
				{"holds", 200, 0, 0, "200 asks, 200 answered (303: 200, 409: 0, other: 0)"},
				{"rush", 0, 100, 60, "100 asks, 100 answered"},
			} {
				pdir := filepath.Join(dir, string(dialect), c.name)
				o := options{rush: bigRushOptions{buyers: c.buyers, tickets: c.tickets}}
				if err := prepare(ctx, t.Output(), o, c.holds, a.url, db.url, pdir); err != nil {
					t.Fatalf("%s: prepare: %v", c.name, err)
				}
				// wrk runs for all of -d, though its threads stop once every
				// ask is answered: long enough for a loaded CI machine.
				out, err := exec.Command(wrk, "-t2", "-c20", "-d10s", "--timeout", "10s", "-s", filepath.Join(pdir, "wrk.lua"), a.url, "--", "2").CombinedOutput()
				if err != nil {
					t.Fatalf("%s: wrk: %v\n%s", c.name, err, out)
				}
				var tallied bytes.Buffer
				if err := tally(ctx, &tallied, pdir); err != nil {
					t.Fatalf("%s: tally: %v\n%s\nwrk:\n%s", c.name, err, tallied.String(), out)
				}
				if !strings.Contains(tallied.String(), c.want) {
					t.Errorf("%s: the tally does not say %q:\n%s", c.name, c.want, tallied.String())
				}
			}

			// A hold its buyer was told was refused: the database holds an
			// order no buyer was told of.
			name := filepath.Join(dir, string(dialect), "holds", "told-0-0.txt")
			told, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(told), "\n")
			for i, line := range lines {
				if at, _, ok := strings.Cut(line, " 303 "); ok {
					lines[i] = at + " 409 -\n"
					break
				}
			}
			if err := os.WriteFile(name, []byte(strings.Join(lines, "")), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := tally(ctx, new(bytes.Buffer), filepath.Dir(name)); err == nil {
				t.Error("the tally passed with a hold whose buyer was told it was refused")
			}
		})
	}
}

// TestTallyRefusesALineItCannotRead: a told file's line that is neither
// "start µs" nor "µs status location" is an error that quotes it.
func TestTallyRefusesALineItCannotRead(t *testing.T) {
	for _, line := range []string{"start", "start x", "1 303", "x 303 /orders/1", "1 x -", "1 303 /orders/x"} {
		name := filepath.Join(t.TempDir(), "told-0-0.txt")
		if err := os.WriteFile(name, []byte("start 1\n2 409 -\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var a answers
		err := a.read(name)
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(line)) {
			t.Errorf("%q: got %v, want an error quoting the line", line, err)
		}
	}
}
