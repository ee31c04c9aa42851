package kakeibo

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Entry is one line of the account book: a payment, or the reversal of a
// refund (RefundID set, Amount negative). It is the JSON of GET
// /api/entries.
type Entry struct {
	// PaymentID is Renkei's payment id; for a reversal, the refunded
	// payment's.
	PaymentID string `json:"payment_id"`
	// RefundID is set on reversals only.
	RefundID string `json:"refund_id,omitempty"`
	// User is the payer's pseudonym for this service.
	User string `json:"user"`
	// Amount is in minor units of Currency, negative for a reversal; null
	// if the service may not see amounts.
	Amount   *int64 `json:"amount"`
	Currency string `json:"currency"`
	// Memo and Category are what the user typed on the completion screen;
	// empty for entries booked from the statement.
	Memo     string `json:"memo"`
	Category string `json:"category"`
	// Merchant is the merchant's name; MerchantCategory its category
	// (e.g. "restaurants").
	Merchant         string `json:"merchant"`
	MerchantCategory string `json:"merchant_category,omitempty"`
	// Source is how the entry was first booked: SourceRealtime or
	// SourceStatement.
	Source string `json:"source"`
	// CompletedAt is when the payment completed (for a reversal, when
	// the refund was made), if the message says.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// BookedAt is the time the entry counts at in the month view:
	// CompletedAt, else ReceivedAt.
	BookedAt time.Time `json:"booked_at"`
	// ReceivedAt is when the entry's first message arrived.
	ReceivedAt time.Time `json:"received_at"`
	// RealtimeAt is when the real-time message arrived, if it did.
	RealtimeAt *time.Time `json:"realtime_at,omitempty"`
	// StatementAt is when the statement line arrived, if it did.
	StatementAt *time.Time `json:"statement_at,omitempty"`
	// ConfirmedByStatement is true once both the real-time message and
	// the statement line of the payment arrived: the payment is counted
	// once, with the memo of the real-time message.
	ConfirmedByStatement bool `json:"confirmed_by_statement"`
	// StatementID names the statement that listed the payment.
	StatementID string `json:"statement_id,omitempty"`
	// ConfirmedAt is when the second of the two arrived.
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

// Total is the sum of one category's entries of a month in one currency,
// reversals included.
type Total struct {
	// Category is the user's category; "" for entries without one.
	Category string `json:"category"`
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
	// Count is the number of entries summed, reversals included.
	Count int `json:"count"`
}

// EntryList is the answer of GET /api/entries: the entries of one payment
// (?payment_id=), or of one month (?month=, with its Totals), newest
// first.
type EntryList struct {
	// Month is the month asked for ("2026-11"); empty for ?payment_id=.
	Month string `json:"month,omitempty"`
	// User is the ?user= filter, if any.
	User    string  `json:"user,omitempty"`
	Entries []Entry `json:"entries"`
	// Totals per category and currency, largest spending first; only
	// for a month.
	Totals []Total `json:"totals,omitempty"`
}

const entryCols = `payment_id, refund_id, user, amount, currency, memo, category, merchant, merchant_category,
	source, completed_at, booked_at, received_at, realtime_at, statement_at, statement_id, confirmed_at`

func scanEntries(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var amount, completed, realtime, stated, confirmed sql.NullInt64
		var booked, received int64
		if err := rows.Scan(&e.PaymentID, &e.RefundID, &e.User, &amount, &e.Currency, &e.Memo, &e.Category,
			&e.Merchant, &e.MerchantCategory, &e.Source, &completed, &booked, &received, &realtime, &stated,
			&e.StatementID, &confirmed); err != nil {
			return nil, err
		}
		if amount.Valid {
			a := amount.Int64
			e.Amount = &a
		}
		e.CompletedAt = fromMicros(completed)
		e.BookedAt = time.UnixMicro(booked).UTC()
		e.ReceivedAt = time.UnixMicro(received).UTC()
		e.RealtimeAt = fromMicros(realtime)
		e.StatementAt = fromMicros(stated)
		e.ConfirmedAt = fromMicros(confirmed)
		e.ConfirmedByStatement = e.RealtimeAt != nil && e.StatementAt != nil
		out = append(out, e)
	}
	return out, rows.Err()
}

// paymentEntries returns a payment's entry and its reversals.
func (s *Server) paymentEntries(ctx context.Context, paymentID string) ([]Entry, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+entryCols+` FROM entries WHERE payment_id = ?
		ORDER BY refund_id <> '', booked_at, id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("entries of payment %s: %w", paymentID, err)
	}
	return scanEntries(rows)
}

// monthEntries returns the entries booked in month (its first instant in
// Japan time), newest first, of one user if user is not empty.
func (s *Server) monthEntries(ctx context.Context, month time.Time, user string) ([]Entry, error) {
	q := `SELECT ` + entryCols + ` FROM entries WHERE booked_at >= ? AND booked_at < ?`
	args := []any{micros(month), micros(month.AddDate(0, 1, 0))}
	if user != "" {
		q += ` AND user = ?`
		args = append(args, user)
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY booked_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("entries of %s: %w", month.Format("2006-01"), err)
	}
	return scanEntries(rows)
}

// totals sums entries per category and currency, largest first.
func totals(entries []Entry) []Total {
	type key struct{ category, currency string }
	sums := map[key]*Total{}
	for _, e := range entries {
		if e.Amount == nil {
			continue
		}
		k := key{e.Category, e.Currency}
		t := sums[k]
		if t == nil {
			t = &Total{Category: e.Category, Currency: e.Currency}
			sums[k] = t
		}
		t.Amount += *e.Amount
		t.Count++
	}
	out := make([]Total, 0, len(sums))
	for _, t := range sums {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(b.Amount, a.Amount), cmp.Compare(a.Category, b.Category))
	})
	return out
}

// parseMonth reads "2026-11" as the first instant of that month in the
// zone the pages show; empty means the current month.
func parseMonth(v string, now time.Time, zone *time.Location) (time.Time, error) {
	if v == "" {
		n := now.In(zone)
		return time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, zone), nil
	}
	m, err := time.ParseInLocation("2006-01", v, zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %q is not a month like 2026-11", v)
	}
	return m, nil
}
