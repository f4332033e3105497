package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is a person with an account.
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// CreateUser adds a user. The email must already be normalised (trimmed and
// lower-cased); ErrEmailTaken means another account has it.
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
	return s.user(ctx, `WHERE email = $1`, email)
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.user(ctx, `WHERE id = $1`, id)
}

func (s *Store) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	var created int64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT id, email, password_hash, created_at FROM users `+where, arg).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	u.CreatedAt = fromMS(created)
	return u, err
}
