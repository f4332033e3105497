package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// listPriced lists a ticket at 45 in the currency under a new event named
// name, through the store: the listing form lists in the site's currency
// only.
func (b *testBundle) listPriced(t *testing.T, sellerEmail, name, currency string) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), b.userID(t, sellerEmail), store.NewListing{
		Event:    store.NewEvent{Name: name, StartsAt: b.clock.Now().Add(7 * 24 * time.Hour).Truncate(time.Minute), TimeZone: "UTC"},
		Price:    4500,
		Currency: currency, FaceValue: 4500, Quantity: 1,
	}, b.clock.Now())
	require.NoError(t, err)
	return l
}

// askingPrice is the price a ticket page asks, as written, spaces included.
func askingPrice(t *testing.T, page string) string {
	t.Helper()
	return requireElement(t, page, "strong.price-large").Text()
}

// homePrices are the prices the home page (or its listing) offers, as written.
func homePrices(t *testing.T, page string) []string {
	t.Helper()
	return doc(page).Find("#listing .offer .price").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
}

// TestPricesInTheReadersLocale checks that prices are written as the
// reader's languages, sent in Accept-Language, write them, with a
// non-breaking space wherever one separates the symbol, and that the page's
// language stays the language of its words.
func TestPricesInTheReadersLocale(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		b.signUp(t, "seller@example.com")
		listings := map[string]store.Listing{}
		for currency, event := range map[string]string{"eur": "Opera", "usd": "Jazz", "gbp": "Proms", "nok": "Fjord"} {
			listings[currency] = b.listPriced(t, "seller@example.com", event, currency)
		}
		for _, tc := range []struct {
			acceptLanguage, currency, want string
		}{
			{"de", "eur", "45,00\u00a0€"},
			{"fr", "eur", "45,00\u00a0€"},
			{"fr-FR,fr;q=0.9,en;q=0.5", "eur", "45,00\u00a0€"},
			{"en-US", "usd", "$45.00"},
			{"", "usd", "$45.00"},
			{"ja", "usd", "$45.00"}, // not supported: the default, en-US
			{"en-US", "eur", "€45.00"},
			{"de-DE,de;q=0.9,en;q=0.8", "usd", "45,00\u00a0$"},
			{"en-GB,en;q=0.9", "gbp", "£45.00"},
			{"nb-NO,nb;q=0.9", "nok", "45,00\u00a0kr"},
			{"en-US", "nok", "NOK\u00a045.00"},
		} {
			t.Run(tc.acceptLanguage+"/"+tc.currency, func(t *testing.T) {
				l := listings[tc.currency]
				page := b.get(t, newClient(t), "/tickets/"+itoa(l.ID), withHeader("Accept-Language", tc.acceptLanguage))
				requireStatus(t, page, http.StatusOK)
				require.Equal(t, tc.want, askingPrice(t, page.HTML))
				require.Contains(t, page.Header.Values("Vary"), "Accept-Language")
				requireElement(t, page.HTML, `html[lang="en"]`, "the words are English")

				home := b.get(t, newClient(t), "/?q="+l.Event.Name, withHeader("Accept-Language", tc.acceptLanguage))
				requireStatus(t, home, http.StatusOK)
				require.Equal(t, []string{tc.want}, homePrices(t, home.HTML))
			})
		}
	})
}

// TestKeptListingInEachLocale checks that the home page kept for signed-out
// visitors (see listingCache) is kept for each locale apart: a reader never
// gets the page rendered for another's, whole or fragment, gzipped or not.
func TestKeptListingInEachLocale(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		b.signUp(t, "seller@example.com")
		b.listPriced(t, "seller@example.com", "Gala", "eur")
		identity := withHeader("Accept-Encoding", "identity")

		// Twice round: the second answers may come from what the first kept.
		for range 2 {
			for _, tc := range []struct {
				acceptLanguage, want string
			}{
				{"de", "45,00\u00a0€"},
				{"en-US", "€45.00"},
				{"nl", "€\u00a045,00"},
				{"", "€45.00"},
				{"fr", "45,00\u00a0€"},
			} {
				lang := withHeader("Accept-Language", tc.acceptLanguage)
				for name, opts := range map[string][]reqOption{
					"page":               {lang},
					"page, identity":     {lang, identity},
					"fragment":           {lang, htmx},
					"fragment, identity": {lang, htmx, identity},
				} {
					res := b.get(t, newClient(t), "/", opts...)
					requireStatus(t, res, http.StatusOK)
					require.Equal(t, []string{tc.want}, homePrices(t, res.HTML), "%q, %s", tc.acceptLanguage, name)
					require.Contains(t, res.Header.Values("Vary"), "Accept-Language")
					if name == "page" {
						require.True(t, res.Uncompressed, "the page came gzipped")
					}
				}
			}
		}
	})
}
