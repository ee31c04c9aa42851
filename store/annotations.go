package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/renkei/renkei"
)

// receiver is a related service that received a payment and would
// receive an edit of its memo, with how it got the payment.
type receiver struct {
	rs     *renkei.RelatedService
	source string
}

// receivers lists the services an annotation of the payment goes to: the
// enabled ones that received its payment.completed (by a tap or a link),
// that the user has not unlinked since, and that ask for a memo or a
// category at all. A service that asks for neither has no use for one.
func (s *Store) receivers(ctx context.Context, q querier, p *renkei.Payment) ([]receiver, error) {
	svcs, err := s.services(ctx, q, `SELECT `+rServiceCols+` FROM related_services r
		WHERE r.enabled = 1 AND r.id IN (SELECT d.service_id FROM deliveries d WHERE d.payment_id = ? AND d.`+sentPayment+`)
		AND NOT EXISTS (SELECT 1 FROM links l WHERE l.user_id = ? AND l.service_id = r.id AND l.status = 'revoked'
			AND NOT EXISTS (SELECT 1 FROM links a WHERE a.user_id = l.user_id AND a.service_id = l.service_id AND a.status = 'active'))
		ORDER BY r.id`, p.ID, p.UserID)
	if err != nil {
		return nil, err
	}
	var out []receiver
	for _, rs := range svcs {
		if !rs.Input.Memo && len(rs.Input.Categories) == 0 {
			continue
		}
		var source string
		if err := q.queryRow(ctx, `SELECT source FROM deliveries WHERE payment_id = ? AND service_id = ? AND `+sentPayment+`
			ORDER BY id LIMIT 1`, p.ID, rs.ID).Scan(&source); err != nil {
			return nil, fmt.Errorf("read how %s received %s: %w", rs.ID, p.ID, err)
		}
		out = append(out, receiver{rs: rs, source: source})
	}
	return out, nil
}

// checkAnnotation holds an edit to what the receiving services ask for:
// a memo within the limit of each that takes one, a category from the
// list of each that has one, and neither where no service takes it.
func checkAnnotation(rcv []receiver, in renkei.AnnotateInput) error {
	memoTaken, catTaken := false, false
	for _, r := range rcv {
		rs := r.rs
		if rs.Input.Memo {
			memoTaken = true
			if n := len([]rune(in.Memo)); n > rs.Input.MemoMaxLen {
				return renkei.Invalid("body.memo", "The memo has %d characters; %s takes at most %d.", n, rs.Name, rs.Input.MemoMaxLen).
					With(renkei.ReasonMemoTooLong, "service", rs.Name, "length", strconv.Itoa(n), "max", strconv.Itoa(rs.Input.MemoMaxLen))
			}
		}
		if len(rs.Input.Categories) > 0 {
			catTaken = true
			if in.Category != "" && !slices.Contains(rs.Input.Categories, in.Category) {
				return renkei.Invalid("body.category", "%q is not one of %s's categories.", in.Category, rs.Name)
			}
		}
	}
	if in.Memo != "" && !memoTaken {
		return renkei.Invalid("body.memo", "None of the apps that received this payment takes a memo.")
	}
	if in.Category != "" && !catTaken {
		return renkei.Invalid("body.category", "None of the apps that received this payment takes a category.")
	}
	return nil
}

