package handlers_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestOrderPageSaysItsState: the order page decides on flags of the page
// data, not on status strings, and each state shows its own sentence, its
// payment's badge and (only while pending) the pay and cancel buttons.
func TestOrderPageSaysItsState(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	seller := b.signUp(t, "seller@example.com")
	buyer := b.signUp(t, "buyer@example.com")
	order := func(t *testing.T) (int64, string) {
		t.Helper()
		id := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30"))
		return id, "/orders/" + itoa(id)
	}
	show := func(t *testing.T, path, state string) string {
		t.Helper()
		page := b.get(t, buyer, path)
		requireStatus(t, page, http.StatusOK)
		require.Equal(t, state, orderState(t, page.HTML))
		if state == "pending" {
			require.Contains(t, page.HTML, `id="pay-button"`)
		} else {
			require.NotContains(t, page.HTML, `id="pay-button"`)
			require.NotContains(t, page.HTML, `id="cancel-button"`)
		}
		return page.HTML
	}

	t.Run("Pending", func(t *testing.T) {
		t.Parallel()
		_, path := order(t)
		require.Contains(t, show(t, path, "pending"), "We hold this ticket for you until")
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		_, path := order(t)
		requireRedirect(t, b.postForm(t, buyer, path+"/cancel", nil), path)
		require.Contains(t, show(t, path, "cancelled"), "You cancelled this order on")
	})
	t.Run("Paid", func(t *testing.T) {
		t.Parallel()
		id, path := order(t)
		sell(t, b, id, 3000)
		page := show(t, path, "paid")
		require.Contains(t, page, "The ticket is yours.")
		require.Contains(t, page, `<span class="badge badge-paid">paid</span>`)
	})
	t.Run("RefundInProgress", func(t *testing.T) {
		t.Parallel()
		id, path := order(t)
		sell(t, b, id, 2999) // the wrong amount: refunded, and no worker runs the refund
		page := show(t, path, "refunded")
		require.Contains(t, page, "Your payment is refunded in full")
		require.Contains(t, page, `<span class="badge badge-refunded">refund in progress</span> <small>`+store.RefundMismatch)
	})
}
