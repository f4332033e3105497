package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ModerationAction is what an operator did to an event or an account.
type ModerationAction string

// The actions, as moderation_actions stores them.
const (
	ActionEdit      ModerationAction = "edit"
	ActionHide      ModerationAction = "hide"
	ActionShow      ModerationAction = "show"
	ActionMerge     ModerationAction = "merge"
	ActionSuspend   ModerationAction = "suspend"
	ActionReinstate ModerationAction = "reinstate"
	// An order refunded, and a reported problem decided either way.
	ActionRefund         ModerationAction = "refund"
	ActionProblemRefund  ModerationAction = "problem_refund"
	ActionProblemRelease ModerationAction = "problem_release"
)

// ModerationSubject is what an action was done to.
type ModerationSubject string

// The subjects, as moderation_actions stores them.
const (
	SubjectEvent ModerationSubject = "event"
	SubjectUser  ModerationSubject = "user"
	SubjectOrder ModerationSubject = "order"
)

// Refusals of moderation.
var (
	ErrMergeIntoItself = errors.New("an event cannot be merged into itself")
	// ErrMerged means the event was merged into another already: it is
	// the other that may be changed.
	ErrMerged       = errors.New("the event was merged into another")
	ErrTargetMerged = errors.New("the target event was merged into another")
	ErrTargetHidden = errors.New("the target event is hidden")
	ErrSuspendSelf  = errors.New("operators cannot suspend their own account")
	// ErrOperator means the account is one the operator confirmed on the
	// server as theirs (ConfirmAdmin): it is suspended there, not from the
	// console.
	ErrOperator = errors.New("the account is a confirmed operator's")
)

// ModerationEntry is one action of the moderation log.
type ModerationEntry struct {
	ID         int64
	ActorID    int64
	ActorEmail string
	Action     ModerationAction
	Subject    ModerationSubject
	SubjectID  int64
	// SubjectName is the event's name or the account's email as they are
	// now; Detail keeps what they were when it matters (an edit).
	SubjectName string
	Detail      string
	CreatedAt   time.Time
}

// recordAction appends an action to the moderation log, in the transaction
// of the action itself.
func recordAction(ctx context.Context, tx *sql.Tx, actorID int64, action ModerationAction,
	subject ModerationSubject, subjectID int64, detail string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO moderation_actions (actor_id, action, subject, subject_id, detail, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, actorID, action, subject, subjectID, detail, ms(now))
	if err != nil {
		return fmt.Errorf("record %s of %s %d: %w", action, subject, subjectID, err)
	}
	return nil
}

// lockEvent reads an event in a write transaction; on PostgreSQL it locks the
// event's row until the transaction ends, so that operators' changes to it
// take turns, and a listing being added to it (whose foreign key check takes
// a share of the lock) commits before a merge moves the event's listings.
func (s *Store) lockEvent(ctx context.Context, tx *sql.Tx, id int64) (Event, error) {
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	return scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`+lock, id))
}

// UpdateEvent changes an event's name, venue, city, start and time zone, and
// records what changed; an edit that changes nothing records nothing. A new
// start gets its own close_sales job (the job for the old start finds the
// start moved and waits, or finds it past and only tells the open pages).
// A start in the past closes sales at once. A merged event is ErrMerged.
func (s *Store) UpdateEvent(ctx context.Context, actorID, eventID int64, e NewEvent, now time.Time) (Event, error) {
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		old, err := s.lockEvent(ctx, tx.Tx, eventID)
		switch {
		case err != nil:
			return err
		case old.MergedInto != 0:
			return ErrMerged
		}
		changes := eventChanges(old, e)
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE events SET name = $1, venue = $2, city = $3, starts_at = $4, time_zone = $5, updated_at = $6
			WHERE id = $7`, e.Name, e.Venue, e.City, nullMS(e.StartsAt), e.TimeZone, ms(now), eventID); err != nil {
			return err
		}
		if nullMS(old.StartsAt) != nullMS(e.StartsAt) {
			scheduleSalesClose(tx, eventID, e.StartsAt)
			if err := s.rescheduleReleases(ctx, tx, eventID, e.StartsAt); err != nil {
				return err
			}
		}
		return recordAction(ctx, tx.Tx, actorID, ActionEdit, SubjectEvent, eventID, strings.Join(changes, "; "), now)
	})
	if err != nil {
		return Event{}, err
	}
	return scanEvent(s.db.Write.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, eventID))
}

