package templates

import (
	"bytes"
	"html/template"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris, wherever the tests run

	"github.com/stretchr/testify/require"
)

func TestLoadChecksEveryView(t *testing.T) {
	t.Parallel()
	set, err := Load()
	require.NoError(t, err)

	for _, v := range views {
		if v.fragment == "" {
			continue // whole pages need page data; the handler tests render them
		}
		require.NotNil(t, set.pages[v.page].Lookup(v.fragment), "view %s", v)
	}

	t.Run("MissingFragment", func(t *testing.T) {
		t.Parallel()
		err := set.check(slices.Concat(views, []View{{page: "ticket", fragment: "buy-now"}}))
		require.ErrorContains(t, err, `ticket.html defines no "buy-now"`)
	})
	t.Run("MissingPage", func(t *testing.T) {
		t.Parallel()
		err := set.check(slices.Concat(views, []View{{page: "tickets"}}))
		require.ErrorContains(t, err, "no page tickets.html")
	})
	t.Run("PageNoViewDeclares", func(t *testing.T) {
		t.Parallel()
		var withoutHome []View
		for _, v := range views {
			if v.page != "home" {
				withoutHome = append(withoutHome, v)
			}
		}
		err := set.check(withoutHome)
		require.ErrorContains(t, err, "page home.html: no view declares it")
	})
}

func TestRenderNamesTheViewInItsError(t *testing.T) {
	t.Parallel()
	set, err := Load()
	require.NoError(t, err)
	var buf bytes.Buffer
	err = set.Render(&buf, TicketBuy, struct{}{}) // no fields: the template fails
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "render ticket/buy:"), err.Error())
}

// TestLocalTime checks the markup of an instant: its UTC text for readers
// without script, and the instant in UTC for static/app.js, whatever the
// zone of the time given.
func TestLocalTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	at := time.Date(2026, time.March, 29, 3, 30, 59, 999_000_000, paris) // just after the change to summer time
	require.Equal(t, template.HTML(`<time datetime="2026-03-29T01:30:59Z" data-local-time>29 Mar 2026 01:30 UTC</time>`), localTime(at))
}
