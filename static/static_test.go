package static_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

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
	{"vendor/htmx.min.js", `^/static/vendor/htmx\.min\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"vendor/sse.min.js", `^/static/vendor/sse\.min\.([0-9a-f]{10})\.js$`, "text/javascript; charset=utf-8"},
	{"vendor/pico.min.css", `^/static/vendor/pico\.min\.([0-9a-f]{10})\.css$`, "text/css; charset=utf-8"},
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
			"/static/vendor/pico.min.css",
			"/static/nope.0123456789.css",
			"/static/",
			"/static",
			"/static/vendor",
			"/static/vendor/",
			"/static/vendor/README.md",
			"/static/vendor/LICENSE.pico.md",
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