// eventChanges describes what an edit changes of an event, for the log.
func eventChanges(old Event, e NewEvent) []string {
	var changes []string
	change := func(field, from, to string) {
		if from != to {
			changes = append(changes, field+" “"+from+"” → “"+to+"”")
		}
	}
	change("name", old.Name, e.Name)
	change("venue", old.Venue, e.Venue)
	change("city", old.City, e.City)
	if nullMS(old.StartsAt) != nullMS(e.StartsAt) || old.TimeZone != e.TimeZone {
		changes = append(changes, "start “"+describeStart(old.StartsAt, old.TimeZone)+"” → “"+
			describeStart(e.StartsAt, e.TimeZone)+"”")
	}
	return changes
}

// describeStart tells an event's start as its local time and zone.
func describeStart(t time.Time, zone string) string {
	if t.IsZero() {
		return "to be announced, " + zone
	}
	return t.In(Event{TimeZone: zone}.Location()).Format("2006-01-02 15:04") + " " + zone
}

// HideEvent takes an event off the home page and search, and its listings
// off sale, until ShowEvent. Hiding a hidden event changes nothing; a merged
// event is ErrMerged.
func (s *Store) HideEvent(ctx context.Context, actorID, eventID int64, now time.Time) error {
	return s.setHidden(ctx, actorID, eventID, true, now)
}

// ShowEvent undoes HideEvent. Showing an event that is not hidden changes
// nothing; a merged event is ErrMerged.
func (s *Store) ShowEvent(ctx context.Context, actorID, eventID int64, now time.Time) error {
	return s.setHidden(ctx, actorID, eventID, false, now)
}

