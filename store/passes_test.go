package store_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// passStart is when the events of the pass tests start.
var passStart = base.Add(30 * 24 * time.Hour)

// passBundle is a store with an event that checks passes in with EventHive,
// its organizer, and a buyer who paid for one of its tickets.
type passBundle struct {
	*testBundle
	organizer, buyer store.User
	event            store.Event
	listing          store.Listing
	paid             store.Order // the buyer's order of one ticket
}

func setupPasses(t *testing.T, dialect store.Dialect) *passBundle {
	t.Helper()
	b := &passBundle{testBundle: setup(t, dialect)}
	b.organizer = b.user(t, "organizer@example.com")
	b.buyer = b.user(t, "buyer@example.com")
	b.listing = b.passListing(t, b.organizer.ID, "Gala", 3)
	b.event = b.listing.Event
	b.paid = b.paidOrder(t, b.buyer.ID, b.listing.ID, 1)
	return b
}

// passListing lists quantity tickets at 30.00 under a new event with
// EventHive passes, starting at passStart.
func (b *passBundle) passListing(t *testing.T, sellerID int64, name string, quantity int) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), sellerID, store.NewListing{
		Event: store.NewEvent{Name: name, Venue: "Olympia", City: "Paris", StartsAt: passStart, TimeZone: "Europe/Paris",
			CheckinWithEventHive: true},
		Price: 3000, FaceValue: 3000, Currency: "usd", Quantity: quantity,
	}, base)
	require.NoError(t, err)
	require.True(t, l.Event.CheckinWithEventHive)
	return l
}

// paidOrder buys quantity tickets of a listing and pays for them.
func (b *passBundle) paidOrder(t *testing.T, buyerID, listingID int64, quantity int) store.Order {
	t.Helper()
	o, err := b.store.CreateOrder(t.Context(), buyerID, listingID, quantity, base, hold)
	require.NoError(t, err)
	b.pay(t, o, base)
	return o
}

// passes are the passes of an order.
func (b *passBundle) passes(t *testing.T, orderID int64) []store.OrderPass {
	t.Helper()
	passes, err := b.store.OrderPasses(t.Context(), orderID)
	require.NoError(t, err)
	return passes
}

// code is the code of the only pass of an order.
func (b *passBundle) code(t *testing.T, orderID int64) string {
	t.Helper()
	passes := b.passes(t, orderID)
	require.Len(t, passes, 1)
	return passes[0].Code()
}

// scan scans a code at the event's door as the organizer, with a nonce of
// its own.
func (b *passBundle) scan(t *testing.T, code string) store.CheckinResult {
	t.Helper()
	return b.scanAt(t, b.event.ID, code, newNonce())
}

func (b *passBundle) scanAt(t *testing.T, eventID int64, code, nonce string) store.CheckinResult {
	t.Helper()
	r, err := b.store.CheckIn(t.Context(), store.Scan{EventID: eventID, By: b.organizer.ID, Code: code, Nonce: nonce}, base)
	require.NoError(t, err)
	return r
}

var nonces struct {
	sync.Mutex
	n int
}

func newNonce() string {
	nonces.Lock()
	defer nonces.Unlock()
	nonces.n++
	return fmt.Sprintf("nonce-%d", nonces.n)
}

// resell lists the buyer's ticket of the order for resale and has another
// buyer pay for it; it returns the new buyer's order.
func (b *passBundle) resell(t *testing.T, seller store.User, orderID int64, newBuyer store.User) store.Order {
	t.Helper()
	owned, err := b.store.OwnedTickets(t.Context(), seller.ID)
	require.NoError(t, err)
	var ticketID int64
	for _, o := range owned {
		if o.OrderID == orderID {
			ticketID = o.TicketID
		}
	}
	require.NotZero(t, ticketID, "%s holds no ticket of order %d", seller.Email, orderID)
	resale, err := b.store.ResellTickets(t.Context(), seller.ID, store.Resale{TicketIDs: []int64{ticketID}, Price: 3000}, base)
	require.NoError(t, err)
	return b.paidOrder(t, newBuyer.ID, resale.ID, 1)
}

// altered is a code with its tenth character changed.
func altered(code string) string {
	c := "A"
	if code[9] == 'A' {
		c = "B"
	}
	return code[:9] + c + code[10:]
}

