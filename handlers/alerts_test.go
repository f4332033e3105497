package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestAlertsOverHTTP(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ctx := t.Context()
		seller := b.signUp(t, "seller@example.com")
		first := b.listTicket(t, seller, "Night Show", "90")
		l, err := b.store.Listing(ctx, first, b.clock.Now())
		require.NoError(t, err)
		event := strconv.FormatInt(l.Event.ID, 10)

		fan := b.signUp(t, "fan@example.com")
		page := b.get(t, fan, "/events/"+event)
		requireStatus(t, page, http.StatusOK)
		require.Equal(t, 1, doc(page.HTML).Find(`#alert-form input[name=max_price]`).Length())

		res := b.postForm(t, fan, "/events/"+event+"/alerts", url.Values{"max_price": {"lots"}})
		requireStatus(t, res, http.StatusUnprocessableEntity)
		require.Contains(t, text(doc(res.HTML).Find("#max_price-error").Text()), "highest price")
		require.Equal(t, "lots", doc(res.HTML).Find("#max_price").AttrOr("value", ""))
		require.Contains(t, b.get(t, fan, "/alerts").HTML, "You have no alerts")

		res = b.postForm(t, fan, "/events/"+event+"/alerts", url.Values{"max_price": {"30"}})
		requireRedirect(t, res, "/events/"+event)
		mine := doc(b.get(t, fan, "/alerts").HTML).Find(`form[action$="/delete"]`)
		require.Equal(t, 1, mine.Length())
		deleteURL := mine.AttrOr("action", "")

		// Another person cannot delete it.
		other := b.signUp(t, "other@example.com")
		requireStatus(t, b.postForm(t, other, deleteURL, nil), http.StatusNotFound)

		_, err = b.store.CreateListing(ctx, b.userID(t, "seller@example.com"), store.NewListing{EventID: l.Event.ID,
			Price: 2500, FaceValue: 2500, Currency: "usd", Quantity: 1}, b.clock.Now())
		require.NoError(t, err)
		var token string
		mail, err := b.store.RecentMail(ctx, 100)
		require.NoError(t, err)
		for _, m := range mail {
			if m.Kind == store.MailAlert && m.To == "fan@example.com" {
				require.Empty(t, token, "one message")
				token = strings.TrimPrefix(m.Data["Unsubscribe"].(string), "/alerts/unsubscribe/")
			}
		}
		require.NotEmpty(t, token)

		// The link shows a button and changes nothing; a mail client's
		// one-click POST, with no session, stops the alert.
		stranger := newClient(t)
		confirm := b.get(t, stranger, "/alerts/unsubscribe/"+token)
		requireStatus(t, confirm, http.StatusOK)
		require.Equal(t, 1, doc(confirm.HTML).Find("#confirm-unsubscribe").Length())
		require.Equal(t, 1, doc(b.get(t, fan, "/alerts").HTML).Find(`form[action$="/delete"]`).Length())
		res = b.postForm(t, stranger, "/alerts/unsubscribe/"+token, url.Values{"List-Unsubscribe": {"One-Click"}})
		requireStatus(t, res, http.StatusOK)
		require.Contains(t, res.HTML, "no more messages")
		require.Contains(t, b.get(t, fan, "/alerts").HTML, "You have no alerts")
		requireStatus(t, b.postForm(t, stranger, "/alerts/unsubscribe/"+token+"x", nil), http.StatusNotFound)
	})
}

// TestListingOffersAnAlert: a listing a buyer cannot buy (held by someone
// else, sold out) offers the alert for its event; one for sale does not.
func TestListingOffersAnAlert(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Night Show", "90")
		l, err := b.store.Listing(t.Context(), id, b.clock.Now())
		require.NoError(t, err)
		path := "/tickets/" + itoa(id)
		fan := b.signUp(t, "fan@example.com")
		requireNoElement(t, b.get(t, fan, path).HTML, "form#listing-alert", "for sale: nothing to wait for")

		b.buyOK(t, b.signUp(t, "buyer@example.com"), id)
		form := requireElement(t, b.get(t, fan, path).HTML, "form#listing-alert", "held by another buyer")
		require.Equal(t, "/events/"+itoa(l.Event.ID)+"/alerts", form.AttrOr("action", ""))
		requireRedirect(t, b.postForm(t, fan, form.AttrOr("action", ""), nil), "/events/"+itoa(l.Event.ID))
		alerts, err := b.store.Alerts(t.Context(), b.userID(t, "fan@example.com"), b.clock.Now())
		require.NoError(t, err)
		require.Len(t, alerts, 1)
		requireNoElement(t, b.get(t, seller, path).HTML, "form#listing-alert", "not to its seller")
	})
}
