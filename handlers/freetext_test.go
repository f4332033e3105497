package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestFreeTextRefusesInvisibleAndBidi lists and edits tickets whose event
// name, venue, city or note (wave 1's title, which names a new event or
// edits a note) is blank to the eye or reorders itself: each is refused with
// the form shown again and the message beside the field, and nothing is
// stored.
func TestFreeTextRefusesInvisibleAndBidi(t *testing.T) {
	t.Parallel()
	const (
		bidi      = "The %s contains invisible characters that change the direction of text. Please remove them."
		invisible = "The %s has no visible characters."
	)
	attacks := []struct{ name, title, message string }{
		{"RightToLeftOverride", "Opera \u202Eweiv tneS", bidi},
		{"OnlyRightToLeftOverride", "\u202E", bidi},
		{"LeftToRightEmbedding", "\u202AOpera", bidi},
		{"PopDirectionalFormatting", "Opera\u202C", bidi},
		{"RightToLeftIsolate", "Opera \u2067x\u2069", bidi},
		{"FirstStrongIsolate", "\u2068Opera", bidi},
		{"LeftToRightMark", "Opera\u200E", bidi},
		{"RightToLeftMark", "\u200FOpera", bidi},
		{"ArabicLetterMark", "Op\u061Cera", bidi},
		{"ZeroWidthSpace", "\u200B", invisible},
		{"ZeroWidthSpaces", "\u200B\u200B\u200B", invisible},
		{"ByteOrderMark", "\uFEFF", invisible},
		{"ZeroWidthJoiners", "\u200C\u200D\u2060", invisible},
		{"SoftHyphen", "\u00AD", invisible},
		{"HangulFiller", "\u3164", invisible},
		{"HalfwidthHangulFiller", "\uFFA0", invisible},
		{"HangulChoseongFiller", "\u115F\u1160", invisible},
		{"BrailleBlank", "\u2800\u2800", invisible},
		{"MongolianVowelSeparator", "\u180E", invisible},
		{"CombiningGraphemeJoiner", "\u034F", invisible},
		{"VariationSelector", "\uFE0F", invisible},
		{"TagCharacters", "\U000E0041\U000E0042", invisible},
		{"SpacesAndInvisibles", "\u200B \u3000\u2800\u200B", invisible},
		{"IdeographicSpaceAndFiller", "\u3000\u3164\u3000", invisible},
	}
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")
		newEvent := url.Values{"event_name": {"Opera"}, "venue": {"Olympia"}, "city": {"Paris"}, "note": {"Row 3"}}
		fields := []struct {
			action, name string
			form         url.Values // the other fields, valid
			id, word     string     // of the field the message is beside, and what it calls it
		}{
			{"/tickets", "title", url.Values{}, "event_name", "name"},
			{"/tickets", "event_name", newEvent, "event_name", "name"},
			{"/tickets", "venue", newEvent, "venue", "venue"},
			{"/tickets", "city", newEvent, "city", "city"},
			{"/tickets", "note", newEvent, "note", "note"},
			{"/tickets/" + itoa(id), "title", url.Values{}, "note", "note"},
			{"/tickets/" + itoa(id), "note", url.Values{"note": {"Row 3"}}, "note", "note"},
		}
		before := snapshot(t, b.db)

		for _, tt := range attacks {
			t.Run(tt.name, func(t *testing.T) {
				for _, f := range fields {
					res := b.postForm(t, seller, f.action, with(f.form, f.name, tt.title, "price", "12.50"))
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFullPage(t, res)
					requireFieldError(t, res.HTML, f.id, fmt.Sprintf(tt.message, f.word))
					requireFieldOK(t, res.HTML, "price")
					requireFieldValue(t, res.HTML, "price", "12.50")
				}
			})
		}
		require.Equal(t, before, snapshot(t, b.db), "a refused text changed the database")

		t.Run("VisibleTextWithInvisiblesAccepted", func(t *testing.T) {
			// Joiners and marks inside real text are part of it: emoji
			// sequences, Hebrew or Arabic written right to left without
			// controls, combining accents.
			for _, title := range []string{"Family 👨\u200D👩\u200D👧 day", "קונצרט", "حفلة", "Cafe\u0301 concert", "Opera\u200B"} {
				tid := b.listTicket(t, seller, title, "5")
				tk, err := b.store.Listing(t.Context(), tid, time.Now())
				require.NoError(t, err)
				require.Equal(t, title, tk.Title())
			}
		})
	})
}
