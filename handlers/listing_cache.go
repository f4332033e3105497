package handlers

import (
	"sync"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// listingCache keeps the listing pages as rendered for people who are signed
// out, who all see the same page in the same locale. In an on-sale rush the
// listing is what most visitors load, every change makes each open listing
// re-fetch itself (see live.go), and rendering the page is most of what a
// listing request costs.
//
// An entry holds while the store's listing version (store.ListingVersion)
// stays the one it was rendered at. On PostgreSQL other instances change the
// listing too: the store hears of their changes through the live hub
// (followChanges, in elsewhere.go), which carries every change that open
// pages are told of.
type listingCache struct {
	mu      sync.Mutex
	version store.ListingVersion // the version the entries were rendered at
	entries map[listingKey]*keptPage
}

type listingKey struct {
	url      string        // the page's own address: search and page number
	fragment bool          // the HTMX fragment rather than the whole page
	locale   *money.Locale // the one its prices are written in
	// The page carries the CSS (see inlineCSS); a fragment never does.
	inlineCSS bool
}

// maxListingEntries bounds the cache: past it, pages are rendered but not
// kept until the next version starts the cache over.
const maxListingEntries = 64

func newListingCache() *listingCache {
	return &listingCache{entries: map[listingKey]*keptPage{}}
}

// get returns the page for key if it was rendered at version.
func (c *listingCache) get(key listingKey, version store.ListingVersion) (*keptPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return nil, false
	}
	page, ok := c.entries[key]
	return page, ok
}

// put keeps page, rendered from reads at version. A page older than the
// entries is dropped; a newer one replaces them all.
func (c *listingCache) put(key listingKey, version store.ListingVersion, page *keptPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version.Before(c.version):
		return
	case version != c.version:
		c.version = version
		clear(c.entries)
	}
	if len(c.entries) >= maxListingEntries {
		if _, ok := c.entries[key]; !ok {
			return
		}
	}
	c.entries[key] = page
}