// Annotate records the payer's new memo and category for a payment and,
// in the same transaction, queues payment.annotated with the payment's id
// to every service that received the payment and is still consented
// (see receivers). Each service gets only the fields it asks for. Only the
// payer may, and only for a payment some service received; under an
// Idempotency-Key a retry answers the first result and sends nothing more.
func (s *Store) Annotate(ctx context.Context, userID, paymentID string, in renkei.AnnotateInput) (*renkei.Annotation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return write(ctx, s, func(t tx) (*renkei.Annotation, error) {
		p, err := s.userPayment(ctx, t, userID, paymentID)
		if err != nil {
			return nil, err
		}
		rcv, err := s.receivers(ctx, t, p)
		if err != nil {
			return nil, err
		}
		if len(rcv) == 0 {
			return nil, &renkei.Error{Code: renkei.ECONFLICT, Reason: "not_received",
				Message: "No app that takes a memo has received this payment, so there is nothing to update. Send the payment to an app first."}
		}
		if err := checkAnnotation(rcv, in); err != nil {
			return nil, err
		}
		now := s.now()
		a := &renkei.Annotation{ID: s.ids.New(renkei.PrefixAnnotation), PaymentID: p.ID, Memo: in.Memo, Category: in.Category,
			DeliveryIDs: []string{}, CreatedAt: now}
		for _, r := range rcv {
			mi := &MessageInput{}
			if r.rs.Input.Memo {
				mi.Memo = in.Memo
			}
			if len(r.rs.Input.Categories) > 0 {
				mi.Category = in.Category
			}
			d, err := s.enqueue(ctx, t, r.rs, p, renkei.EventPaymentAnnotated, r.source, extra{input: mi})
			if err != nil {
				return nil, err
			}
			a.DeliveryIDs = append(a.DeliveryIDs, d.ID)
		}
		if _, err := t.exec(ctx, `INSERT INTO annotations (id, payment_id, user_id, memo, category, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			a.ID, p.ID, userID, a.Memo, a.Category, micros(now)); err != nil {
			return nil, fmt.Errorf("store annotation: %w", err)
		}
		if err := s.event(ctx, t, renkei.EventPaymentAnnotated, p.ID, p.UserID, p.Merchant.ID, a); err != nil {
			return nil, err
		}
		return a, nil
	})
}

// PaymentNote returns a payment's memo and category as they stand and the
// services an edit would go to. Another user's payment is not found.
func (s *Store) PaymentNote(ctx context.Context, userID, paymentID string) (*renkei.PaymentNote, error) {
	p, err := s.userPayment(ctx, s.eng, userID, paymentID)
	if err != nil {
		return nil, err
	}
	n := &renkei.PaymentNote{PaymentID: p.ID, Services: []*renkei.ServiceCard{}}
	err = s.eng.queryRow(ctx, `SELECT memo, category FROM annotations WHERE payment_id = ? ORDER BY id DESC LIMIT 1`, p.ID).
		Scan(&n.Memo, &n.Category)
	if isNoRows(err) {
		// No edit yet: what was typed on the completion screen.
		err = s.eng.queryRow(ctx, `SELECT memo, category FROM selections WHERE payment_id = ? AND (memo <> '' OR category <> '')
			ORDER BY id LIMIT 1`, p.ID).Scan(&n.Memo, &n.Category)
	}
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("read memo of %s: %w", p.ID, err)
	}
	rcv, err := s.receivers(ctx, s.eng, p)
	if err != nil {
		return nil, err
	}
	for _, r := range rcv {
		n.Services = append(n.Services, &renkei.ServiceCard{ID: r.rs.ID, Name: r.rs.Name, IconURL: r.rs.IconURL,
			AppURL: r.rs.AppURL, Input: r.rs.Input})
	}
	return n, nil
}

// SelectionStates says where the message of each of the user's taps on a
// payment stands, read from its delivery: the completion card's truth
// after the tap.
func (s *Store) SelectionStates(ctx context.Context, userID, paymentID string) ([]*renkei.SelectionState, error) {
	if _, err := s.userPayment(ctx, s.eng, userID, paymentID); err != nil {
		return nil, err
	}
	r, err := s.eng.query(ctx, `SELECT se.id, se.service_id, se.delivery_id, se.outcome,
			COALESCE(d.status, ''), COALESCE(d.attempts, 0), COALESCE(d.delivered_at, 0)
		FROM selections se LEFT JOIN deliveries d ON d.id = se.delivery_id
		WHERE se.payment_id = ? AND se.user_id = ? ORDER BY se.id`, paymentID, userID)
	if err != nil {
		return nil, fmt.Errorf("read selections of %s: %w", paymentID, err)
	}
	defer r.Close()
	out := []*renkei.SelectionState{}
	for r.Next() {
		var (
			st               renkei.SelectionState
			outcome, dstatus string
			delivered        int64
		)
		if err := r.Scan(&st.SelectionID, &st.ServiceID, &st.DeliveryID, &outcome, &dstatus, &st.Attempts, &delivered); err != nil {
			return nil, err
		}
		st.DeliveredAt = optTime(delivered)
		switch {
		case dstatus == renkei.DeliveryQueued && st.Attempts == 0:
			st.Status = renkei.SelectionQueued
		case dstatus == renkei.DeliveryQueued:
			st.Status = renkei.SelectionRetrying
		case dstatus == renkei.DeliveryDelivered:
			st.Status = renkei.SelectionDelivered
		case dstatus == renkei.DeliveryFailed:
			st.Status = renkei.SelectionFailed
		case dstatus == renkei.DeliveryCanceled:
			st.Status = renkei.SelectionCanceled
		default:
			st.Status = renkei.SelectionQueued
		}
		st.Final = st.Status != renkei.SelectionQueued && st.Status != renkei.SelectionRetrying
		out = append(out, &st)
	}
	return out, r.Err()
}
