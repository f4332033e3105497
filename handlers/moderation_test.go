package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// moderationBundle is EventHive with the operator console on and its
// operator signed in.
type moderationBundle struct {
	*testBundle
	admin   *http.Client
	adminID int64
}

func moderationSetup(t *testing.T, dialect store.Dialect) *moderationBundle {
	t.Helper()
	b := adminSetup(t, dialect)
	admin := b.signUp(t, adminEmail)
	b.confirmOperator(t, adminEmail)
	return &moderationBundle{testBundle: b, admin: admin, adminID: b.userID(t, adminEmail)}
}

// listUnderNewEvent lists quantity tickets at $20.00 under a new event named name,
// starting in a week, for the seller with the email, through the store.
func (b *testBundle) listUnderNewEvent(t *testing.T, sellerEmail, name string, quantity int) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), b.userID(t, sellerEmail), store.NewListing{
		Event:    store.NewEvent{Name: name, StartsAt: b.clock.Now().Add(7 * 24 * time.Hour).Truncate(time.Minute), TimeZone: "UTC"},
		Price:    2000,
		Currency: "usd", FaceValue: 2000, Quantity: quantity,
	}, b.clock.Now())
	require.NoError(t, err)
	return l
}

// storedEvent reads an event back.
func (b *testBundle) storedEvent(t *testing.T, id int64) store.Event {
	t.Helper()
	e, err := b.store.Event(t.Context(), id)
	require.NoError(t, err)
	return e
}

// storedUser reads an account back.
func (b *testBundle) storedUser(t *testing.T, email string) store.User {
	t.Helper()
	u, err := b.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	return u
}

// moderationLog reads the moderation log, newest first.
func (b *testBundle) moderationLog(t *testing.T) []store.ModerationEntry {
	t.Helper()
	log, err := b.store.ModerationLog(t.Context(), 100)
	require.NoError(t, err)
	return log
}

// requireLogged checks that the newest action of the log is the operator's
// action on the subject, recorded between from and now.
func (b *moderationBundle) requireLogged(t *testing.T, action store.ModerationAction, subjectID int64, from time.Time) store.ModerationEntry {
	t.Helper()
	log := b.moderationLog(t)
	require.NotEmpty(t, log)
	got := log[0]
	require.Equal(t, action, got.Action)
	require.Equal(t, subjectID, got.SubjectID)
	require.Equal(t, b.adminID, got.ActorID)
	require.Equal(t, adminEmail, got.ActorEmail)
	require.False(t, got.CreatedAt.Before(from.Truncate(time.Millisecond)), "logged at %s, before %s", got.CreatedAt, from)
	require.False(t, got.CreatedAt.After(b.clock.Now()), "logged at %s, in the future", got.CreatedAt)
	return got
}

// requireFlash checks the message a page shows once.
func requireFlash(t *testing.T, page, message string) {
	t.Helper()
	requireElementText(t, page, "p.flash", message)
}

