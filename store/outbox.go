package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Mail is a message to queue: to whom, of which kind (the templates that
// render it, see package mail), with which data, and the cause it is for.
type Mail struct {
	// Key names the cause, such as "reset:12" or "receipt:order:7": the
	// outbox keeps one message per key, however often the cause repeats.
	Key  string
	To   string
	Kind string
	Data map[string]any
}

// OutboxMail is a message in the outbox.
type OutboxMail struct {
	ID   int64
	Key  string
	To   string
	Kind string
	Data map[string]any
	// MessageID is the Message-ID header's value without its angle
	// brackets, the same on every attempt to send it.
	MessageID string
	CreatedAt time.Time
	SentAt    time.Time // zero until sent
	Attempts  int
}

// Sent reports whether the message has been sent.
func (m OutboxMail) Sent() bool { return !m.SentAt.IsZero() }

// WithMailHost names the host that Message-IDs end in: the app's own, from
// its BASE_URL. Without it they end in "localhost".
func WithMailHost(host string) Option {
	return func(s *Store) { s.mailHost = host }
}

// messageID is the Message-ID of the outbox's message id created at ms
// created: unique to this app, and fixed once the message is queued.
func (s *Store) messageID(id, created int64) string {
	host := s.mailHost
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("outbox-%d.%d@%s", id, created, host)
}

// queueMail puts m in the outbox with its send job, in tx, unless the outbox
// has a message for m.Key already: then it does nothing, and reports false.
func (s *Store) queueMail(ctx context.Context, tx *writeTx, m Mail, now time.Time) (bool, error) {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return false, fmt.Errorf("mail %s: %w", m.Key, err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO outbox (key, to_address, kind, data, message_id, created_at) VALUES ($1, $2, $3, $4, '', $5)
		ON CONFLICT (key) DO NOTHING
		RETURNING id`, m.Key, m.To, m.Kind, string(data), ms(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET message_id = $1 WHERE id = $2`,
		s.messageID(id, ms(now)), id); err != nil {
		return false, err
	}
	tx.insertJob(SendMailArgs{MailID: id}, nil)
	return true, nil
}

// MailToSend returns a message of the outbox for its send job, and counts
// the attempt. ErrNotFound means no such message.
func (s *Store) MailToSend(ctx context.Context, id int64) (OutboxMail, error) {
	var m OutboxMail
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		m, err = scanMail(tx.QueryRowContext(ctx, `
			UPDATE outbox SET attempts = attempts + 1 WHERE id = $1
			RETURNING `+mailColumns, id))
		return err
	})
	return m, err
}

// MarkMailSent records that the server took the message. The first time
// stays.
func (s *Store) MarkMailSent(ctx context.Context, id int64, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = COALESCE(sent_at, $1) WHERE id = $2`, ms(now), id)
		return err
	})
}

// RecentMail lists the outbox's latest messages, newest first.
func (s *Store) RecentMail(ctx context.Context, limit int) ([]OutboxMail, error) {
	rows, err := s.reader(ctx).QueryContext(ctx,
		`SELECT `+mailColumns+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var mail []OutboxMail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, err
		}
		mail = append(mail, m)
	}
	return mail, rows.Err()
}

const mailColumns = `id, key, to_address, kind, data, message_id, created_at, sent_at, attempts`

func scanMail(row rowScanner) (OutboxMail, error) {
	var m OutboxMail
	var data string
	var created int64
	var sent sql.NullInt64
	err := row.Scan(&m.ID, &m.Key, &m.To, &m.Kind, &data, &m.MessageID, &created, &sent, &m.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxMail{}, ErrNotFound
	}
	if err != nil {
		return OutboxMail{}, err
	}
	m.CreatedAt, m.SentAt = fromMS(created), fromNullMS(sent)
	if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
		return OutboxMail{}, fmt.Errorf("outbox %d data: %w", m.ID, err)
	}
	return m, nil
}
