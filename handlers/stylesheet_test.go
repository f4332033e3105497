package handlers_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/static"
	"github.com/eventhive/eventhive/store"
)

// TestFirstVisitCarriesTheCSS: a whole page for a browser that has not had
// the site's CSS yet carries it in a <style> element that the Content
// Security Policy allows by its hash, has the files prefetched and sets a
// cookie; once the cookie names the current CSS, pages link the files
// instead, as does the answer to a form. Fragments, redirects and kept
// listings follow the same rule.
func TestFirstVisitCarriesTheCSS(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		b.listTicket(t, seller, "Opera gala", "30")

		stylesheets := []string{static.Path("base.css"), static.Path("app.css")}
		hrefs := func(doc *goquery.Document, sel string) []string {
			var got []string
			doc.Find(sel).Each(func(_ int, s *goquery.Selection) { got = append(got, s.AttrOr("href", "")) })
			return got
		}
		requireInline := func(t *testing.T, res *response) {
			t.Helper()
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.HTML))
			require.NoError(t, err)
			style := doc.Find("head style")
			require.Equal(t, 1, style.Length())
			require.Equal(t, static.Stylesheet(), style.Text())
			sum := sha256.Sum256([]byte(style.Text()))
			require.Contains(t, res.Header.Get("Content-Security-Policy"),
				"style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			require.Empty(t, hrefs(doc, `link[rel="stylesheet"]`))
			require.Equal(t, stylesheets, hrefs(doc, `head link[rel="prefetch"]`))
			require.Equal(t, []string{"eventhive_css=" + static.StylesheetVersion()}, cookies(res))
		}
		requireLinked := func(t *testing.T, res *response) {
			t.Helper()
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.HTML))
			require.NoError(t, err)
			require.Zero(t, doc.Find("style").Length())
			require.Equal(t, stylesheets, hrefs(doc, `head link[rel="stylesheet"]`))
			require.Empty(t, hrefs(doc, `link[rel="prefetch"]`))
			require.Empty(t, cookies(res))
		}

		t.Run("FirstPageThenTheNext", func(t *testing.T) {
			visitor := newClient(t)
			first := b.get(t, visitor, "/")
			requireStatus(t, first, http.StatusOK)
			requireInline(t, first)
			next := b.get(t, visitor, "/signin")
			requireStatus(t, next, http.StatusOK)
			requireLinked(t, next)
			requireLinked(t, b.get(t, visitor, "/"))
		})

		t.Run("KeptListingEitherWay", func(t *testing.T) {
			back := withHeader("Cookie", "eventhive_css="+static.StylesheetVersion())
			for range 2 {
				requireLinked(t, b.get(t, newClient(t), "/", back))
				requireInline(t, b.get(t, newClient(t), "/"))
			}
		})

		t.Run("ChangedCSS", func(t *testing.T) {
			res := b.get(t, newClient(t), "/signin", withHeader("Cookie", "eventhive_css=0123456789"))
			requireInline(t, res)
		})

		t.Run("FormAnswer", func(t *testing.T) {
			// The page the form was on gave the browser the files.
			res := b.postForm(t, newClient(t), "/signin", url.Values{"email": {"seller@example.com"}, "password": {"wrong password"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireLinked(t, res)
		})

		t.Run("ErrorPage", func(t *testing.T) {
			res := b.get(t, newClient(t), "/no/such/page")
			requireStatus(t, res, http.StatusNotFound)
			requireInline(t, res)
		})

		t.Run("NoCookieWithoutTheCSS", func(t *testing.T) {
			// A fragment has no <head>; a redirect carries no page.
			fragment := b.get(t, newClient(t), "/", htmx)
			requireStatus(t, fragment, http.StatusOK)
			require.NotContains(t, fragment.HTML, "<style")
			require.Empty(t, cookies(fragment))

			redirect := b.get(t, newClient(t), "/my/tickets")
			requireStatus(t, redirect, http.StatusSeeOther)
			require.Empty(t, cookies(redirect))
		})
	})
}

// cookies lists the name=value of the eventhive_css cookies res sets.
func cookies(res *response) []string {
	var set []string
	for _, c := range res.Cookies() {
		if c.Name == "eventhive_css" {
			set = append(set, c.Name+"="+c.Value)
		}
	}
	return set
}