// TestModerationIsOperatorsOnly tries every moderation route, GET and POST,
// as everyone but the operator: each gets the ordinary 404 page, and nothing
// changes.
func TestModerationIsOperatorsOnly(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Opera", 1)
		other := b.listUnderNewEvent(t, "seller@example.com", "Ballet", 1)
		sellerID := b.userID(t, "seller@example.com")
		e, u := itoa(l.Event.ID), itoa(sellerID)

		gets := []string{
			"/admin/events", "/admin/events?q=opera", "/admin/events/" + e, "/admin/events/" + e + "/merge",
			"/admin/events/" + e + "/merge?into=" + itoa(other.Event.ID), "/admin/events/" + e + "/merge?q=ballet",
			"/admin/users", "/admin/users?q=seller", "/admin/users/" + u + "/suspension", "/admin/log",
		}
		posts := map[string]url.Values{
			"/admin/events/" + e:               {"event_name": {"Hacked"}, "time_zone": {"UTC"}},
			"/admin/events/" + e + "/hide":     nil,
			"/admin/events/" + e + "/show":     nil,
			"/admin/events/" + e + "/merge":    {"into": {itoa(other.Event.ID)}},
			"/admin/users/" + u + "/suspend":   {"reason": {"because"}},
			"/admin/users/" + u + "/reinstate": nil,
		}
		unconfirmed := b.signUp(t, "someone-else@example.com") // listed in AdminEmails, never confirmed
		unlisted := b.signUp(t, "former-ops@example.com")
		b.confirmOperator(t, "former-ops@example.com")
		for name, c := range map[string]*http.Client{
			"SignedOut":   newClient(t),
			"Seller":      seller,
			"Unconfirmed": unconfirmed,
			"Unlisted":    unlisted,
		} {
			// Once the browser holds the CSS, pages link it (see
			// TestFirstVisitCarriesTheCSS): the same 404 page each time.
			b.get(t, c, "/")
			want := b.get(t, c, "/no-such-page")
			requireStatus(t, want, http.StatusNotFound)
			for _, path := range gets {
				for _, opts := range [][]reqOption{nil, {htmx}} {
					res := b.get(t, c, path, opts...)
					requireStatus(t, res, http.StatusNotFound)
					if opts == nil {
						require.Equal(t, want.HTML, res.HTML, "%s: GET %s", name, path)
					}
				}
			}
			for path, form := range posts {
				res := b.postForm(t, c, path, form)
				requireStatus(t, res, http.StatusNotFound)
				require.Equal(t, want.HTML, res.HTML, "%s: POST %s", name, path)
			}
		}

		got := b.storedEvent(t, l.Event.ID)
		require.Equal(t, "Opera", got.Name)
		require.True(t, got.Listed(), "neither hidden nor merged")
		require.True(t, b.storedUser(t, "seller@example.com").SuspendedAt.IsZero())
		require.Empty(t, b.moderationLog(t))
		requireSignedInAs(t, b.get(t, seller, "/").HTML, "seller@example.com")

		t.Run("CrossSiteFormFromTheOperator", func(t *testing.T) {
			res := b.postForm(t, b.admin, "/admin/users/"+u+"/suspend", url.Values{"reason": {"forged"}},
				withHeader("Sec-Fetch-Site", "cross-site"))
			requireStatus(t, res, http.StatusForbidden)
			res = b.postForm(t, b.admin, "/admin/events/"+e+"/hide", nil, withHeader("Origin", "https://evil.example"))
			requireStatus(t, res, http.StatusForbidden)
			require.True(t, b.storedUser(t, "seller@example.com").SuspendedAt.IsZero())
			require.True(t, b.storedEvent(t, l.Event.ID).HiddenAt.IsZero())
		})

		t.Run("GetChangesNothing", func(t *testing.T) {
			for _, path := range []string{"/admin/events/" + e + "/hide", "/admin/users/" + u + "/suspend",
				"/admin/users/" + u + "/reinstate", "/admin/events/" + e + "/show"} {
				requireStatus(t, b.get(t, b.admin, path), http.StatusMethodNotAllowed)
			}
			require.Empty(t, b.moderationLog(t))
		})
	})
}

func TestModerationEditEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		b.signUp(t, "seller@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Jazz Nite", 2)
		path := "/admin/events/" + itoa(l.Event.ID)

		res := b.get(t, b.admin, "/admin/events?q=jazz")
		requireStatus(t, res, http.StatusOK)
		requireFullPage(t, res)
		requireElementText(t, res.HTML, `#event-`+itoa(l.Event.ID)+` a[href="`+path+`"]`, "#"+itoa(l.Event.ID)+" Jazz Nite")
		requireElementText(t, res.HTML, `#event-`+itoa(l.Event.ID)+` .badge`, "listed")
		requireElementText(t, res.HTML, `a[href="/admin/events"][aria-current="page"]`, "Events")
		res = b.get(t, b.admin, "/admin/events?q=opera")
		requireStatus(t, res, http.StatusOK)
		requireNoElement(t, res.HTML, `#event-`+itoa(l.Event.ID))

		res = b.get(t, b.admin, path)
		requireStatus(t, res, http.StatusOK)
		requireFieldValue(t, res.HTML, "event_name", "Jazz Nite")
		requireFieldValue(t, res.HTML, "time_zone", "UTC")
		requireFieldValue(t, res.HTML, "starts_at", l.Event.StartsAt.UTC().Format("2006-01-02T15:04"))

		t.Run("Invalid", func(t *testing.T) {
			res := b.postForm(t, b.admin, path, url.Values{"event_name": {" "}, "venue": {"Le\u202eDuc"},
				"starts_at": {"next friday"}, "time_zone": {"Mars/Olympus_Mons"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "event_name", "Enter a name.")
			requireFieldError(t, res.HTML, "venue", "The venue contains invisible characters that change the direction of text. Please remove them.")
			requireFieldError(t, res.HTML, "time_zone", "Enter an IANA time zone, like Europe/Paris or America/New_York.")
			requireFieldError(t, res.HTML, "starts_at", "Enter the start as date and time, like 2030-06-21T20:00, or leave it empty if the date is to be announced.")
			requireFieldOK(t, res.HTML, "city")
			requireFieldValue(t, res.HTML, "starts_at", "next friday")

			res = b.postForm(t, b.admin, path, url.Values{"event_name": {"Jazz"}, "starts_at": {"2031-03-30T02:30"},
				"time_zone": {"Europe/Paris"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "starts_at", "This time does not exist in Europe/Paris: the clocks skip it.")
			require.Equal(t, "Jazz Nite", b.storedEvent(t, l.Event.ID).Name, "nothing saved")
			require.Empty(t, b.moderationLog(t))
		})

		from := b.clock.Now()
		starts := from.AddDate(1, 0, 0).Format("2006") + "-06-21T20:00"
		res = b.postForm(t, b.admin, path, url.Values{"event_name": {"Jazz Night"}, "venue": {"Le Duc des Lombards"},
			"city": {"Paris"}, "starts_at": {starts}, "time_zone": {"Europe/Paris"}})
		requireRedirect(t, res, path)
		got := b.storedEvent(t, l.Event.ID)
		require.Equal(t, "Jazz Night", got.Name)
		require.Equal(t, "Le Duc des Lombards", got.Venue)
		require.Equal(t, "Paris", got.City)
		require.Equal(t, "Europe/Paris", got.TimeZone)
		paris, err := time.LoadLocation("Europe/Paris")
		require.NoError(t, err)
		want, err := time.ParseInLocation("2006-01-02T15:04", starts, paris)
		require.NoError(t, err)
		require.True(t, want.Equal(got.StartsAt), "starts at %s, want %s", got.StartsAt, want)
		entry := b.requireLogged(t, store.ActionEdit, l.Event.ID, from)
		require.Contains(t, entry.Detail, "name “Jazz Nite” → “Jazz Night”")

		res = b.get(t, b.admin, path)
		requireFlash(t, res.HTML, "Your changes to “Jazz Night” are saved.")
		requireFieldValue(t, res.HTML, "starts_at", starts)
		requireFieldValue(t, res.HTML, "venue", "Le Duc des Lombards")

		t.Run("ToBeAnnounced", func(t *testing.T) {
			res := b.postForm(t, b.admin, path, url.Values{"event_name": {"Jazz Night"}, "time_zone": {"Europe/Paris"}})
			requireRedirect(t, res, path)
			require.True(t, b.storedEvent(t, l.Event.ID).StartsAt.IsZero())
		})

		t.Run("Missing", func(t *testing.T) {
			requireStatus(t, b.get(t, b.admin, "/admin/events/999999"), http.StatusNotFound)
			requireStatus(t, b.postForm(t, b.admin, "/admin/events/999999", url.Values{"event_name": {"X"}, "time_zone": {"UTC"}}),
				http.StatusNotFound)
			requireStatus(t, b.get(t, b.admin, "/admin/events/abc"), http.StatusNotFound)
		})
	})
}

func TestModerationHideEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Circus Maximus", 2)
		path := "/admin/events/" + itoa(l.Event.ID)
		forSale := func() int {
			t.Helper()
			events, err := b.store.UpcomingEvents(t.Context(), b.clock.Now(), store.EventQuery{Search: "circus"}, 10, 0)
			require.NoError(t, err)
			if len(events) == 0 {
				return -1 // not listed at all
			}
			return events[0].ForSale
		}
		require.Equal(t, 2, forSale())

		from := b.clock.Now()
		requireRedirect(t, b.postForm(t, b.admin, path+"/hide", nil), path)
		require.False(t, b.storedEvent(t, l.Event.ID).HiddenAt.IsZero())
		b.requireLogged(t, store.ActionHide, l.Event.ID, from)
		res := b.get(t, b.admin, path)
		requireFlash(t, res.HTML, "“Circus Maximus” is hidden: it left the home page and search, and its listings cannot be bought.")
		requireElementText(t, res.HTML, "#event-state .badge", "hidden")
		requireElement(t, res.HTML, `form[action="`+path+`/show"] button`)

		require.Equal(t, -1, forSale(), "off the home page and search")
		requireNoElement(t, b.get(t, newClient(t), "/?q=circus").HTML, `a[href="/tickets/`+itoa(l.ID)+`"]`)
		res = b.buy(t, buyer, l.ID)
		require.NotEqual(t, http.StatusSeeOther, res.StatusCode, "a hidden event's listing cannot be bought")
		requireStatus(t, res, http.StatusNotFound)

		res = b.get(t, b.admin, "/admin/events?q=circus")
		requireElementText(t, res.HTML, `#event-`+itoa(l.Event.ID)+` .badge`, "hidden")

		from = b.clock.Now()
		requireRedirect(t, b.postForm(t, b.admin, path+"/show", nil), path)
		require.True(t, b.storedEvent(t, l.Event.ID).HiddenAt.IsZero())
		b.requireLogged(t, store.ActionShow, l.Event.ID, from)
		require.Equal(t, 2, forSale())
		b.buyOK(t, buyer, l.ID)
	})
}

