package templates

import (
	"bytes"
	"slices"
	"strings"
	"testing"

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
