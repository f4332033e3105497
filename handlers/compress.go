package handlers

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"sync"

	"github.com/eventhive/eventhive/static"
)

// minGzipBytes is the smallest page or fragment worth gzipping: below about
// a kilobyte the saving is a few hundred bytes at most, within the packet
// the response starts in anyway.
const minGzipBytes = 1024

// pageGzip is a gzip writer with the buffer it compresses into; pages reuse
// them through gzipPool rather than allocate a compressor (hundreds of
// kilobytes of state) per response.
type pageGzip struct {
	buf bytes.Buffer
	zw  *gzip.Writer
}

var gzipPool = sync.Pool{New: func() any {
	z := &pageGzip{}
	// BestSpeed: on the home page it takes half the CPU of the default
	// level for 5% more bytes (see BENCHMARKS.md).
	zw, err := gzip.NewWriterLevel(&z.buf, gzip.BestSpeed)
	if err != nil {
		panic(err) // only for an invalid level
	}
	z.zw = zw
	return z
}}

// gzipBody returns body gzipped when r accepts gzip and body is big enough
// to gain from it; the caller gives z back with releaseGzip once it has
// written the result. Otherwise it returns body itself and a nil z.
func gzipBody(r *http.Request, body []byte) ([]byte, *pageGzip) {
	if len(body) < minGzipBytes || !static.AcceptsGzip(r) {
		return body, nil
	}
	z := gzipPool.Get().(*pageGzip)
	z.buf.Reset()
	z.zw.Reset(&z.buf)
	// Writes to a bytes.Buffer do not fail.
	_, _ = z.zw.Write(body)
	_ = z.zw.Close()
	return z.buf.Bytes(), z
}

// keptPage is a page kept to be served many times (see listingCache): it is
// gzipped at most once, when a client that accepts gzip first asks for it,
// rather than on every request.
type keptPage struct {
	plain   []byte
	once    sync.Once
	gzipped []byte // nil until asked for
}

// write answers r with the page, as writeHTML would.
func (p *keptPage) write(w http.ResponseWriter, r *http.Request, status int) {
	if len(p.plain) < minGzipBytes || !static.AcceptsGzip(r) {
		writeBody(w, status, p.plain, false)
		return
	}
	p.once.Do(func() {
		gz, z := gzipBody(r, p.plain)
		p.gzipped = bytes.Clone(gz)
		releaseGzip(z)
	})
	writeBody(w, status, p.gzipped, true)
}

// releaseGzip gives z, which may be nil, back to the pool.
func releaseGzip(z *pageGzip) {
	if z != nil {
		gzipPool.Put(z)
	}
}