func TestModerationMergeEvents(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		into := b.listUnderNewEvent(t, "seller@example.com", "Radiohead", 1)
		dup := b.listUnderNewEvent(t, "seller@example.com", "Radiohed", 2)
		orderID := b.buyOK(t, buyer, dup.ID)
		hidden := b.listUnderNewEvent(t, "seller@example.com", "Radiohead (old)", 1)
		require.NoError(t, b.store.HideEvent(t.Context(), b.adminID, hidden.Event.ID, b.clock.Now()))
		path := "/admin/events/" + itoa(dup.Event.ID) + "/merge"

		res := b.get(t, b.admin, "/admin/events/"+itoa(dup.Event.ID))
		requireStatus(t, res, http.StatusOK)
		requireElement(t, res.HTML, `a#merge-event[href="`+path+`"]`)

		t.Run("Search", func(t *testing.T) {
			res := b.get(t, b.admin, path+"?q=radiohead")
			requireStatus(t, res, http.StatusOK)
			links := requireElement(t, res.HTML, "#merge-candidates a")
			require.Equal(t, []string{"#" + itoa(into.Event.ID) + " Radiohead"}, texts(links),
				"upcoming listed events other than the duplicate")
			require.Equal(t, path+"?into="+itoa(into.Event.ID), links.AttrOr("href", ""))
		})

		t.Run("Refused", func(t *testing.T) {
			for typed, message := range map[string]string{
				"twelve":                 "Enter the number of an event, like 12.",
				"999999":                 "There is no event with this number.",
				itoa(dup.Event.ID):       "An event cannot be merged into itself: choose the event it duplicates.",
				itoa(hidden.Event.ID):    "That event is hidden: show it first, or choose another.",
				"#" + itoa(dup.Event.ID): "An event cannot be merged into itself: choose the event it duplicates.",
			} {
				res := b.get(t, b.admin, path+"?into="+url.QueryEscape(typed))
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "into", message)
				requireNoElement(t, res.HTML, "#confirm-merge")
				res = b.postForm(t, b.admin, path, url.Values{"into": {typed}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "into", message)
			}
			require.Zero(t, b.storedEvent(t, dup.Event.ID).MergedInto)
			require.Len(t, b.moderationLog(t), 1, "only the hide of the setup")
		})

		// The confirmation, then the merge.
		res = b.get(t, b.admin, path+"?into="+itoa(into.Event.ID))
		requireStatus(t, res, http.StatusOK)
		requireElement(t, res.HTML, `form[method="post"][action="`+path+`"] input[name="into"][value="`+itoa(into.Event.ID)+`"]`)
		requireElement(t, res.HTML, "button#confirm-merge")
		require.Zero(t, b.storedEvent(t, dup.Event.ID).MergedInto, "a GET merges nothing")

		from := b.clock.Now()
		res = b.postForm(t, b.admin, path, url.Values{"into": {itoa(into.Event.ID)}})
		requireRedirect(t, res, "/admin/events/"+itoa(into.Event.ID))
		require.Equal(t, into.Event.ID, b.storedEvent(t, dup.Event.ID).MergedInto)
		moved, err := b.store.Listing(t.Context(), dup.ID, b.clock.Now())
		require.NoError(t, err)
		require.Equal(t, into.Event.ID, moved.Event.ID)
		require.Equal(t, 1, moved.Free, "its hold moved with it")
		order, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
		require.NoError(t, err)
		require.Equal(t, "Radiohead", order.EventName)
		entry := b.requireLogged(t, store.ActionMerge, dup.Event.ID, from)
		require.Equal(t, "into event #"+itoa(into.Event.ID)+" “Radiohead”; 1 listings moved", entry.Detail)
		requireFlash(t, b.get(t, b.admin, "/admin/events/"+itoa(into.Event.ID)).HTML, "“Radiohed” is merged into this event: 1 listing moved.")

		// The duplicate's admin page says where it went, and offers nothing.
		res = b.get(t, b.admin, "/admin/events/"+itoa(dup.Event.ID))
		requireStatus(t, res, http.StatusOK)
		requireElementText(t, res.HTML, "#event-state .badge", "merged")
		requireElement(t, res.HTML, `#event-state a[href="/admin/events/`+itoa(into.Event.ID)+`"]`)
		requireNoElement(t, res.HTML, "#event-form")
		requireNoElement(t, res.HTML, "#hide-event")
		res = b.get(t, b.admin, "/admin/events?q=radiohed")
		requireElementText(t, res.HTML, `#event-`+itoa(dup.Event.ID)+` .badge`, "merged")

		// Merging it again, or editing or hiding it, is refused.
		res = b.postForm(t, b.admin, path, url.Values{"into": {itoa(into.Event.ID)}})
		requireStatus(t, res, http.StatusConflict)
		requireElementText(t, res.HTML, "#not-mergeable", "This event was merged into another: change that one instead.")
		res = b.postForm(t, b.admin, "/admin/events/"+itoa(dup.Event.ID)+"/hide", nil)
		requireStatus(t, res, http.StatusConflict)
		res = b.postForm(t, b.admin, "/admin/events/"+itoa(dup.Event.ID), url.Values{"event_name": {"X"}, "time_zone": {"UTC"}})
		requireStatus(t, res, http.StatusConflict)
		require.Len(t, b.moderationLog(t), 2, "the hide of the setup and the merge")
	})
}

