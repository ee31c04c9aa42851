package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/policy"
)

// Usage history windows: proposals and deliveries older than this do not
// count, so an old habit fades; a shown card left alone this long counts
// as ignored.
const (
	historyWindow = 90 * 24 * time.Hour
	ignoredAfter  = time.Hour
)

// MaxProposals is how many cards the completion screen shows at most.
var MaxProposals = 2

// Selection outcomes. There is no "not needed": a service that already
// has the payment (its automatic link sent it) gets no card, so a tap
// cannot ask for it; Select refuses one that does (ReasonAlreadySent).
const (
	OutcomeQueued = "queued"
	OutcomeSent   = "sent"
)

// Completion returns the payment-completion view of a user's payment. The
// proposal engine decides once, on the first view; later views show the
// same cards with their current state.
func (s *Store) Completion(ctx context.Context, userID, paymentID, lang string) (*renkei.CompletionView, error) {
	p, err := s.userPayment(ctx, s.eng, userID, paymentID)
	if err != nil {
		return nil, err
	}
	view := &renkei.CompletionView{Payment: p, Proposals: []*renkei.Proposal{}}
	if p.Status == renkei.PaymentPending || p.Status == renkei.PaymentFailed || p.Status == renkei.PaymentExpired {
		return view, nil
	}
	var decided int
	if err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM completions WHERE payment_id = ?`, p.ID).Scan(&decided); err != nil {
		return nil, fmt.Errorf("read completion: %w", err)
	}
	if decided == 0 {
		if err := s.decide(ctx, p); err != nil {
			return nil, err
		}
	}
	view.Proposals, err = s.proposals(ctx, p.ID, lang)
	return view, err
}

// userPayment finds a payment of the user; another user's is not found.
func (s *Store) userPayment(ctx context.Context, q querier, userID, paymentID string) (*renkei.Payment, error) {
	p, err := s.findPayment(ctx, q, paymentID)
	if err != nil {
		return nil, err
	}
	if p.UserID != userID {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No payment %s.", paymentID)
	}
	return p, nil
}

// decide runs the proposal engine for a payment and stores every decision,
// proposed or not, with its reason.
//
// Completion is a GET, so the reads the decision needs (candidates, their
// histories and links) run as plain reads outside any transaction: on
// SQLite they never hold the one writer, and on PostgreSQL they hold no
// locks. Only the recording takes the writer, briefly: the completions
// row, inserted if absent, makes the first recorded decision the one kept,
// and a view that decided at the same time records nothing and shows that
// one. A payment's amount, merchant and user never change, so a decision
// made from reads a moment old is one a locked read would have made then.
func (s *Store) decide(ctx context.Context, p *renkei.Payment) error {
	now := s.now()
	k := MaxProposals
	if k <= 0 {
		k = policy.DefaultMaxProposals
	}
	ids, err := s.candidateIDs(ctx, s.eng, p, k, now)
	if err != nil {
		return err
	}
	svcs, err := s.servicesByID(ctx, s.eng, ids)
	if err != nil {
		return err
	}
	pp := policy.Payment{ID: p.ID, Amount: p.Amount, Currency: p.Currency, MerchantCategory: p.Merchant.Category,
		Fields: renkei.AllScopes}
	cands := make([]policy.Candidate, 0, len(svcs))
	for _, rs := range svcs {
		c, err := s.candidate(ctx, s.eng, p, rs, now)
		if err != nil {
			return err
		}
		cands = append(cands, c)
	}
	ds := policy.Decide(pp, cands, policy.Options{MaxProposals: MaxProposals, Now: now})
	if s.afterDecide != nil {
		s.afterDecide(p.ID)
	}
	return s.inTx(ctx, func(t tx) error {
		n, err := t.exec(ctx, `INSERT INTO completions (payment_id, decided_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.ID, micros(now))
		if err != nil {
			return fmt.Errorf("mark completion: %w", err)
		} else if n == 0 {
			return nil // another view recorded its decision first
		}
		for _, d := range ds {
			status := "skipped"
			if d.Propose {
				status = renkei.ProposalShown
			}
			reason, err := json.Marshal(d.Reason)
			if err != nil {
				return err
			}
			// Nothing reads these rows in this transaction: on PostgreSQL
			// they travel with the COMMIT.
			t.later(stmt{q: `INSERT INTO proposals (id, payment_id, user_id, service_id, rank, threshold, reason_code, reason, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args: []any{s.ids.New(renkei.PrefixProposal), p.ID, p.UserID, d.ServiceID, d.Rank,
				d.Threshold, string(d.Reason.Code), string(reason), status, micros(now)}})
		}
		return nil
	})
}

// candidate gathers what the policy needs to know of one service for one
// payment: the service, the user's history with it, the link, and whether
// the payment already went there.
func (s *Store) candidate(ctx context.Context, q querier, p *renkei.Payment, rs *renkei.RelatedService, now time.Time) (policy.Candidate, error) {
	c := policy.Candidate{Service: policyService(rs)}
	h, err := s.history(ctx, q, p.UserID, rs.ID, now)
	if err != nil {
		return c, err
	}
	c.History = h
	var status string
	var auto int
	err = q.queryRow(ctx, `SELECT status, auto FROM links WHERE user_id = ? AND service_id = ? ORDER BY id DESC LIMIT 1`,
		p.UserID, rs.ID).Scan(&status, &auto)
	if err == nil {
		c.Link = &policy.Link{Active: status == renkei.LinkActive, Auto: auto == 1 && status == renkei.LinkActive, Revoked: status == renkei.LinkRevoked}
	} else if !isNoRows(err) {
		return c, fmt.Errorf("read link: %w", err)
	}
	var sent int
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE payment_id = ? AND service_id = ? AND `+sentPayment,
		p.ID, rs.ID).Scan(&sent); err != nil {
		return c, fmt.Errorf("read deliveries: %w", err)
	}
	c.AlreadySent = sent > 0
	return c, nil
}

// history is the user's usage of a service over the window (claim 5).
func (s *Store) history(ctx context.Context, q querier, userID, serviceID string, now time.Time) (policy.History, error) {
	var (
		h            policy.History
		lastSelected int64
		lastSelID    string
	)
	since, idle := micros(now.Add(-historyWindow)), micros(now.Add(-ignoredAfter))
	err := q.queryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN status <> 'skipped' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'selected' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'dismissed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'shown' AND created_at < ? THEN 1 ELSE 0 END), 0),
			COALESCE(MAX(CASE WHEN status = 'selected' THEN decided_at ELSE 0 END), 0),
			COALESCE(MAX(CASE WHEN status = 'selected' THEN id ELSE '' END), '')
		FROM proposals WHERE user_id = ? AND service_id = ? AND created_at >= ?`, idle, userID, serviceID, since).
		Scan(&h.Shown, &h.Selected, &h.Dismissed, &h.Ignored, &lastSelected, &lastSelID)
	if err != nil {
		return h, fmt.Errorf("read history: %w", err)
	}
	if lastSelected > 0 {
		h.LastSelected = fromMicros(lastSelected)
	}
	// The streak: dismissed or ignored cards since the last selected one.
	// Ids sort by creation, so "since" is an id comparison and stays exact
	// within one microsecond.
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM proposals WHERE user_id = ? AND service_id = ? AND created_at >= ? AND id > ?
		AND (status = 'dismissed' OR (status = 'shown' AND created_at < ?))`,
		userID, serviceID, since, lastSelID, idle).Scan(&h.DismissStreak); err != nil {
		return h, fmt.Errorf("read dismissals: %w", err)
	}
	if err := q.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(p.amount), 0) FROM deliveries d JOIN payments p ON p.id = d.payment_id
		WHERE d.user_id = ? AND d.service_id = ? AND d.type = 'payment.completed' AND d.status <> 'canceled' AND d.created_at >= ?`,
		userID, serviceID, since).Scan(&h.Sent, &h.SentAmount); err != nil {
		return h, fmt.Errorf("read sent: %w", err)
	}
	return h, nil
}

// proposals reads a payment's shown cards with their service and outcome.
func (s *Store) proposals(ctx context.Context, paymentID, lang string) ([]*renkei.Proposal, error) {
	r, err := s.eng.query(ctx, `SELECT pr.id, pr.payment_id, pr.service_id, pr.rank, pr.threshold, pr.reason, pr.status, pr.created_at,
			COALESCE(se.outcome, ''), COALESCE(d.status, '')
		FROM proposals pr
		LEFT JOIN selections se ON se.proposal_id = pr.id
		LEFT JOIN deliveries d ON d.id = se.delivery_id
		WHERE pr.payment_id = ? AND pr.status <> 'skipped' ORDER BY pr.rank`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	var out []*renkei.Proposal
	for r.Next() {
		var (
			pr                        renkei.Proposal
			reason, outcome, delivery string
			at                        int64
		)
		if err := r.Scan(&pr.ID, &pr.PaymentID, &pr.ServiceID, &pr.Rank, &pr.Threshold, &reason, &pr.Status, &at, &outcome, &delivery); err != nil {
			r.Close()
			return nil, err
		}
		var pol policy.Reason
		if err := json.Unmarshal([]byte(reason), &pol); err != nil {
			r.Close()
			return nil, fmt.Errorf("proposal %s reason: %w", pr.ID, err)
		}
		pr.Reason = renkei.ProposalReason{Code: string(pol.Code), Text: pol.Text(lang)}
		pr.CreatedAt = fromMicros(at)
		pr.Outcome = outcome
		if delivery == renkei.DeliveryDelivered {
			pr.Outcome = OutcomeSent
		}
		out = append(out, &pr)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, err
	}
	for _, pr := range out {
		rs, err := s.FindRelatedService(ctx, pr.ServiceID)
		if err != nil {
			return nil, err
		}
		pr.Service = &renkei.ServiceCard{ID: rs.ID, Name: rs.Name, IconURL: rs.IconURL, Description: rs.Description.In(lang),
			AppURL: rs.AppURL, Input: rs.Input, Scopes: rs.Scopes, StatementLine: rs.Policy.WantsStatement}
	}
	return out, nil
}

// Select records the user's tap on a proposal (claim 8): the consent to
// send this payment to that service, with the memo and category (claim 7).
// In the same transaction it queues the message, unless sending is not
// needed because the service already has the payment.
func (s *Store) Select(ctx context.Context, userID, paymentID string, in renkei.SelectInput) (*renkei.Selection, error) {
	return write(ctx, s, func(t tx) (*renkei.Selection, error) {
		// Everything the checks need comes in one batch (one round trip on
		// PostgreSQL, with the BEGIN). The batch also claims the proposal,
		// so a second tap waits for the first and then finds it taken,
		// and takes the stream's next sequence number unless an automatic
		// link already sent the payment. A failed check rolls all of it
		// back.
		now := s.now()
		var (
			p                           *renkei.Payment
			payErr, propErr, pErr       error
			claimErr, seqErr            error
			propID, status, pseudo, won string
			sent                        int
			rs                          *renkei.RelatedService
			seq                         int64
		)
		err := t.batch(ctx,
			stmt{q: paymentSelect + ` WHERE p.id = ?`, args: []any{paymentID}, scan: func(r row) error {
				p, payErr = scanPayment(r)
				return nil
			}},
			stmt{q: `SELECT pr.id, pr.status, (SELECT COUNT(*) FROM deliveries WHERE payment_id = pr.payment_id
				AND service_id = pr.service_id AND ` + sentPayment + `), ` + rServiceCols + `
				FROM proposals pr JOIN related_services r ON r.id = pr.service_id WHERE pr.payment_id = ? AND pr.service_id = ?`,
				args: []any{paymentID, in.ServiceID}, scan: func(r row) error {
					rs, propErr = scanService(prefixRow{r, &propID, &status, &sent})
					return nil
				}},
			stmt{q: `UPDATE proposals SET status = 'selected', decided_at = ?
				WHERE payment_id = ? AND service_id = ? AND user_id = ? AND status IN ('shown', 'dismissed') RETURNING id`,
				args: []any{micros(now), paymentID, in.ServiceID, userID},
				scan: func(r row) error { claimErr = r.Scan(&won); return nil }},
			stmt{q: `SELECT pseudonym FROM pseudonyms WHERE user_id = ? AND service_id = ?`, args: []any{userID, in.ServiceID},
				scan: func(r row) error { pErr = r.Scan(&pseudo); return nil }},
			stmt{q: `INSERT INTO streams (user_id, service_id, seq) SELECT ?, ?, 1
				WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE payment_id = ? AND service_id = ? AND ` + sentPayment + `)
				ON CONFLICT (user_id, service_id) DO UPDATE SET seq = streams.seq + 1 RETURNING seq`,
				args: []any{userID, in.ServiceID, paymentID, in.ServiceID},
				scan: func(r row) error { seqErr = r.Scan(&seq); return nil }},
		)
		if err != nil {
			return nil, fmt.Errorf("select: %w", err)
		}
		switch {
		case isNoRows(payErr) || (payErr == nil && p.UserID != userID):
			return nil, renkei.Errorf(renkei.ENOTFOUND, "No payment %s.", paymentID)
		case payErr != nil:
			return nil, fmt.Errorf("find payment %s: %w", paymentID, payErr)
		case p.Status != renkei.PaymentCompleted && p.Status != renkei.PaymentPartiallyRefunded:
			return nil, renkei.Errorf(renkei.ECONFLICT, "Payment %s is %s; only a completed payment can be sent to an app.", p.ID, p.Status).
				With(renkei.ReasonPaymentNotSendable, "status", p.Status)
		case isNoRows(propErr) || status == "skipped":
			return nil, renkei.Invalid("body.service_id", "That app was not proposed for this payment.").With(renkei.ReasonNotProposed)
		case propErr != nil:
			return nil, fmt.Errorf("find proposal: %w", propErr)
		case status == renkei.ProposalSelected || isNoRows(claimErr):
			return nil, renkei.Errorf(renkei.ECONFLICT, "You already chose this app for this payment.").With(renkei.ReasonAlreadySelected)
		case claimErr != nil:
			return nil, fmt.Errorf("claim proposal: %w", claimErr)
		case !rs.Enabled:
			return nil, renkei.Errorf(renkei.ECONFLICT, "%s is not taking payments right now.", rs.Name).
				With(renkei.ReasonServiceUnavailable, "service", rs.Name)
		case pErr != nil && !isNoRows(pErr):
			return nil, fmt.Errorf("find pseudonym: %w", pErr)
		case sent > 0:
			// The necessity check gives no card to a service that has the
			// payment, and a card is claimed once, so this does not happen;
			// if it did, sending again is what claim 10 rules out.
			return nil, renkei.Errorf(renkei.ECONFLICT, "%s already has this payment.", rs.Name).
				With(renkei.ReasonAlreadySent, "service", rs.Name)
		case seqErr != nil:
			return nil, fmt.Errorf("next sequence: %w", seqErr)
		}
		if err := checkInput(rs, in); err != nil {
			return nil, err
		}
		sel := &renkei.Selection{ID: s.ids.New(renkei.PrefixSelection), ProposalID: propID, PaymentID: p.ID, ServiceID: rs.ID,
			Memo: in.Memo, Category: in.Category, Outcome: OutcomeQueued, CreatedAt: now}
		if pseudo == "" {
			if pseudo, err = s.pseudonym(ctx, t, p.UserID, rs.ID); err != nil {
				return nil, err
			}
		}
		d, ins, err := s.message(rs, p, renkei.EventPaymentCompleted, renkei.SourceSelection,
			extra{input: &MessageInput{Memo: in.Memo, Category: in.Category}}, pseudo, seq)
		if err != nil {
			return nil, err
		}
		sel.DeliveryID = d.ID
		t.later(ins)
		if err := s.outbox(ctx, t, d.ID); err != nil {
			return nil, err
		}
		// Nothing reads these rows in this transaction: they go with the
		// commit.
		t.later(stmt{q: `INSERT INTO selections (id, proposal_id, payment_id, user_id, service_id, memo, category, delivery_id, outcome, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args: []any{sel.ID, propID, p.ID, userID, rs.ID, sel.Memo, sel.Category, sel.DeliveryID,
			sel.Outcome, micros(now)}})
		return sel, nil
	})
}

