package store

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// User is a person with an account.
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
	// AdminConfirmedAt is when the operator confirmed this account on the
	// server (ConfirmAdmin); zero if never. Operator rights need it.
	AdminConfirmedAt time.Time
	// SessionEpoch is the account's session generation: a session begun in
	// an earlier epoch has ended (EndSessions).
	SessionEpoch int64
	// SuspendedAt is when an operator suspended the account (SuspendUser);
	// zero if it is not suspended.
	SuspendedAt time.Time
	// EmailVerifiedAt is when the owner opened the link sign-up mailed them
	// (VerifyEmail); zero until then.
	EmailVerifiedAt time.Time
}

// ErrSuspended means an operator has suspended the account: it cannot sign
// in, and its listings are off sale.
var ErrSuspended = errors.New("account is suspended")

// CanSignIn says why the account may not sign in (ErrSuspended), or returns
// nil. Check it only once the password matched, so that it tells nothing
// to whoever does not know the password.
func (u User) CanSignIn() error {
	if !u.SuspendedAt.IsZero() {
		return ErrSuspended
	}
	return nil
}

// Errors of NormalizeEmail.
var (
	ErrEmailInvalid = errors.New("not a valid email address")
	// ErrEmailLocalPart means the part before the @ holds characters beyond
	// ASCII, where look-alikes of other addresses hide.
	ErrEmailLocalPart = errors.New("the part before the @ must be plain ASCII")
)

// NormalizeEmail returns an email address in the one form accounts store and
// compare it: without surrounding space, lower-cased and in Unicode NFC. It
// refuses anything but a plain address (name@example.com) of at most 254
// bytes, so no spaces or control characters, and any address whose part
// before the @ is not ASCII as typed: letters such as ſ (U+017F, which case
// folding turns into s) or the Kelvin sign (which lower-cases to k) would
// otherwise name, or look like, someone else's address. Sign-up, sign-in and
// ADMIN_EMAILS all go through it, so two addresses are the same exactly when
// their normal forms are equal.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "" || len(email) > 254 || !utf8.ValidString(email) || at < 0:
		return "", ErrEmailInvalid
	case strings.ContainsFunc(email[:at], func(r rune) bool { return r > 0x7e }):
		return "", ErrEmailLocalPart
	}
	email = norm.NFC.String(strings.ToLower(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[at:], ".") {
		return "", ErrEmailInvalid
	}
	return email, nil
}

// CreateUser adds a user. The email must already be normalised
// (NormalizeEmail); ErrEmailTaken means another account has it.
func (s *Store) CreateUser(ctx context.Context, email, passwordHash string, now time.Time) (User, error) {
	defer s.wrote()
	u := User{Email: email, PasswordHash: passwordHash, CreatedAt: fromMS(ms(now))}
	err := s.db.Write.QueryRowContext(ctx, `
		INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (email) DO NOTHING
		RETURNING id`, email, passwordHash, ms(now)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrEmailTaken
	}
	return u, err
}

// UserByEmail finds a user by normalised email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, s.reader(ctx), `WHERE email = $1`, email)
}

// UserByID finds a user by id. It may answer from memory: always on SQLite,
// on PostgreSQL while it hears of other processes' changes (see userMemo).
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, epoch, ok := s.users.get(id)
	if ok {
		return u, nil
	}
	u, err := s.UserByIDFromDatabase(ctx, id)
	if err == nil {
		s.users.put(u, epoch)
	}
	return u, err
}

// UsersChangedElsewhere drops every user kept in memory, because another
// process changed users (see HearChangesWhile).
func (s *Store) UsersChangedElsewhere() { s.users.changed() }

// UserByIDFromDatabase finds a user by id, never from memory: for a change
// another process may have made a moment ago.
func (s *Store) UserByIDFromDatabase(ctx context.Context, id int64) (User, error) {
	return s.user(ctx, s.reader(ctx), `WHERE id = $1`, id)
}

// ConfirmAdmin records that the operator, on the server, confirmed the
// account with the normalised email as theirs: from then on it has operator
// rights if ADMIN_EMAILS lists it. Confirming again keeps the first time.
// ErrNotFound means no account has the email.
func (s *Store) ConfirmAdmin(ctx context.Context, email string, now time.Time) (User, error) {
	defer s.users.changed()
	defer s.wrote()
	res, err := s.db.Write.ExecContext(ctx, `
		UPDATE users SET admin_confirmed_at = COALESCE(admin_confirmed_at, $2) WHERE email = $1`, email, ms(now))
	if err != nil {
		return User{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return User{}, err
	} else if n == 0 {
		return User{}, ErrNotFound
	}
	return s.user(ctx, s.db.Write, `WHERE email = $1`, email)
}

// EndSessions ends every session of the user, on every device, by moving the
// account to a new session epoch: a session that began in an earlier one is
// no longer signed in (the handlers compare epochs on every request).
// ErrNotFound means no such user.
func (s *Store) EndSessions(ctx context.Context, userID int64) error {
	defer s.users.changed()
	defer s.wrote()
	res, err := s.db.Write.ExecContext(ctx,
		`UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1`, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *Store) user(ctx context.Context, db *sql.DB, where string, arg any) (User, error) {
	return scanUser(db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users `+where, arg))
}

const userColumns = `id, email, password_hash, created_at, admin_confirmed_at, session_epoch, suspended_at, email_verified_at`

// scanUser reads userColumns, then extra, into a User.
func scanUser(row rowScanner, extra ...any) (User, error) {
	var u User
	var created int64
	var confirmed, suspended, verified sql.NullInt64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.PasswordHash, &created, &confirmed, &u.SessionEpoch, &suspended, &verified},
		extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	u.CreatedAt, u.AdminConfirmedAt, u.SuspendedAt = fromMS(created), fromNullMS(confirmed), fromNullMS(suspended)
	u.EmailVerifiedAt = fromNullMS(verified)
	return u, err
}