// TestModerationSuspendMidHold suspends a buyer who holds tickets and a
// seller whose tickets are for sale.
func TestModerationSuspendMidHold(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		other := b.signUp(t, "other@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Hamilton", 2)
		orderID := b.buyOK(t, buyer, l.ID)
		buyerID := b.userID(t, "buyer@example.com")
		free := func() int {
			t.Helper()
			got, err := b.store.Listing(t.Context(), l.ID, b.clock.Now())
			require.NoError(t, err)
			return got.Free
		}
		require.Equal(t, 1, free())

		res := b.get(t, b.admin, "/admin/users?q=buyer")
		requireStatus(t, res, http.StatusOK)
		row := requireElement(t, res.HTML, "#user-"+itoa(buyerID))
		require.Contains(t, textOf(row), "buyer@example.com")
		confirm := "/admin/users/" + itoa(buyerID) + "/suspension"
		requireElement(t, res.HTML, `#user-`+itoa(buyerID)+` a[href="`+confirm+`"]`)
		requireNoElement(t, res.HTML, "#user-"+itoa(b.userID(t, "seller@example.com")), "the search finds the buyer only")

		res = b.get(t, b.admin, confirm)
		requireStatus(t, res, http.StatusOK)
		requireElement(t, res.HTML, `form#suspend-form[method="post"][action="/admin/users/`+itoa(buyerID)+`/suspend"] input#reason`)

		// No reason: nothing happens.
		res = b.postForm(t, b.admin, "/admin/users/"+itoa(buyerID)+"/suspend", url.Values{"reason": {"  "}})
		requireStatus(t, res, http.StatusUnprocessableEntity)
		requireFieldError(t, res.HTML, "reason", "Enter a reason.")
		require.True(t, b.storedUser(t, "buyer@example.com").SuspendedAt.IsZero())
		require.Equal(t, 1, free())

		from := b.clock.Now()
		res = b.postForm(t, b.admin, "/admin/users/"+itoa(buyerID)+"/suspend", url.Values{"reason": {"Card fraud"}})
		requireRedirect(t, res, "/admin/users?q=buyer%40example.com")
		entry := b.requireLogged(t, store.ActionSuspend, buyerID, from)
		require.Equal(t, "Card fraud (1 holds released)", entry.Detail)
		res = b.get(t, b.admin, res.location())
		requireFlash(t, res.HTML, "buyer@example.com is suspended: signed out everywhere, their listings off sale, 1 hold released.")
		requireElementText(t, res.HTML, "#user-"+itoa(buyerID)+" .badge", "suspended")
		requireElement(t, res.HTML, `#user-`+itoa(buyerID)+` form[action="/admin/users/`+itoa(buyerID)+`/reinstate"]`)

		// The hold is released: the ticket is free for someone else.
		require.Equal(t, 2, free())
		order, err := b.store.Order(t.Context(), orderID, buyerID)
		require.NoError(t, err)
		require.Equal(t, store.Cancelled, order.State(b.clock.Now()))
		b.buyOK(t, other, l.ID)

		// The buyer's session is dead, and they cannot sign in again.
		res = b.get(t, buyer, "/")
		requireStatus(t, res, http.StatusOK)
		requireSignedOut(t, res.HTML)
		res = b.buy(t, buyer, l.ID)
		requireStatus(t, res, http.StatusSeeOther)
		require.Contains(t, res.location(), "/signin")
		res = b.signIn(t, newClient(t), "buyer@example.com")
		requireStatus(t, res, http.StatusForbidden)
		require.Equal(t, "This account is suspended. Write to the operator of EventHive if you think this is a mistake.",
			alertMessage(t, res.HTML))
		require.Nil(t, sessionCookie(res), "no session")
		// A wrong password tells nothing of the suspension.
		res = b.postForm(t, newClient(t), "/signin", url.Values{"email": {"buyer@example.com"}, "password": {"wrong password"}})
		requireStatus(t, res, http.StatusUnprocessableEntity)
		require.Equal(t, "That email and password do not match an account.", alertMessage(t, res.HTML))

		// Reinstated, they sign in again.
		from = b.clock.Now()
		requireRedirect(t, b.postForm(t, b.admin, "/admin/users/"+itoa(buyerID)+"/reinstate", nil),
			"/admin/users?q=buyer%40example.com")
		b.requireLogged(t, store.ActionReinstate, buyerID, from)
		again := newClient(t)
		requireStatus(t, b.signIn(t, again, "buyer@example.com"), http.StatusSeeOther)
		requireSignedInAs(t, b.get(t, again, "/").HTML, "buyer@example.com")
	})
}