func (s *Store) setHidden(ctx context.Context, actorID, eventID int64, hide bool, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		e, err := s.lockEvent(ctx, tx.Tx, eventID)
		switch {
		case err != nil:
			return err
		case e.MergedInto != 0:
			return ErrMerged
		case !e.HiddenAt.IsZero() == hide:
			return nil // already so
		}
		hiddenAt, action := sql.NullInt64{}, ActionShow
		if hide {
			hiddenAt, action = nullMS(now), ActionHide
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET hidden_at = $1, updated_at = $2 WHERE id = $3`,
			hiddenAt, ms(now), eventID); err != nil {
			return err
		}
		return recordAction(ctx, tx.Tx, actorID, action, SubjectEvent, eventID, "", now)
	})
}

// MergeEvents moves every listing of a duplicate event, with its orders, into
// the event it duplicates, and marks the duplicate merged into it; the events
// merged into the duplicate before now point to the target too, so that a
// merged event always names a listed one. It returns how many listings moved.
// It refuses what mergeRefusal refuses; either event missing is ErrNotFound.
func (s *Store) MergeEvents(ctx context.Context, actorID, duplicateID, intoID int64, now time.Time) (int, error) {
	var moved int64
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		dup, into, err := s.lockPair(ctx, tx.Tx, duplicateID, intoID)
		if err != nil {
			return err
		}
		if err := mergeRefusal(dup, into, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE listings SET event_id = $1, updated_at = $2 WHERE event_id = $3`,
			intoID, ms(now), duplicateID)
		if err != nil {
			return fmt.Errorf("move listings: %w", err)
		}
		if moved, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE events SET merged_into = $1, updated_at = $2 WHERE id = $3 OR merged_into = $3`,
			intoID, ms(now), duplicateID); err != nil {
			return fmt.Errorf("merge event: %w", err)
		}
		// The moved sales are released after the event they now belong to.
		if err := s.rescheduleReleases(ctx, tx, intoID, into.StartsAt); err != nil {
			return err
		}
		detail := fmt.Sprintf("into event #%d “%s”; %d listings moved", intoID, into.Name, moved)
		return recordAction(ctx, tx.Tx, actorID, ActionMerge, SubjectEvent, duplicateID, detail, now)
	})
	return int(moved), err
}

// mergeRefusal says why dup may not be merged into into at now: an event
// into itself (ErrMergeIntoItself), an event merged already (ErrMerged), into
// an event that is merged (ErrTargetMerged), hidden (ErrTargetHidden) or has
// started (ErrEventStarted). It returns nil if it may.
func mergeRefusal(dup, into Event, now time.Time) error {
	switch {
	case dup.ID == into.ID:
		return ErrMergeIntoItself
	case dup.MergedInto != 0:
		return ErrMerged
	case into.MergedInto != 0:
		return ErrTargetMerged
	case !into.HiddenAt.IsZero():
		return ErrTargetHidden
	case into.Started(now):
		return ErrEventStarted
	}
	return nil
}

// MergeTarget finds the event a duplicate would be merged into, for the
// operator to confirm: the error MergeEvents would refuse the merge with at
// now, if any, or ErrNotFound if either event is missing.
func (s *Store) MergeTarget(ctx context.Context, duplicateID, intoID int64, now time.Time) (Event, error) {
	dup, err := s.Event(ctx, duplicateID)
	if err != nil {
		return Event{}, err
	}
	into, err := s.Event(ctx, intoID)
	if err != nil {
		return Event{}, err
	}
	if err := mergeRefusal(dup, into, now); err != nil {
		return Event{}, err
	}
	return into, nil
}

// lockPair locks two events, the lower id first, so that two merges of the
// same pair never wait for each other.
func (s *Store) lockPair(ctx context.Context, tx *sql.Tx, aID, bID int64) (a, b Event, err error) {
	first, second := &a, &b
	if bID < aID {
		first, second, aID, bID = &b, &a, bID, aID
	}
	if *first, err = s.lockEvent(ctx, tx, aID); err != nil {
		return a, b, err
	}
	*second, err = s.lockEvent(ctx, tx, bID)
	return a, b, err
}

// lockUser reads an account in a write transaction; on PostgreSQL it locks
// its row until the transaction ends.
func (s *Store) lockUser(ctx context.Context, tx *sql.Tx, id int64) (User, error) {
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+lock, id))
}

// CanBeSuspendedBy says why the operator actorID may not suspend the account:
// it is their own (ErrSuspendSelf) or another confirmed operator's
// (ErrOperator). It returns nil if they may.
func (u User) CanBeSuspendedBy(actorID int64) error {
	switch {
	case u.ID == actorID:
		return ErrSuspendSelf
	case !u.AdminConfirmedAt.IsZero():
		return ErrOperator
	}
	return nil
}

// SuspendUser suspends an account, for reason, in one transaction: its
// sessions end at once (a new session epoch), it cannot sign in (CanSignIn),
// its listings leave sale (listingOpen), the money of its sales released from
// now on waits (sellerPayable), and every hold it has as a buyer is
// released as CancelOrder would: the order cancelled, its tickets back on
// sale, and its checkout session, if any, expired by a job. It returns how
// many holds were released. Suspending a suspended account changes nothing.
// It refuses what CanBeSuspendedBy refuses.
func (s *Store) SuspendUser(ctx context.Context, actorID, userID int64, reason string, now time.Time) (int, error) {
	defer s.users.changed()
	var released int
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		released = 0
		u, err := s.lockUser(ctx, tx.Tx, userID)
		if err != nil {
			return err
		}
		if err := u.CanBeSuspendedBy(actorID); err != nil || !u.SuspendedAt.IsZero() {
			return err // nil: suspended already
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE users SET suspended_at = $1, session_epoch = session_epoch + 1 WHERE id = $2`, ms(now), userID); err != nil {
			return err
		}
		if released, err = releaseHolds(ctx, tx, userID, now); err != nil {
			return err
		}
		detail := reason
		if released > 0 {
			detail += fmt.Sprintf(" (%d holds released)", released)
		}
		return recordAction(ctx, tx.Tx, actorID, ActionSuspend, SubjectUser, userID, detail, now)
	})
	return released, err
}

// releaseHolds cancels a buyer's pending orders whose holds run at now, puts
// their tickets back on sale and has the checkout sessions they started
// expired, and returns how many there were.
func releaseHolds(ctx context.Context, tx *writeTx, buyerID int64, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `
		UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1
		WHERE buyer_id = $2 AND status = 'pending' AND expires_at > $1
		RETURNING id, checkout_session_id`, ms(now), buyerID)
	if err != nil {
		return 0, fmt.Errorf("cancel holds: %w", err)
	}
	type hold struct {
		orderID int64
		session bool
	}
	var holds []hold
	for rows.Next() {
		var h hold
		var session sql.NullString
		if err := rows.Scan(&h.orderID, &session); err != nil {
			rows.Close()
			return 0, err
		}
		h.session = session.Valid
		holds = append(holds, h)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	for _, h := range holds {
		if h.session {
			tx.insertJob(ExpireOrderArgs{OrderID: h.orderID}, nil)
		}
		if err := releaseClaim(ctx, tx.Tx, h.orderID); err != nil {
			return 0, err
		}
	}
	return len(holds), nil
}

