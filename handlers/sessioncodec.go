package handlers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionCodec encodes a session whose values are all int64s and strings
// (all this app stores: the user, their session epoch, a flash message) in
// a small format of its own, and any other session with gob, as scs does.
// scs decodes the session on every request and encodes it again at the end;
// gob sends and reads its type descriptions each time (26 to 29 µs and
// 221 allocations for both, against 0.6 to 0.7 µs and 5 here:
// BenchmarkSessionCodec),
// and its decoding alone was 6 % of a hold's CPU in the benchmark's
// profile. The format also writes the values in
// key order, so that an unchanged session encodes to the same bytes and
// sessionStore.same need not decode it to know.
//
// The format: sessionFormat, the deadline (time.Time.MarshalBinary) with its
// length, the number of values, then each value in key order: its key, a
// type byte ('i' or 's') and the value. Lengths and numbers are varints.
// Sessions written with gob before this codec still decode.
type sessionCodec struct{}

// sessionFormat starts every session in this format. A gob stream never
// starts with a zero byte: that would be a message of no bytes.
const sessionFormat = "\x00eh1"

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(values))
	for k, v := range values {
		switch v.(type) {
		case int64, string:
		default:
			return scs.GobCodec{}.Encode(deadline, values)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := append(make([]byte, 0, 64), sessionFormat...)
	when, err := deadline.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b = appendBytes(b, when)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		switch v := values[k].(type) {
		case int64:
			b = binary.AppendVarint(append(b, 'i'), v)
		case string:
			b = appendBytes(append(b, 's'), []byte(v))
		}
	}
	return b, nil
}

func (sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	rest, ok := bytes.CutPrefix(b, []byte(sessionFormat))
	if !ok {
		return scs.GobCodec{}.Decode(b)
	}
	r := sessionReader{rest: rest}
	var deadline time.Time
	if err := deadline.UnmarshalBinary(r.bytes()); err != nil && r.err == nil {
		r.err = err
	}
	n := r.uvarint()
	if n > uint64(len(r.rest)) { // every value takes at least a byte
		r.fail()
	}
	values := make(map[string]any, min(n, 16))
	for i := uint64(0); i < n && r.err == nil; i++ {
		key := string(r.bytes())
		switch r.byte() {
		case 'i':
			values[key] = r.varint()
		case 's':
			values[key] = string(r.bytes())
		default:
			r.fail()
		}
	}
	if r.err == nil && len(r.rest) > 0 {
		r.fail()
	}
	if r.err != nil {
		return time.Time{}, nil, r.err
	}
	return deadline, values, nil
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

var errSessionEncoding = errors.New("session: malformed encoding")

// sessionReader reads a session in sessionCodec's format; after the first
// malformed part, err is set and every read returns a zero value.
type sessionReader struct {
	rest []byte
	err  error
}

func (r *sessionReader) fail() {
	r.err, r.rest = errSessionEncoding, nil
}

func (r *sessionReader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }

func (r *sessionReader) varint() int64 { return readVarint(r, binary.Varint) }

// readVarint reads a number with read (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](r *sessionReader, read func([]byte) (T, int)) T {
	v, n := read(r.rest)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

func (r *sessionReader) byte() byte {
	if len(r.rest) == 0 {
		r.fail()
		return 0
	}
	c := r.rest[0]
	r.rest = r.rest[1:]
	return c
}

func (r *sessionReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.rest)) {
		r.fail()
		return nil
	}
	s := r.rest[:n]
	r.rest = r.rest[n:]
	return s
}
