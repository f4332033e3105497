package handlers

// FillPasswordChecks takes every turn to check a password, and every place
// in the queue for one, until release is called: sign-ins meanwhile find
// the gate full.
func (h *Handler) FillPasswordChecks() (release func()) {
	g := h.passwords
	for range cap(g.slots) {
		g.slots <- struct{}{}
	}
	for range cap(g.queue) {
		g.queue <- struct{}{}
	}
	return func() {
		for range cap(g.queue) {
			<-g.queue
		}
		for range cap(g.slots) {
			<-g.slots
		}
	}
}

// CoalesceWindow is the shortest time between two messages of one topic.
const CoalesceWindow = coalesceWindow
