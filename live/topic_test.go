package live

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is a stream that keeps what it is sent; onSend, if set, runs
// before it takes each message.
type recorder struct {
	progress
	got    []string
	onSend func()
}

func (r *recorder) send(m *message) bool {
	if r.onSend != nil {
		r.onSend()
	}
	r.got = append(r.got, string(m.raw))
	return true
}
func (r *recorder) left() bool { return false }
func (r *recorder) close()     {}

// counter is a feed like an event's listings: a shape that only a whole
// rendering shows, and counts that an update changes in place. Each
// rendering applies the next step: "shape:S" makes a new shape, "k=v" sets
// a count.
type counter struct {
	steps []string
	shape string
	count map[string]string
}

type counted struct {
	shape string
	count map[string]string
}

func (c *counter) render(context.Context, any) (Rendering, error) {
	step := c.steps[0]
	c.steps = c.steps[1:]
	if shape, ok := strings.CutPrefix(step, "shape:"); ok {
		c.shape = shape
	} else {
		k, v, _ := strings.Cut(step, "=")
		c.count = maps.Clone(c.count)
		c.count[k] = v
	}
	now := counted{c.shape, c.count}
	var html []string
	for _, k := range slices.Sorted(maps.Keys(now.count)) {
		html = append(html, k+"="+now.count[k])
	}
	return Rendering{
		HTML:       []byte(now.shape + " " + strings.Join(html, ",")),
		UpdateName: "counts",
		State:      now,
		Since: func(older any) []byte {
			before := older.(counted)
			if before.shape != now.shape {
				return nil
			}
			var changed []string
			for _, k := range slices.Sorted(maps.Keys(now.count)) {
				if now.count[k] != before.count[k] {
					changed = append(changed, k+"="+now.count[k])
				}
			}
			return []byte(strings.Join(changed, ","))
		},
	}, nil
}

func newTestTopic(c *counter, sinks ...*recorder) *topic {
	s := &Streams{log: slog.New(slog.DiscardHandler), window: time.Millisecond, prefix: "p-", topics: map[Topic]*topic{}}
	t := &topic{s: s, key: Topic{Name: "listings"}, feed: Feed{Render: c.render}, sinks: map[sink]int{}}
	for _, sk := range sinks {
		t.add(sk)
	}
	return t
}

// renderNext renders the topic's next step and makes it the latest.
func renderNext(t *testing.T, tp *topic) {
	t.Helper()
	l, err := tp.render()
	require.NoError(t, err)
	tp.cur.Store(l)
}

func whole(seq int, body string) string {
	return fmt.Sprintf("id: p-%d\nevent: listings\ndata: %s\n\n", seq, body)
}

func update(seq int, body string) string {
	return fmt.Sprintf("id: p-%d\nevent: counts\ndata: %s\n\n", seq, body)
}

// TestStreamsBehindAreBroughtUpToDate checks what a stream is sent by what
// it has: one update with everything that changed since, however many
// renderings it missed, or the whole rendering when the shape changed
// since or it is too far behind.
func TestStreamsBehindAreBroughtUpToDate(t *testing.T) {
	c := &counter{steps: []string{"shape:A", "x=1", "y=1", "x=2", "shape:B", "y=2"}, count: map[string]string{}}
	early, late := &recorder{}, &recorder{}
	tp := newTestTopic(c, early, late)

	renderNext(t, tp) // 1
	tp.pass()
	require.Equal(t, []string{whole(1, "A ")}, early.got)
	require.Equal(t, []string{whole(1, "A ")}, late.got)

	renderNext(t, tp)         // 2: x=1
	tp.catchUp([]sink{early}) // late misses it
	renderNext(t, tp)         // 3: y=1
	renderNext(t, tp)         // 4: x=2
	newcomer := &recorder{}
	tp.add(newcomer) // has nothing
	require.Equal(t, uint64(4), tp.pass(), "everyone has the latest")
	require.Equal(t, []string{whole(1, "A "), update(2, "x=1"), update(4, "x=2,y=1")}, early.got)
	require.Equal(t, []string{whole(1, "A "), update(4, "x=2,y=1")}, late.got, "one update for what the three missed renderings changed")
	require.Equal(t, []string{whole(4, "A x=2,y=1")}, newcomer.got)

	renderNext(t, tp) // 5: a new shape
	tp.catchUp([]sink{early})
	renderNext(t, tp) // 6: y=2
	tp.pass()
	require.Equal(t, update(6, "y=2"), early.got[len(early.got)-1])
	require.Equal(t, whole(6, "B x=2,y=2"), late.got[len(late.got)-1], "behind the new shape: the whole")

	// More than catchUpMost renderings behind: the whole.
	for i := range catchUpMost + 1 {
		c.steps = append(c.steps, fmt.Sprintf("z=%d", i))
	}
	for range catchUpMost {
		renderNext(t, tp)
		tp.catchUp([]sink{early})
	}
	renderNext(t, tp)
	tp.pass()
	last := 6 + catchUpMost + 1
	require.Equal(t, update(last, fmt.Sprintf("z=%d", catchUpMost)), early.got[len(early.got)-1])
	require.Equal(t, whole(last, fmt.Sprintf("B x=2,y=2,z=%d", catchUpMost)), late.got[len(late.got)-1])
}

// TestARenderingDuringAWriteReachesTheStreamsLeft checks that a write sends
// each stream the newest message there is when its turn comes: a rendering
// made while a write is under way goes to the streams not reached yet in
// that write, and to the others in the next, and the change it carries
// counts as delivered once every stream has it.
func TestARenderingDuringAWriteReachesTheStreamsLeft(t *testing.T) {
	c := &counter{steps: []string{"shape:A", "x=1"}, count: map[string]string{}}
	first, second := &recorder{}, &recorder{}
	tp := newTestTopic(c, first, second)
	var delivered []time.Duration
	tp.s.delivered = func(d time.Duration) { delivered = append(delivered, d) }

	renderNext(t, tp)
	heard := time.Now()
	first.onSend = func() {
		// The next rendering comes while the first stream is written to.
		first.onSend = nil
		renderNext(t, tp)
		tp.unsent = append(tp.unsent, heardAt{seq: 2, heard: heard})
	}
	tp.writing = true
	tp.write() // returns once every stream has the latest

	require.Equal(t, []string{whole(1, "A "), update(2, "x=1")}, first.got, "the next write brings it up to date")
	require.Equal(t, []string{whole(2, "A x=1")}, second.got, "the newest when its turn came")
	require.False(t, tp.writing)
	require.Len(t, delivered, 1, "delivered once both streams had it")
	require.Empty(t, tp.unsent)
}

// TestAWriteStartsWithTheChangesThatWait checks that changes waiting for
// the window to end are rendered when a write begins, so that the write
// sends them rather than a rendering older than they are.
func TestAWriteStartsWithTheChangesThatWait(t *testing.T) {
	c := &counter{steps: []string{"shape:A", "x=1"}, count: map[string]string{}}
	page := &recorder{}
	tp := newTestTopic(c, page)
	renderNext(t, tp)
	tp.pass()

	tp.window, tp.pending = true, true // a change came during the window
	tp.writing = true
	tp.write()
	require.Equal(t, []string{whole(1, "A "), update(2, "x=1")}, page.got)
	require.False(t, tp.pending, "nothing left for the window's end")
}
