package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"time"
)

// MailAlert is the kind of the message an alert sends when tickets it wants
// are on sale.
const MailAlert = "alert"

// AlertInterval is the least time between two messages of one alert.
const AlertInterval = time.Hour

// Alert asks for a message when tickets of an event go on sale at or under
// MaxPrice (0: any price).
type Alert struct {
	ID        int64
	UserID    int64
	Event     Event
	MaxPrice  int64
	CreatedAt time.Time
}

// SetAlert makes the person's alert for an event, or changes its highest
// price if they have one. An event that has started gives ErrEventStarted,
// one hidden, merged or unknown ErrNotFound.
func (s *Store) SetAlert(ctx context.Context, userID, eventID, maxPrice int64, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		if err := s.openEvent(ctx, tx.Tx, eventID, now); err != nil {
			return err
		}
		price := sql.NullInt64{Int64: maxPrice, Valid: maxPrice > 0}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO alerts (user_id, event_id, max_price, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, event_id) DO UPDATE SET max_price = excluded.max_price`,
			userID, eventID, price, ms(now))
		return err
	})
}

// Alerts lists the person's alerts of events still to come, soonest first
// (those of events to be announced last).
func (s *Store) Alerts(ctx context.Context, userID int64, now time.Time) ([]Alert, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT `+eventColumns+`, a.id, a.user_id, a.max_price, a.created_at
		FROM alerts a JOIN events e ON e.id = a.event_id
		WHERE a.user_id = $1 AND `+eventOpen("$2")+`
		ORDER BY e.starts_at IS NULL, e.starts_at, a.id`, userID, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var alerts []Alert
	for rows.Next() {
		var a Alert
		var price sql.NullInt64
		var created int64
		e, err := scanEvent(rows, &a.ID, &a.UserID, &price, &created)
		if err != nil {
			return nil, err
		}
		a.Event, a.MaxPrice, a.CreatedAt = e, price.Int64, fromMS(created)
		alerts = append(alerts, a)
	}
	return alerts, rows.Err()
}

// DeleteAlert deletes one of the person's alerts. Another's, or none, is
// ErrNotFound.
func (s *Store) DeleteAlert(ctx context.Context, id, userID int64) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		return deleteAlert(ctx, tx, `id = $1 AND user_id = $2`, id, userID)
	})
}

// AlertByToken finds the alert whose message carried an unsubscribe token.
// ErrNotFound means no such token, or the alert is gone.
func (s *Store) AlertByToken(ctx context.Context, token string) (Alert, error) {
	var a Alert
	var price sql.NullInt64
	var created int64
	e, err := scanEvent(s.reader(ctx).QueryRowContext(ctx, `
		SELECT `+eventColumns+`, a.id, a.user_id, a.max_price, a.created_at
		FROM alert_sends x JOIN alerts a ON a.id = x.alert_id JOIN events e ON e.id = a.event_id
		WHERE x.token_hash = $1`, tokenHash(token)), &a.ID, &a.UserID, &price, &created)
	if err != nil {
		return Alert{}, err
	}
	a.Event, a.MaxPrice, a.CreatedAt = e, price.Int64, fromMS(created)
	return a, nil
}

// Unsubscribe deletes the alert whose message carried the token.
// ErrNotFound means no such token, or the alert is gone already.
func (s *Store) Unsubscribe(ctx context.Context, token string) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		return deleteAlert(ctx, tx, `id = (SELECT alert_id FROM alert_sends WHERE token_hash = $1)`, tokenHash(token))
	})
}

// deleteAlert deletes the alert matching where, and its sends.
func deleteAlert(ctx context.Context, tx *writeTx, where string, args ...any) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM alerts WHERE `+where, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_sends WHERE alert_id = $1`, id); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM alerts WHERE id = $1`, id)
	return err
}

// queueAlertsForOrder queues the alerts for the listing of an order whose
// hold just ended, its tickets back on sale.
func (s *Store) queueAlertsForOrder(ctx context.Context, tx *writeTx, orderID int64, now time.Time) error {
	var listingID int64
	if err := tx.QueryRowContext(ctx, `SELECT listing_id FROM orders WHERE id = $1`, orderID).Scan(&listingID); err != nil {
		return err
	}
	return s.queueAlerts(ctx, tx, listingID, now)
}

// queueAlertsForListings queues the alerts for listings whose tickets just
// came back on sale. With no alert at all, as in most rushes, it costs one
// query.
func (s *Store) queueAlertsForListings(ctx context.Context, tx *writeTx, listings []int64, now time.Time) error {
	if len(listings) == 0 {
		return nil
	}
	var some bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alerts)`).Scan(&some); err != nil || !some {
		return err
	}
	slices.Sort(listings)
	for _, id := range slices.Compact(listings) {
		if err := s.queueAlerts(ctx, tx, id, now); err != nil {
			return err
		}
	}
	return nil
}

