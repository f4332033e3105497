package handlers

import (
	"bytes"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"
)

func TestSessionCodec(t *testing.T) {
	deadline := time.Date(2026, 12, 18, 9, 30, 0, 123456789, time.UTC)
	values := map[string]any{sessionUserID: int64(42), sessionEpoch: int64(-3), sessionFlash: "Your changes are saved. ✓", "": ""}

	t.Run("RoundTrip", func(t *testing.T) {
		b, err := sessionCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(b, []byte(sessionFormat)))
		gotDeadline, got, err := sessionCodec{}.Decode(b)
		require.NoError(t, err)
		require.True(t, gotDeadline.Equal(deadline), "deadline %v, want %v", gotDeadline, deadline)
		require.Equal(t, values, got)
	})

	t.Run("SameSessionSameBytes", func(t *testing.T) {
		// Maps iterate in random order; the encoding must not.
		first, err := sessionCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		for range 50 {
			again, err := sessionCodec{}.Encode(deadline, map[string]any{sessionFlash: "Your changes are saved. ✓", "": "", sessionEpoch: int64(-3), sessionUserID: int64(42)})
			require.NoError(t, err)
			require.Equal(t, first, again)
		}
	})

	t.Run("GobSessionsStillDecode", func(t *testing.T) {
		// A session stored before this codec stays signed in.
		old, err := scs.GobCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		gotDeadline, got, err := sessionCodec{}.Decode(old)
		require.NoError(t, err)
		require.True(t, gotDeadline.Equal(deadline))
		require.Equal(t, values, got)
	})

	t.Run("OtherTypesGoToGob", func(t *testing.T) {
		other := map[string]any{"yes": true, "n": 3}
		b, err := sessionCodec{}.Encode(deadline, other)
		require.NoError(t, err)
		require.False(t, bytes.HasPrefix(b, []byte(sessionFormat)))
		_, got, err := sessionCodec{}.Decode(b)
		require.NoError(t, err)
		require.Equal(t, 3, got["n"])
		require.Equal(t, true, got["yes"])
	})

	t.Run("MalformedIsAnError", func(t *testing.T) {
		b, err := sessionCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		for n := len(sessionFormat); n < len(b); n++ {
			_, _, err := sessionCodec{}.Decode(b[:n])
			require.Error(t, err, "cut to %d of %d bytes", n, len(b))
		}
		_, _, err = sessionCodec{}.Decode(append(bytes.Clone(b), 0))
		require.Error(t, err, "a byte past the end")
		one, err := sessionCodec{}.Encode(deadline, map[string]any{"n": int64(1)})
		require.NoError(t, err)
		bad := bytes.Clone(one)
		bad[bytes.Index(bad, []byte("\x01ni"))+2] = 'x'
		_, _, err = sessionCodec{}.Decode(bad)
		require.Error(t, err, "an unknown type")
	})
}

func FuzzSessionCodec(f *testing.F) {
	b, err := sessionCodec{}.Encode(time.Now(), map[string]any{sessionUserID: int64(7), sessionFlash: "hi"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(sessionFormat + "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !bytes.HasPrefix(b, []byte(sessionFormat)) {
			return // gob's own
		}
		deadline, values, err := sessionCodec{}.Decode(b)
		if err != nil {
			return
		}
		again, err := sessionCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		_, decoded, err := sessionCodec{}.Decode(again)
		require.NoError(t, err)
		require.Equal(t, values, decoded)
	})
}

func BenchmarkSessionCodec(b *testing.B) {
	deadline := time.Now()
	values := map[string]any{sessionUserID: int64(42), sessionEpoch: int64(1)}
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"gob", scs.GobCodec{}}, {"eventhive", sessionCodec{}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				enc, err := c.codec.Encode(deadline, values)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.codec.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
