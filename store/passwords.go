package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// PasswordResetTTL is how long a password reset link works.
const PasswordResetTTL = time.Hour

// MailPasswordReset is the kind of the message that carries a reset link;
// its data is {"Link": the link}.
const MailPasswordReset = "password_reset"

// Why a password reset token does not work (ErrNotFound: no such token).
var (
	ErrTokenUsed    = errors.New("token already used")
	ErrTokenExpired = errors.New("token expired")
)

// newToken returns a random token for a link (32 bytes, base64url) and the
// hash the database keeps of it.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token)
}

// tokenHash is the SHA-256 of a token, in hex.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RequestPasswordReset makes a reset token for the account with the
// normalised email, valid for PasswordResetTTL, and queues the message that
// carries it, as the link link(token), in the same transaction. Only the
// token's hash is stored. ErrNotFound means no account has the email.
func (s *Store) RequestPasswordReset(ctx context.Context, email string, link func(token string) string, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		token, hash := newToken()
		var id int64
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO password_resets (user_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)
			RETURNING id`, userID, hash, ms(now.Add(PasswordResetTTL)), ms(now)).Scan(&id); err != nil {
			return err
		}
		_, err = s.queueMail(ctx, tx, Mail{
			Key:  "reset:" + strconv.FormatInt(id, 10),
			To:   email,
			Kind: MailPasswordReset,
			Data: map[string]any{"Link": link(token)},
		}, now)
		return err
	})
}

// CheckPasswordReset says whether a reset token works at now: nil, or
// ErrNotFound, ErrTokenUsed or ErrTokenExpired.
func (s *Store) CheckPasswordReset(ctx context.Context, token string, now time.Time) error {
	_, err := checkToken(ctx, s.reader(ctx).QueryRowContext, token, now)
	return err
}

// ResetPassword uses a reset token: it sets the account's password hash,
// ends every session of the account (EndSessions), and voids this token and
// every other the account has. It fails, changing nothing, with ErrNotFound,
// ErrTokenUsed or ErrTokenExpired when the token does not work at now.
func (s *Store) ResetPassword(ctx context.Context, token, passwordHash string, now time.Time) (User, error) {
	defer s.users.changed()
	var u User
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		userID, err := useToken(ctx, tx, token, now)
		if err != nil {
			return err
		}
		u, err = setPassword(ctx, tx, userID, passwordHash, now)
		return err
	})
	return u, err
}

// useToken marks a reset token used, if it works at now, and returns its
// account. The one UPDATE makes the token single-use however many use it at
// the same time.
func useToken(ctx context.Context, tx *writeTx, token string, now time.Time) (int64, error) {
	var userID int64
	err := tx.QueryRowContext(ctx, `
		UPDATE password_resets SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING user_id`, ms(now), tokenHash(token)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := checkToken(ctx, tx.QueryRowContext, token, now); err != nil {
			return 0, err
		}
		return 0, ErrTokenUsed // used by another in the meantime
	}
	return userID, err
}

// ChangePassword sets the user's password hash, ends every session of the
// account (EndSessions) and voids its reset tokens. It returns the user as
// now stored, with the new session epoch.
func (s *Store) ChangePassword(ctx context.Context, userID int64, passwordHash string, now time.Time) (User, error) {
	defer s.users.changed()
	var u User
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		u, err = setPassword(ctx, tx, userID, passwordHash, now)
		return err
	})
	return u, err
}

// checkToken finds the account a reset token works for at now, or says why
// it does not.
func checkToken(ctx context.Context, query func(context.Context, string, ...any) *sql.Row, token string, now time.Time) (int64, error) {
	var userID, expires int64
	var used sql.NullInt64
	err := query(ctx, `SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1`,
		tokenHash(token)).Scan(&userID, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, ErrNotFound
	case err != nil:
		return 0, err
	case used.Valid:
		return 0, ErrTokenUsed
	case !now.Before(fromMS(expires)):
		return 0, ErrTokenExpired
	}
	return userID, nil
}

// setPassword sets a user's password hash, moves the account to a new
// session epoch and voids its unused reset tokens.
func setPassword(ctx context.Context, tx *writeTx, userID int64, passwordHash string, now time.Time) (User, error) {
	if _, err := tx.ExecContext(ctx,
		`UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, ms(now), userID); err != nil {
		return User{}, err
	}
	return scanUser(tx.QueryRowContext(ctx, `
		UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE id = $2
		RETURNING `+userColumns, passwordHash, userID))
}