// ReinstateUser lifts an account's suspension: it may sign in again, its
// listings are back on sale, as they were, and the money of its sales that
// waited meanwhile goes to it if its payout account can be paid. Reinstating an account that is
// not suspended changes nothing.
func (s *Store) ReinstateUser(ctx context.Context, actorID, userID int64, now time.Time) error {
	defer s.users.changed()
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		u, err := s.lockUser(ctx, tx.Tx, userID)
		switch {
		case err != nil:
			return err
		case u.SuspendedAt.IsZero():
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET suspended_at = NULL WHERE id = $1`, userID); err != nil {
			return err
		}
		if err := transferReleasable(ctx, tx, userID, now); err != nil {
			return err
		}
		return recordAction(ctx, tx.Tx, actorID, ActionReinstate, SubjectUser, userID, "", now)
	})
}

// ModerationLog lists the latest limit actions, newest first, with the
// operator's email and the name of what they acted on.
func (s *Store) ModerationLog(ctx context.Context, limit int) ([]ModerationEntry, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT m.id, m.actor_id, a.email, m.action, m.subject, m.subject_id, m.detail, m.created_at,
		       coalesce(CASE m.subject
		                WHEN 'event' THEN (SELECT e.name FROM events e WHERE e.id = m.subject_id)
		                WHEN 'order' THEN (SELECT e.name FROM orders o JOIN listings l ON l.id = o.listing_id
		                                   JOIN events e ON e.id = l.event_id WHERE o.id = m.subject_id)
		                ELSE (SELECT u.email FROM users u WHERE u.id = m.subject_id) END, '')
		FROM moderation_actions m JOIN users a ON a.id = m.actor_id
		ORDER BY m.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var log []ModerationEntry
	for rows.Next() {
		var m ModerationEntry
		var created int64
		if err := rows.Scan(&m.ID, &m.ActorID, &m.ActorEmail, &m.Action, &m.Subject, &m.SubjectID, &m.Detail,
			&created, &m.SubjectName); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMS(created)
		log = append(log, m)
	}
	return log, rows.Err()
}

// ModeratedEvent is an event as the operator's list shows it.
type ModeratedEvent struct {
	Event
	Listings       int    // listings under it, in any state
	MergedIntoName string // the name of the event it was merged into, if any
}

// EventsForModeration lists every event, hidden and merged ones included,
// newest first, whose name, venue or city contains every word of search
// (case-insensitively).
func (s *Store) EventsForModeration(ctx context.Context, search string, limit, offset int) ([]ModeratedEvent, error) {
	where, args := matchWords(search, "e.name", "e.venue", "e.city")
	args = append(args, limit, offset)
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT `+eventColumns+`, (SELECT count(*) FROM listings l WHERE l.event_id = e.id), coalesce(t.name, '')
		FROM events e LEFT JOIN events t ON t.id = e.merged_into
		WHERE `+where+`
		ORDER BY e.id DESC LIMIT `+param(len(args)-1)+` OFFSET `+param(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []ModeratedEvent
	for rows.Next() {
		var m ModeratedEvent
		if m.Event, err = scanEvent(rows, &m.Listings, &m.MergedIntoName); err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// ModeratedUser is an account as the operator's list shows it.
type ModeratedUser struct {
	User
	Listings int // listings they made, in any state
}

// UsersForModeration lists accounts, newest first, whose email contains every
// word of search (case-insensitively).
func (s *Store) UsersForModeration(ctx context.Context, search string, limit, offset int) ([]ModeratedUser, error) {
	where, args := matchWords(search, "users.email")
	args = append(args, limit, offset)
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT `+userColumns+`, (SELECT count(*) FROM listings l WHERE l.seller_id = users.id)
		FROM users WHERE `+where+`
		ORDER BY id DESC LIMIT `+param(len(args)-1)+` OFFSET `+param(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []ModeratedUser
	for rows.Next() {
		var m ModeratedUser
		if m.User, err = scanUser(rows, &m.Listings); err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// matchWords is a WHERE condition, with its arguments from $1 on, that every
// word of search is found in one of the columns, case-insensitively; no
// words match everything.
func matchWords(search string, columns ...string) (string, []any) {
	where := "TRUE"
	var args []any
	for _, word := range strings.Fields(strings.ToLower(search)) {
		args = append(args, "%"+likeEscaper.Replace(word)+"%")
		var alternatives []string
		for _, c := range columns {
			alternatives = append(alternatives, `lower(`+c+`) LIKE `+param(len(args))+` ESCAPE '\'`)
		}
		where += ` AND (` + strings.Join(alternatives, " OR ") + `)`
	}
	return where, args
}
