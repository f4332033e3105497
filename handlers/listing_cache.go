package handlers

import (
	"sync"
	"time"
)

// listingCache keeps the listing pages as rendered for people who are signed
// out, who all see the same page. In an on-sale rush the listing is what most
// visitors load, and every change makes each open listing re-fetch itself
// (see live.go); rendering it anew each time cost several times the router.
//
// An entry holds while the store's write count (store.Writes) stays the same
// and until the first running hold ends, when a ticket comes back on sale
// without any write. That is only sound when this process makes every write,
// which is true on SQLite; on PostgreSQL other instances write too, and the
// listing is not cached.
type listingCache struct {
	mu      sync.Mutex
	writes  uint64 // the store's write count the entries were rendered at
	entries map[listingKey]listingEntry
}

type listingKey struct {
	url      string // the page's own address: search and page number
	fragment bool   // the HTMX fragment rather than the whole page
}

type listingEntry struct {
	body  []byte
	until time.Time // when the first running hold ends; zero for none
}

// maxListingEntries bounds the cache: past it, pages are rendered but not
// kept until the next write starts the cache over.
const maxListingEntries = 64

func newListingCache() *listingCache {
	return &listingCache{entries: map[listingKey]listingEntry{}}
}

// get returns the page for key if it was rendered at the store's current
// write count writes and no hold has ended since, at now.
func (c *listingCache) get(key listingKey, writes uint64, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.writes != writes || (!e.until.IsZero() && !now.Before(e.until)) {
		return nil, false
	}
	return e.body, true
}

// put keeps body, rendered from reads that began at the store's write count
// writes, until the hold ending at until ends. A body older than the entries
// is dropped; a newer one replaces them all.
func (c *listingCache) put(key listingKey, writes uint64, until time.Time, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case writes < c.writes:
		return
	case writes > c.writes:
		c.writes = writes
		clear(c.entries)
	}
	if len(c.entries) >= maxListingEntries {
		if _, ok := c.entries[key]; !ok {
			return
		}
	}
	c.entries[key] = listingEntry{body: body, until: until}
}
