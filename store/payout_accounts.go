package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// PayoutAccount is where a seller is paid: a Stripe Connect account, or the
// built-in stand-in's.
type PayoutAccount struct {
	UserID         int64
	AccountID      string
	PayoutsEnabled bool
	// Details is what the seller sees of the account, such as "bank
	// account ending 6789"; empty until known.
	Details   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PayoutAccount returns a seller's payout account, or ErrNotFound if they
// have not started onboarding.
func (s *Store) PayoutAccount(ctx context.Context, userID int64) (PayoutAccount, error) {
	return payoutAccount(ctx, s.reader(ctx), userID)
}

func payoutAccount(ctx context.Context, q querier, userID int64) (PayoutAccount, error) {
	a := PayoutAccount{UserID: userID}
	var created, updated int64
	err := q.QueryRowContext(ctx, `
		SELECT account_id, payouts_enabled, details, created_at, updated_at FROM payout_accounts WHERE user_id = $1`, userID).
		Scan(&a.AccountID, &a.PayoutsEnabled, &a.Details, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	return a, err
}

// CreatePayoutAccount records the payout account made for a seller. A seller
// has one account: if one is recorded already, that one is returned and
// accountID is not recorded.
func (s *Store) CreatePayoutAccount(ctx context.Context, userID int64, accountID string, now time.Time) (PayoutAccount, error) {
	defer s.wrote()
	if _, err := s.db.Write.ExecContext(ctx, `
		INSERT INTO payout_accounts (user_id, account_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (user_id) DO NOTHING`, userID, accountID, ms(now)); err != nil {
		return PayoutAccount{}, err
	}
	// Read where it was just written: the read pool may lag on SQLite.
	return payoutAccount(ctx, s.db.Write, userID)
}

// UpdatePayoutAccount records what the payment provider says of an account:
// whether payouts to it are enabled, and its details (left as they are when
// empty). Once payouts are enabled, the seller's sales waiting for the
// account (releasable) are transferred. ErrNotFound: no seller has the
// account.
func (s *Store) UpdatePayoutAccount(ctx context.Context, accountID string, enabled bool, details string, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `
			UPDATE payout_accounts SET payouts_enabled = $1, updated_at = $2,
				details = CASE WHEN $3 = '' THEN details ELSE $3 END
			WHERE account_id = $4 RETURNING user_id`, enabled, ms(now), details, accountID).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || !enabled {
			return err
		}
		return transferReleasable(ctx, tx, userID, now)
	})
}

// transferReleasable starts the transfer of a seller's sales that wait for
// the seller to be paid (releasable), if the seller can be paid now: their
// payout account is enabled and an operator has not suspended them.
func transferReleasable(ctx context.Context, tx *writeTx, sellerID int64, now time.Time) error {
	ids, err := queryIDs(ctx, tx.Tx, `
		UPDATE sales AS a SET state = 'transferring', updated_at = $1
		WHERE a.seller_id = $2 AND a.state = 'releasable' AND `+sellerPayable+` RETURNING id`, ms(now), sellerID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		tx.insertJob(TransferSaleArgs{SaleID: id}, nil)
	}
	return nil
}

// sellerPayable is true of a sale (a) whose seller can be paid: their payout
// account is enabled and they are not suspended. The money of a suspended
// seller waits (releasable) until an operator reinstates them or refunds
// its buyers.
const sellerPayable = `coalesce((SELECT p.payouts_enabled FROM payout_accounts p WHERE p.user_id = a.seller_id), FALSE)
	AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.seller_id AND u.suspended_at IS NOT NULL)`