// prefixRow scans a row whose first columns are read into head and whose
// rest goes to the scan it is handed to.
type prefixRow struct {
	r    row
	head *string
	st   *string
	n    *int
}

func (p prefixRow) Scan(dest ...any) error {
	return p.r.Scan(append([]any{p.head, p.st, p.n}, dest...)...)
}

// checkInput holds the user's input to what the service asked for.
func checkInput(rs *renkei.RelatedService, in renkei.SelectInput) error {
	if in.Memo != "" {
		if !rs.Input.Memo {
			return renkei.Invalid("body.memo", "%s does not take a memo.", rs.Name).With(renkei.ReasonMemoNotAccepted, "service", rs.Name)
		}
		if n := len([]rune(in.Memo)); n > rs.Input.MemoMaxLen {
			return renkei.Invalid("body.memo", "The memo has %d characters; %s takes at most %d.", n, rs.Name, rs.Input.MemoMaxLen).
				With(renkei.ReasonMemoTooLong, "service", rs.Name, "length", strconv.Itoa(n), "max", strconv.Itoa(rs.Input.MemoMaxLen))
		}
	}
	if in.Category != "" {
		ok := false
		for _, c := range rs.Input.Categories {
			ok = ok || c == in.Category
		}
		if !ok {
			return renkei.Invalid("body.category", "%q is not one of %s's categories.", in.Category, rs.Name).
				With(renkei.ReasonUnknownCategory, "service", rs.Name, "category", in.Category)
		}
	}
	return nil
}

