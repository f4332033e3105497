package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// pdf is a small PDF whose content differs by name.
func pdf(name string) []byte {
	return []byte("%PDF-1.7\n% e-ticket " + name + "\n%%EOF\n")
}

// attach attaches content as a PDF to the n-th ticket of the listing at now.
func (b *testBundle) attach(t *testing.T, sellerID, listingID int64, n int, content []byte, now time.Time) error {
	t.Helper()
	return b.store.AttachFile(t.Context(), sellerID, listingID, n, content, "application/pdf", now)
}

// listingFile reads the n-th ticket's file of a listing for the viewer.
func (b *testBundle) listingFile(t *testing.T, viewerID, listingID int64, n int) (store.TicketFile, error) {
	t.Helper()
	return b.store.ListingFile(t.Context(), viewerID, listingID, n)
}

// orderFile reads the n-th ticket's file of an order for the viewer.
func (b *testBundle) orderFile(t *testing.T, viewerID, orderID int64, n int) (store.TicketFile, error) {
	t.Helper()
	return b.store.OrderFile(t.Context(), viewerID, orderID, n)
}

func TestTicketFiles(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("SellerUntilPaidThenOnlyTheBuyer", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer, stranger := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com"),
					b.user(t, "stranger@example.com")
				l := b.listShow(t, seller.ID, "Opera", 2, 30_00)
				require.NoError(t, b.attach(t, seller.ID, l.ID, 2, pdf("second"), base))

				f, err := b.listingFile(t, seller.ID, l.ID, 2)
				require.NoError(t, err)
				require.Equal(t, pdf("second"), f.Content)
				require.Equal(t, "application/pdf", f.ContentType)
				require.Equal(t, int64(len(pdf("second"))), f.Size)
				require.Len(t, f.SHA256, 64)
				require.Equal(t, b.ticketRows(t, l.ID)[1], f.SeatID)
				require.True(t, base.Equal(f.UploadedAt))
				require.True(t, f.ReplacedAt.IsZero())
				_, err = b.listingFile(t, seller.ID, l.ID, 1)
				require.ErrorIs(t, err, store.ErrNotFound, "no file yet")
				for _, n := range []int{0, 3} {
					_, err = b.listingFile(t, seller.ID, l.ID, n)
					require.ErrorIs(t, err, store.ErrNotFound, "ticket %d", n)
				}

				o := b.orderOf(t, buyer.ID, l.ID, 2, base)
				for _, viewer := range []store.User{buyer, stranger} {
					_, err = b.listingFile(t, viewer.ID, l.ID, 2)
					require.ErrorIs(t, err, store.ErrNotFound)
				}
				_, err = b.orderFile(t, buyer.ID, o.ID, 2)
				require.ErrorIs(t, err, store.ErrNotFound, "held, not paid")
				_, err = b.listingFile(t, seller.ID, l.ID, 2)
				require.NoError(t, err, "the seller's while unpaid")

				b.pay(t, o, base)
				got, err := b.orderFile(t, buyer.ID, o.ID, 2)
				require.NoError(t, err)
				require.Equal(t, pdf("second"), got.Content)
				got, err = b.listingFile(t, buyer.ID, l.ID, 2)
				require.NoError(t, err, "the holder reads the seat's file, whatever the path")
				require.Equal(t, pdf("second"), got.Content)
				_, err = b.listingFile(t, seller.ID, l.ID, 2)
				require.ErrorIs(t, err, store.ErrNotFound, "not the seller's once sold")
				for _, viewer := range []store.User{seller, stranger} {
					_, err = b.orderFile(t, viewer.ID, o.ID, 2)
					require.ErrorIs(t, err, store.ErrNotFound)
				}
				_, err = b.orderFile(t, buyer.ID, o.ID, 1)
				require.ErrorIs(t, err, store.ErrNotFound, "ticket 1 has no file yet")

				slots, err := b.store.OrderFiles(t.Context(), o.ID)
				require.NoError(t, err)
				require.Len(t, slots, 2)
				require.Equal(t, []int{1, 2}, []int{slots[0].N, slots[1].N})
				require.False(t, slots[0].File.Attached())
				require.True(t, slots[1].File.Attached())
				require.Equal(t, "application/pdf", slots[1].File.ContentType)
				require.True(t, slots[0].Held && slots[1].Held && slots[0].Sold && slots[1].Sold)

				// Sold without a file: the seller may attach it still, and
				// the buyer gets it.
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("first"), base.Add(time.Hour)))
				got, err = b.orderFile(t, buyer.ID, o.ID, 1)
				require.NoError(t, err)
				require.Equal(t, pdf("first"), got.Content)
			})

			t.Run("ReplaceOnlyWhileUnsold", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				l := b.listShow(t, seller.ID, "Opera", 1, 30_00)
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("old"), base))
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("old"), base.Add(time.Minute)), "the same file again")
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("new"), base.Add(time.Hour)))
				f, err := b.listingFile(t, seller.ID, l.ID, 1)
				require.NoError(t, err)
				require.Equal(t, pdf("new"), f.Content)
				require.True(t, base.Equal(f.UploadedAt), "first attached at %s", f.UploadedAt)
				require.True(t, base.Add(time.Hour).Equal(f.ReplacedAt), "replaced at %s", f.ReplacedAt)

				other := b.listShow(t, seller.ID, "Ballet", 1, 30_00)
				require.NoError(t, b.attach(t, seller.ID, other.ID, 1, pdf("old"), base), "a replaced file is free again")

				o := b.orderOf(t, buyer.ID, l.ID, 1, base.Add(2*time.Hour))
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("held"), base.Add(2*time.Hour)), "held is not sold")
				b.pay(t, o, base.Add(2*time.Hour))
				require.ErrorIs(t, b.attach(t, seller.ID, l.ID, 1, pdf("late"), base.Add(3*time.Hour)), store.ErrSold)
				got, err := b.orderFile(t, buyer.ID, o.ID, 1)
				require.NoError(t, err)
				require.Equal(t, pdf("held"), got.Content, "the buyer keeps the file they paid for")
			})

			t.Run("SameFileOnOneSeatOnly", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, other := b.user(t, "seller@example.com"), b.user(t, "other@example.com")
				l := b.listShow(t, seller.ID, "Opera", 2, 30_00)
				elsewhere := b.listShow(t, other.ID, "Opera again", 1, 30_00)
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("one"), base))

				require.ErrorIs(t, b.attach(t, seller.ID, l.ID, 2, pdf("one"), base), store.ErrDuplicateFile)
				require.ErrorIs(t, b.attach(t, other.ID, elsewhere.ID, 1, pdf("one"), base), store.ErrDuplicateFile,
					"across sellers")
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM ticket_files`), "nothing saved")

				// Fewer tickets: a ticket removed takes its file with it.
				require.NoError(t, b.attach(t, seller.ID, l.ID, 2, pdf("two"), base))
				_, err := b.store.UpdateListing(t.Context(), l.ID, seller.ID, store.ListingEdit{Price: l.Price,
					FaceValue: l.FaceValue, Quantity: 1}, base)
				require.NoError(t, err)
				require.NoError(t, b.attach(t, other.ID, elsewhere.ID, 1, pdf("two"), base))
			})

			t.Run("Refusals", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer, other := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com"),
					b.user(t, "other@example.com")
				l := b.listShow(t, seller.ID, "Opera", 1, 30_00)

				require.ErrorIs(t, b.attach(t, other.ID, l.ID, 1, pdf("x"), base), store.ErrNotFound, "someone else's")
				require.ErrorIs(t, b.attach(t, seller.ID, l.ID, 2, pdf("x"), base), store.ErrNotFound, "no ticket 2")
				require.ErrorIs(t, b.attach(t, seller.ID, l.ID, 0, pdf("x"), base), store.ErrNotFound)
				require.ErrorIs(t, b.attach(t, seller.ID, l.ID, 1, pdf("x"), showTime), store.ErrEventStarted)
				require.Error(t, b.attach(t, seller.ID, l.ID, 1, nil, base), "empty")
				require.Error(t, b.attach(t, seller.ID, l.ID, 1, bytes.Repeat([]byte("x"), store.MaxFileBytes+1), base))

				passes := b.listShow(t, seller.ID, "Passes", 1, 30_00)
				_, err := b.db.Write.ExecContext(t.Context(),
					`UPDATE events SET checkin_with_eventhive = TRUE WHERE id = $1`, passes.Event.ID)
				require.NoError(t, err)
				require.ErrorIs(t, b.attach(t, seller.ID, passes.ID, 1, pdf("x"), base), store.ErrPassesEvent)
				slots, err := b.store.ListingFiles(t.Context(), passes.ID)
				require.NoError(t, err)
				require.Empty(t, slots, "no files for passes")

				// A resale's ticket keeps its seat's file: its seller
				// attaches none.
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("seat"), base))
				b.bought(t, buyer.ID, l.ID, 1, base)
				resale := b.resell(t, buyer.ID, b.owned(t, buyer.ID)[0].TicketID, 30_00, base)
				require.ErrorIs(t, b.attach(t, buyer.ID, resale.ID, 1, pdf("mine"), base), store.ErrNotFound)
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM ticket_files`), "nothing saved")
			})

			t.Run("FileGoesWithTheSeatOnResale", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				users := b.users(t, "holder", 3)
				seller, first, second := users[0], users[1], users[2]
				l := b.listShow(t, seller.ID, "Opera", 1, 30_00)
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("seat"), base))
				firstOrder := b.bought(t, first.ID, l.ID, 1, base)
				resale := b.resell(t, first.ID, b.owned(t, first.ID)[0].TicketID, 33_00, base.Add(time.Hour))

				slots, err := b.store.ListingFiles(t.Context(), resale.ID)
				require.NoError(t, err)
				require.Len(t, slots, 1)
				require.True(t, slots[0].File.Attached(), "the resale shows the seat's file")
				require.False(t, slots[0].Sold)
				f, err := b.listingFile(t, first.ID, resale.ID, 1)
				require.NoError(t, err, "still the holder's while the resale is unpaid")
				require.Equal(t, pdf("seat"), f.Content)

				secondOrder := b.bought(t, second.ID, resale.ID, 1, base.Add(2*time.Hour))
				_, err = b.orderFile(t, first.ID, firstOrder.ID, 1)
				require.ErrorIs(t, err, store.ErrNotFound, "the previous holder's access ended")
				_, err = b.listingFile(t, first.ID, resale.ID, 1)
				require.ErrorIs(t, err, store.ErrNotFound)
				got, err := b.orderFile(t, second.ID, secondOrder.ID, 1)
				require.NoError(t, err)
				require.Equal(t, pdf("seat"), got.Content)

				old, err := b.store.OrderFiles(t.Context(), firstOrder.ID)
				require.NoError(t, err)
				require.Len(t, old, 1)
				require.False(t, old[0].Held, "resold")
				current, err := b.store.OrderFiles(t.Context(), secondOrder.ID)
				require.NoError(t, err)
				require.True(t, current[0].Held)
				require.Equal(t, old[0].SeatID, current[0].SeatID)
			})

			t.Run("SellerSeesSoldTicketsAwaitingFiles", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				l := b.listShow(t, seller.ID, "Opera", 3, 30_00)
				require.NoError(t, b.attach(t, seller.ID, l.ID, 1, pdf("one"), base))
				awaiting := func() int {
					list, err := b.store.SellerListings(t.Context(), seller.ID, base)
					require.NoError(t, err)
					require.Len(t, list, 1)
					return list[0].AwaitingFiles
				}
				require.Zero(t, awaiting(), "nothing sold")
				b.orderOf(t, buyer.ID, l.ID, 1, base)
				require.Zero(t, awaiting(), "held is not sold")
				b.bought(t, buyer.ID, l.ID, 2, base)
				require.Equal(t, 2, awaiting(), "tickets 2 and 3 sold without their files")
				require.NoError(t, b.attach(t, seller.ID, l.ID, 3, pdf("three"), base))
				require.Equal(t, 1, awaiting())
			})
		})
	}
}
