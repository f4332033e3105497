// Package static embeds the site's CSS, JavaScript and vendored front-end
// libraries and serves them under content-hashed names.
//
// Templates refer to assets with Path, which returns a URL such as
// "/static/app.3f2a9c1b7d.css". The hash is the first ten hex digits of the
// SHA-256 of the file, so a changed file gets a new URL and every response
// can be cached forever. Handler serves only those hashed URLs, compressed
// with brotli or gzip for clients that accept it. Brotli's best compression
// takes seconds, so it is done once, at build time: `go generate ./static`
// writes br/<hashed name>.br, which is embedded (a test fails when one is
// missing or stale). Gzip is fast and done at start-up, when Handler is
// first called.
//
// Typical wiring:
//
//	funcs := template.FuncMap{"static": static.Path}
//	r.Handle("/static/*", static.Handler())
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
)

// prefix is the URL path under which Handler is mounted.
const prefix = "/static/"

// hashLen is the number of hex digits of the SHA-256 used in file names.
const hashLen = 10

// cacheControl is sent with every asset; hashed names never change content.
const cacheControl = "public, max-age=31536000, immutable"

//go:embed base.css app.css app.js checkin.js vendor/htmx.min.js vendor/sse.min.js vendor/jsQR.js
var files embed.FS

//go:generate go run ./brotligen

// brotliDir holds each file compressed with brotli at build time, named
// after its hashed name: a file changed since has no brotli (gzip still
// serves it) until go generate runs again.
const brotliDir = "br"

//go:embed br
var brotliFiles embed.FS

// asset is one embedded file and its precomputed metadata.
type asset struct {
	hashedName  string // for example "vendor/htmx.min.3f2a9c1b7d.js"
	hash        string // first hashLen hex digits of the SHA-256
	contentType string
	data        []byte
	// The file in each encoding that makes it smaller, the one to prefer
	// first; filled in by compressAll.
	encoded map[Encoding][]byte
	offers  []Encoding
}

var (
	// byName maps a logical name, such as "app.css", to its asset.
	byName = map[string]*asset{}
	// byHashed maps a hashed name, such as "app.3f2a9c1b7d.css", to its asset.
	byHashed = map[string]*asset{}
)

// contentTypes pins the types of the files we ship, so that responses do not
// depend on the host's MIME database.
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

func init() {
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:hashLen]
		a := &asset{
			hashedName:  hashedName(name, hash),
			hash:        hash,
			contentType: contentType(name, data),
			data:        data,
		}
		byName[name] = a
		byHashed[a.hashedName] = a
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("static: loading embedded files: %v", err))
	}
	bundleStylesheets()
}

// compressRuns counts the files compressed at start-up, so that a test can
// tell that serving them compresses nothing.
var compressRuns atomic.Int32

// compressOnce compresses every file, the first time Handler is called.
var compressOnce sync.Once

// compressAll fills in every asset's encodings: brotli, made at build time,
// and gzip at its best compression, made now. An encoding no smaller than
// the file is not offered.
func compressAll() {
	for _, a := range byName {
		if br, err := brotliFiles.ReadFile(path.Join(brotliDir, a.hashedName+".br")); err == nil {
			a.offer(Brotli, br)
		}
		compressRuns.Add(1)
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			panic(err) // only for an invalid level
		}
		// Writes to a bytes.Buffer do not fail.
		_, _ = zw.Write(a.data)
		_ = zw.Close()
		a.offer(Gzip, buf.Bytes())
	}
}

// offer adds an encoding of the asset, if it is smaller than the file;
// encodings offered first are preferred.
func (a *asset) offer(enc Encoding, body []byte) {
	if len(body) >= len(a.data) {
		return
	}
	if a.encoded == nil {
		a.encoded = map[Encoding][]byte{}
	}
	a.encoded[enc] = body
	a.offers = append(a.offers, enc)
}

