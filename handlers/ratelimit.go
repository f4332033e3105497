package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eventhive/eventhive/templates"
)

// Limit allows N events per sliding window of length Per.
type Limit struct {
	N   int
	Per time.Duration
}

// Default limits on signing in and up: far above what a person does, far
// below what guessing passwords or creating accounts by script needs.
var (
	// DefaultSignInFailuresPerEmail limits failed sign-ins per account (per
	// email address, whether or not it has an account).
	DefaultSignInFailuresPerEmail = Limit{N: 10, Per: 15 * time.Minute}
	// DefaultSignInFailuresPerIP limits failed sign-ins per client address,
	// whatever emails they name: this is what stops credential stuffing.
	DefaultSignInFailuresPerIP = Limit{N: 30, Per: 15 * time.Minute}
	// DefaultSignUpsPerIP limits sign-ups per client address, counting those
	// refused because the email is taken. It allows for a venue or an office
	// behind one address. Each account may hold MAX_HOLDS_PER_BUYER tickets
	// (4) at once, so one address holds at most 20 × 4 = 80 tickets in its
	// first hour of making accounts; the hold cool-down keeps each account
	// from holding again and again, so they cannot hold them around the clock.
	DefaultSignUpsPerIP = Limit{N: 20, Per: time.Hour}
	// DefaultSignInsPerIP limits sign-in attempts per client address,
	// successful or not: each costs a bcrypt comparison (75-200 ms of one
	// core at cost 10, measured on a shared 2-core VM). Sixty a minute keeps
	// one address within a fifth of a core, and lets people behind one
	// address (a venue's Wi-Fi at an on-sale) sign in; passwordGate bounds
	// all addresses together.
	DefaultSignInsPerIP = Limit{N: 60, Per: time.Minute}
	// DefaultSignInsPerEmail limits sign-in attempts per email, successful
	// or not, from any number of addresses.
	DefaultSignInsPerEmail = Limit{N: 10, Per: time.Minute}
)

// passwordWait is how long a sign-in waits for a turn to check its password
// before it is answered 429, and passwordQueue how many may wait at once.
const (
	passwordWait  = 2 * time.Second
	passwordQueue = 64
)

// passwordGate bounds how many passwords are checked at once, so that
// sign-ins from many addresses together use at most the CPUs given to them
// and the rest of the app keeps its pages fast. A sign-in that finds every
// slot taken waits in a queue of bounded length for passwordWait at most.
type passwordGate struct {
	slots chan struct{}
	queue chan struct{}
}

func newPasswordGate(slots, queue int) *passwordGate {
	return &passwordGate{slots: make(chan struct{}, slots), queue: make(chan struct{}, queue)}
}

// enter takes a slot, waiting for one until ctx ends. It reports false if the
// queue is full or ctx ended first.
func (g *passwordGate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case g.queue <- struct{}{}:
	default:
		return false
	}
	defer func() { <-g.queue }()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave gives back a slot taken by enter.
func (g *passwordGate) leave() { <-g.slots }

// NoLimit turns a limit off.
var NoLimit = Limit{N: -1}

func (l Limit) off() bool { return l.N < 0 || l.Per <= 0 }

// orDefault returns l, or def when l is the zero Limit.
func (l Limit) orDefault(def Limit) Limit {
	if l == (Limit{}) {
		return def
	}
	return l
}

// throttle counts events per key in sliding windows, in this process's
// memory: each app instance keeps its own counts (see SECURITY.md).
type throttle struct {
	mu     sync.Mutex
	events map[string]*events
	swept  time.Time
}

// events are the recent events of one key, oldest first.
type events struct {
	limit Limit
	times []time.Time
}

// limitedKey is a key with the limit its events are held to.
type limitedKey struct {
	key   string
	limit Limit
}

func newThrottle() *throttle { return &throttle{events: map[string]*events{}} }

