package store_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/internal/cpustat"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// concurrentClaims is how many claims BenchmarkCreateOrder runs at once:
// as many as bench's (a) has buyers.
const concurrentClaims = 500

// BenchmarkCreateOrder measures the claim transaction of a purchase without
// HTTP: CreateOrder by a buyer of its own on a fresh ticket each time, from
// 500 goroutines as in a rush, with the app's limits on holds and its cool-down,
// with River's insert of the expiry job and, on SQLite, without it (the same
// transaction with River's INSERT statement skipped; on PostgreSQL the claim
// statement writes the job itself). It reports claims/s, and the CPU time a
// claim costs this process and, on PostgreSQL, the database server (every
// postgres process): on a machine shared with other work, CPU a claim varies
// far less than claims/s.
// bench/ (go run ./bench) prints these as the store-level limits.
func BenchmarkCreateOrder(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		for _, withRiver := range []bool{true, false} {
			if !withRiver && dialect == store.Postgres {
				continue
			}
			name := string(dialect) + "/river"
			if !withRiver {
				name = string(dialect) + "/no_river"
			}
			b.Run(name, func(b *testing.B) {
				db := storetest.Open(b, dialect)
				// The app's own limit on holds (MAX_HOLDS_PER_BUYER's default)
				// and cool-down, so that the transaction is the one the app runs.
				opts := []store.Option{store.WithMaxHolds(4), store.WithHoldCooldown(store.DefaultCooldown)}
				st, err := store.New(db, opts...)
				if !withRiver {
					st, err = store.NewWithoutJobInserts(db, opts...)
				}
				require.NoError(b, err)
				ctx := b.Context()
				now := time.Now().UTC()
				seller, err := st.CreateUser(ctx, "seller@example.com", "x", now)
				require.NoError(b, err)
				// As many claims at once as bench's (a) sends holds: SQLite's
				// group commit batches more of them than of 32 at once
				// (12,239 against 10,800 claims/s on 5 Dec).
				parallelism := max(1, concurrentClaims/runtime.GOMAXPROCS(0))
				goroutines := parallelism * runtime.GOMAXPROCS(0) // as b.SetParallelism runs
				// The first claims open the pool's connections and prepare
				// their statements: warm claims do that before the timer
				// starts, so that a short run measures what a long one does
				// (3,000 claims read 1,668/s cold, 20,000 read 2,482/s).
				warm := goroutines
				buyers := make([]int64, warm+b.N) // a ticket each, as in bench's holds
				for i := range buyers {
					u, err := st.CreateUser(ctx, fmt.Sprintf("buyer-%d@example.com", i), "x", now)
					require.NoError(b, err)
					buyers[i] = u.ID
				}
				tickets := make([]int64, warm+b.N)
				for i := range tickets {
					t, err := st.CreateListing(ctx, seller.ID, store.Single(fmt.Sprintf("Ticket %d", i), 3000, "usd"), now)
					require.NoError(b, err)
					tickets[i] = t.ID
				}
				var next atomic.Int64
				claim := func() error {
					i := next.Add(1) - 1
					_, err := st.CreateOrder(ctx, buyers[i], tickets[i], 1, time.Now().UTC(), time.Hour)
					return err
				}
				var warming sync.WaitGroup
				for range goroutines {
					warming.Go(func() {
						for range warm / goroutines {
							if err := claim(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				warming.Wait()
				b.SetParallelism(parallelism)
				b.ResetTimer()
				start, cpu, database := time.Now(), cpustat.Self(), cpustat.Processes("postgres")
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := claim(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
				used := cpustat.Self().Minus(cpu)
				b.ReportMetric(float64(used.CPU.Microseconds())/float64(b.N), "cpu-µs/claim")
				b.ReportMetric(float64(used.Switches)/float64(b.N), "switches/claim")
				if dialect == store.Postgres {
					db := cpustat.Processes("postgres").Minus(database)
					b.ReportMetric(float64(db.CPU.Microseconds())/float64(b.N), "pg-cpu-µs/claim")
					b.ReportMetric(float64(db.Switches)/float64(b.N), "pg-switches/claim")
				}
			})
		}
	}
}