func TestModerationSuspendSeller(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Les Misérables", 3)
		sellerID := b.userID(t, "seller@example.com")
		forSale := func() int {
			t.Helper()
			events, err := b.store.UpcomingEvents(t.Context(), b.clock.Now(), store.EventQuery{Search: "misérables"}, 10, 0)
			require.NoError(t, err)
			require.Len(t, events, 1)
			return events[0].ForSale
		}
		require.Equal(t, 3, forSale())

		requireRedirect(t, b.postForm(t, b.admin, "/admin/users/"+itoa(sellerID)+"/suspend", url.Values{"reason": {"Fake tickets"}}),
			"/admin/users?q=seller%40example.com")
		requireSignedOut(t, b.get(t, seller, "/").HTML)

		require.Zero(t, forSale(), "nothing of theirs is for sale")
		requireNoElement(t, b.get(t, newClient(t), "/").HTML, `a[href="/tickets/`+itoa(l.ID)+`"]`)
		res := b.buy(t, buyer, l.ID)
		requireStatus(t, res, http.StatusConflict)
		require.Empty(t, func() []store.Order {
			orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			return orders
		}())

		requireRedirect(t, b.postForm(t, b.admin, "/admin/users/"+itoa(sellerID)+"/reinstate", nil),
			"/admin/users?q=seller%40example.com")
		require.Equal(t, 3, forSale())
		b.buyOK(t, buyer, l.ID)
	})
}