// take records an event at now for every key, unless one of them has
// reached its limit: then it records nothing and returns that key and how
// long until it allows an event again.
func (t *throttle) take(now time.Time, keys ...limitedKey) (wait time.Duration, blocked string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	for _, k := range keys {
		if k.limit.off() {
			continue
		}
		e := t.events[k.key]
		if e == nil {
			continue
		}
		e.prune(now)
		if len(e.times) >= k.limit.N {
			if w := e.times[len(e.times)-k.limit.N].Add(k.limit.Per).Sub(now); w > wait {
				wait, blocked = w, k.key
			}
		}
	}
	if wait > 0 {
		return wait, blocked
	}
	for _, k := range keys {
		if k.limit.off() {
			continue
		}
		e := t.events[k.key]
		if e == nil {
			e = &events{limit: k.limit}
			t.events[k.key] = e
		}
		e.times = append(e.times, now)
	}
	return 0, ""
}

// undo removes the event recorded at `at` for key.
func (t *throttle) undo(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.events[key]
	if e == nil {
		return
	}
	for i := len(e.times) - 1; i >= 0; i-- {
		if e.times[i].Equal(at) {
			e.times = append(e.times[:i], e.times[i+1:]...)
			return
		}
	}
}

// forget removes every event of key.
func (t *throttle) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.events, key)
}

// prune drops the events that have left the window.
func (e *events) prune(now time.Time) {
	i := 0
	for i < len(e.times) && !e.times[i].Add(e.limit.Per).After(now) {
		i++
	}
	e.times = e.times[i:]
}

// sweep, once a minute, drops the keys with no event left in their window,
// so that memory is bounded by the events of the last window.
func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for key, e := range t.events {
		e.prune(now)
		if len(e.times) == 0 {
			delete(t.events, key)
		}
	}
}

// Throttle keys. An email can be any string the form sent; it is cut to the
// longest valid address so that keys stay small. The signin- keys count
// failures, the signins- keys every attempt.
func signInIPKey(ip string) string        { return "signin-ip:" + ip }
func signInsIPKey(ip string) string       { return "signins-ip:" + ip }
func signUpIPKey(ip string) string        { return "signup-ip:" + ip }
func signInEmailKey(email string) string  { return "signin-email:" + cutEmail(email) }
func signInsEmailKey(email string) string { return "signins-email:" + cutEmail(email) }

func cutEmail(email string) string {
	if len(email) > 254 {
		return email[:254]
	}
	return email
}

// allowSignIn counts a sign-in attempt against the client's address and the
// email before the password is checked, so that parallel attempts cannot
// slip past the limits, and then waits for a turn to check the password. It
// reports false, having answered 429 on the form, when the address or the
// email has signed in or failed too often, or too many passwords are being
// checked. Otherwise it returns the attempt's time, for signedIn, and done,
// to call once the password is checked.
func (h *Handler) allowSignIn(w http.ResponseWriter, r *http.Request, form AccountForm) (at time.Time, done func(), ok bool) {
	now, ip := h.now(), h.clientIP(r)
	keys := []limitedKey{
		{signInIPKey(ip), h.cfg.SignInFailuresPerIP},
		{signInEmailKey(form.Email), h.cfg.SignInFailuresPerEmail},
		{signInsIPKey(ip), h.cfg.SignInsPerIP},
		{signInsEmailKey(form.Email), h.cfg.SignInsPerEmail},
	}
	wait, blocked := h.throttle.take(now, keys...)
	if wait > 0 {
		h.log.WarnContext(r.Context(), "sign-in throttled", "ip", ip, "key", blocked, "retry_after", wait.String())
		switch blocked {
		case signInIPKey(ip):
			form.Errors.Form = "Too many failed sign-ins from your network. Try again in " + minutes(wait) + "."
		case signInEmailKey(form.Email):
			form.Errors.Form = "Too many failed sign-ins for this account. Try again in " + minutes(wait) + "."
		case signInsIPKey(ip):
			form.Errors.Form = "Too many sign-ins from your network. Try again in " + minutes(wait) + "."
		default:
			form.Errors.Form = "Too many sign-ins for this account. Try again in " + minutes(wait) + "."
		}
		h.refuseSignIn(w, r, form, wait)
		return now, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), passwordWait)
	defer cancel()
	if !h.passwords.enter(ctx) {
		// Not the client's doing: the attempt does not count.
		for _, k := range keys {
			h.throttle.undo(k.key, now)
		}
		h.log.WarnContext(r.Context(), "sign-in refused: too many password checks at once", "ip", ip)
		form.Errors.Form = "Too many people are signing in right now. Try again in a few seconds."
		h.refuseSignIn(w, r, form, time.Second)
		return now, nil, false
	}
	return now, h.passwords.leave, true
}

