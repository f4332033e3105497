package templates

import (
	"bytes"
	"html/template"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris, wherever the tests run

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/money"
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

// TestEventTime checks the markup of an event's start: the time people go
// there by, in the event's zone and naming it, and the instant in UTC, with
// nothing that asks static/app.js to show it in the reader's zone instead.
func TestEventTime(t *testing.T) {
	t.Parallel()
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	winter := time.Date(2026, time.December, 12, 19, 0, 0, 0, time.UTC)
	summer := time.Date(2026, time.July, 4, 18, 30, 0, 0, time.UTC)

	tests := []struct {
		name string
		at   time.Time
		zone string
		want template.HTML
	}{
		{"Winter", winter, "Europe/Paris",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 20:00 Europe/Paris (CET)</time>`},
		{"Summer", summer, "Europe/Paris",
			`<time datetime="2026-07-04T18:30:00Z">Sat 4 Jul 2026, 20:30 Europe/Paris (CEST)</time>`},
		{"GivenInAnotherZone", winter.In(newYork), "Europe/Paris",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 20:00 Europe/Paris (CET)</time>`},
		{"OtherDayThanUTC", winter, "Pacific/Auckland",
			`<time datetime="2026-12-12T19:00:00Z">Sun 13 Dec 2026, 08:00 Pacific/Auckland (NZDT)</time>`},
		{"UTCNamedOnce", winter, "UTC",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 19:00 UTC</time>`},
		{"NumericAbbreviation", winter, "America/Argentina/Buenos_Aires",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 16:00 America/Argentina/Buenos_Aires (UTC-03)</time>`},
		{"SignInName", winter, "Etc/GMT-14",
			`<time datetime="2026-12-12T19:00:00Z">Sun 13 Dec 2026, 09:00 Etc/GMT-14 (UTC+14)</time>`},
		{"UnknownZoneShownAsUTC", winter, "Mars/Olympus_Mons",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 19:00 UTC</time>`},
		{"MarkupInZoneShownAsUTC", winter, `<b>"x"</b>`,
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 19:00 UTC</time>`},
		{"ServerZoneRefused", winter, "Local",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 19:00 UTC</time>`},
		{"NoZone", winter, "",
			`<time datetime="2026-12-12T19:00:00Z">Sat 12 Dec 2026, 19:00 UTC</time>`},
		{"ToBeAnnounced", time.Time{}, "Europe/Paris", `Date to be announced`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, eventTime(tt.at, tt.zone))
		})
	}

	t.Run("InATemplate", func(t *testing.T) {
		t.Parallel()
		page := template.Must(template.New("page").Funcs(funcs).Parse(`<p>{{eventtime .At .Zone}}</p>`))
		var buf bytes.Buffer
		require.NoError(t, page.Execute(&buf, struct {
			At   time.Time
			Zone string
		}{winter, "Europe/Paris"}))
		doc, err := goquery.NewDocumentFromReader(&buf)
		require.NoError(t, err)
		tm := doc.Find("p > time")
		require.Equal(t, 1, tm.Length())
		require.Equal(t, "2026-12-12T19:00:00Z", tm.AttrOr("datetime", ""))
		require.Equal(t, "Sat 12 Dec 2026, 20:00 Europe/Paris (CET)", tm.Text())
		_, local := tm.Attr("data-local-time")
		require.False(t, local, "static/app.js must not show an event's start in the reader's zone")
	})
}

// TestPricesInTheReadersLocale checks that each locale's set writes prices
// as its readers do, and that the operator console's pages write ISO codes
// in every locale.
func TestPricesInTheReadersLocale(t *testing.T) {
	t.Parallel()
	set, err := Load()
	require.NoError(t, err)

	price := func(t *testing.T, s *Set, page string) string {
		t.Helper()
		probe, err := s.pages[page].New("probe").Parse(`{{price 123456 "eur"}}`)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, probe.Execute(&buf, nil))
		return buf.String()
	}
	for _, loc := range money.Locales() {
		require.Same(t, set.In(loc), set.In(loc), "%s: made once", loc)
		require.Equal(t, loc.Price(123456, "eur"), price(t, set.In(loc), "ticket"), "%s", loc)
		require.Same(t, set.pages["admin_payments"], set.In(loc).pages["admin_payments"], "%s", loc)
	}
	require.Equal(t, "1234.56 EUR", price(t, set, "admin_payments"))
	require.Same(t, set, set.In(money.Default()))
	require.Equal(t, "€1,234.56", price(t, set, "home"), "the default set")
	require.Equal(t, "1.234,56\u00a0€", price(t, set.In(money.Match("de")), "event"))
}

// errorPage is the data the error page uses, for the benchmarks.
type errorPage struct {
	Title, Flash, Path, Message string
	InlineCSS                   bool
	User                        *struct{ Email string }
}

var benchError = errorPage{Title: "Not found", Path: "/tickets/9", Message: "No such ticket."}

// BenchmarkRenderInLocale renders a page from the set of the reader's locale,
// matched to their Accept-Language, as the handlers do.
func BenchmarkRenderInLocale(b *testing.B) {
	set, err := Load()
	require.NoError(b, err)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		de := set.In(money.Match("de-DE,de;q=0.9,en;q=0.8"))
		require.NoError(b, de.Render(&buf, Error, benchError))
	}
}

// BenchmarkCloneRender renders the same page from a clone made for the
// request, the other way to give a request its own price function: the
// clone is escaped again on each execution.
func BenchmarkCloneRender(b *testing.B) {
	set, err := parse() // never executed, so it can be cloned
	require.NoError(b, err)
	de := money.Match("de")
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		page, err := set.pages["error"].Clone()
		require.NoError(b, err)
		page.Funcs(template.FuncMap{"price": de.Price})
		require.NoError(b, page.ExecuteTemplate(&buf, "layout", benchError))
	}
}

// BenchmarkLoad parses every page for every supported locale, as start-up
// does.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		_, err := Load()
		require.NoError(b, err)
	}
}
