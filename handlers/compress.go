package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"sync"

	"github.com/andybalholm/brotli"

	"github.com/eventhive/eventhive/static"
)

// minCompressBytes is the smallest page or fragment worth compressing: below
// about a kilobyte the saving is a few hundred bytes at most, within the
// packet the response starts in anyway.
const minCompressBytes = 1024

// pageEncodings are the encodings pages are offered in, preferred first.
var pageEncodings = []static.Encoding{static.Brotli, static.Gzip}

// pageEncoder is a compressor with the buffer it compresses into; pages
// reuse them through encoderPools rather than allocate one (hundreds of
// kilobytes of state) per response.
type pageEncoder struct {
	enc static.Encoding
	buf bytes.Buffer
	w   interface {
		io.WriteCloser
		Reset(io.Writer)
	}
}

// encoderPools hold the page encoders, at fast levels, since a page that is
// not kept is compressed for each response. Brotli's level 5 makes the home
// page 20 % smaller than gzip's BestSpeed does, for about 0.1 ms of CPU
// more; it is both smaller and faster than level 4 (see BENCHMARKS.md).
var encoderPools = map[static.Encoding]*sync.Pool{
	static.Brotli: {New: func() any {
		z := &pageEncoder{enc: static.Brotli}
		z.w = brotli.NewWriterLevel(&z.buf, 5)
		return z
	}},
	static.Gzip: {New: func() any {
		z := &pageEncoder{enc: static.Gzip}
		zw, err := gzip.NewWriterLevel(&z.buf, gzip.BestSpeed)
		if err != nil {
			panic(err) // only for an invalid level
		}
		z.w = zw
		return z
	}},
}

// compressBody returns body compressed in the encoding r accepts best, when
// body is big enough to gain from it, and the encoder holding the result,
// which the caller releases once it has written it. Otherwise it returns
// body itself and a nil encoder.
func compressBody(r *http.Request, body []byte) ([]byte, *pageEncoder) {
	return compressAs(pageEncoding(r, body), body)
}

// pageEncoding is the encoding body goes to r in: the one r accepts best, or
// none for a body too small to gain from it.
func pageEncoding(r *http.Request, body []byte) static.Encoding {
	if len(body) < minCompressBytes {
		return static.Identity
	}
	return static.Negotiate(r, pageEncodings...)
}

// compressAs returns body compressed in enc and the encoder holding it, as
// compressBody does; body itself and a nil encoder for Identity.
func compressAs(enc static.Encoding, body []byte) ([]byte, *pageEncoder) {
	if enc == static.Identity {
		return body, nil
	}
	z := encoderPools[enc].Get().(*pageEncoder)
	z.buf.Reset()
	z.w.Reset(&z.buf)
	// Writes to a bytes.Buffer do not fail.
	_, _ = z.w.Write(body)
	_ = z.w.Close()
	return z.buf.Bytes(), z
}

// encoding is the Content-Encoding of what z holds: none when z is nil.
func (z *pageEncoder) encoding() static.Encoding {
	if z == nil {
		return static.Identity
	}
	return z.enc
}

// release gives z, which may be nil, back to its pool.
func (z *pageEncoder) release() {
	if z != nil {
		encoderPools[z.enc].Put(z)
	}
}

// keptPage is a page kept to be served many times (see listingCache): it is
// compressed at most once per encoding, when a client that accepts it first
// asks for it, rather than on every request.
type keptPage struct {
	plain    []byte
	br, gzip compressedOnce
}

// compressedOnce is a kept page in one encoding, nil until asked for.
type compressedOnce struct {
	once sync.Once
	body []byte
}

// write answers r with the page, as writeHTML would.
func (p *keptPage) write(w http.ResponseWriter, r *http.Request, status int) {
	enc := pageEncoding(r, p.plain)
	kept := &p.gzip
	switch enc {
	case static.Identity:
		writeBody(w, status, p.plain, enc)
		return
	case static.Brotli:
		kept = &p.br
	}
	kept.once.Do(func() {
		body, z := compressAs(enc, p.plain)
		kept.body = bytes.Clone(body)
		z.release()
	})
	writeBody(w, status, kept.body, enc)
}
