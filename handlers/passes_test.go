package handlers_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// doorBundle is a running app with an event whose tickets are EventHive
// passes, listed through the form by its organizer, and a buyer who bought
// and paid one of them.
type doorBundle struct {
	*liveBundle
	organizer, buyer *http.Client
	listing          store.Listing
	orderID          int64
}

func setupDoor(t *testing.T, dialect store.Dialect) *doorBundle {
	t.Helper()
	b := &doorBundle{liveBundle: setupLive(t, dialect, liveOpts{})}
	b.organizer = b.signUp(t, "organizer@example.com")
	b.buyer = b.signUp(t, "buyer@example.com")
	b.listing = b.passListing(t, b.organizer, "Gala")
	b.orderID = b.buyN(t, b.buyer, b.listing.ID, 1)
	b.payPaid(t, b.buyer, b.orderID)
	return b
}

// passListing lists three tickets at 30.00 under a new event with EventHive
// passes, through the sell form.
func (b *doorBundle) passListing(t *testing.T, c *http.Client, name string) store.Listing {
	t.Helper()
	l := b.sellOK(t, c, with(b.newEvent(t, name, 48*time.Hour), "quantity", "3", "checkin_with_eventhive", "1"))
	require.True(t, l.Event.CheckinWithEventHive)
	return l
}

// payPaid pays an order through the built-in checkout and waits for the
// payment to be recorded.
func (b *doorBundle) payPaid(t *testing.T, c *http.Client, orderID int64) {
	t.Helper()
	b.pay(t, c, orderID)
	require.Eventually(t, func() bool {
		var status string
		err := b.db.Read.QueryRowContext(t.Context(), `SELECT status FROM orders WHERE id = $1`, orderID).Scan(&status)
		return err == nil && status == string(store.Paid)
	}, 10*time.Second, 20*time.Millisecond, "order %d not paid", orderID)
}

// passCodes reads the codes an order page links passes by, in order.
func (b *doorBundle) passCodes(t *testing.T, c *http.Client, orderID int64) []string {
	t.Helper()
	page := b.get(t, c, "/orders/"+itoa(orderID))
	requireStatus(t, page, http.StatusOK)
	codes := []string{}
	for _, href := range doc(page.HTML).Find(`#order-passes a[href^="/passes/"]`).Map(func(_ int, a *goquery.Selection) string {
		return a.AttrOr("href", "")
	}) {
		codes = append(codes, strings.TrimPrefix(href, "/passes/"))
	}
	return codes
}

// passCode is the code of the only pass of an order.
func (b *doorBundle) passCode(t *testing.T, c *http.Client, orderID int64) string {
	t.Helper()
	codes := b.passCodes(t, c, orderID)
	require.Len(t, codes, 1)
	return codes[0]
}

func doorPath(eventID int64) string { return "/events/" + itoa(eventID) + "/checkin" }

// scan posts a code to an event's door with a nonce.
func (b *doorBundle) scan(t *testing.T, c *http.Client, eventID int64, code, nonce string, opts ...reqOption) *response {
	t.Helper()
	return b.postForm(t, c, doorPath(eventID), url.Values{"code": {code}, "nonce": {nonce}}, opts...)
}

// doorAnswer reads the answer a door page or fragment shows: its kind and
// its words.
func doorAnswer(t *testing.T, page string) (string, string) {
	t.Helper()
	answer := requireElement(t, page, "[data-answer]")
	return answer.AttrOr("data-answer", ""), textOf(answer)
}

// resell has the holder of an order's ticket resell it, and newBuyer buy
// and pay for it; it returns newBuyer's order.
func (b *doorBundle) resell(t *testing.T, holder string, orderID int64, newBuyer *http.Client) int64 {
	t.Helper()
	owned, err := b.store.OwnedTickets(t.Context(), b.userID(t, holder))
	require.NoError(t, err)
	var ticketID int64
	for _, o := range owned {
		if o.OrderID == orderID {
			ticketID = o.TicketID
		}
	}
	require.NotZero(t, ticketID)
	resale, err := b.store.ResellTickets(t.Context(), b.userID(t, holder), store.Resale{TicketIDs: []int64{ticketID}, Price: 3000}, b.clock.Now())
	require.NoError(t, err)
	order := b.buyN(t, newBuyer, resale.ID, 1)
	b.payPaid(t, newBuyer, order)
	return order
}

