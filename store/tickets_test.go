package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestTickets(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("CreateAndFind", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")

				now := time.Date(2030, 1, 1, 7, 0, 0, 999_999_999, time.FixedZone("EST", -5*3600))
				tk, err := bundle.store.CreateListing(ctx, seller.ID, store.Single("Jazz Night", 3050, "eur"), now)
				require.NoError(t, err)
				require.Positive(t, tk.ID)
				require.Positive(t, tk.Event.ID)
				created := time.Date(2030, 1, 1, 12, 0, 0, 999_000_000, time.UTC)
				require.Equal(t, store.Listing{
					ID:       tk.ID,
					SellerID: seller.ID,
					Event: store.Event{
						ID:        tk.Event.ID,
						Name:      "Jazz Night",
						TimeZone:  "UTC",
						CreatedBy: seller.ID,
						CreatedAt: created,
						UpdatedAt: created,
					},
					Price:     3050,
					FaceValue: 3050,
					Currency:  "eur",
					Quantity:  1,
					CreatedAt: created,
					UpdatedAt: created,
					AsOf:      now,
					Free:      1,
				}, tk)
				require.Equal(t, "Jazz Night", tk.Title())
				require.Equal(t, store.ForSale, tk.State(now))

				got, err := bundle.store.Listing(ctx, tk.ID, now)
				require.NoError(t, err)
				require.Equal(t, tk, got)

				_, err = bundle.store.Listing(ctx, tk.ID+1000, now)
				require.ErrorIs(t, err, store.ErrNotFound)
			})

			t.Run("CreateRejectsNonPositivePrice", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")

				_, err := bundle.store.CreateListing(t.Context(), seller.ID, store.Single("Free", 0, "usd"), base)
				require.Error(t, err)
				_, err = bundle.store.CreateListing(t.Context(), seller.ID, store.Single("Negative", -100, "usd"), base)
				require.Error(t, err)
				// Nothing of a refused listing is left, not even its new event.
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM listings`))
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM tickets`))
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM events`))
			})

			t.Run("ForSaleNewestFirstWithoutHeldOrSold", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				a := bundle.ticket(t, seller.ID, "A", 1000)
				held := bundle.ticket(t, seller.ID, "Held", 1000)
				sold := bundle.ticket(t, seller.ID, "Sold", 1000)
				d := bundle.ticket(t, seller.ID, "D", 1000)

				require.Equal(t, []int64{d.ID, sold.ID, held.ID, a.ID}, bundle.forSaleIDs(t, base, "", 10, 0))

				bundle.order(t, buyer.ID, held.ID, base)
				bought := bundle.order(t, buyer.ID, sold.ID, base)
				bundle.pay(t, bought, base.Add(time.Second))
				require.Equal(t, store.Sold, bundle.listingAt(t, sold.ID, base.Add(time.Second)).State(base.Add(time.Second)))

				now := base.Add(2 * time.Second)
				require.Equal(t, []int64{d.ID, a.ID}, bundle.forSaleIDs(t, now, "", 10, 0))
				// Long after every hold: the sold ticket stays off sale.
				require.Equal(t, []int64{d.ID, held.ID, a.ID}, bundle.forSaleIDs(t, now.Add(24*time.Hour), "", 10, 0))

				// The listed tickets are the stored ones, every field, counted now.
				tickets, err := bundle.store.ListingsForSale(t.Context(), now, "", 10, 0)
				require.NoError(t, err)
				d.AsOf, a.AsOf = now, now
				require.Equal(t, []store.Listing{d, a}, tickets)
			})

			t.Run("ForSaleIncludesExpiredHoldBeforeItsJobRuns", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				now := o.ExpiresAt
				require.Equal(t, []int64{tk.ID}, bundle.forSaleIDs(t, now, "", 10, 0))
				// Nothing recorded the end of the hold: the claim is still there,
				// and only the time says it is over.
				got := bundle.listingAt(t, tk.ID, now)
				require.Equal(t, o.ID, bundle.claimOf(t, got.ID).OrderID)
				require.Equal(t, o.ExpiresAt, bundle.claimOf(t, got.ID).ExpiresAt)
				require.Equal(t, store.ForSale, got.State(now))
				require.Equal(t, store.Pending, bundle.getOrder(t, o.ID, buyer.ID).Status)
			})

			t.Run("HoldEndsExactlyAtExpiresAt", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				require.Equal(t, base.Add(hold), o.ExpiresAt)

				before := o.ExpiresAt.Add(-time.Millisecond)
				require.Equal(t, []int64{}, bundle.forSaleIDs(t, before, "", 10, 0))
				require.Equal(t, store.Held, bundle.listingAt(t, tk.ID, before).State(before))

				require.Equal(t, []int64{tk.ID}, bundle.forSaleIDs(t, o.ExpiresAt, "", 10, 0))
				require.Equal(t, store.ForSale, bundle.listingAt(t, tk.ID, o.ExpiresAt).State(o.ExpiresAt))
			})

			t.Run("NextChangeAndWrites", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				nextHoldEnd := func(now time.Time) time.Time {
					t.Helper()
					end, err := bundle.store.NextChange(ctx, now)
					require.NoError(t, err)
					return end
				}
				require.True(t, nextHoldEnd(base).IsZero(), "no ticket is held")

				early := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Early", 1000).ID, base)
				late := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Late", 1000).ID, base.Add(time.Second))
				sold := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Sold", 1000).ID, base.Add(-time.Second))
				bundle.pay(t, sold, base)
				require.Equal(t, early.ExpiresAt, nextHoldEnd(base), "the first running hold; a sale is no hold")
				require.Equal(t, late.ExpiresAt, nextHoldEnd(early.ExpiresAt), "a hold that has ended does not count")
				require.True(t, nextHoldEnd(late.ExpiresAt).IsZero())

				// Reads do not count, nor does a write refused by its own
				// statements: it rolled back. A write that commits does.
				writes := bundle.store.Writes()
				bundle.forSaleIDs(t, base, "", 10, 0)
				nextHoldEnd(base)
				require.Equal(t, writes, bundle.store.Writes(), "reads")
				// A new face value for a held ticket is refused.
				_, err := bundle.store.UpdateListing(ctx, late.ListingID, seller.ID,
					store.ListingEdit{Note: "Later", Price: 2000, FaceValue: 2000, Quantity: 1}, base)
				require.ErrorIs(t, err, store.ErrTicketsClaimed)
				require.Equal(t, writes, bundle.store.Writes(), "a refused write")
				bundle.ticket(t, seller.ID, "Later", 1000)
				require.Equal(t, writes+1, bundle.store.Writes(), "a write")
			})

			t.Run("SearchIsCaseInsensitiveSubstring", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				jazz := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				late := bundle.ticket(t, seller.ID, "Late JAZZ at the Club", 1000)
				rock := bundle.ticket(t, seller.ID, "Rock Show", 1000)

				require.Equal(t, []int64{late.ID, jazz.ID}, bundle.forSaleIDs(t, base, "jazz", 10, 0))
				require.Equal(t, []int64{late.ID, jazz.ID}, bundle.forSaleIDs(t, base, "JaZz", 10, 0))
				require.Equal(t, []int64{jazz.ID}, bundle.forSaleIDs(t, base, "ZZ N", 10, 0))
				require.Equal(t, []int64{rock.ID}, bundle.forSaleIDs(t, base, "k s", 10, 0))
				require.Equal(t, []int64{rock.ID, late.ID, jazz.ID}, bundle.forSaleIDs(t, base, "", 10, 0))
				require.Equal(t, []int64{}, bundle.forSaleIDs(t, base, "polka", 10, 0))
			})

			t.Run("SearchIsCaseInsensitiveBeyondASCII", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				oya := bundle.ticket(t, seller.ID, "ØYA Festival", 1000)
				bundle.ticket(t, seller.ID, "Roskilde", 1000)

				require.Equal(t, []int64{oya.ID}, bundle.forSaleIDs(t, base, "ØYA", 10, 0))
				require.Equal(t, []int64{oya.ID}, bundle.forSaleIDs(t, base, "øya", 10, 0))
			})

			t.Run("SearchMatchesLikeMetacharactersLiterally", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				percent := bundle.ticket(t, seller.ID, "100% Rock", 1000)
				bundle.ticket(t, seller.ID, "1000 Rock", 1000)
				underscore := bundle.ticket(t, seller.ID, "a_b", 1000)
				bundle.ticket(t, seller.ID, "axb", 1000)
				backslash := bundle.ticket(t, seller.ID, `C:\Music`, 1000)
				bundle.ticket(t, seller.ID, `C:Music`, 1000)

				require.Equal(t, []int64{percent.ID}, bundle.forSaleIDs(t, base, "100%", 10, 0))
				require.Equal(t, []int64{percent.ID}, bundle.forSaleIDs(t, base, "%", 10, 0))
				require.Equal(t, []int64{underscore.ID}, bundle.forSaleIDs(t, base, "a_b", 10, 0))
				require.Equal(t, []int64{underscore.ID}, bundle.forSaleIDs(t, base, "_", 10, 0))
				require.Equal(t, []int64{backslash.ID}, bundle.forSaleIDs(t, base, `:\m`, 10, 0))
				require.Equal(t, []int64{backslash.ID}, bundle.forSaleIDs(t, base, `\`, 10, 0))
				require.Equal(t, []int64{}, bundle.forSaleIDs(t, base, `\%`, 10, 0))
			})

			t.Run("ForSalePaginates", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				ids := make([]int64, 6)
				for i := range ids {
					ids[i] = bundle.ticket(t, seller.ID, "Show", 1000).ID
				}
				// A held ticket in the middle is skipped, not counted in a page.
				bundle.order(t, buyer.ID, ids[2], base)

				require.Equal(t, []int64{ids[5], ids[4]}, bundle.forSaleIDs(t, base, "", 2, 0))
				require.Equal(t, []int64{ids[3], ids[1]}, bundle.forSaleIDs(t, base, "", 2, 2))
				require.Equal(t, []int64{ids[0]}, bundle.forSaleIDs(t, base, "", 2, 4))
				require.Equal(t, []int64{}, bundle.forSaleIDs(t, base, "", 2, 6))
				require.Equal(t, []int64{ids[4], ids[3], ids[1]}, bundle.forSaleIDs(t, base, "", 3, 1))
			})

			t.Run("UpdateByOwner", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				now := base.Add(time.Hour)
				got, err := bundle.store.UpdateListing(t.Context(), tk.ID, seller.ID, editOf(tk, "Jazz Night (moved)", 1250), now)
				require.NoError(t, err)
				want := tk
				want.Note, want.Price, want.UpdatedAt, want.AsOf = "Jazz Night (moved)", 1250, now, now
				require.Equal(t, want, got)
				require.Equal(t, want, bundle.listingAt(t, tk.ID, now))
			})

			t.Run("UpdateSomeoneElsesTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				other := bundle.user(t, "other@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				_, err := bundle.store.UpdateListing(t.Context(), tk.ID, other.ID, editOf(tk, "Mine now", 1), base.Add(time.Hour))
				require.ErrorIs(t, err, store.ErrNotFound)
				require.Equal(t, tk, bundle.listingAt(t, tk.ID, base))
			})

			t.Run("UpdateUnknownTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				_, err := bundle.store.UpdateListing(t.Context(), tk.ID+1000, seller.ID, editOf(tk, "Ghost", 1000), base)
				require.ErrorIs(t, err, store.ErrNotFound)
			})

			// A held ticket's price and note may change; the hold keeps the
			// price it was taken at, and its payment buys the ticket.
			t.Run("UpdateHeldTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				now := o.ExpiresAt.Add(-time.Millisecond)
				got, err := bundle.store.UpdateListing(t.Context(), tk.ID, seller.ID, editOf(tk, "Cheaper", 500), now)
				require.NoError(t, err)
				require.Equal(t, int64(500), got.Price)
				require.Equal(t, "Cheaper", got.Note)
				require.Equal(t, store.Held, got.State(now))
				require.Equal(t, o.ID, bundle.claimOf(t, tk.ID).OrderID)
				require.Equal(t, int64(1000), bundle.getOrder(t, o.ID, buyer.ID).Amount)

				bundle.pay(t, o, now)
				require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
				require.Equal(t, store.Sold, bundle.listingAt(t, tk.ID, now).State(now))
			})

			t.Run("UpdateAfterHoldEnded", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				// The expiry job has not run; the hold is over all the same.
				got, err := bundle.store.UpdateListing(t.Context(), tk.ID, seller.ID, editOf(tk, "Cheaper", 500), o.ExpiresAt)
				require.NoError(t, err)
				require.Equal(t, "Cheaper", got.Note)
				require.Equal(t, int64(500), got.Price)
				require.Equal(t, o.ExpiresAt, got.UpdatedAt)
				require.Equal(t, store.ForSale, got.State(o.ExpiresAt))
			})

			t.Run("UpdateSoldTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				bundle.pay(t, o, base.Add(time.Second))
				soldTicket := bundle.listingAt(t, tk.ID, base.Add(2*time.Second))

				for _, now := range []time.Time{base.Add(2 * time.Second), o.ExpiresAt.Add(time.Hour)} {
					_, err := bundle.store.UpdateListing(t.Context(), tk.ID, seller.ID, editOf(tk, "Again", 2000), now)
					require.ErrorIs(t, err, store.ErrSold)
				}
				require.Equal(t, soldTicket, bundle.listingAt(t, tk.ID, base.Add(2*time.Second)))
			})

			t.Run("BySeller", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				other := bundle.user(t, "other@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				first := bundle.ticket(t, seller.ID, "First", 1000)
				bundle.ticket(t, other.ID, "Not theirs", 1000)
				second := bundle.ticket(t, seller.ID, "Second", 2000)
				o := bundle.order(t, buyer.ID, second.ID, base)

				now := base.Add(time.Second)
				tickets, err := bundle.store.SellerListings(t.Context(), seller.ID, now)
				require.NoError(t, err)
				// Held tickets are listed too, counted as held until the hold ends.
				second.Free, second.NextRelease, second.AsOf = 0, o.ExpiresAt, now
				first.AsOf = now
				require.Equal(t, []store.SellerListing{{Listing: second}, {Listing: first}}, tickets)
				require.Equal(t, 1, tickets[0].Held())

				tickets, err = bundle.store.SellerListings(t.Context(), buyer.ID, now)
				require.NoError(t, err)
				require.Empty(t, tickets)
			})
		})
	}
}
