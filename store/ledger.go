package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Sale is a ticket paid for, as the ledger keeps it.
type Sale struct {
	ID          int64
	OrderID     int64
	TicketID    int64
	PaymentID   int64
	SellerID    int64
	EventID     int64
	EventName   string
	BuyerEmail  string
	SellerEmail string
	Currency    string
	Gross       int64 // what the buyer paid for the ticket
	Fee         int64 // the platform's part of it
	Net         int64 // the seller's part: Gross - Fee
	ReleaseAt   time.Time
	State       SaleState

	ProblemNote       string
	ProblemReportedAt time.Time // zero: no problem reported
	ProblemDecision   string    // DecisionRefund, DecisionRelease, or empty while open
	ProblemDecidedAt  time.Time

	TransferID string
	// RefundReason is why its payment is being or was refunded (one of
	// the Refund… reasons); empty while it is not.
	RefundReason  string
	TransferredAt time.Time // zero until transferred
	ReversedAt    time.Time // zero unless the transfer was reversed
	RefundedAt    time.Time // zero until the buyer's refund went through
	CreatedAt     time.Time
}

// ProblemOpen reports whether the buyer reported a problem the operator has
// not decided yet.
func (a Sale) ProblemOpen() bool { return !a.ProblemReportedAt.IsZero() && a.ProblemDecidedAt.IsZero() }

const saleColumns = `a.id, a.order_id, a.ticket_id, a.payment_id, a.seller_id, e.id, e.name, b.email, su.email,
	a.currency, a.gross, a.fee, a.net, a.release_at, a.state,
	a.problem_note, a.problem_reported_at, coalesce(a.problem_decision, ''), a.problem_decided_at, coalesce(a.transfer_id, ''),
	CASE WHEN a.state IN ('reversing', 'reversed', 'refunded') OR a.refund_requested_at IS NOT NULL THEN p.refund_reason ELSE '' END,
	(SELECT le.created_at FROM ledger_entries le WHERE le.sale_id = a.id AND le.kind = 'transfer'),
	(SELECT le.created_at FROM ledger_entries le WHERE le.sale_id = a.id AND le.kind = 'reversal'),
	(SELECT le.created_at FROM ledger_entries le WHERE le.sale_id = a.id AND le.kind = 'refund'),
	a.created_at`

const saleFrom = ` FROM sales a JOIN orders o ON o.id = a.order_id JOIN payments p ON p.id = a.payment_id JOIN users b ON b.id = o.buyer_id
	JOIN users su ON su.id = a.seller_id JOIN tickets k ON k.id = a.ticket_id
	JOIN listings l ON l.id = k.listing_id JOIN events e ON e.id = l.event_id `

func (s *Store) sales(ctx context.Context, query string, args ...any) ([]Sale, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+saleColumns+saleFrom+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sales []Sale
	for rows.Next() {
		var a Sale
		var release, created int64
		var reported, decided, transferred, reversed, refunded sql.NullInt64
		if err := rows.Scan(&a.ID, &a.OrderID, &a.TicketID, &a.PaymentID, &a.SellerID, &a.EventID, &a.EventName,
			&a.BuyerEmail, &a.SellerEmail, &a.Currency, &a.Gross, &a.Fee, &a.Net, &release, &a.State,
			&a.ProblemNote, &reported, &a.ProblemDecision, &decided, &a.TransferID, &a.RefundReason,
			&transferred, &reversed, &refunded, &created); err != nil {
			return nil, err
		}
		a.ReleaseAt, a.CreatedAt = fromMS(release), fromMS(created)
		a.ProblemReportedAt, a.ProblemDecidedAt = fromNullMS(reported), fromNullMS(decided)
		a.TransferredAt, a.ReversedAt, a.RefundedAt = fromNullMS(transferred), fromNullMS(reversed), fromNullMS(refunded)
		sales = append(sales, a)
	}
	return sales, rows.Err()
}

// SellerSales lists a seller's sales, newest first.
func (s *Store) SellerSales(ctx context.Context, sellerID int64) ([]Sale, error) {
	return s.sales(ctx, `WHERE a.seller_id = $1 ORDER BY a.id DESC`, sellerID)
}

// OrderSales lists the sales of an order, one per ticket.
func (s *Store) OrderSales(ctx context.Context, orderID int64) ([]Sale, error) {
	return s.sales(ctx, `WHERE a.order_id = $1 ORDER BY a.id`, orderID)
}

// ProblemSales lists the sales whose buyer reported a problem, open ones
// first, then the latest decided, at most limit.
func (s *Store) ProblemSales(ctx context.Context, limit int) ([]Sale, error) {
	return s.sales(ctx, `WHERE a.problem_reported_at IS NOT NULL
		ORDER BY CASE WHEN a.problem_decided_at IS NULL THEN 0 ELSE 1 END, a.problem_reported_at DESC, a.id LIMIT $1`, limit)
}

// LedgerTotal is the money of the sales in one state and currency.
type LedgerTotal struct {
	Currency string
	State    SaleState
	Sales    int
	Gross    int64
	Fee      int64
	Net      int64
}

// LedgerBalance sums the ledger in one currency: the sales by state, and
// the payments that bought them. Every payment's amount is in exactly one
// state's gross, so the states' gross adds up to Paid.
type LedgerBalance struct {
	Currency string
	ByState  []LedgerTotal // every state, in SaleStates' order
	// The sums over the states.
	Sales           int
	Gross, Fee, Net int64
	Paid            int64 // the payments recorded that bought tickets
}

// Balanced reports whether the states add up to the payments.
func (b LedgerBalance) Balanced() bool { return b.Gross == b.Paid }

