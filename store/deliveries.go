package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// MessageVersion is the version of the message bodies partners receive;
// bodies only grow new optional fields within a version.
const MessageVersion = "2026-11-25"

// Message is the body partners receive: Standard Webhooks' envelope with
// Renkei's data.
type Message struct {
	Type      string      `json:"type"`
	Version   string      `json:"version"`
	Timestamp time.Time   `json:"timestamp"`
	Data      MessageData `json:"data"`
}

// MessageData is the payment information as one service may see it:
// fields outside its scopes are left out, never nulled.
type MessageData struct {
	// PaymentID is in every message about a payment; link.revoked has
	// none.
	PaymentID   string           `json:"payment_id,omitempty"`
	LinkID      string           `json:"link_id,omitempty"`
	RefundID    string           `json:"refund_id,omitempty"`
	StatementID string           `json:"statement_id,omitempty"`
	Amount      *int64           `json:"amount,omitempty"`
	Currency    string           `json:"currency,omitempty"`
	CompletedAt *time.Time       `json:"completed_at,omitempty"`
	RefundedAt  *time.Time       `json:"refunded_at,omitempty"`
	RevokedAt   *time.Time       `json:"revoked_at,omitempty"`
	Merchant    *MessageMerchant `json:"merchant,omitempty"`
	Method      string           `json:"method,omitempty"`
	User        string           `json:"user"`
	Input       *MessageInput    `json:"input,omitempty"`
	Sequence    int64            `json:"sequence"`
	Source      string           `json:"source"`
}

// MessageMerchant is the merchant part of the payment information.
type MessageMerchant struct {
	Name         string `json:"name,omitempty"`
	CategoryCode string `json:"category_code,omitempty"`
	Category     string `json:"category,omitempty"`
}

// MessageInput is what the user typed on the completion screen.
type MessageInput struct {
	Memo     string `json:"memo,omitempty"`
	Category string `json:"category,omitempty"`
}

