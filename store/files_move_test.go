package store_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestMoveTicketFiles(t *testing.T) {
	t.Parallel()
	b := setupMove(t)
	ctx := t.Context()
	seller := b.fixture.seller
	l, err := b.srcStore.CreateListing(ctx, seller.ID, listingOf("Files", 2, 30_00), moveHistory)
	require.NoError(t, err)
	// Every byte value, as much as a file may hold.
	largest := make([]byte, store.MaxFileBytes)
	_, _ = rand.Read(largest)
	copy(largest, "\x89PNG\r\n\x1a\n")
	require.NoError(t, b.srcStore.AttachFile(ctx, seller.ID, l.ID, 1, largest, "image/png", moveHistory))
	require.NoError(t, b.srcStore.AttachFile(ctx, seller.ID, l.ID, 2, pdf("first"), "application/pdf", moveHistory))
	require.NoError(t, b.srcStore.AttachFile(ctx, seller.ID, l.ID, 2, pdf("second"), "application/pdf",
		moveHistory.Add(time.Hour)))
	read := func(st *store.Store, n int) store.TicketFile {
		f, err := st.ListingFile(ctx, seller.ID, l.ID, n)
		require.NoError(t, err)
		return f
	}
	before := []store.TicketFile{read(b.srcStore, 1), read(b.srcStore, 2)}

	counts, err := b.move(t)
	require.NoError(t, err)
	require.Equal(t, 2, counts.TicketFiles)

	dstStore, err := store.New(b.dst)
	require.NoError(t, err)
	require.Equal(t, before, []store.TicketFile{read(dstStore, 1), read(dstStore, 2)}, "the same bytes, type, sum and times")
	other, err := dstStore.CreateListing(ctx, seller.ID, listingOf("Again", 1, 30_00), time.Now())
	require.NoError(t, err)
	require.ErrorIs(t, dstStore.AttachFile(ctx, seller.ID, other.ID, 1, pdf("second"), "application/pdf", time.Now()),
		store.ErrDuplicateFile, "the moved sums still refuse the same file")
}