// Dismiss records that the user closed a proposal card: it counts against
// the service in the user's history (the threshold backs off).
func (s *Store) Dismiss(ctx context.Context, userID, paymentID, serviceID string) (*renkei.Proposal, error) {
	return write(ctx, s, func(t tx) (*renkei.Proposal, error) {
		p, err := s.userPayment(ctx, t, userID, paymentID)
		if err != nil {
			return nil, err
		}
		n, err := t.exec(ctx, `UPDATE proposals SET status = 'dismissed', decided_at = ? WHERE payment_id = ? AND service_id = ? AND status = 'shown'`,
			micros(s.now()), p.ID, serviceID)
		if err != nil {
			return nil, fmt.Errorf("dismiss: %w", err)
		}
		var status string
		err = t.queryRow(ctx, `SELECT status FROM proposals WHERE payment_id = ? AND service_id = ?`, p.ID, serviceID).Scan(&status)
		if isNoRows(err) || status == "skipped" {
			return nil, renkei.Invalid("body.service_id", "That app was not proposed for this payment.").With(renkei.ReasonNotProposed)
		} else if err != nil {
			return nil, err
		}
		if n == 0 && status == renkei.ProposalSelected {
			return nil, renkei.Errorf(renkei.ECONFLICT, "You already chose this app for this payment.").With(renkei.ReasonAlreadySelected)
		}
		return &renkei.Proposal{PaymentID: p.ID, ServiceID: serviceID, Status: status}, nil
	})
}
