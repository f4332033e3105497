package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// showTime is when the handover tests' events start: a month after base.
var showTime = base.Add(30 * 24 * time.Hour)

// listShow lists quantity tickets at price (face value price) under a new
// event starting at showTime.
func (b *testBundle) listShow(t *testing.T, sellerID int64, name string, quantity int, price int64) store.Listing {
	t.Helper()
	return b.listing(t, sellerID, store.NewListing{Event: store.NewEvent{Name: name, StartsAt: showTime,
		TimeZone: "Europe/Paris"}, Price: price, FaceValue: price, Currency: "usd", Quantity: quantity})
}

// bought has the buyer buy and pay for quantity tickets of a listing at now
// and returns the order.
func (b *testBundle) bought(t *testing.T, buyerID, listingID int64, quantity int, now time.Time) store.Order {
	t.Helper()
	o := b.orderOf(t, buyerID, listingID, quantity, now)
	b.pay(t, o, now)
	return b.getOrder(t, o.ID, buyerID)
}

// owned lists what a person holds.
func (b *testBundle) owned(t *testing.T, ownerID int64) []store.OwnedTicket {
	t.Helper()
	list, err := b.store.OwnedTickets(t.Context(), ownerID)
	require.NoError(t, err)
	return list
}

// resell lists one ticket the owner holds again at price, at now.
func (b *testBundle) resell(t *testing.T, ownerID, ticketID, price int64, now time.Time) store.Listing {
	t.Helper()
	l, err := b.store.ResellTickets(t.Context(), ownerID, store.Resale{TicketIDs: []int64{ticketID}, Price: price}, now)
	require.NoError(t, err)
	return l
}

// holding reads who holds a seat.
func (b *testBundle) holding(t *testing.T, seatID int64) store.Holding {
	t.Helper()
	h, err := b.store.Holding(t.Context(), seatID)
	require.NoError(t, err)
	return h
}

// ticketRows lists the ids of a listing's ticket rows, in order.
func (b *testBundle) ticketRows(t *testing.T, listingID int64) []int64 {
	t.Helper()
	return b.ids(t, `SELECT id FROM tickets WHERE listing_id = $1 ORDER BY id`, listingID)
}

