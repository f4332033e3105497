package handlers_test

import (
	"net/http"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestNavMarksTheCurrentPage checks that the main nav marks the link to the
// page open, and only that link, with aria-current="page".
func TestNavMarksTheCurrentPage(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	current := func(t *testing.T, c *http.Client, path string) []string {
		t.Helper()
		res := b.get(t, c, path)
		requireStatus(t, res, http.StatusOK)
		links := doc(res.HTML).Find(`nav[aria-label="Main"] a[aria-current="page"]`)
		hrefs := []string{}
		links.Each(func(_ int, a *goquery.Selection) { hrefs = append(hrefs, a.AttrOr("href", "")) })
		return hrefs
	}

	t.Run("SignedOut", func(t *testing.T) {
		visitor := newClient(t)
		for _, path := range []string{"/", "/signin", "/signup"} {
			require.Equal(t, []string{path}, current(t, visitor, path), "on %s", path)
		}
	})

	t.Run("SignedIn", func(t *testing.T) {
		seller := b.signUp(t, "seller@example.com")
		for _, path := range []string{"/", "/tickets/new", "/my/tickets", "/orders", "/payments", "/payouts"} {
			require.Equal(t, []string{path}, current(t, seller, path), "on %s", path)
		}
		// A page that the nav does not link to marks no link.
		ticket := b.listTicket(t, seller, "Opera", "30")
		require.Empty(t, current(t, seller, "/tickets/"+itoa(ticket)))
		require.Equal(t, []string{"/"}, current(t, seller, "/?q=opera"), "a search is still the listing")
	})
}