func TestChoosingPasses(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupLive(t, dialect, liveOpts{})
		seller := b.signUp(t, "seller@example.com")
		page := b.get(t, seller, "/tickets/new")
		requireStatus(t, page, http.StatusOK)
		box := requireElement(t, page.HTML, `#new-event input#checkin_with_eventhive[type="checkbox"][name="checkin_with_eventhive"]`)
		_, ticked := box.Attr("checked")
		require.False(t, ticked, "e-tickets unless the seller chooses passes")
		require.Contains(t, textOf(doc(page.HTML).Find(`label:has(#checkin_with_eventhive)`)),
			"Check tickets in at the door with EventHive passes — you become the event's organizer")

		passes := b.sellOK(t, seller, with(b.newEvent(t, "Gala", 48*time.Hour), "checkin_with_eventhive", "1"))
		etickets := b.sellOK(t, seller, b.newEvent(t, "Fair", 48*time.Hour))
		require.True(t, passes.Event.CheckinWithEventHive)
		require.False(t, etickets.Event.CheckinWithEventHive)

		stranger := newClient(t)
		for _, c := range []struct {
			l    store.Listing
			says string
		}{{passes, "EventHive pass"}, {etickets, "E-ticket from the organizer's system"}} {
			event := b.get(t, stranger, "/events/"+itoa(c.l.Event.ID))
			requireElementText(t, event.HTML, "article.event .delivery", c.says)
			listing := b.get(t, stranger, "/tickets/"+itoa(c.l.ID))
			requireElementText(t, listing.HTML, "article.listing .delivery", c.says)
		}
		requireElement(t, b.get(t, seller, "/events/"+itoa(passes.Event.ID)).HTML,
			`a#door-link[href="/events/`+itoa(passes.Event.ID)+`/checkin"]`, "the organizer's way to the door")
		requireNoElement(t, b.get(t, seller, "/events/"+itoa(etickets.Event.ID)).HTML, "#door-link")
		requireNoElement(t, b.get(t, b.signUp(t, "buyer@example.com"), "/events/"+itoa(passes.Event.ID)).HTML, "#door-link")

		// A form with errors keeps the choice.
		res := b.sell(t, seller, with(b.newEvent(t, "Gala", 48*time.Hour), "checkin_with_eventhive", "1", "price", "free"))
		requireStatus(t, res, http.StatusUnprocessableEntity)
		_, ticked = input(t, res.HTML, "checkin_with_eventhive").Attr("checked")
		require.True(t, ticked)
	})
}