func ticketIDs(list []store.OwnedTicket) []int64 {
	ids := []int64{}
	for _, o := range list {
		ids = append(ids, o.TicketID)
	}
	return ids
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("OwnedOncePaidSoonestFirst", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				later := b.listShow(t, seller.ID, "Later", 2, 30_00)
				tba := b.listing(t, seller.ID, listingOf("Some day", 1, 10_00))
				sooner := b.listing(t, seller.ID, store.NewListing{Event: store.NewEvent{Name: "Sooner",
					StartsAt: showTime.Add(-24 * time.Hour), TimeZone: "UTC"}, Price: 20_00, FaceValue: 20_00, Currency: "usd",
					Quantity: 1, Note: "Row 3"})

				pending := b.orderOf(t, buyer.ID, later.ID, 2, base)
				require.Empty(t, b.owned(t, buyer.ID), "a hold is not ownership")
				b.pay(t, pending, base)
				b.bought(t, buyer.ID, tba.ID, 1, base)
				b.bought(t, buyer.ID, sooner.ID, 1, base)

				list := b.owned(t, buyer.ID)
				require.Len(t, list, 4)
				names := []string{}
				for _, o := range list {
					names = append(names, o.Event.Name)
					require.Equal(t, 0, o.Generation)
					require.Equal(t, o.TicketID, o.RootID, "a first sale's row is its seat")
					require.Zero(t, o.ResaleListingID)
				}
				require.Equal(t, []string{"Sooner", "Later", "Later", "Some day"}, names)
				require.Equal(t, "Row 3", list[0].Note)
				require.Equal(t, int64(20_00), list[0].FaceValue)
				require.Equal(t, pending.ID, list[1].OrderID)
				require.Less(t, list[1].TicketID, list[2].TicketID, "an order's tickets in order")
				require.Empty(t, b.owned(t, seller.ID), "selling is not holding")

				got, err := b.store.OwnedTicket(t.Context(), buyer.ID, list[0].TicketID)
				require.NoError(t, err)
				require.Equal(t, list[0], got)
				_, err = b.store.OwnedTicket(t.Context(), seller.ID, list[0].TicketID)
				require.ErrorIs(t, err, store.ErrNotOwner)
			})

			t.Run("HoldingFollowsAChainOfTwoResales", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				users := b.users(t, "owner", 4)
				a, bee, c, d := users[0], users[1], users[2], users[3]
				first := b.listShow(t, a.ID, "Opera", 1, 50_00)
				seat := b.ticketRows(t, first.ID)[0]
				_, err := b.store.Holding(t.Context(), seat)
				require.ErrorIs(t, err, store.ErrNotFound, "never sold: nobody holds it")

				b.bought(t, bee.ID, first.ID, 1, base)
				require.Equal(t, bee.ID, b.holding(t, seat).HolderID)
				mine := b.owned(t, bee.ID)[0]

				resale := b.resell(t, bee.ID, mine.TicketID, 55_00, base.Add(time.Hour))
				require.Equal(t, first.Event.ID, resale.Event.ID)
				require.Equal(t, int64(50_00), resale.FaceValue, "the face value goes with the ticket")
				require.Equal(t, resale.ID, b.owned(t, bee.ID)[0].ResaleListingID, "listed, still theirs")
				require.Equal(t, bee.ID, b.holding(t, seat).HolderID)

				held := b.orderOf(t, c.ID, resale.ID, 1, base.Add(2*time.Hour))
				require.Equal(t, bee.ID, b.holding(t, seat).HolderID, "theirs until the resale is paid")
				b.pay(t, held, base.Add(2*time.Hour))
				h := b.holding(t, seat)
				require.Equal(t, store.Holding{TicketID: h.TicketID, RootID: seat, Generation: 1, HolderID: c.ID,
					OrderID: held.ID, EventID: first.Event.ID}, h)
				require.Empty(t, b.owned(t, bee.ID), "the reseller's ticket left their list")
				_, err = b.store.OwnedTicket(t.Context(), bee.ID, mine.TicketID)
				require.ErrorIs(t, err, store.ErrNotOwner)

				theirs := b.owned(t, c.ID)
				require.Equal(t, []int64{h.TicketID}, ticketIDs(theirs))
				require.Equal(t, seat, theirs[0].RootID)
				again := b.resell(t, c.ID, theirs[0].TicketID, 60_00, base.Add(3*time.Hour))
				b.bought(t, d.ID, again.ID, 1, base.Add(4*time.Hour))

				h = b.holding(t, seat)
				require.Equal(t, d.ID, h.HolderID)
				require.Equal(t, 2, h.Generation)
				require.Equal(t, h, b.holding(t, h.TicketID), "any row's id of the chain reads no other seat")
				for _, previous := range []store.User{a, bee, c} {
					require.Empty(t, b.owned(t, previous.ID))
				}
				last := b.owned(t, d.ID)
				require.Len(t, last, 1)
				require.Equal(t, 2, last[0].Generation)
				require.Equal(t, seat, last[0].RootID)
				_, err = b.store.ResellTickets(t.Context(), c.ID, store.Resale{TicketIDs: []int64{theirs[0].TicketID},
					Price: 60_00}, base.Add(5*time.Hour))
				require.ErrorIs(t, err, store.ErrNotOwner, "a previous holder cannot sell it again")
			})

			t.Run("ResaleRefusals", func(t *testing.T) {
				t.Parallel()
				cap20, err := money.ParseCap("20")
				require.NoError(t, err)
				b := setupWith(t, dialect, store.WithPriceCap(cap20.Max))
				seller, buyer, stranger := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com"),
					b.user(t, "stranger@example.com")
				opera := b.listShow(t, seller.ID, "Opera", 2, 50_00)
				ballet := b.listShow(t, seller.ID, "Ballet", 1, 40_00)
				unpaid := b.listShow(t, seller.ID, "Jazz", 1, 10_00)
				b.bought(t, buyer.ID, opera.ID, 2, base)
				b.bought(t, buyer.ID, ballet.ID, 1, base)
				b.orderOf(t, buyer.ID, unpaid.ID, 1, base)
				list := b.owned(t, buyer.ID)
				require.Len(t, list, 3)
				balletTicket, operaTickets := list[0].TicketID, []int64{list[1].TicketID, list[2].TicketID}
				if list[0].Event.Name != "Ballet" {
					balletTicket, operaTickets = list[2].TicketID, []int64{list[0].TicketID, list[1].TicketID}
				}
				resale := func(owner int64, price int64, now time.Time, tickets ...int64) error {
					_, err := b.store.ResellTickets(t.Context(), owner, store.Resale{TicketIDs: tickets, Price: price}, now)
					return err
				}
				now := base.Add(time.Hour)

				require.ErrorIs(t, resale(stranger.ID, 50_00, now, balletTicket), store.ErrNotOwner)
				require.ErrorIs(t, resale(seller.ID, 50_00, now, balletTicket), store.ErrNotOwner, "the seller sold it")
				require.ErrorIs(t, resale(buyer.ID, 10_00, now, b.ticketRows(t, unpaid.ID)[0]), store.ErrNotOwner, "held, not bought")
				require.ErrorIs(t, resale(buyer.ID, 40_00, now, balletTicket, operaTickets[0]), store.ErrMixedTickets)
				var over *store.PriceCapError
				require.ErrorAs(t, resale(buyer.ID, 48_01, now, balletTicket), &over)
				require.Equal(t, int64(48_00), over.Max)
				require.ErrorIs(t, resale(buyer.ID, 40_00, showTime, balletTicket), store.ErrEventStarted)
				listings := b.count(t, `SELECT count(*) FROM listings`)

				both, err := b.store.ResellTickets(t.Context(), buyer.ID, store.Resale{TicketIDs: operaTickets,
					Price: 60_00, Note: "Two together"}, now)
				require.NoError(t, err)
				require.Equal(t, 2, both.Quantity)
				require.Equal(t, 2, both.Free)
				require.Equal(t, "Two together", both.Note)
				require.Equal(t, buyer.ID, both.SellerID)
				require.ErrorIs(t, resale(buyer.ID, 50_00, now, operaTickets[1]), store.ErrAlreadyListed)
				require.Equal(t, listings+1, b.count(t, `SELECT count(*) FROM listings`), "refusals list nothing")
			})

			t.Run("TwoResalesOfOneTicketRace", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				l := b.listShow(t, seller.ID, "Opera", 1, 50_00)
				b.bought(t, buyer.ID, l.ID, 1, base)
				ticket := b.owned(t, buyer.ID)[0].TicketID
				listings := b.count(t, `SELECT count(*) FROM listings`)

				errs := make([]error, 2)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() {
						<-start
						_, errs[i] = b.store.ResellTickets(t.Context(), buyer.ID,
							store.Resale{TicketIDs: []int64{ticket}, Price: 50_00}, base.Add(time.Hour))
					})
				}
				close(start)
				wg.Wait()

				refused := 0
				for _, err := range errs {
					if err != nil {
						require.ErrorIs(t, err, store.ErrAlreadyListed)
						refused++
					}
				}
				require.Equal(t, 1, refused, "one resale lists the ticket, the other is refused: %v", errs)
				require.Equal(t, listings+1, b.count(t, `SELECT count(*) FROM listings`), "the refused one left no listing")
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM tickets WHERE resale_of = $1`, ticket))
			})
		})
	}
}
