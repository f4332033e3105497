package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"
)

// An EventHive pass is the app's signed word that the buyer of one order
// holds one generation of a seat for an event. Nothing about a pass is
// stored: its code is signed again whenever it is shown (Ed25519 signatures
// are deterministic, so the code is always the same), and a door checks the
// signature, then who holds the seat now.

// PassVersion is the first byte of the passes this app signs.
const PassVersion = 1

// PassFormat describes a pass's code for scanners that verify it offline
// with the public key.
const PassFormat = "base64url without padding of payload || signature. payload: the version byte 0x01, then " +
	"four unsigned varints (LEB128, as Go's encoding/binary and protobuf write them): event id, seat " +
	"(the ticket id its history starts from), generation (0 at the first sale, +1 per resale) and order id. " +
	"signature: the last 64 bytes, Ed25519 over payload."

// ErrForgedPass means a code is not a pass this app signed: mistyped,
// altered, forged or of an unknown version.
var ErrForgedPass = errors.New("not a pass signed by EventHive")

// ErrPassKeyMismatch means the pass signing key supplied is not the one the
// database keeps, with which passes in people's hands were signed.
var ErrPassKeyMismatch = errors.New("the pass signing key supplied is not the one the database keeps")

// maxPassCode bounds the length of a code worth decoding: a pass takes at
// most 140 characters.
const maxPassCode = 200

// Pass is an EventHive pass. Only SignPass and ParsePass make one whose
// Code a door accepts.
type Pass struct {
	EventID    int64
	RootID     int64 // the seat: the first ticket row of its history
	Generation int   // 0 at the first sale, +1 per resale
	OrderID    int64 // the sale the pass was issued for

	signature []byte
}

