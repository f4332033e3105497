package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/eventhive/eventhive/store"
)

// moduleDir returns the directory of the module being benchmarked.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench from inside the eventhive module: go run ./bench")
	}
	return filepath.Dir(mod), nil
}

// buildApp builds the app's binary (package main at the module's top) into
// dir, so that the benchmark runs exactly what `go run .` runs.
func buildApp(dir string) (string, error) {
	root, err := moduleDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "eventhive")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

// database is a fresh, empty database of one dialect for one app.
type database struct {
	dialect store.Dialect
	url     string
	drop    func() // removes it
}

// newDatabase returns a fresh database: a SQLite file in dir, or a schema of
// its own in the PostgreSQL database at pgURL.
func newDatabase(ctx context.Context, dialect store.Dialect, dir, name, pgURL string) (*database, error) {
	if dialect == store.SQLite {
		return &database{dialect: dialect, url: filepath.Join(dir, name+".db"), drop: func() {}}, nil
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bench_" + name + "_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", pgURL)
	if err != nil {
		return nil, err
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(pgURL)
	if err != nil {
		admin.Close()
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &database{dialect: dialect, url: u.String(), drop: func() {
		_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	}}, nil
}

// openStore opens a store on the app's database at url: the benchmark's own
// view of it, for seeding and for checking what the app stored. Closing
// its DB closes it.
func openStore(ctx context.Context, url string) (*store.Store, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	st, err := store.New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// app is the app's process, started from its binary.
type app struct {
	cmd      *exec.Cmd
	url      string
	logs     *os.File
	operator string        // the app's METRICS_PORT address, or "" when not profiled
	done     chan struct{} // closed once the process has ended
}

// startApp runs the binary on db with env added to the benchmark's
// environment, logging (JSON, as in production) to logPath, and waits until
// it answers /healthz.
func startApp(bin string, db *database, logPath string, profiled bool, env ...string) (*app, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var operator string
	if profiled {
		opPort, err := freePort()
		if err != nil {
			return nil, err
		}
		operator = "http://127.0.0.1:" + strconv.Itoa(opPort)
		env = append(env, "METRICS_PORT="+strconv.Itoa(opPort))
	}
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "DATABASE_URL="+db.url, "BASE_URL="+base)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	a := &app{cmd: cmd, url: base, logs: logs, operator: operator, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a, nil
			}
		}
		if time.Now().After(deadline) || a.exited() {
			a.stop()
			return nil, fmt.Errorf("the app did not start; the end of %s:\n%s", logPath, tail(logPath, 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether the app's process has ended. (A signal 0 cannot
// tell: it reaches a process that ended and was not waited for.)
func (a *app) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// profile records the app's CPU profile, one second at a time, into
// dir/name-NN.pb.gz until the returned function is called (which waits for
// the second under way). `go tool pprof -top dir/name-*.pb.gz` reads them
// together. Without a profile directory it does nothing.
func (a *app) profile(dir, name string) (stop func()) {
	if a.operator == "" || dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := a.profileSecond(filepath.Join(dir, fmt.Sprintf("%s-%02d.pb.gz", name, i))); err != nil {
				progress("profile %s: %v", name, err)
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (a *app) profileSecond(path string) error {
	resp, err := http.Get(a.operator + "/debug/pprof/profile?seconds=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stop ends the app with SIGTERM, as a deploy would, and waits for it.
func (a *app) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.logs.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// rssSampler samples a process's resident memory while it runs.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	max  int64 // bytes
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := procStatus(s.pid, "VmRSS"); err == nil {
				s.mu.Lock()
				s.max = max(s.max, rss)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Max stops sampling and returns the highest resident memory seen.
func (s *rssSampler) Max() int64 {
	close(s.stop)
	<-s.done
	return s.max
}

// procStatus reads a memory figure (VmRSS, VmHWM) of a process, in bytes.
func procStatus(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// mb formats bytes in MiB.
func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
