package jobs_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// testClock is the workers' and River's time: the wall clock moved forward
// by as much as the test advanced it, so that a test reaches an event's start
// without waiting for it.
type testClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.ahead)
}

func (c *testClock) NowOrNil() *time.Time {
	now := c.Now()
	return &now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

// recorder is a Publisher that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []live.Event
}

func (r *recorder) Publish(e live.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) published() []live.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// TestCloseSalesAtStart runs the job River schedules at an event's start: it
// tells the page of each of the event's listings, and no other, at the start
// and not before; an event whose date became to be announced tells nobody.
func TestCloseSalesAtStart(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, dialect)
			st, err := store.New(db)
			require.NoError(t, err)
			clock := &testClock{}
			pages := &recorder{}
			client, err := jobs.NewClient(db.RiverDriver(), jobs.Deps{Store: st, Now: clock.Now, Live: pages},
				slog.New(slog.DiscardHandler), jobs.ForTests(clock))
			require.NoError(t, err)

			seller, err := st.CreateUser(ctx, "seller@example.com", "x", clock.Now())
			require.NoError(t, err)
			start := clock.Now().Add(time.Hour).Truncate(time.Millisecond)
			list := func(n store.NewListing) store.Listing {
				n.Price, n.FaceValue, n.Currency, n.Quantity = 1000, 1000, "usd", 2
				l, err := st.CreateListing(ctx, seller.ID, n, clock.Now())
				require.NoError(t, err)
				return l
			}
			gig := store.NewEvent{Name: "Gig", StartsAt: start, TimeZone: "UTC"}
			first := list(store.NewListing{Event: gig})
			second := list(store.NewListing{EventID: first.Event.ID})
			tomorrow := list(store.NewListing{Event: store.NewEvent{Name: "Tomorrow", StartsAt: start.Add(24 * time.Hour), TimeZone: "UTC"}})
			postponed := list(store.NewListing{Event: store.NewEvent{Name: "Postponed", StartsAt: start, TimeZone: "UTC"}})
			// An operator takes the date back: to be announced.
			_, err = db.Write.ExecContext(ctx, `UPDATE events SET starts_at = NULL WHERE id = $1`, postponed.Event.ID)
			require.NoError(t, err)

			jobOf := func(eventID int64) *rivertype.JobRow {
				res, err := client.JobList(ctx, river.NewJobListParams().Kinds(store.CloseSalesArgs{}.Kind()).First(10))
				require.NoError(t, err)
				for _, job := range res.Jobs {
					var args store.CloseSalesArgs
					require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
					if args.EventID == eventID {
						return job
					}
				}
				t.Fatalf("no close_sales job for event %d", eventID)
				return nil
			}
			gigJob := jobOf(first.Event.ID)
			require.Equal(t, rivertype.JobStateScheduled, gigJob.State)
			require.True(t, start.Equal(gigJob.ScheduledAt), "scheduled at %s, starts at %s", gigJob.ScheduledAt, start)

			require.NoError(t, client.Start(ctx))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, client.Stop(ctx))
			})

			// Run early, the job waits for the start and tells nobody.
			_, err = client.JobRetry(ctx, gigJob.ID)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				job, err := client.JobGet(ctx, gigJob.ID)
				return err == nil && job.State == rivertype.JobStateScheduled
			}, 20*time.Second, 20*time.Millisecond, "the early job snoozes")
			snoozed, err := client.JobGet(ctx, gigJob.ID)
			require.NoError(t, err)
			require.False(t, snoozed.ScheduledAt.Before(start.Add(-time.Second)),
				"snoozed until %s, the start is %s", snoozed.ScheduledAt, start)
			require.Empty(t, pages.published())

			clock.Advance(time.Hour)
			done := func(job *rivertype.JobRow) func() bool {
				return func() bool {
					got, err := client.JobGet(ctx, job.ID)
					return err == nil && got.State == rivertype.JobStateCompleted
				}
			}
			require.Eventually(t, done(gigJob), 20*time.Second, 20*time.Millisecond, "the job runs at the start")
			require.Eventually(t, done(jobOf(postponed.Event.ID)), 20*time.Second, 20*time.Millisecond)
			require.ElementsMatch(t, []live.Event{{TicketID: first.ID}, {TicketID: second.ID}}, pages.published(),
				"the pages of the gig's listings, not of %d or %d", tomorrow.ID, postponed.ID)
			require.Equal(t, rivertype.JobStateScheduled, jobOf(tomorrow.Event.ID).State)
		})
	}
}