// queueAlerts queues, in tx, a message for each alert that the listing's
// tickets meet, if the listing has tickets on sale at now: an alert of its
// event whose highest price, if any, is at least the listing's price, that
// has had no message for this listing, and none in the last AlertInterval.
func (s *Store) queueAlerts(ctx context.Context, tx *writeTx, listingID int64, now time.Time) error {
	var e Event
	var starts sql.NullInt64
	var price int64
	var currency string
	err := tx.QueryRowContext(ctx, `
		SELECT e.name, e.venue, e.city, e.starts_at, e.time_zone, l.price, l.currency`+listingFrom+`
		WHERE l.id = $1 AND `+listingOpen+` AND `+eventOpen("$2")+`
		  AND EXISTS (SELECT 1 FROM tickets k WHERE k.listing_id = l.id AND `+unclaimed("k", "$2")+`)`,
		listingID, ms(now)).Scan(&e.Name, &e.Venue, &e.City, &starts, &e.TimeZone, &price, &currency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing on sale
	}
	if err != nil {
		return err
	}
	e.StartsAt = fromNullMS(starts)
	type due struct {
		id    int64
		email string
	}
	var alerts []due
	err = queryEach(ctx, tx.Tx, `
		SELECT a.id, u.email FROM alerts a JOIN listings l ON l.event_id = a.event_id JOIN users u ON u.id = a.user_id
		WHERE l.id = $1 AND (a.max_price IS NULL OR a.max_price >= l.price)
		  AND (a.last_sent_at IS NULL OR a.last_sent_at <= $2)
		  AND NOT EXISTS (SELECT 1 FROM alert_sends x WHERE x.alert_id = a.id AND x.listing_id = l.id)
		ORDER BY a.id`, func(row *sql.Rows) error {
		var d due
		err := row.Scan(&d.id, &d.email)
		alerts = append(alerts, d)
		return err
	}, listingID, ms(now.Add(-AlertInterval)))
	if err != nil {
		return err
	}
	for _, a := range alerts {
		token, sent, err := claimAlertSend(ctx, tx, a.id, listingID, now)
		if err != nil {
			return err
		}
		if !sent {
			continue
		}
		_, err = s.queueMail(ctx, tx, Mail{
			Key: "alert:" + strconv.FormatInt(a.id, 10) + ":listing:" + strconv.FormatInt(listingID, 10),
			To:  a.email, Kind: MailAlert,
			Data: map[string]any{
				"Event": e.Name, "When": eventWhen(e), "Where": eventWhere(e), "Price": formatAmount(price, currency),
				"Path": "/tickets/" + strconv.FormatInt(listingID, 10), "Unsubscribe": "/alerts/unsubscribe/" + token,
			},
		}, now)
		if err != nil {
			return err
		}
	}
	return nil
}

// claimAlertSend records the alert's message for the listing, with a new
// unsubscribe token, unless another transaction has sent one for the
// listing, or any in the last AlertInterval, since the alert was read.
func claimAlertSend(ctx context.Context, tx *writeTx, alertID, listingID int64, now time.Time) (token string, ok bool, err error) {
	res, err := tx.ExecContext(ctx, `
		UPDATE alerts SET last_sent_at = $1 WHERE id = $2 AND (last_sent_at IS NULL OR last_sent_at <= $3)`,
		ms(now), alertID, ms(now.Add(-AlertInterval)))
	if err != nil {
		return "", false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", false, err
	}
	token, hash := newToken()
	res, err = tx.ExecContext(ctx, `
		INSERT INTO alert_sends (alert_id, listing_id, token_hash, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (alert_id, listing_id) DO NOTHING`, alertID, listingID, hash, ms(now))
	if err != nil {
		return "", false, err
	}
	n, err := res.RowsAffected()
	return token, n == 1, err
}