// LedgerBalances sums the ledger, one balance per currency.
func (s *Store) LedgerBalances(ctx context.Context) ([]LedgerBalance, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT currency, state, count(*), sum(gross), sum(fee), sum(net) FROM sales GROUP BY currency, state ORDER BY currency`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var balances []LedgerBalance
	index := map[string]int{}
	for rows.Next() {
		var t LedgerTotal
		if err := rows.Scan(&t.Currency, &t.State, &t.Sales, &t.Gross, &t.Fee, &t.Net); err != nil {
			return nil, err
		}
		i, ok := index[t.Currency]
		if !ok {
			i = len(balances)
			index[t.Currency] = i
			b := LedgerBalance{Currency: t.Currency}
			for _, state := range SaleStates {
				b.ByState = append(b.ByState, LedgerTotal{Currency: t.Currency, State: state})
			}
			balances = append(balances, b)
		}
		for j := range balances[i].ByState {
			if balances[i].ByState[j].State == t.State {
				balances[i].ByState[j] = t
			}
		}
		balances[i].Sales += t.Sales
		balances[i].Gross += t.Gross
		balances[i].Fee += t.Fee
		balances[i].Net += t.Net
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	paid, err := s.reader(ctx).QueryContext(ctx, `
		SELECT p.currency, sum(p.amount) FROM payments p
		WHERE EXISTS (SELECT 1 FROM sales a WHERE a.payment_id = p.id) GROUP BY p.currency`)
	if err != nil {
		return nil, err
	}
	defer paid.Close()
	for paid.Next() {
		var currency string
		var amount int64
		if err := paid.Scan(&currency, &amount); err != nil {
			return nil, err
		}
		if i, ok := index[currency]; ok {
			balances[i].Paid = amount
		}
	}
	return balances, paid.Err()
}

// LedgerDiscrepancy is a sale whose ledger does not add up, and why.
type LedgerDiscrepancy struct {
	SaleID  int64
	OrderID int64
	Problem string
}

// ledgerChecks are the conditions every sale meets, each with what is wrong
// when it does not. They read a sale (a) with its ledger entries: the
// amount of each kind, NULL when there is none.
var ledgerChecks = []struct{ broken, problem string }{
	{`sale_amount IS NULL OR sale_amount <> a.gross`, "the payment's entry is missing or differs from the gross"},
	{`a.gross <> a.fee + a.net`, "gross is not fee + net"},
	{`(transfer_amount IS NOT NULL AND transfer_amount <> a.net)
	  OR (a.state IN ('transferred', 'reversing', 'reversed') AND transfer_amount IS NULL)
	  OR (a.state IN ('held', 'releasable', 'transferring') AND transfer_amount IS NOT NULL)
	  OR (a.state = 'refunded' AND transfer_amount IS NOT NULL)`, "the transfer does not match the sale's state or net"},
	{`(reversal_amount IS NOT NULL AND (reversal_amount <> a.net OR a.state <> 'reversed'))
	  OR (a.state = 'reversed' AND reversal_amount IS NULL)`, "the reversal does not match the sale's state or net"},
	{`refund_amount IS NOT NULL AND (refund_amount <> a.gross OR a.state NOT IN ('refunded', 'reversed'))`,
		"the refund does not match the sale's state or gross"},
	{`a.order_id NOT IN (SELECT o.id FROM orders o JOIN payments p ON p.order_id = o.id AND p.id = a.payment_id)
	  OR (SELECT sum(x.gross) FROM sales x WHERE x.payment_id = a.payment_id) <> (SELECT p.amount FROM payments p WHERE p.id = a.payment_id)`,
		"the sales of its payment do not add up to the amount paid"},
	{`(SELECT coalesce(sum(le.amount), 0) FROM ledger_entries le JOIN sales x ON x.id = le.sale_id
	    WHERE x.payment_id = a.payment_id AND le.kind = 'refund') > (SELECT p.amount_refunded FROM payments p WHERE p.id = a.payment_id)`,
		"more is refunded in the ledger than the payment records"},
}

// LedgerDiscrepancies lists every sale whose ledger does not add up (there
// should be none), with the first check it fails, in one pass over the
// sales.
func (s *Store) LedgerDiscrepancies(ctx context.Context) ([]LedgerDiscrepancy, error) {
	var first strings.Builder
	problems := make([]any, len(ledgerChecks))
	for i, check := range ledgerChecks {
		fmt.Fprintf(&first, " WHEN %s THEN %s", check.broken, param(i+1))
		problems[i] = check.problem
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT id, order_id, problem FROM (
			SELECT a.id, a.order_id, CASE`+first.String()+` END AS problem FROM (
				SELECT x.*,
				  (SELECT le.amount FROM ledger_entries le WHERE le.sale_id = x.id AND le.kind = 'sale') AS sale_amount,
				  (SELECT le.amount FROM ledger_entries le WHERE le.sale_id = x.id AND le.kind = 'transfer') AS transfer_amount,
				  (SELECT le.amount FROM ledger_entries le WHERE le.sale_id = x.id AND le.kind = 'reversal') AS reversal_amount,
				  (SELECT le.amount FROM ledger_entries le WHERE le.sale_id = x.id AND le.kind = 'refund') AS refund_amount
				FROM sales x) a) checked
		WHERE problem IS NOT NULL ORDER BY id`, problems...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []LedgerDiscrepancy
	for rows.Next() {
		var d LedgerDiscrepancy
		if err := rows.Scan(&d.SaleID, &d.OrderID, &d.Problem); err != nil {
			return nil, err
		}
		found = append(found, d)
	}
	return found, rows.Err()
}