func TestModerationSuspendRefused(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		colleague := b.signUp(t, "someone-else@example.com")
		b.confirmOperator(t, "someone-else@example.com")
		colleagueID := b.userID(t, "someone-else@example.com")

		for target, message := range map[int64]string{
			b.adminID:   "You cannot suspend your own account.",
			colleagueID: "This is a confirmed operator's account: it cannot be suspended from the console.",
		} {
			res := b.get(t, b.admin, "/admin/users/"+itoa(target)+"/suspension")
			requireStatus(t, res, http.StatusOK)
			requireElementText(t, res.HTML, "#not-suspendable", message)
			requireNoElement(t, res.HTML, "#suspend-form")
			res = b.postForm(t, b.admin, "/admin/users/"+itoa(target)+"/suspend", url.Values{"reason": {"try"}})
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, "#not-suspendable", message)
		}
		res := b.get(t, b.admin, "/admin/users")
		requireStatus(t, res, http.StatusOK)
		requireNoElement(t, res.HTML, `a[href$="/suspension"]`, "no operator is offered for suspension")
		requireStatus(t, b.get(t, b.admin, "/admin/users/999999/suspension"), http.StatusNotFound)
		requireStatus(t, b.postForm(t, b.admin, "/admin/users/999999/suspend", url.Values{"reason": {"x"}}), http.StatusNotFound)

		require.Empty(t, b.moderationLog(t))
		requireSignedInAs(t, b.get(t, b.admin, "/").HTML, adminEmail)
		requireSignedInAs(t, b.get(t, colleague, "/").HTML, "someone-else@example.com")
	})
}

func TestModerationLogPage(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := moderationSetup(t, dialect)
		b.signUp(t, "seller@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Tosca", 1)
		sellerID := b.userID(t, "seller@example.com")
		requireRedirect(t, b.postForm(t, b.admin, "/admin/events/"+itoa(l.Event.ID)+"/hide", nil), "/admin/events/"+itoa(l.Event.ID))
		requireStatus(t, b.postForm(t, b.admin, "/admin/users/"+itoa(sellerID)+"/suspend", url.Values{"reason": {"Spam <b>listings</b>"}}),
			http.StatusSeeOther)

		res := b.get(t, b.admin, "/admin")
		requireElementText(t, res.HTML, `a[href="/admin/log"]`, "Moderation log")
		res = b.get(t, b.admin, "/admin/log")
		requireStatus(t, res, http.StatusOK)
		requireFullPage(t, res)
		log := b.moderationLog(t)
		require.Len(t, log, 2)
		rows := requireElement(t, res.HTML, `#moderation-log tbody tr`)
		require.Equal(t, 2, rows.Length())
		suspend := rows.First()
		require.Equal(t, "action-"+itoa(log[0].ID), suspend.AttrOr("id", ""), "newest first")
		require.Equal(t, []string{log[0].CreatedAt.Format("2 Jan 2006 15:04 UTC"), adminEmail, "suspend", "seller@example.com",
			"Spam <b>listings</b>"}, texts(suspend.Find("td")))
		require.Equal(t, log[0].CreatedAt.Format(time.RFC3339), suspend.Find("time").AttrOr("datetime", ""))
		hide := rows.Last()
		require.Equal(t, []string{"hide", "event #" + itoa(l.Event.ID) + " Tosca"}, texts(hide.Find("td"))[2:4])
		requireElement(t, res.HTML, `#action-`+itoa(log[1].ID)+` a[href="/admin/events/`+itoa(l.Event.ID)+`"]`)
	})
}

func TestModerationEventsPaged(t *testing.T) {
	t.Parallel()
	b := moderationSetup(t, store.SQLite)
	for i := range 51 {
		_, err := b.store.CreateEvent(t.Context(), b.adminID, store.NewEvent{Name: "Show " + strconv.Itoa(i), TimeZone: "UTC"},
			b.clock.Now())
		require.NoError(t, err)
	}
	res := b.get(t, b.admin, "/admin/events?q=show")
	requireStatus(t, res, http.StatusOK)
	require.Equal(t, 50, requireElement(t, res.HTML, "#admin-events tbody tr").Length())
	requireElement(t, res.HTML, `a[rel="next"][href="/admin/events?page=2&q=show"]`)
	requireNoElement(t, res.HTML, `a[rel="prev"]`)
	res = b.get(t, b.admin, "/admin/events?q=show&page=2")
	requireStatus(t, res, http.StatusOK)
	requireElementText(t, res.HTML, "#admin-events tbody tr a", "#1 Show 0")
	requireElement(t, res.HTML, `a[rel="prev"][href="/admin/events?q=show"]`)
	requireNoElement(t, res.HTML, `a[rel="next"]`)
}
