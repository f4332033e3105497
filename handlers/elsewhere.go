package handlers

import (
	"context"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
)

// followChanges tells st and sessions of every change that other processes
// on the same PostgreSQL made to tickets, users and sessions, until the hub
// closes (this process's own writes tell them already), and has st, and
// sessions with it, keep what they read of rows other processes change
// while the hub listens (store.HearChangesWhile). A subscriber that falls
// behind gets Any, which counts as every change, as it does when the hub
// listens again after a break.
func followChanges(st *store.Store, sessions *sessionStore, hub Live) {
	changes, _ := hub.SubscribeElsewhere(context.Background())
	st.HearChangesWhile(hub.Listening)
	go func() {
		for e := range changes {
			switch {
			case e == live.Any:
				st.ChangedElsewhere()
				st.UsersChangedElsewhere()
				sessions.changedElsewhere("")
			case e.Users:
				st.UsersChangedElsewhere()
			case e.Session != "":
				sessions.changedElsewhere(e.Session)
			case e.ConcernsTickets():
				st.ChangedElsewhere()
			}
		}
	}()
}
