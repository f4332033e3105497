package store

import (
	"context"
	"sync"
	"time"
)

// A ListingVersion names what is on sale (ListingsForSale, UpcomingEvents,
// EventListings): two reads at the same version give the same answer. It
// changes when a write through the Store finishes, when the first hold
// running at the version's time ends, which puts tickets back on sale, and
// when the next event starts, which closes its sales, both without any
// write. Versions compare with ==.
type ListingVersion struct {
	writes uint64 // the Store's write count (see Writes) and the changes it heard of (see ChangedElsewhere)
	until  int64  // when the first running hold ends or the next event starts, in Unix ms; 0 for none
}

// Before reports whether v is older than u, so that a cache keeps the newer.
func (v ListingVersion) Before(u ListingVersion) bool {
	if v.writes != u.writes {
		return v.writes < u.writes
	}
	return v.until != 0 && (u.until == 0 || v.until < u.until)
}

// holdsAt reports whether nothing counted in v has changed by itself at now.
func (v ListingVersion) holdsAt(now time.Time) bool {
	return v.until == 0 || ms(now) < v.until
}

// listingMemo keeps the last version ListingVersion found, so that it asks
// the database only after a write, once a hold has ended or an event started.
type listingMemo struct {
	mu      sync.Mutex
	version ListingVersion
	at      int64 // the time version was found at, in Unix ms
	known   bool
}

// ListingVersion returns the version of the tickets for sale at now, for a
// cache of what TicketsForSale answers (or of pages made from it): take the
// version before the read, and the read's answer holds as long as the
// version stays the same. On PostgreSQL, where other instances write to the
// same database, their changes move the version once this Store hears of
// them (ChangedElsewhere).
//
// It queries the database only after a write, once a hold has ended or an
// event started.
func (s *Store) ListingVersion(ctx context.Context, now time.Time) (ListingVersion, error) {
	// The write count is read first: a write that finishes from here on
	// changes it, whatever the reads below see.
	writes := s.changes()
	s.listing.mu.Lock()
	v, at, known := s.listing.version, s.listing.at, s.listing.known
	s.listing.mu.Unlock()
	// A hold that ended before the version's time but runs at an earlier
	// now is not counted in it: such a now asks the database.
	if known && v.writes == writes && at <= ms(now) && v.holdsAt(now) {
		return v, nil
	}
	end, err := s.NextChange(ctx, now)
	if err != nil {
		return ListingVersion{}, err
	}
	v = ListingVersion{writes: writes}
	if !end.IsZero() {
		v.until = ms(end)
	}
	s.listing.mu.Lock()
	if !s.listing.known || s.listing.version.Before(v) {
		s.listing.version, s.listing.at, s.listing.known = v, ms(now), true
	}
	s.listing.mu.Unlock()
	return v, nil
}

// changes counts the writes this Store has finished and the changes of other
// processes it has heard of: while it stays the same, nothing in the
// database has changed but by hand, and what time changes (a hold's end).
func (s *Store) changes() uint64 { return s.writes.Load() + s.heard.Load() }

// ChangedElsewhere tells the Store that another process changed what may be
// on sale (an instance on the same PostgreSQL, heard through the live hub),
// so that the listing version moves as for a write of its own. A change must
// be told after it committed.
func (s *Store) ChangedElsewhere() { s.heard.Add(1) }
