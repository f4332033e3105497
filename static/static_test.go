package static_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/static"
)

// assets lists every embedded file with the URL pattern and Content-Type
// that Path and Handler must produce for it.
var assets = []struct {
	name        string
	pattern     string
	contentType string
}{
	{"app.css", `^/static/app\.([0-9a-f]{10})\.css$`, "text/css; charset=utf-8"},
	{"app.js", `^/static/app\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"checkin.js", `^/static/checkin\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"vendor/htmx.min.js", `^/static/vendor/htmx\.min\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"vendor/sse.min.js", `^/static/vendor/sse\.min\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"base.css", `^/static/base\.([0-9a-f]{10})\.css$`, "text/css; charset=utf-8"},
	{"vendor/jsQR.js", `^/static/vendor/jsQR\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
}

// get sends a request through Handler and returns the recorded response.
func get(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	static.Handler().ServeHTTP(rec, req)
	return rec
}

func TestPath(t *testing.T) {
	t.Parallel()

	t.Run("HashesMatchFileContents", func(t *testing.T) {
		t.Parallel()
		for _, a := range assets {
			data, err := os.ReadFile(a.name)
			require.NoError(t, err)
			sum := sha256.Sum256(data)

			m := regexp.MustCompile(a.pattern).FindStringSubmatch(static.Path(a.name))
			require.NotNil(t, m, "Path(%q) = %q does not match %s", a.name, static.Path(a.name), a.pattern)
			require.Equal(t, hex.EncodeToString(sum[:])[:10], m[1], a.name)
		}
	})

	t.Run("IsStable", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, static.Path("app.css"), static.Path("app.css"))
	})

	t.Run("PanicsOnUnknownName", func(t *testing.T) {
		t.Parallel()
		hashed := strings.TrimPrefix(static.Path("app.css"), "/static/")
		for _, name := range []string{
			"",
			"nope.css",
			"App.css",
			"/app.css",
			"static/app.css",
			"htmx.min.js",
			"vendor/README.md",
			"static.go",
			hashed,
		} {
			require.Panics(t, func() { static.Path(name) }, "Path(%q)", name)
		}
	})
}

func TestHandler(t *testing.T) {
	t.Parallel()

	t.Run("ServesHashedNames", func(t *testing.T) {
		t.Parallel()
		for _, a := range assets {
			data, err := os.ReadFile(a.name)
			require.NoError(t, err)

			rec := get(t, http.MethodGet, static.Path(a.name), nil)
			require.Equal(t, http.StatusOK, rec.Code, a.name)
			require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), a.name)
			require.Equal(t, a.contentType, rec.Header().Get("Content-Type"), a.name)
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), a.name)
			require.Empty(t, rec.Header().Get("Last-Modified"), a.name)
			require.Equal(t, data, rec.Body.Bytes(), a.name)
		}
	})

	t.Run("ETagIsTheHash", func(t *testing.T) {
		t.Parallel()
		for _, a := range assets {
			url := static.Path(a.name)
			hash := regexp.MustCompile(a.pattern).FindStringSubmatch(url)[1]
			rec := get(t, http.MethodGet, url, nil)
			require.Equal(t, `"`+hash+`"`, rec.Header().Get("ETag"), a.name)
		}
	})

	t.Run("IfNoneMatchGives304", func(t *testing.T) {
		t.Parallel()
		url := static.Path("app.js")
		etag := get(t, http.MethodGet, url, nil).Header().Get("ETag")
		require.NotEmpty(t, etag)

		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			rec := get(t, http.MethodGet, url, http.Header{"If-None-Match": {inm}})
			require.Equal(t, http.StatusNotModified, rec.Code, "If-None-Match: %s", inm)
			require.Empty(t, rec.Body.Bytes())
			require.Equal(t, etag, rec.Header().Get("ETag"))
			require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
		}
	})

	t.Run("IfNoneMatchMismatchGives200", func(t *testing.T) {
		t.Parallel()
		rec := get(t, http.MethodGet, static.Path("app.js"), http.Header{"If-None-Match": {`"0000000000"`}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.NotEmpty(t, rec.Body.Bytes())
	})

	t.Run("HeadHasNoBody", func(t *testing.T) {
		t.Parallel()
		rec := get(t, http.MethodHead, static.Path("app.css"), nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/css; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Empty(t, rec.Body.Bytes())
	})

	t.Run("OtherMethodsGive405", func(t *testing.T) {
		t.Parallel()
		rec := get(t, http.MethodPost, static.Path("app.css"), nil)
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	})

	t.Run("UnknownOrUnhashedNamesGive404", func(t *testing.T) {
		t.Parallel()
		hashed := static.Path("app.css")
		for _, target := range []string{
			"/static/app.css",
			"/static/app.js",
			"/static/vendor/htmx.min.js",
			"/static/base.css",
			"/static/nope.0123456789.css",
			"/static/",
			"/static",
			"/static/vendor",
			"/static/vendor/",
			"/static/vendor/README.md",
			"/static/vendor/LICENSE.htmx.org.txt",
			"/static/static.go",
			"/static/../static/app.css",
			"/static//" + strings.TrimPrefix(hashed, "/static/"),
			strings.TrimPrefix(hashed, "/static"),
			"/assets/" + strings.TrimPrefix(hashed, "/static/"),
			strings.ToUpper(hashed),
			hashed + "/",
			hashed + ".map",
		} {
			rec := get(t, http.MethodGet, target, nil)
			require.Equal(t, http.StatusNotFound, rec.Code, target)
			require.NotContains(t, rec.Header().Get("Cache-Control"), "immutable", target)
		}
	})

	t.Run("StaleHashGives404", func(t *testing.T) {
		t.Parallel()
		for _, a := range assets {
			url := static.Path(a.name)
			hash := regexp.MustCompile(a.pattern).FindStringSubmatch(url)[1]
			stale := "0123456789"
			if hash == stale {
				stale = "9876543210"
			}
			rec := get(t, http.MethodGet, strings.Replace(url, "."+hash+".", "."+stale+".", 1), nil)
			require.Equal(t, http.StatusNotFound, rec.Code, a.name)
		}
	})
}

// decode decodes a body sent with Content-Encoding enc.
func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		r = zr
	default:
		t.Fatalf("unknown Content-Encoding %q", enc)
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return data
}

func TestCompression(t *testing.T) {
	t.Parallel()
	// What Chromium sends.
	browser := http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}

	t.Run("ServedCompressedWhenAccepted", func(t *testing.T) {
		t.Parallel()
		for _, a := range assets {
			data, err := os.ReadFile(a.name)
			require.NoError(t, err)
			url := static.Path(a.name)
			hash := regexp.MustCompile(a.pattern).FindStringSubmatch(url)[1]

			sizes := map[string]int{}
			for enc, header := range map[string]http.Header{"br": browser, "gzip": {"Accept-Encoding": {"gzip"}}} {
				rec := get(t, http.MethodGet, url, header)
				require.Equal(t, http.StatusOK, rec.Code, a.name)
				require.Equal(t, enc, rec.Header().Get("Content-Encoding"),
					"%s: with no br, its brotli file is missing or stale: run go generate ./static", a.name)
				require.Equal(t, []string{"Accept-Encoding"}, rec.Header().Values("Vary"), a.name)
				require.Equal(t, a.contentType, rec.Header().Get("Content-Type"), a.name)
				require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"), a.name)
				require.Equal(t, `"`+hash+`-`+enc+`"`, rec.Header().Get("ETag"), a.name)
				require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), a.name)
				require.Equal(t, data, decode(t, enc, rec.Body.Bytes()), a.name)
				sizes[enc] = rec.Body.Len()
			}
			require.Less(t, sizes["br"], sizes["gzip"], a.name)
			require.Less(t, sizes["gzip"], len(data), a.name)
		}
	})

	t.Run("IdentityOtherwise", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile("vendor/htmx.min.js")
		require.NoError(t, err)
		for _, ae := range []string{"", "identity", "zstd, deflate", "gzip;q=0", "GZIP;Q=0, BR;q=0", "*;q=0", "identity, gzip;q=0.5, br;q=0.9",
			"gzip;q=nope", "br;q=2", "br;q=0, gzip;q=0, *"} {
			header := http.Header{}
			if ae != "" {
				header.Set("Accept-Encoding", ae)
			}
			rec := get(t, http.MethodGet, static.Path("vendor/htmx.min.js"), header)
			require.Equal(t, http.StatusOK, rec.Code, "Accept-Encoding: %s", ae)
			require.Empty(t, rec.Header().Get("Content-Encoding"), "Accept-Encoding: %s", ae)
			require.Equal(t, []string{"Accept-Encoding"}, rec.Header().Values("Vary"), "Accept-Encoding: %s", ae)
			require.Equal(t, strconv.Itoa(len(data)), rec.Header().Get("Content-Length"), "Accept-Encoding: %s", ae)
			require.Equal(t, data, rec.Body.Bytes(), "Accept-Encoding: %s", ae)
		}
	})

	t.Run("QValuesAndWildcard", func(t *testing.T) {
		t.Parallel()
		for ae, want := range map[string]string{
			"gzip":                                 "gzip",
			"x-gzip":                               "gzip",
			"GZip;q=0.1":                           "gzip",
			"br":                                   "br",
			"BR;Q=0.1":                             "br",
			"*":                                    "br",
			"gzip, br":                             "br",
			"br;q=0.5, gzip":                       "gzip",
			"gzip;q=0.5, br;q=0.5":                 "br",
			"br;q=1, *;q=0.5":                      "br",
			"gzip, *;q=0":                          "gzip",
			"br;q=0, *":                            "gzip",
			"gzip;q=0.5, identity;q=0.5":           "gzip",
			"identity;q=0.2, gzip;q=0.8":           "gzip",
			"identity;q=0, *":                      "br",
			"identity;q=0.6, br;q=0.5, gzip;q=0.7": "gzip",
		} {
			rec := get(t, http.MethodGet, static.Path("app.css"), http.Header{"Accept-Encoding": {ae}})
			require.Equal(t, want, rec.Header().Get("Content-Encoding"), "Accept-Encoding: %s", ae)
		}
	})

	t.Run("IfNoneMatchOfEachVariant", func(t *testing.T) {
		t.Parallel()
		url := static.Path("app.js")
		etags := map[string]string{}
		for _, ae := range []string{"br", "gzip", ""} {
			header := http.Header{"Accept-Encoding": {ae}}
			etag := get(t, http.MethodGet, url, header).Header().Get("ETag")
			header.Set("If-None-Match", etag)
			rec := get(t, http.MethodGet, url, header)
			require.Equal(t, http.StatusNotModified, rec.Code, ae)
			require.Empty(t, rec.Body.Bytes())
			require.Equal(t, etag, rec.Header().Get("ETag"))
			etags[ae] = etag
		}
		require.True(t, strings.HasSuffix(etags["br"], `-br"`), etags["br"])
		require.True(t, strings.HasSuffix(etags["gzip"], `-gzip"`), etags["gzip"])

		// One variant's ETag does not match another.
		rec := get(t, http.MethodGet, url, http.Header{"Accept-Encoding": {"br"}, "If-None-Match": {etags["gzip"]}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "br", rec.Header().Get("Content-Encoding"))
		rec = get(t, http.MethodGet, url, http.Header{"Accept-Encoding": {"gzip"}, "If-None-Match": {etags[""]}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	})

	t.Run("HeadHasTheHeadersAndNoBody", func(t *testing.T) {
		t.Parallel()
		url := static.Path("base.css")
		got := get(t, http.MethodGet, url, browser)
		rec := get(t, http.MethodHead, url, browser)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "br", rec.Header().Get("Content-Encoding"))
		require.Equal(t, strconv.Itoa(got.Body.Len()), rec.Header().Get("Content-Length"))
		require.Equal(t, got.Header().Get("ETag"), rec.Header().Get("ETag"))
		require.Empty(t, rec.Body.Bytes())
	})

	t.Run("RangeOfTheCompressedVariant", func(t *testing.T) {
		t.Parallel()
		url := static.Path("app.css")
		whole := get(t, http.MethodGet, url, browser).Body.Bytes()
		header := browser.Clone()
		header.Set("Range", "bytes=0-9")
		rec := get(t, http.MethodGet, url, header)
		require.Equal(t, http.StatusPartialContent, rec.Code)
		require.Equal(t, "10", rec.Header().Get("Content-Length"))
		require.Equal(t, whole[:10], rec.Body.Bytes())
	})

	// Brotli comes from the build; gzip is made once, at start-up.
	t.Run("CompressedOnceAtStartUp", func(t *testing.T) {
		t.Parallel()
		static.Handler()
		require.Equal(t, int32(len(assets)), static.CompressRuns())
		for _, ae := range []string{"br", "gzip"} {
			header := http.Header{"Accept-Encoding": {ae}}
			first := get(t, http.MethodGet, static.Path("base.css"), header).Body.Bytes()
			for range 3 {
				require.Equal(t, first, get(t, http.MethodGet, static.Path("base.css"), header).Body.Bytes())
			}
		}
		require.Equal(t, int32(len(assets)), static.CompressRuns(), "serving compressed a file again")
	})
}
