package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestMoveCarriesModerationLog(t *testing.T) {
	t.Parallel()
	b := setupMove(t)
	ctx := t.Context()
	f := b.fixture
	paid, err := b.srcStore.Listing(ctx, f.paid.ListingID, moveHistory)
	require.NoError(t, err)
	require.NoError(t, b.srcStore.HideEvent(ctx, f.seller.ID, paid.Event.ID, moveHistory.Add(7*time.Minute)))
	idle, err := b.srcStore.UserByEmail(ctx, "idle@example.com")
	require.NoError(t, err)
	_, err = b.srcStore.SuspendUser(ctx, f.seller.ID, idle.ID, "Spam", moveHistory.Add(8*time.Minute))
	require.NoError(t, err)
	before, err := b.srcStore.ModerationLog(ctx, 10)
	require.NoError(t, err)
	require.Len(t, before, 2)

	counts, err := b.move(t)
	require.NoError(t, err)
	require.Equal(t, 2, counts.ModerationActions)
	dstStore, err := store.New(b.dst)
	require.NoError(t, err)
	after, err := dstStore.ModerationLog(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, before, after)
	moved, err := dstStore.UserByID(ctx, idle.ID)
	require.NoError(t, err)
	require.Equal(t, moveHistory.Add(8*time.Minute), moved.SuspendedAt)

	// The log goes on from the moved ids.
	require.NoError(t, dstStore.ShowEvent(ctx, f.seller.ID, paid.Event.ID, moveHistory.Add(9*time.Minute)))
	after, err = dstStore.ModerationLog(ctx, 1)
	require.NoError(t, err)
	require.Greater(t, after[0].ID, before[0].ID)
}
