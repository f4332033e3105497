package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// EmailVerificationTTL is how long an address verification link works.
const EmailVerificationTTL = 48 * time.Hour

// VerificationsPerHour is how many verification links an account can be
// sent in an hour, the one sign-up sends included.
const VerificationsPerHour = 3

// MailVerifyEmail is the kind of the message that carries a verification
// link; its data is {"Path": the link's path}.
const MailVerifyEmail = "verify_email"

// Why no verification link is sent (ResendVerification).
var (
	ErrAlreadyVerified      = errors.New("email address already verified")
	ErrTooManyVerifications = errors.New("too many verification links sent in the last hour")
)

// SignUp adds a user, as CreateUser does, and in the same transaction makes
// a verification token and queues the message that carries its link.
// ErrEmailTaken means another account has the email.
func (s *Store) SignUp(ctx context.Context, email, passwordHash string, now time.Time) (User, error) {
	u := User{Email: email, PasswordHash: passwordHash, CreatedAt: fromMS(ms(now))}
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (email) DO NOTHING
			RETURNING id`, email, passwordHash, ms(now)).Scan(&u.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrEmailTaken
		}
		if err != nil {
			return err
		}
		return s.queueVerification(ctx, tx, u.ID, email, now)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// ResendVerification sends the user a new verification link, unless the
// address is verified already (ErrAlreadyVerified) or VerificationsPerHour
// links went out in the hour before now (ErrTooManyVerifications).
func (s *Store) ResendVerification(ctx context.Context, userID int64, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		// The lock makes two requests at once count each other's tokens.
		u, err := s.lockUser(ctx, tx.Tx, userID)
		if err != nil {
			return err
		}
		if !u.EmailVerifiedAt.IsZero() {
			return ErrAlreadyVerified
		}
		var recent int
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM email_verifications WHERE user_id = $1 AND created_at > $2`,
			userID, ms(now.Add(-time.Hour))).Scan(&recent); err != nil {
			return err
		}
		if recent >= VerificationsPerHour {
			return ErrTooManyVerifications
		}
		return s.queueVerification(ctx, tx, userID, u.Email, now)
	})
}

// queueVerification makes a verification token for the user, valid for
// EmailVerificationTTL, and queues the message that carries its link to
// the address. Only the token's hash is stored.
func (s *Store) queueVerification(ctx context.Context, tx *writeTx, userID int64, email string, now time.Time) error {
	token, hash := newToken()
	var id int64
	if err := tx.QueryRowContext(ctx, `
		INSERT INTO email_verifications (user_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)
		RETURNING id`, userID, hash, ms(now.Add(EmailVerificationTTL)), ms(now)).Scan(&id); err != nil {
		return err
	}
	_, err := s.queueMail(ctx, tx, Mail{
		Key:  "verify:" + strconv.FormatInt(id, 10),
		To:   email,
		Kind: MailVerifyEmail,
		Data: map[string]any{"Path": "/account/verify/" + token},
	}, now)
	return err
}

// VerifyEmail uses a verification token: it marks the account's address
// verified (keeping the first time) and returns the account. It fails,
// changing nothing, with ErrNotFound, ErrTokenUsed or ErrTokenExpired when
// the token does not work at now.
func (s *Store) VerifyEmail(ctx context.Context, token string, now time.Time) (User, error) {
	defer s.users.changed()
	var u User
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		// The one UPDATE makes the token single-use however many use it
		// at the same time.
		var userID int64
		err := tx.QueryRowContext(ctx, `
			UPDATE email_verifications SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
			RETURNING user_id`, ms(now), tokenHash(token)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return verificationRefusal(ctx, tx, token, now)
		}
		if err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `
			UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2
			RETURNING `+userColumns, ms(now), userID))
		return err
	})
	return u, err
}

// verificationRefusal says why a verification token does not work at now.
func verificationRefusal(ctx context.Context, tx *writeTx, token string, now time.Time) error {
	var expires int64
	var used sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT expires_at, used_at FROM email_verifications WHERE token_hash = $1`,
		tokenHash(token)).Scan(&expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case !now.Before(fromMS(expires)):
		return ErrTokenExpired
	}
	return ErrTokenUsed
}