// handMadeCode writes a pass code as PassFormat describes it, signed with key.
func handMadeCode(key ed25519.PrivateKey, version byte, eventID, rootID int64, generation int, orderID int64) string {
	payload := []byte{version}
	for _, n := range []int64{eventID, rootID, int64(generation), orderID} {
		payload = binary.AppendUvarint(payload, uint64(n))
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, ed25519.Sign(key, payload)...))
}

func TestPassKey(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("MadeOnceAndKept", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				stores := make([]*store.Store, 4)
				keys := make([]ed25519.PublicKey, len(stores))
				var wg sync.WaitGroup
				for i := range stores {
					st, err := store.New(b.db) // as instances starting together
					require.NoError(t, err)
					stores[i] = st
					wg.Go(func() { assert.NoError(t, st.LoadPassKey(t.Context(), nil)) }) // not require: not the test's goroutine
				}
				wg.Wait()
				for i, st := range stores {
					var err error
					keys[i], err = st.PassPublicKey(t.Context())
					require.NoError(t, err)
					require.Equal(t, keys[0], keys[i], "store %d", i)
				}
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM pass_keys`))

				restarted, err := store.New(b.db)
				require.NoError(t, err)
				require.NoError(t, restarted.LoadPassKey(t.Context(), nil))
				key, err := restarted.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Equal(t, keys[0], key, "a restart keeps the key")
			})

			t.Run("MadeWhenFirstNeeded", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				key, err := b.store.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Len(t, key, ed25519.PublicKeySize)
				require.NoError(t, b.store.LoadPassKey(t.Context(), nil))
				again, err := b.store.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Equal(t, key, again)
			})

			t.Run("SuppliedKeyKeptWhenNone", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				public, private, err := ed25519.GenerateKey(nil)
				require.NoError(t, err)
				require.NoError(t, b.store.LoadPassKey(t.Context(), private))
				key, err := b.store.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Equal(t, public, key)

				restarted, err := store.New(b.db)
				require.NoError(t, err)
				require.NoError(t, restarted.LoadPassKey(t.Context(), private), "the same key again")
				key, err = restarted.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Equal(t, public, key, "kept without being supplied")
			})

			t.Run("OtherSuppliedKeyRefused", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				kept, err := b.store.PassPublicKey(t.Context())
				require.NoError(t, err)
				pass, err := b.store.SignPass(t.Context(), store.Pass{EventID: 1, RootID: 2, OrderID: 3})
				require.NoError(t, err)

				_, other, err := ed25519.GenerateKey(nil)
				require.NoError(t, err)
				restarted, err := store.New(b.db)
				require.NoError(t, err)
				err = restarted.LoadPassKey(t.Context(), other)
				require.ErrorIs(t, err, store.ErrPassKeyMismatch)
				require.Contains(t, err.Error(), base64.RawURLEncoding.EncodeToString(kept), "names the key kept")

				key, err := restarted.PassPublicKey(t.Context())
				require.NoError(t, err)
				require.Equal(t, kept, key, "the key kept stays")
				_, err = store.ParsePass(pass.Code(), key)
				require.NoError(t, err, "passes signed before still verify")
			})
		})
	}
}

func TestPassCode(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	pass, err := b.store.SignPass(t.Context(), store.Pass{EventID: 12, RootID: 345, Generation: 2, OrderID: 6789})
	require.NoError(t, err)
	code := pass.Code()
	key, err := b.store.PassPublicKey(t.Context())
	require.NoError(t, err)

	t.Run("Verifies", func(t *testing.T) {
		got, err := store.ParsePass(code, key)
		require.NoError(t, err)
		require.Equal(t, code, got.Code())
		require.Equal(t, []int64{12, 345, 2, 6789}, []int64{got.EventID, got.RootID, int64(got.Generation), got.OrderID})
		require.Regexp(t, `^[A-Za-z0-9_-]+$`, code, "base64url without padding")

		spaced := code[:20] + " " + code[20:40] + "\n" + code[40:]
		got, err = store.ParsePass(spaced, key)
		require.NoError(t, err, "as typed, with spaces")
		require.Equal(t, code, got.Code())
	})

	t.Run("AsDocumented", func(t *testing.T) {
		// Anyone can check a code offline with the public key, as PassFormat
		// says: split off the last 64 bytes and verify them over the rest.
		raw, err := base64.RawURLEncoding.DecodeString(code)
		require.NoError(t, err)
		payload, signature := raw[:len(raw)-64], raw[len(raw)-64:]
		require.True(t, ed25519.Verify(key, payload, signature))
		require.Equal(t, byte(store.PassVersion), payload[0])
		var fields []uint64
		for rest := payload[1:]; len(rest) > 0; {
			n, read := binary.Uvarint(rest)
			require.Positive(t, read)
			fields, rest = append(fields, n), rest[read:]
		}
		require.Equal(t, []uint64{12, 345, 2, 6789}, fields)
	})

	t.Run("AlteredFails", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(code)
		require.NoError(t, err)
		for i := range raw {
			altered := append([]byte(nil), raw...)
			altered[i] ^= 0x01
			_, err := store.ParsePass(base64.RawURLEncoding.EncodeToString(altered), key)
			require.ErrorIs(t, err, store.ErrForgedPass, "byte %d altered", i)
		}
		for i := range code {
			c := byte('A')
			if code[i] == 'A' {
				c = 'B'
			}
			_, err := store.ParsePass(code[:i]+string(c)+code[i+1:], key)
			require.ErrorIs(t, err, store.ErrForgedPass, "character %d altered", i)
		}
		for _, bad := range []string{"", "x", code[:len(code)-1], code + "A", code + "==", strings.Repeat("A", 500),
			code[:5] + "+" + code[6:], code[:5] + "/" + code[6:], "%00" + code} {
			_, err := store.ParsePass(bad, key)
			require.ErrorIs(t, err, store.ErrForgedPass, "%q", bad)
		}
	})

	t.Run("ForgedFails", func(t *testing.T) {
		_, forger, err := ed25519.GenerateKey(nil)
		require.NoError(t, err)
		forged := handMadeCode(forger, store.PassVersion, 12, 345, 2, 6789)
		_, err = store.ParsePass(forged, key)
		require.ErrorIs(t, err, store.ErrForgedPass)
		got, err := store.ParsePass(forged, forger.Public().(ed25519.PublicKey))
		require.NoError(t, err, "the forger's own key verifies it: the test writes codes as documented")
		require.Equal(t, int64(345), got.RootID)

		_, err = store.ParsePass(handMadeCode(forger, 2, 12, 345, 2, 6789), forger.Public().(ed25519.PublicKey))
		require.ErrorIs(t, err, store.ErrForgedPass, "an unknown version")
	})
}

func TestCheckIn(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("OncePerGeneration", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				require.Equal(t, store.CheckinCounts{CheckedIn: 0, Sold: 1}, b.counts(t))

				first := b.scan(t, code)
				require.Equal(t, store.CheckinResult{Answer: store.CheckedIn, At: base, By: "organizer@example.com"}, first)
				require.Equal(t, store.CheckinCounts{CheckedIn: 1, Sold: 1}, b.counts(t))

				again := b.scan(t, code)
				require.Equal(t, store.CheckinResult{Answer: store.AlreadyCheckedIn, At: base, By: "organizer@example.com"}, again)
				require.Equal(t, store.CheckinCounts{CheckedIn: 1, Sold: 1}, b.counts(t))
			})

			t.Run("TwentyDoorsAtOnce", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				answers := make([]store.CheckinAnswer, 20)
				var wg sync.WaitGroup
				for i := range answers {
					wg.Go(func() {
						r, err := b.store.CheckIn(t.Context(), store.Scan{EventID: b.event.ID, By: b.organizer.ID,
							Code: code, Nonce: fmt.Sprintf("door-%d", i)}, base)
						if err != nil {
							t.Errorf("door %d: %v", i, err)
						}
						answers[i] = r.Answer
					})
				}
				wg.Wait()
				tally := map[store.CheckinAnswer]int{}
				for _, a := range answers {
					tally[a]++
				}
				require.Equal(t, map[store.CheckinAnswer]int{store.CheckedIn: 1, store.AlreadyCheckedIn: 19}, tally)
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM checkins`))
			})

			t.Run("SameNonceSameAnswer", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				first := b.scanAt(t, b.event.ID, code, "retried")
				require.Equal(t, store.CheckedIn, first.Answer)
				require.Equal(t, store.AlreadyCheckedIn, b.scan(t, code).Answer, "a new scan")
				require.Equal(t, first, b.scanAt(t, b.event.ID, code, "retried"), "the retry of the first")
				require.Equal(t, first, b.scanAt(t, b.event.ID, "", "retried"), "whatever it carries")

				forged := b.scanAt(t, b.event.ID, "forged", "forged-once")
				require.Equal(t, store.PassUnknown, forged.Answer)
				require.Equal(t, forged, b.scanAt(t, b.event.ID, code, "forged-once"), "a retry is not a new scan")
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM checkins`))

				helper := b.user(t, "helper@example.com")
				_, err := b.store.CheckIn(t.Context(), store.Scan{EventID: b.event.ID, By: helper.ID, Code: code, Nonce: "retried"}, base)
				require.ErrorIs(t, err, store.ErrNonceUsed, "someone else's nonce")
				other := b.passListing(t, b.organizer.ID, "Other", 1)
				_, err = b.store.CheckIn(t.Context(), store.Scan{EventID: other.Event.ID, By: b.organizer.ID, Code: code, Nonce: "retried"}, base)
				require.ErrorIs(t, err, store.ErrNonceUsed, "another door's nonce")
			})

			t.Run("ResoldPassVoid", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				second, third := b.user(t, "second@example.com"), b.user(t, "third@example.com")
				firstCode := b.code(t, b.paid.ID)
				secondOrder := b.resell(t, b.buyer, b.paid.ID, second)
				secondCode := b.code(t, secondOrder.ID)
				require.NotEqual(t, firstCode, secondCode)
				require.True(t, b.passes(t, b.paid.ID)[0].Resold, "the first buyer's order says the pass is void")
				require.False(t, b.passes(t, secondOrder.ID)[0].Resold)

				thirdOrder := b.resell(t, second, secondOrder.ID, third)
				thirdCode := b.code(t, thirdOrder.ID)
				require.Equal(t, store.CheckinCounts{CheckedIn: 0, Sold: 1}, b.counts(t), "one seat, whoever holds it")

				require.Equal(t, store.PassResold, b.scan(t, firstCode).Answer)
				require.Equal(t, store.PassResold, b.scan(t, secondCode).Answer)
				require.Equal(t, store.CheckedIn, b.scan(t, thirdCode).Answer, "exactly one generation is valid")
				require.Equal(t, store.PassResold, b.scan(t, secondCode).Answer)
				require.Equal(t, store.AlreadyCheckedIn, b.scan(t, thirdCode).Answer)
			})

			t.Run("OtherEvent", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				other := b.passListing(t, b.organizer.ID, "Other", 1)
				require.Equal(t, store.PassOtherEvent, b.scanAt(t, other.Event.ID, b.code(t, b.paid.ID), newNonce()).Answer)
				require.Equal(t, store.CheckedIn, b.scan(t, b.code(t, b.paid.ID)).Answer, "not checked in by the other door")
			})

			t.Run("MergedEventsPassAtTheDoorItMovedTo", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				into := b.passListing(t, b.organizer.ID, "Gala (the same)", 1)
				op := b.user(t, "ops@example.com")
				_, err := b.store.MergeEvents(t.Context(), op.ID, b.event.ID, into.Event.ID, base)
				require.NoError(t, err)
				require.Equal(t, store.CheckedIn, b.scanAt(t, into.Event.ID, code, newNonce()).Answer)
			})

			t.Run("NotPaid", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				_, _, err := b.store.RecordRefund(t.Context(), fmt.Sprintf("pi_test_%d", b.paid.ID), b.paid.Amount, true, base)
				require.NoError(t, err)
				require.Empty(t, b.passes(t, b.paid.ID), "a refunded order has no pass")
				require.Equal(t, store.PassNotPaid, b.scan(t, code).Answer)

				// Sold again to another buyer: the same seat and generation,
				// another sale.
				again := b.paidOrder(t, b.user(t, "again@example.com").ID, b.listing.ID, 1)
				require.Equal(t, store.PassNotPaid, b.scan(t, code).Answer, "the refunded buyer's pass")
				require.Equal(t, store.CheckedIn, b.scan(t, b.code(t, again.ID)).Answer)

				var unsoldID int64
				require.NoError(t, b.db.Read.QueryRow(`SELECT id FROM tickets WHERE listing_id = $1 AND claim_order_id IS NULL`,
					b.listing.ID).Scan(&unsoldID))
				unsold, err := b.store.SignPass(t.Context(), store.Pass{EventID: b.event.ID, RootID: unsoldID, OrderID: again.ID})
				require.NoError(t, err)
				require.Equal(t, store.PassNotPaid, b.scan(t, unsold.Code()).Answer, "a ticket never sold")
			})

			t.Run("UnknownOrForged", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				_, forger, err := ed25519.GenerateKey(nil)
				require.NoError(t, err)
				for _, bad := range []string{"", "hello", code[:len(code)-2], strings.ToUpper(code),
					handMadeCode(forger, store.PassVersion, b.event.ID, b.passes(t, b.paid.ID)[0].RootID, 0, b.paid.ID)} {
					require.Equal(t, store.CheckinResult{Answer: store.PassUnknown}, b.scan(t, bad), "%q", bad)
				}
				require.Equal(t, store.CheckedIn, b.scan(t, code).Answer)
			})

			t.Run("NoPassesForETickets", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				eticket := b.ticket(t, b.organizer.ID, "Fair", 2000)
				require.False(t, eticket.Event.CheckinWithEventHive)
				o := b.order(t, b.buyer.ID, eticket.ID, base)
				require.Empty(t, b.passes(t, o.ID), "pending")
				b.pay(t, o, base)
				require.Empty(t, b.passes(t, o.ID), "e-tickets from the organizer's system")
				_, err := b.store.DoorFor(t.Context(), eticket.Event.ID, b.organizer)
				require.ErrorIs(t, err, store.ErrNotFound, "no door for an event without passes")
			})

			t.Run("Door", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				door, err := b.store.DoorFor(t.Context(), b.event.ID, b.organizer)
				require.NoError(t, err)
				require.True(t, door.Organizer)
				require.Equal(t, b.event.ID, door.Event.ID)

				helper := b.user(t, "helper@example.com")
				for _, u := range []store.User{helper, b.buyer, b.user(t, "stranger@example.com")} {
					_, err := b.store.DoorFor(t.Context(), b.event.ID, u)
					require.ErrorIs(t, err, store.ErrNotFound, u.Email)
				}
				require.NoError(t, b.store.AddCheckinHelper(t.Context(), b.event.ID, " Helper@Example.com ", base))
				require.NoError(t, b.store.AddCheckinHelper(t.Context(), b.event.ID, "helper@example.com", base), "twice")
				require.Error(t, b.store.AddCheckinHelper(t.Context(), b.event.ID, "not an email", base))
				helpers, err := b.store.CheckinHelpers(t.Context(), b.event.ID)
				require.NoError(t, err)
				require.Equal(t, []string{"helper@example.com"}, helpers)
				door, err = b.store.DoorFor(t.Context(), b.event.ID, helper)
				require.NoError(t, err)
				require.False(t, door.Organizer)
				other := b.passListing(t, b.organizer.ID, "Other", 1)
				_, err = b.store.DoorFor(t.Context(), other.Event.ID, helper)
				require.ErrorIs(t, err, store.ErrNotFound, "a helper of one event only")

				require.NoError(t, b.store.RemoveCheckinHelper(t.Context(), b.event.ID, "helper@example.com"))
				_, err = b.store.DoorFor(t.Context(), b.event.ID, helper)
				require.ErrorIs(t, err, store.ErrNotFound, "removed")
				_, err = b.store.DoorFor(t.Context(), b.event.ID+1000, b.organizer)
				require.ErrorIs(t, err, store.ErrNotFound)
			})

			t.Run("HeldPass", func(t *testing.T) {
				t.Parallel()
				b := setupPasses(t, dialect)
				code := b.code(t, b.paid.ID)
				held, err := b.store.HeldPass(t.Context(), code, b.buyer.ID)
				require.NoError(t, err)
				require.Equal(t, "buyer@example.com", held.HolderEmail)
				require.Equal(t, b.event.ID, held.Event.ID)
				require.Equal(t, "Gala", held.Event.Name)
				require.Equal(t, code, held.Code())

				for _, u := range []store.User{b.organizer, b.user(t, "stranger@example.com")} {
					_, err = b.store.HeldPass(t.Context(), code, u.ID)
					require.ErrorIs(t, err, store.ErrNotFound, u.Email)
				}
				_, err = b.store.HeldPass(t.Context(), altered(code), b.buyer.ID)
				require.ErrorIs(t, err, store.ErrNotFound, "altered")

				second := b.user(t, "second@example.com")
				secondOrder := b.resell(t, b.buyer, b.paid.ID, second)
				_, err = b.store.HeldPass(t.Context(), code, b.buyer.ID)
				require.ErrorIs(t, err, store.ErrNotFound, "resold")
				_, err = b.store.HeldPass(t.Context(), code, second.ID)
				require.ErrorIs(t, err, store.ErrNotFound, "the new holder's pass has a code of its own")
				held, err = b.store.HeldPass(t.Context(), b.code(t, secondOrder.ID), second.ID)
				require.NoError(t, err)
				require.Equal(t, "second@example.com", held.HolderEmail)
				require.Equal(t, 1, held.Generation)
			})
		})
	}
}

// counts are the event's check-in counts.
func (b *passBundle) counts(t *testing.T) store.CheckinCounts {
	t.Helper()
	c, err := b.store.CheckinCounts(t.Context(), b.event.ID)
	require.NoError(t, err)
	return c
}

func TestMovePasses(t *testing.T) {
	t.Parallel()
	b := setupMove(t)
	ctx, src := t.Context(), b.srcStore
	buyer, err := src.CreateUser(ctx, "pass-holder@example.com", "hash", moveHistory)
	require.NoError(t, err)
	now := time.Now()
	l, err := src.CreateListing(ctx, b.fixture.seller.ID, store.NewListing{
		Event: store.NewEvent{Name: "Door", StartsAt: now.Add(30 * 24 * time.Hour), TimeZone: "UTC", CheckinWithEventHive: true},
		Price: 1000, FaceValue: 1000, Currency: "usd", Quantity: 1,
	}, now)
	require.NoError(t, err)
	o, err := src.CreateOrder(ctx, buyer.ID, l.ID, 1, now, time.Hour)
	require.NoError(t, err)
	require.NoError(t, src.SetCheckoutSession(ctx, o.ID, buyer.ID, "cs_pass", now))
	require.NoError(t, src.RecordPayment(ctx, store.Payment{OrderID: o.ID, SessionID: "cs_pass", PaymentIntentID: "pi_pass",
		Amount: o.Amount, Currency: o.Currency}, now))
	passes, err := src.OrderPasses(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, passes, 1)
	code := passes[0].Code()
	scan := store.Scan{EventID: l.Event.ID, By: b.fixture.seller.ID, Code: code, Nonce: "moved"}
	checkedIn, err := src.CheckIn(ctx, scan, now)
	require.NoError(t, err)
	require.Equal(t, store.CheckedIn, checkedIn.Answer)
	require.NoError(t, src.AddCheckinHelper(ctx, l.Event.ID, "helper@example.com", now))
	key, err := src.PassPublicKey(ctx)
	require.NoError(t, err)

	// An app started on the empty target made a key of its own.
	require.NoError(t, b.dst.Migrate(ctx))
	early, err := store.New(b.dst)
	require.NoError(t, err)
	require.NoError(t, early.LoadPassKey(ctx, nil))

	counts, err := b.move(t)
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 1, 1}, []int{counts.PassKeys, counts.CheckIns, counts.CheckinScans, counts.CheckinHelpers})

	dst, err := store.New(b.dst)
	require.NoError(t, err)
	movedKey, err := dst.PassPublicKey(ctx)
	require.NoError(t, err)
	require.Equal(t, key, movedKey, "the source's key, with which the passes were signed")
	passes, err = dst.OrderPasses(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, code, passes[0].Code())
	again, err := dst.CheckIn(ctx, scan, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, checkedIn, again, "the same nonce, the same answer")
	scan.Nonce = "after the move"
	again, err = dst.CheckIn(ctx, scan, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, store.AlreadyCheckedIn, again.Answer)
	helpers, err := dst.CheckinHelpers(ctx, l.Event.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"helper@example.com"}, helpers)
}