// refuseSignIn answers 429 with the sign-in form and its message.
func (h *Handler) refuseSignIn(w http.ResponseWriter, r *http.Request, form AccountForm, wait time.Duration) {
	form.Password = ""
	setRetryAfter(w, wait)
	h.render(w, r, http.StatusTooManyRequests, templates.SignInForm, h.accountData(r, "Sign in", form))
}

// signedIn takes back the failure count of a sign-in attempt that succeeded:
// a success clears the email's failures and does not count as a failure of
// the address. It still counts as an attempt.
func (h *Handler) signedIn(r *http.Request, form AccountForm, at time.Time) {
	h.throttle.undo(signInIPKey(h.clientIP(r)), at)
	h.throttle.forget(signInEmailKey(form.Email))
}

// signInUncounted takes back the count of a sign-in attempt that could not
// be checked (the database failed).
func (h *Handler) signInUncounted(r *http.Request, form AccountForm, at time.Time) {
	h.throttle.undo(signInIPKey(h.clientIP(r)), at)
	h.throttle.undo(signInEmailKey(form.Email), at)
}

// allowSignUp counts a sign-up against the client's address. It reports
// false, having answered 429 on the form, when the address has signed up too
// often.
func (h *Handler) allowSignUp(w http.ResponseWriter, r *http.Request, form AccountForm) bool {
	ip := h.clientIP(r)
	wait, _ := h.throttle.take(h.now(), limitedKey{signUpIPKey(ip), h.cfg.SignUpsPerIP})
	if wait <= 0 {
		return true
	}
	h.log.WarnContext(r.Context(), "sign-up throttled", "ip", ip, "retry_after", wait.String())
	form.Errors.Form = "Too many sign-ups from your network. Try again in " + minutes(wait) + "."
	setRetryAfter(w, wait)
	h.render(w, r, http.StatusTooManyRequests, templates.SignUpForm, h.accountData(r, "Sign up", form))
	return false
}

// setRetryAfter tells the client how many seconds to wait, rounded up.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
}

// minutes writes a wait for people, rounded up: "1 minute", "15 minutes".
func minutes(d time.Duration) string {
	n := int64((d + time.Minute - 1) / time.Minute)
	if n <= 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}

// clientIP names the client for throttling. It is the connection's address,
// unless TrustProxyHeaders says that a proxy in front of the app sets
// Fly-Client-IP or appends to X-Forwarded-For: only the last entry there was
// written by the proxy, the ones before it by the client. An IPv6 address
// counts as its /64, which is what one subscriber gets.
func (h *Handler) clientIP(r *http.Request) string {
	if h.cfg.TrustProxyHeaders {
		if addr, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("Fly-Client-IP"))); err == nil {
			return ipKey(addr)
		}
		if values := r.Header.Values("X-Forwarded-For"); len(values) > 0 {
			last := values[len(values)-1]
			last = last[strings.LastIndexByte(last, ',')+1:]
			if addr, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return ipKey(addr)
			}
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ipKey(ap.Addr())
	}
	return r.RemoteAddr
}

func ipKey(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}