// payload is what a pass's signature covers.
func (p Pass) payload() []byte {
	b := []byte{PassVersion}
	for _, n := range []uint64{uint64(p.EventID), uint64(p.RootID), uint64(p.Generation), uint64(p.OrderID)} {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

// Code is the pass as a QR code or a person carries it: the payload and its
// signature in base64url without padding (see PassFormat).
func (p Pass) Code() string {
	return base64.RawURLEncoding.EncodeToString(append(p.payload(), p.signature...))
}

// signPass signs p with key.
func signPass(key ed25519.PrivateKey, p Pass) Pass {
	p.signature = ed25519.Sign(key, p.payload())
	return p
}

// ParsePass reads a pass's code and verifies its signature with the public
// key, offline. White space in the code, as a person may type it, is
// ignored. Anything but a pass signed with the key is ErrForgedPass.
func ParsePass(code string, key ed25519.PublicKey) (Pass, error) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) > maxPassCode {
		return Pass{}, ErrForgedPass
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(code)
	if err != nil || len(raw) <= ed25519.SignatureSize {
		return Pass{}, ErrForgedPass
	}
	payload, signature := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if payload[0] != PassVersion || !ed25519.Verify(key, payload, signature) {
		return Pass{}, ErrForgedPass
	}
	var n [4]int64
	rest := payload[1:]
	for i := range n {
		v, read := binary.Uvarint(rest)
		if read <= 0 || v > math.MaxInt64 {
			return Pass{}, ErrForgedPass
		}
		n[i], rest = int64(v), rest[read:]
	}
	p := Pass{EventID: n[0], RootID: n[1], Generation: int(n[2]), OrderID: n[3], signature: signature}
	// Only the encoding Code writes: one code per pass.
	if len(rest) != 0 || !bytes.Equal(p.payload(), payload) {
		return Pass{}, ErrForgedPass
	}
	return p, nil
}

// passKey is the pass signing key, read from the database once.
type passKey struct {
	mu  sync.Mutex
	key ed25519.PrivateKey // nil until loaded
}

// LoadPassKey reads the pass signing key from the database, or keeps one
// there if it has none: supplied, or else a new one. A supplied key that is
// not the one kept is ErrPassKeyMismatch: the app must not sign with
// another key than the one passes in people's hands were signed with. main
// calls it at start-up; without it, the key is read (or made) when first
// needed.
func (s *Store) LoadPassKey(ctx context.Context, supplied ed25519.PrivateKey) error {
	s.passKey.mu.Lock()
	defer s.passKey.mu.Unlock()
	key, err := s.keepPassKey(ctx, supplied)
	if err != nil {
		return err
	}
	s.passKey.key = key
	return nil
}

// signingKey is the pass signing key, loaded once.
func (s *Store) signingKey(ctx context.Context) (ed25519.PrivateKey, error) {
	s.passKey.mu.Lock()
	defer s.passKey.mu.Unlock()
	if s.passKey.key == nil {
		key, err := s.keepPassKey(ctx, nil)
		if err != nil {
			return nil, err
		}
		s.passKey.key = key
	}
	return s.passKey.key, nil
}

// PassPublicKey is the public key that verifies every pass.
func (s *Store) PassPublicKey(ctx context.Context) (ed25519.PublicKey, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

// SignPass signs a pass with the app's key.
func (s *Store) SignPass(ctx context.Context, p Pass) (Pass, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return Pass{}, err
	}
	return signPass(key, p), nil
}

// keepPassKey stores supplied, or a new key, unless the database keeps one
// already (instances starting together agree on the first one stored), and
// returns the key kept.
func (s *Store) keepPassKey(ctx context.Context, supplied ed25519.PrivateKey) (ed25519.PrivateKey, error) {
	candidate := supplied
	if candidate == nil {
		var err error
		if _, candidate, err = ed25519.GenerateKey(nil); err != nil {
			return nil, err
		}
	}
	var public, private string
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO pass_keys (id, public_key, private_key, created_at) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO NOTHING`,
			base64.StdEncoding.EncodeToString(candidate.Public().(ed25519.PublicKey)),
			base64.StdEncoding.EncodeToString(candidate), ms(time.Now())); err != nil {
			return fmt.Errorf("keep the pass signing key: %w", err)
		}
		return tx.QueryRowContext(ctx, `SELECT public_key, private_key FROM pass_keys WHERE id = 1`).Scan(&public, &private)
	})
	if err != nil {
		return nil, err
	}
	kept, err := storedPassKey(public, private)
	if err != nil {
		return nil, err
	}
	if supplied != nil && !supplied.Equal(kept) {
		return nil, fmt.Errorf("%w (its public key is %s): passes already issued were signed with it, so unset PASS_SIGNING_KEY or supply that key",
			ErrPassKeyMismatch, base64.RawURLEncoding.EncodeToString(kept.Public().(ed25519.PublicKey)))
	}
	return kept, nil
}

// storedPassKey decodes the key pass_keys keeps, checking its halves agree.
func storedPassKey(public, private string) (ed25519.PrivateKey, error) {
	pub, errPub := base64.StdEncoding.DecodeString(public)
	key, errKey := base64.StdEncoding.DecodeString(private)
	if errPub != nil || errKey != nil || len(key) != ed25519.PrivateKeySize ||
		!ed25519.PublicKey(pub).Equal(ed25519.NewKeyFromSeed(key[:ed25519.SeedSize]).Public()) {
		return nil, errors.New("the pass signing key in pass_keys is damaged")
	}
	return ed25519.PrivateKey(key), nil
}

// HeldPass is a pass as its holder's page shows it.
type HeldPass struct {
	Pass
	Event       Event
	HolderEmail string
}

// HeldPass finds the pass whose code this is if holderID holds it now: the
// buyer of the order it was issued for, whose seat has not been resold since,
// for an event that checks tickets in with EventHive. Anything else, a
// forged code included, is ErrNotFound.
func (s *Store) HeldPass(ctx context.Context, code string, holderID int64) (HeldPass, error) {
	key, err := s.PassPublicKey(ctx)
	if err != nil {
		return HeldPass{}, err
	}
	p, err := ParsePass(code, key)
	if err != nil {
		return HeldPass{}, ErrNotFound
	}
	h, err := s.Holding(ctx, p.RootID)
	switch {
	case err != nil:
		return HeldPass{}, err
	case h.HolderID != holderID || h.Generation != p.Generation || h.OrderID != p.OrderID || h.EventID != p.EventID:
		return HeldPass{}, ErrNotFound
	}
	hp := HeldPass{Pass: p}
	hp.Event, err = scanEvent(s.reader(ctx).QueryRowContext(ctx, `
		SELECT `+eventColumns+`, u.email FROM events e JOIN users u ON u.id = $2
		WHERE e.id = $1 AND e.checkin_with_eventhive`, p.EventID, holderID), &hp.HolderEmail)
	if err != nil {
		return HeldPass{}, err
	}
	return hp, nil
}

// OrderPass is the pass of one ticket of a paid order.
type OrderPass struct {
	Pass
	// Resold says that the buyer resold the ticket: this pass is void, and
	// the new holder has the valid one.
	Resold bool
}

// OrderPasses lists the passes of a paid order's tickets, in ticket order,
// if its event checks tickets in with EventHive; otherwise, or before the
// order is paid, none.
func (s *Store) OrderPasses(ctx context.Context, orderID int64) ([]OrderPass, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT l.event_id, coalesce(k.root_id, k.id), k.generation, o.id, NOT (`+owned+`)
		FROM tickets k JOIN orders o ON o.id = k.claim_order_id JOIN listings l ON l.id = k.listing_id
		JOIN events e ON e.id = l.event_id
		WHERE o.id = $1 AND o.status = 'paid' AND k.claim_expires_at IS NULL AND e.checkin_with_eventhive
		ORDER BY k.id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var passes []OrderPass
	for rows.Next() {
		var op OrderPass
		if err := rows.Scan(&op.EventID, &op.RootID, &op.Generation, &op.OrderID, &op.Resold); err != nil {
			return nil, err
		}
		op.Pass = signPass(key, op.Pass)
		passes = append(passes, op)
	}
	return passes, rows.Err()
}