// WriteBrotli writes every file compressed with brotli at its best into dir,
// as <hashed name>.br, and removes the .br files of older versions: what `go
// generate` runs (see brotligen).
func WriteBrotli(dir string) error {
	old, err := fs.Glob(os.DirFS(dir), "*.br")
	if err != nil {
		return err
	}
	vendor, err := fs.Glob(os.DirFS(dir), "vendor/*.br")
	if err != nil {
		return err
	}
	for _, name := range append(old, vendor...) {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	for _, a := range byName {
		name := filepath.Join(dir, filepath.FromSlash(a.hashedName)+".br")
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		var buf bytes.Buffer
		bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
		_, _ = bw.Write(a.data)
		if err := bw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hashedName inserts hash before the final extension of name, so that
// "vendor/htmx.min.js" becomes "vendor/htmx.min.<hash>.js".
func hashedName(name, hash string) string {
	dir, base := path.Split(name)
	ext := path.Ext(base)
	return dir + strings.TrimSuffix(base, ext) + "." + hash + ext
}

// contentType returns the Content-Type header value for the named file.
func contentType(name string, data []byte) string {
	ext := path.Ext(name)
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

// stylesheets are the site's stylesheets, in the order pages apply them.
var stylesheets = []string{"base.css", "app.css"}

// stylesheet is every stylesheet as one text (see Stylesheet), with its
// version and CSP hash source; set by bundleStylesheets.
var stylesheet, stylesheetVersion, stylesheetCSP string

// bundleStylesheets sets stylesheet, once the files are loaded.
func bundleStylesheets() {
	var all strings.Builder
	for i, name := range stylesheets {
		if i > 0 {
			all.WriteString("\n")
		}
		all.Write(byName[name].data)
	}
	stylesheet = all.String()
	sum := sha256.Sum256([]byte(stylesheet))
	stylesheetVersion = hex.EncodeToString(sum[:])[:hashLen]
	stylesheetCSP = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Stylesheet returns the site's stylesheets, base.css then app.css, as one text
// for a <style> element: a page carries it when the visitor's browser does
// not hold the files yet, which saves the first paint a round trip.
func Stylesheet() string { return stylesheet }

// StylesheetVersion names the text Stylesheet returns: the first ten hex
// digits of its SHA-256, which change whenever a stylesheet does.
func StylesheetVersion() string { return stylesheetVersion }

// StylesheetCSP is the Content-Security-Policy source that lets a <style>
// element holding exactly Stylesheet apply: its 'sha256-...' hash.
func StylesheetCSP() string { return stylesheetCSP }

// Path returns the URL path of the named asset with its content hash, for
// example Path("app.css") returns "/static/app.3f2a9c1b7d.css" and
// Path("vendor/htmx.min.js") returns "/static/vendor/htmx.min.<hash>.js".
// The name is relative to the static directory and must match an embedded
// file exactly. Path panics for an unknown name, so that a typo in a template
// fails at start-up rather than producing a broken link.
func Path(name string) string {
	a, ok := byName[name]
	if !ok {
		panic(fmt.Sprintf("static: unknown asset %q", name))
	}
	return prefix + a.hashedName
}

// Handler returns an http.Handler that serves the embedded assets. It expects
// the full request path, including the "/static/" prefix, so it should be
// mounted at "/static/*" without stripping the prefix.
//
// Only the hashed names returned by Path are served. They are sent with a
// one-year immutable Cache-Control header, a fixed Content-Type and an ETag
// made from the content hash, so If-None-Match requests get 304 Not Modified.
// A client whose Accept-Encoding allows brotli or gzip (see Negotiate) gets
// the file compressed, brotli when it accepts both equally, with its own
// ETag (the hash with a "-br" or "-gzip" suffix) and its own Content-Length;
// responses that can be compressed say Vary: Accept-Encoding. Unhashed,
// stale or unknown names and directories get 404 Not Found, and methods
// other than GET and HEAD get 405 Method Not Allowed.
//
// The first call compresses every file, which takes a moment: call it at
// start-up.
func Handler() http.Handler {
	compressOnce.Do(compressAll)
	return http.HandlerFunc(serve)
}

// serve implements Handler.
func serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, prefix)
	a := byHashed[name]
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	data, etag := a.data, `"`+a.hash+`"`
	if len(a.offers) > 0 {
		h.Add("Vary", "Accept-Encoding")
		if enc := Negotiate(r, a.offers...); enc != Identity {
			data, etag = a.encoded[enc], `"`+a.hash+"-"+string(enc)+`"`
			h.Set("Content-Encoding", string(enc))
			// ServeContent leaves Content-Length out when Content-Encoding
			// is set; it replaces this one for a range and drops it for a
			// 304 or an error.
			h.Set("Content-Length", strconv.Itoa(len(data)))
		}
	}
	h.Set("ETag", etag)
	// A zero modification time leaves out Last-Modified; the ETag is enough.
	http.ServeContent(w, r, a.hashedName, time.Time{}, bytes.NewReader(data))
}
