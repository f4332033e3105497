package store

import (
	"slices"
	"sync"
)

// hearing holds the ways to tell whether this Store hears of every change
// other processes make (see HearChangesWhile).
type hearing struct {
	mu        sync.Mutex
	listening []func() bool
}

// HearChangesWhile has a store on PostgreSQL keep in memory what it reads of
// rows other processes change, as one on SQLite does: the users it reads
// (see userMemo) and the listings it reads to refuse claims (see
// refusalMemo), at the moments listening reports true. Its caller must then
// call UsersChangedElsewhere after every change to users that another
// process commits, ChangedElsewhere after every such change to what is on
// sale, and both whenever it may have missed one, before listening reports
// true again: the live hub's Listening, and its events, do all of that
// (handlers' followChanges). With several callers, it keeps while any one
// of them listens.
func (s *Store) HearChangesWhile(listening func() bool) {
	s.hearing.mu.Lock()
	defer s.hearing.mu.Unlock()
	s.hearing.listening = append(s.hearing.listening, listening)
}

// HearsEveryChange reports whether every change another process makes
// reaches this process at this moment, so that what it read may be kept
// until it hears of one: always as the database's sole writer
// (SoleWriter), otherwise while one of the ways given to HearChangesWhile
// listens. What the store keeps follows it, and so do the sessions the
// handlers keep.
func (s *Store) HearsEveryChange() bool {
	if s.SoleWriter() {
		return true
	}
	s.hearing.mu.Lock()
	defer s.hearing.mu.Unlock()
	return slices.ContainsFunc(s.hearing.listening, func(l func() bool) bool { return l() })
}