// enqueue writes one message to one service in the caller's transaction:
// the delivery exists if and only if its cause commits. The sequence
// number of the (user, service) stream is taken here, under the same
// transaction, so it has no gaps.
func (s *Store) enqueue(ctx context.Context, t tx, rs *renkei.RelatedService, p *renkei.Payment, typ, source string,
	x extra) (*renkei.Delivery, error) {
	pseudo, err := s.pseudonym(ctx, t, p.UserID, rs.ID)
	if err != nil {
		return nil, err
	}
	var seq int64
	if err := t.queryRow(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES (?, ?, 1)
		ON CONFLICT (user_id, service_id) DO UPDATE SET seq = streams.seq + 1 RETURNING seq`, p.UserID, rs.ID).Scan(&seq); err != nil {
		return nil, fmt.Errorf("next sequence: %w", err)
	}
	d, ins, err := s.message(rs, p, typ, source, x, pseudo, seq)
	if err != nil {
		return nil, err
	}
	if err := t.batch(ctx, ins); err != nil {
		return nil, fmt.Errorf("queue delivery: %w", err)
	}
	return d, s.outbox(ctx, t, d.ID)
}

// message builds the delivery of one message, numbered seq in its stream,
// and the statement that queues it.
func (s *Store) message(rs *renkei.RelatedService, p *renkei.Payment, typ, source string, x extra, pseudo string,
	seq int64) (*renkei.Delivery, stmt, error) {
	input, refund := x.input, x.refund
	now := s.now()
	msg := Message{Type: typ, Version: MessageVersion, Timestamp: now.Truncate(time.Second),
		Data: scoped(p, rs.Scopes, pseudo, seq, source)}
	if input != nil && (input.Memo != "" || input.Category != "") {
		msg.Data.Input = input
	}
	if typ == renkei.EventPaymentAnnotated {
		// An edit carries the payment's id and the input as it stands
		// now, even when emptied: the partner has the rest already.
		msg.Data = MessageData{PaymentID: p.ID, User: pseudo, Input: input, Sequence: seq, Source: source}
		if msg.Data.Input == nil {
			msg.Data.Input = &MessageInput{}
		}
	}
	msg.Data.StatementID = x.statementID
	if refund != nil {
		msg.Data.RefundID = refund.ID
		if msg.Data.Amount != nil {
			a := refund.Amount
			msg.Data.Amount = &a
		}
		if msg.Data.CompletedAt != nil {
			at := refund.CreatedAt
			msg.Data.RefundedAt = &at
		}
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, stmt{}, fmt.Errorf("encode message: %w", err)
	}
	d := &renkei.Delivery{ID: s.ids.New(renkei.PrefixMessage), ServiceID: rs.ID, UserID: p.UserID, PaymentID: p.ID, Type: typ,
		Source: source, Sequence: seq, Status: renkei.DeliveryQueued, Body: string(body), CreatedAt: now}
	return d, stmt{q: `INSERT INTO deliveries (id, service_id, user_id, payment_id, type, source, sequence, status, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`, args: []any{d.ID, d.ServiceID, d.UserID, d.PaymentID, d.Type, d.Source,
		d.Sequence, d.Body, micros(now), micros(now)}}, nil
}

// enqueueRevoked queues link.revoked to the service of a link the user
// just ended: the user's pseudonym, the link and when. It is the one
// message a revoked link still sends, numbered in the same stream.
func (s *Store) enqueueRevoked(ctx context.Context, t tx, rs *renkei.RelatedService, l *renkei.Link) error {
	pseudo, err := s.pseudonym(ctx, t, l.UserID, rs.ID)
	if err != nil {
		return err
	}
	var seq int64
	if err := t.queryRow(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES (?, ?, 1)
		ON CONFLICT (user_id, service_id) DO UPDATE SET seq = streams.seq + 1 RETURNING seq`, l.UserID, rs.ID).Scan(&seq); err != nil {
		return fmt.Errorf("next sequence: %w", err)
	}
	now := s.now()
	at := *l.RevokedAt
	body, err := json.Marshal(Message{Type: renkei.EventLinkRevoked, Version: MessageVersion, Timestamp: now.Truncate(time.Second),
		Data: MessageData{LinkID: l.ID, RevokedAt: &at, User: pseudo, Sequence: seq, Source: renkei.SourceLink}})
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	id := s.ids.New(renkei.PrefixMessage)
	if _, err := t.exec(ctx, `INSERT INTO deliveries (id, service_id, user_id, payment_id, type, source, sequence, status, body, created_at, updated_at)
		VALUES (?, ?, ?, '', ?, ?, ?, 'queued', ?, ?, ?)`, id, rs.ID, l.UserID, renkei.EventLinkRevoked, renkei.SourceLink, seq,
		string(body), micros(now), micros(now)); err != nil {
		return fmt.Errorf("queue link.revoked: %w", err)
	}
	return s.outbox(ctx, t, id)
}

// outbox tells the delivery engine of a queued delivery, in the
// transaction that queued it.
func (s *Store) outbox(ctx context.Context, t tx, deliveryID string) error {
	if s.Outbox == nil {
		return nil
	}
	if err := s.Outbox.EnqueueTx(ctx, t.raw(), deliveryID); err != nil {
		return fmt.Errorf("enqueue delivery job: %w", err)
	}
	return nil
}

// extra is what some messages carry besides the payment.
type extra struct {
	input       *MessageInput
	refund      *renkei.Refund
	statementID string
}

// scoped keeps of a payment what the scopes allow.
func scoped(p *renkei.Payment, scopes []string, user string, seq int64, source string) MessageData {
	d := MessageData{PaymentID: p.ID, User: user, Sequence: seq, Source: source}
	if slices.Contains(scopes, renkei.ScopeAmount) {
		a := p.Amount
		d.Amount, d.Currency = &a, p.Currency
	}
	if slices.Contains(scopes, renkei.ScopeTime) && p.CompletedAt != nil {
		at := *p.CompletedAt
		d.CompletedAt = &at
	}
	var m MessageMerchant
	if slices.Contains(scopes, renkei.ScopeMerchantName) {
		m.Name = p.Merchant.Name
	}
	if slices.Contains(scopes, renkei.ScopeMerchantCategory) {
		m.CategoryCode, m.Category = p.Merchant.CategoryCode, p.Merchant.Category
	}
	if m != (MessageMerchant{}) {
		d.Merchant = &m
	}
	if slices.Contains(scopes, renkei.ScopeMethod) {
		d.Method = p.Method
	}
	return d
}

// sendByLinks queues the payment to every enabled service the user has an
// automatic link with, in the payment's own transaction (source "link").
func (s *Store) sendByLinks(ctx context.Context, t tx, p *renkei.Payment) error {
	svcs, read := linkedServices(p.UserID)
	if err := t.batch(ctx, read); err != nil {
		return fmt.Errorf("list related services: %w", err)
	}
	return s.sendToLinked(ctx, t, p, *svcs)
}

// linkedServices is the statement that reads the services the user's
// active links send every payment to, in order of id, into the slice.
func linkedServices(userID string) (*[]*renkei.RelatedService, stmt) {
	var svcs []*renkei.RelatedService
	return &svcs, stmt{q: `SELECT ` + rServiceCols + ` FROM related_services r
		JOIN links l ON l.service_id = r.id WHERE l.user_id = ? AND l.status = 'active' AND l.auto = 1 AND r.enabled = 1
		ORDER BY r.id`, args: []any{userID},
		each: func(r row) error {
			rs, err := scanService(r)
			if err != nil {
				return err
			}
			svcs = append(svcs, rs)
			return nil
		}}
}

// sendToLinked queues the payment for each of the linked services.
func (s *Store) sendToLinked(ctx context.Context, t tx, p *renkei.Payment, svcs []*renkei.RelatedService) error {
	for _, rs := range svcs {
		if _, err := s.enqueue(ctx, t, rs, p, renkei.EventPaymentCompleted, renkei.SourceLink, extra{}); err != nil {
			return err
		}
	}
	return nil
}

// sendRefund tells every service that received the payment (by a tap or a
// link) of its refund, in the refund's transaction, unless the user has
// since revoked a link to it.
func (s *Store) sendRefund(ctx context.Context, t tx, p *renkei.Payment, rf *renkei.Refund) error {
	svcs, err := s.services(ctx, t, `SELECT `+rServiceCols+` FROM related_services r
		WHERE r.enabled = 1 AND r.id IN (SELECT d.service_id FROM deliveries d
			WHERE d.payment_id = ? AND d.type = 'payment.completed' AND d.status <> 'canceled')
		AND NOT EXISTS (SELECT 1 FROM links l WHERE l.user_id = ? AND l.service_id = r.id AND l.status = 'revoked'
			AND NOT EXISTS (SELECT 1 FROM links a WHERE a.user_id = l.user_id AND a.service_id = l.service_id AND a.status = 'active'))
		ORDER BY r.id`, p.ID, p.UserID)
	if err != nil {
		return err
	}
	for _, rs := range svcs {
		source := renkei.SourceSelection
		var auto int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM links WHERE user_id = ? AND service_id = ? AND status = 'active' AND auto = 1`,
			p.UserID, rs.ID).Scan(&auto); err != nil {
			return err
		}
		if auto > 0 {
			source = renkei.SourceLink
		}
		if _, err := s.enqueue(ctx, t, rs, p, renkei.EventPaymentRefunded, source, extra{refund: rf}); err != nil {
			return err
		}
	}
	return nil
}

// The column lists as the joins of hot queries name them, built once.
var (
	rServiceCols  = prefixed("r.", serviceCols)
	dDeliveryCols = prefixed("d.", deliveryCols)
)

// sentPayment matches, in deliveries, the messages that gave a service a
// payment: its payment.completed, unless an unlink canceled it.
const sentPayment = `type = 'payment.completed' AND status <> 'canceled'`

// prefixed qualifies a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// ListDeliveries lists queued and past messages, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f renkei.DeliveryFilter) ([]*renkei.Delivery, bool, error) {
	f.Page = f.Page.Normalize()
	q := `SELECT ` + deliveryCols + ` FROM deliveries WHERE 1=1`
	var args []any
	for _, c := range []struct{ col, v string }{{"service_id", f.ServiceID}, {"payment_id", f.PaymentID}, {"status", f.Status}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.Page.StartingAfter != "" {
		q += ` AND id < ?`
		args = append(args, f.Page.StartingAfter)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list deliveries: %w", err)
	}
	defer r.Close()
	var out []*renkei.Delivery
	for r.Next() {
		d, err := scanDelivery(r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, d)
	}
	if err := r.Err(); err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, f.Page.Limit)
	return out, more, nil
}
