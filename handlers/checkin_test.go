package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// doorCounts reads a door page's counts: checked in, sold.
func doorCounts(t *testing.T, page string) string {
	t.Helper()
	return textOf(requireElement(t, page, "#checkin-counts"))
}

// requireAnswer checks the answer a door page or fragment shows.
func requireAnswer(t *testing.T, res *response, kind, words string) {
	t.Helper()
	requireStatus(t, res, http.StatusOK)
	got, text := doorAnswer(t, res.HTML)
	require.Equal(t, kind, got, "answer of:\n%s", res.HTML)
	require.Contains(t, text, words)
}

// checkinClock is when a check-in recorded in the checkins table happened,
// as the door tells it: HH:MM in Paris.
func (b *doorBundle) checkinClock(t *testing.T) string {
	t.Helper()
	var at int64
	require.NoError(t, b.db.Read.QueryRowContext(t.Context(), `SELECT at FROM checkins ORDER BY id LIMIT 1`).Scan(&at))
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	return time.UnixMilli(at).In(paris).Format("15:04")
}

func TestCheckinDoor(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("WhoMayRunIt", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			path := doorPath(b.listing.Event.ID)
			code := b.passCode(t, b.buyer, b.orderID)
			helper := b.signUp(t, "helper@example.com")
			stranger := b.signUp(t, "stranger@example.com")

			requireRedirect(t, b.get(t, newClient(t), path), signInTo(path))
			for name, c := range map[string]*http.Client{"buyer": b.buyer, "stranger": stranger, "helper not named yet": helper} {
				require.Equal(t, http.StatusNotFound, b.get(t, c, path).StatusCode, name)
				require.Equal(t, http.StatusNotFound, b.scan(t, c, b.listing.Event.ID, code, "nonce-of-"+strings.ReplaceAll(name, " ", "-")).StatusCode, name)
				require.Equal(t, http.StatusNotFound, b.get(t, c, path+"/live").StatusCode, name)
				require.Equal(t, http.StatusNotFound, b.postForm(t, c, path+"/helpers", url.Values{"email": {"x@example.com"}}).StatusCode, name)
			}
			require.Zero(t, b.rowCount(t, "checkins"), "nobody let in")
			require.Zero(t, b.rowCount(t, "event_checkers"))
			requireStatus(t, b.get(t, b.organizer, path+"-nope"), http.StatusNotFound)
			requireStatus(t, b.get(t, b.organizer, "/events/999999/checkin"), http.StatusNotFound)

			page := b.get(t, b.organizer, path)
			requireStatus(t, page, http.StatusOK)
			requireElementText(t, page.HTML, "h1", "Door: Gala")
			require.Equal(t, "0 checked in of 1 sold", doorCounts(t, page.HTML))

			// The organizer names a helper by email; the helper may then
			// scan, but not name helpers.
			res := b.postForm(t, b.organizer, path+"/helpers", url.Values{"email": {" Helper@Example.com "}})
			requireRedirect(t, res, path)
			page = b.get(t, b.organizer, path)
			requireElementText(t, page.HTML, "#checkin-helpers li", "helper@example.com Remove helper@example.com")
			requireStatus(t, b.get(t, helper, path), http.StatusOK)
			requireNoElement(t, b.get(t, helper, path).HTML, "#checkin-helpers", "helpers do not manage helpers")
			requireAnswer(t, b.scan(t, helper, b.listing.Event.ID, code, "helper-scan-1"), "valid", "Checked in now")
			require.Equal(t, http.StatusNotFound, b.postForm(t, helper, path+"/helpers", url.Values{"email": {"friend@example.com"}}).StatusCode)
			require.Equal(t, http.StatusNotFound, b.postForm(t, helper, path+"/helpers/remove", url.Values{"email": {"helper@example.com"}}).StatusCode)

			res = b.postForm(t, b.organizer, path+"/helpers", url.Values{"email": {"not an email"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "helper-email", "Enter the helper’s email address, like name@example.com.")
			requireFieldValue(t, res.HTML, "helper-email", "not an email")

			requireRedirect(t, b.postForm(t, b.organizer, path+"/helpers/remove", url.Values{"email": {"helper@example.com"}}), path)
			requireStatus(t, b.get(t, helper, path), http.StatusNotFound)

			// Only events with EventHive passes have a door.
			eticket := b.sellOK(t, b.organizer, b.newEvent(t, "Fair", 48*time.Hour))
			requireStatus(t, b.get(t, b.organizer, doorPath(eticket.Event.ID)), http.StatusNotFound)
		})

		t.Run("EveryAnswer", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			eventID := b.listing.Event.ID
			code := b.passCode(t, b.buyer, b.orderID)

			requireAnswer(t, b.scan(t, b.organizer, eventID, code, "scan-000001"), "valid", "Valid Checked in now: let them in.")
			requireAnswer(t, b.scan(t, b.organizer, eventID, code, "scan-000002"), "already_checked_in",
				"Already checked in This pass was checked in at "+b.checkinClock(t)+" by organizer@example.com.")

			other := b.passListing(t, b.organizer, "Other night")
			otherOrder := b.buyN(t, b.buyer, other.ID, 1)
			b.payPaid(t, b.buyer, otherOrder)
			requireAnswer(t, b.scan(t, b.organizer, eventID, b.passCode(t, b.buyer, otherOrder), "scan-000003"),
				"other_event", "This pass is for another event.")

			second := b.signUp(t, "second@example.com")
			resold := b.buyN(t, b.buyer, b.listing.ID, 1)
			b.payPaid(t, b.buyer, resold)
			resoldCode := b.passCode(t, b.buyer, resold)
			secondOrder := b.resell(t, "buyer@example.com", resold, second)
			requireAnswer(t, b.scan(t, b.organizer, eventID, resoldCode, "scan-000004"), "resold",
				"Void: resold Its holder resold this ticket: the new holder has the valid pass.")
			requireAnswer(t, b.scan(t, b.organizer, eventID, b.passCode(t, second, secondOrder), "scan-000005"), "valid", "Valid")

			refunded := b.buyN(t, b.buyer, b.listing.ID, 1)
			b.payPaid(t, b.buyer, refunded)
			refundedCode := b.passCode(t, b.buyer, refunded)
			payments, err := b.store.PaymentsForOrder(t.Context(), refunded)
			require.NoError(t, err)
			_, _, err = b.store.RecordRefund(t.Context(), payments[0].PaymentIntentID, payments[0].Amount, true, b.clock.Now())
			require.NoError(t, err)
			requireAnswer(t, b.scan(t, b.organizer, eventID, refundedCode, "scan-000006"), "not_paid", "Not paid")

			for i, bad := range []string{"hello", code[:len(code)-3], strings.ToLower(code)} {
				requireAnswer(t, b.scan(t, b.organizer, eventID, bad, fmt.Sprintf("scan-bad-%d", i)), "unknown",
					"Unknown code This is not an EventHive pass: mistyped, altered or forged.")
			}
			require.Equal(t, "2 checked in of 2 sold", doorCounts(t, b.get(t, b.organizer, doorPath(eventID)).HTML))
		})

		t.Run("TypedWithoutJavaScript", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			path := doorPath(b.listing.Event.ID)
			page := b.get(t, b.organizer, path)
			form := requireElement(t, page.HTML, `form#checkin-form[method="post"][action="`+path+`"]`)
			nonce := form.Find(`input[type="hidden"][name="nonce"]`).AttrOr("value", "")
			require.GreaterOrEqual(t, len(nonce), 16)
			requireElement(t, page.HTML, `form#checkin-form input#code[name="code"]`)
			requireElement(t, page.HTML, `#checkin-answer[aria-live="assertive"]`)
			requireNoElement(t, page.HTML, "[data-answer]", "no answer before a scan")

			code := b.passCode(t, b.buyer, b.orderID)
			res := b.scan(t, b.organizer, b.listing.Event.ID, " "+code[:30]+" "+code[30:]+"\n", nonce)
			requireFullPage(t, res)
			requireAnswer(t, res, "valid", "Valid")
			require.Equal(t, "1 checked in of 1 sold", doorCounts(t, res.HTML))
			next := requireElement(t, res.HTML, `form#checkin-form input[name="nonce"]`).AttrOr("value", "")
			require.NotEqual(t, nonce, next, "a new nonce for the next scan")
			require.Empty(t, input(t, res.HTML, "code").AttrOr("value", ""), "an empty field for the next pass")

			// Sent again (Back and resubmit, a retried request): the same
			// answer, not "already checked in".
			requireAnswer(t, b.scan(t, b.organizer, b.listing.Event.ID, code, nonce), "valid", "Valid")
			requireAnswer(t, b.scan(t, b.organizer, b.listing.Event.ID, code, next), "already_checked_in", "Already checked in")
			requireAnswer(t, b.postForm(t, b.organizer, path, url.Values{"code": {code}}), "already_checked_in", "Already checked in")

			res = b.scan(t, b.organizer, b.listing.Event.ID, "  ", next)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "code", "Enter the code written under the pass’s QR code, or scan it.")
			requireNoElement(t, res.HTML, "[data-answer]")

			helper := b.signUp(t, "helper@example.com")
			requireRedirect(t, b.postForm(t, b.organizer, path+"/helpers", url.Values{"email": {"helper@example.com"}}), path)
			res = b.scan(t, helper, b.listing.Event.ID, code, nonce)
			requireStatus(t, res, http.StatusConflict)
			requireElement(t, res.HTML, "#code-error", "another person's nonce is not theirs to replay")
		})

		t.Run("ScannedWithHTMX", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			code := b.passCode(t, b.buyer, b.orderID)
			res := b.scan(t, b.organizer, b.listing.Event.ID, code, "htmx-scan-1", htmx)
			requireStatus(t, res, http.StatusOK)
			requireFragment(t, res, `<div class="checkin-result checkin-valid" data-answer="valid">`)
			form := requireElement(t, res.HTML, `form#checkin-form[hx-swap-oob="true"]`)
			require.NotEqual(t, "htmx-scan-1", form.Find(`input[name="nonce"]`).AttrOr("value", ""))

			res = b.scan(t, b.organizer, b.listing.Event.ID, "", "htmx-scan-2", htmx)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFragment(t, res, `<form id="checkin-form" hx-swap-oob="true">`)
			requireFieldError(t, res.HTML, "code", "Enter the code written under the pass’s QR code, or scan it.")

			counts := b.get(t, b.organizer, doorPath(b.listing.Event.ID), htmx)
			requireFragment(t, counts, `<p id="checkin-counts">`)
			require.Equal(t, "1 checked in of 1 sold", doorCounts(t, counts.HTML))
		})

		t.Run("TwentyDoorsAtOnce", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			code := b.passCode(t, b.buyer, b.orderID)
			answers := make([]string, 20)
			var wg sync.WaitGroup
			for i := range answers {
				wg.Go(func() {
					req, err := http.NewRequest(http.MethodPost, b.url(doorPath(b.listing.Event.ID)),
						strings.NewReader(url.Values{"code": {code}, "nonce": {fmt.Sprintf("door-%04d", i)}}.Encode()))
					if err != nil {
						t.Error(err)
						return
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					res, err := b.organizer.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer res.Body.Close()
					body, err := io.ReadAll(res.Body)
					if err != nil {
						t.Error(err)
						return
					}
					answers[i] = doc(string(body)).Find("[data-answer]").AttrOr("data-answer", res.Status)
				})
			}
			wg.Wait()
			tally := map[string]int{}
			for _, a := range answers {
				tally[a]++
			}
			require.Equal(t, map[string]int{"valid": 1, "already_checked_in": 19}, tally)
		})

		t.Run("CountsUpdateLive", func(t *testing.T) {
			t.Parallel()
			b := setupDoor(t, dialect)
			page := b.get(t, b.organizer, doorPath(b.listing.Event.ID))
			requireElement(t, page.HTML, `[sse-connect="`+doorPath(b.listing.Event.ID)+`/live"] #checkin-counts[hx-trigger*="sse:checkins"]`)
			counts := b.openStream(t, b.organizer, doorPath(b.listing.Event.ID)+"/live")
			listings := b.openStream(t, newClient(t), "/live")
			helper := b.signUp(t, "helper@example.com")
			requireRedirect(t, b.postForm(t, b.organizer, doorPath(b.listing.Event.ID)+"/helpers",
				url.Values{"email": {"helper@example.com"}}), doorPath(b.listing.Event.ID))

			requireAnswer(t, b.scan(t, helper, b.listing.Event.ID, b.passCode(t, b.buyer, b.orderID), "live-scan-1"), "valid", "Valid")
			require.Equal(t, "checkins", counts.next(t), "the organizer's counts hear of the helper's scan")
			listings.requireQuiet(t)
		})
	})
}
