package store

import (
	"context"
	"errors"
	"time"
)

// QueueMail queues m in a transaction of its own, as a cause would.
func (s *Store) QueueMail(ctx context.Context, m Mail, now time.Time) (bool, error) {
	var queued bool
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		queued, err = s.queueMail(ctx, tx, m, now)
		return err
	})
	return queued, err
}

// ErrCauseFailed is what QueueMailThenFail's transaction fails with.
var ErrCauseFailed = errors.New("the cause failed after queueing its mail")

// QueueMailThenFail queues m in a transaction that then fails, as a cause
// that is rolled back.
func (s *Store) QueueMailThenFail(ctx context.Context, m Mail, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		if _, err := s.queueMail(ctx, tx, m, now); err != nil {
			return err
		}
		return ErrCauseFailed
	})
}