func TestPasses(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("PublicKeyVerifiesPassesOffline", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			res := b.get(t, newClient(t), "/.well-known/eventhive-pass-key")
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "application/json", res.Header.Get("Content-Type"))
			var doc struct {
				Alg, Key, Format string
				Version          int
			}
			require.NoError(t, json.Unmarshal([]byte(res.HTML), &doc))
			require.Equal(t, "Ed25519", doc.Alg)
			require.Equal(t, 1, doc.Version)
			require.Contains(t, doc.Format, "base64url")
			key, err := base64.RawURLEncoding.DecodeString(doc.Key)
			require.NoError(t, err)
			require.Len(t, key, ed25519.PublicKeySize)

			verify := func(code string) bool {
				raw, err := base64.RawURLEncoding.DecodeString(code)
				if err != nil || len(raw) <= ed25519.SignatureSize {
					return false
				}
				cut := len(raw) - ed25519.SignatureSize
				return ed25519.Verify(key, raw[:cut], raw[cut:])
			}
			code := b.passCode(t, b.buyer, b.orderID)
			require.True(t, verify(code), "the pass verifies with the published key")
			raw, err := base64.RawURLEncoding.DecodeString(code)
			require.NoError(t, err)
			for i := range raw {
				altered := append([]byte(nil), raw...)
				altered[i] ^= 0x80
				require.False(t, verify(base64.RawURLEncoding.EncodeToString(altered)), "byte %d altered", i)
			}
			_, forger, err := ed25519.GenerateKey(nil)
			require.NoError(t, err)
			payload := raw[:len(raw)-ed25519.SignatureSize]
			require.False(t, verify(base64.RawURLEncoding.EncodeToString(append(payload, ed25519.Sign(forger, payload)...))), "forged")
		})

		t.Run("MyTicketsLinksTheHoldersPass", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			code := b.passCode(t, b.buyer, b.orderID)
			page := b.get(t, b.buyer, "/my/tickets").HTML
			link := requireElement(t, page, `#tickets-held a[href^="/passes/"]`)
			require.Equal(t, "/passes/"+code, link.AttrOr("href", ""))
			pass := b.get(t, b.buyer, "/passes/"+code)
			requireStatus(t, pass, http.StatusOK)
			sell := requireElement(t, pass.HTML, "a#sell-pass").AttrOr("href", "")
			requireStatus(t, b.get(t, b.buyer, sell), http.StatusOK)
			requireElement(t, b.get(t, b.buyer, sell).HTML, `input[name="price"]`, "the pass page leads to the resale form")

			// Resold and paid for: the pass leaves the old holder's list,
			// and the new holder's list links a new one.
			next := b.signUp(t, "next@example.com")
			b.resell(t, "buyer@example.com", b.orderID, next)
			requireNoElement(t, b.get(t, b.buyer, "/my/tickets").HTML, `#tickets-held a[href^="/passes/"]`)
			link = requireElement(t, b.get(t, next, "/my/tickets").HTML, `#tickets-held a[href^="/passes/"]`)
			require.NotEqual(t, "/passes/"+code, link.AttrOr("href", ""))
			requireStatus(t, b.get(t, next, link.AttrOr("href", "")), http.StatusOK)
			requireNotFound(t, b.get(t, b.buyer, "/passes/"+code))
		})

		t.Run("OrderPageLinksThemOncePaid", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			pending := b.buyN(t, b.buyer, b.listing.ID, 2)
			requireNoElement(t, b.get(t, b.buyer, "/orders/"+itoa(pending)).HTML, "#order-passes", "not paid yet")
			b.payPaid(t, b.buyer, pending)
			codes := b.passCodes(t, b.buyer, pending)
			require.Len(t, codes, 2)
			require.NotEqual(t, codes[0], codes[1])
			requireElementText(t, b.get(t, b.buyer, "/orders/"+itoa(pending)).HTML, "#order-passes h2", "Your passes")

			seller := b.signUp(t, "seller@example.com")
			eticket := b.sellOK(t, seller, b.newEvent(t, "Fair", 48*time.Hour))
			order := b.buyN(t, b.buyer, eticket.ID, 1)
			b.payPaid(t, b.buyer, order)
			requireNoElement(t, b.get(t, b.buyer, "/orders/"+itoa(order)).HTML, "#order-passes", "e-tickets have no pass")
		})

		t.Run("PassPageForItsHolder", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			code := b.passCode(t, b.buyer, b.orderID)
			page := b.get(t, b.buyer, "/passes/"+code)
			requireStatus(t, page, http.StatusOK)
			require.Equal(t, "no-store", page.Header.Get("Cache-Control"))
			requireElementText(t, page.HTML, "article.pass h1", "Gala")
			facts := textOf(requireElement(t, page.HTML, "article.pass .pass-facts"))
			require.Contains(t, facts, "Olympia · Paris")
			require.Contains(t, facts, "Europe/Paris")
			require.Contains(t, facts, "Holder buyer@example.com")
			requireElementText(t, page.HTML, "#pass-code", code)

			img := requireElement(t, page.HTML, "img.pass-qr")
			src, ok := strings.CutPrefix(img.AttrOr("src", ""), "data:image/png;base64,")
			require.True(t, ok, "an inline PNG: %.40s", img.AttrOr("src", ""))
			raw, err := base64.StdEncoding.DecodeString(src)
			require.NoError(t, err)
			qr, err := png.Decode(bytes.NewReader(raw))
			require.NoError(t, err)
			size := qr.Bounds().Dx()
			require.Equal(t, size, qr.Bounds().Dy())
			require.GreaterOrEqual(t, size, 300, "large enough to scan")
			require.Equal(t, itoa(int64(size)), img.AttrOr("width", ""))
			require.NotEmpty(t, img.AttrOr("alt", ""))
		})

		t.Run("PassPageIsNobodyElses", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			code := b.passCode(t, b.buyer, b.orderID)
			stranger := b.signUp(t, "stranger@example.com")
			for name, c := range map[string]*http.Client{"signed out": newClient(t), "stranger": stranger, "organizer": b.organizer} {
				require.Equal(t, http.StatusNotFound, b.get(t, c, "/passes/"+code).StatusCode, name)
			}
			altered := code[:9] + "A" + code[10:]
			if code[9] == 'A' {
				altered = code[:9] + "B" + code[10:]
			}
			requireStatus(t, b.get(t, b.buyer, "/passes/"+altered), http.StatusNotFound)
			requireStatus(t, b.get(t, b.buyer, "/passes/nonsense"), http.StatusNotFound)

			// Resold: the previous holder's pass is void, the new one has
			// a pass of their own.
			second := b.signUp(t, "second@example.com")
			secondOrder := b.resell(t, "buyer@example.com", b.orderID, second)
			requireStatus(t, b.get(t, b.buyer, "/passes/"+code), http.StatusNotFound)
			requireStatus(t, b.get(t, second, "/passes/"+code), http.StatusNotFound)
			requireNoElement(t, b.get(t, b.buyer, "/orders/"+itoa(b.orderID)).HTML, `#order-passes a`)
			require.Contains(t, textOf(requireElement(t, b.get(t, b.buyer, "/orders/"+itoa(b.orderID)).HTML, "#order-passes")),
				"you resold it, so this pass is void")
			newCode := b.passCode(t, second, secondOrder)
			requireStatus(t, b.get(t, second, "/passes/"+newCode), http.StatusOK)
			requireStatus(t, b.get(t, b.buyer, "/passes/"+newCode), http.StatusNotFound)
		})
	})
}
