package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/renkei/renkei"
)

// The privacy center's records. Provisions are read from the outbox (the
// deliveries table and each message's body as sent): the record of what
// went to whom cannot drift from what was sent, because it is the same
// row. Consents are the link_consents rows and the selections.

// provisionSelect reads a delivery as a provision, with its service's
// name and the consent that covers it: the tap of that payment (for a tap
// and, without a link consent, for its statement line) and the latest
// link consent in force when it was queued that covers its kind.
const provisionSelect = `SELECT d.id, d.service_id, r.name, d.user_id, COALESCE(pn.pseudonym, ''), d.payment_id, d.type, d.source,
	d.status, d.body, d.attempts, d.delivered_at, d.created_at,
	COALESCE((SELECT MIN(se.id) FROM selections se WHERE se.payment_id = d.payment_id AND se.service_id = d.service_id
		AND se.user_id = d.user_id AND d.payment_id <> ''), ''),
	COALESCE((SELECT MAX(c.id) FROM link_consents c WHERE c.user_id = d.user_id AND c.service_id = d.service_id
		AND c.created_at <= d.created_at AND (d.source <> 'statement' OR c.statement = 1)
		AND (d.source <> 'link' OR d.type <> 'payment.completed' OR c.auto = 1)), '')
	FROM deliveries d JOIN related_services r ON r.id = d.service_id
	LEFT JOIN pseudonyms pn ON pn.user_id = d.user_id AND pn.service_id = d.service_id`

func scanProvision(r row) (*renkei.Provision, error) {
	var (
		p                  renkei.Provision
		body, sel, link    string
		delivered, created int64
	)
	if err := r.Scan(&p.ID, &p.ServiceID, &p.ServiceName, &p.UserID, &p.User, &p.PaymentID, &p.Type, &p.Source, &p.Status,
		&body, &p.Attempts, &delivered, &created, &sel, &link); err != nil {
		return nil, err
	}
	p.Fields = renkei.MessageFields(body)
	p.DeliveredAt, p.CreatedAt = optTime(delivered), fromMicros(created)
	// The consent of the message's own source first; a message that
	// follows a payment (a refund, a statement line) falls back to the
	// other way the service had it.
	p.ConsentID = link
	if p.Source == renkei.SourceSelection || link == "" {
		p.ConsentID = sel
	}
	if p.ConsentID == "" {
		p.ConsentID = link
	}
	return &p, nil
}

// ListProvisions lists the messages that gave a payer's data to services,
// newest first: a payer's own (f.UserID), or a service's over a period
// (f.ServiceID, f.Since, f.Until) for the admin's record of provision.
func (s *Store) ListProvisions(ctx context.Context, f renkei.ProvisionFilter) ([]*renkei.Provision, bool, error) {
	f.Page = f.Page.Normalize()
	q := provisionSelect + ` WHERE 1=1`
	var args []any
	if f.UserID != "" {
		q += ` AND d.user_id = ?`
		args = append(args, f.UserID)
	}
	if f.ServiceID != "" {
		q += ` AND d.service_id = ?`
		args = append(args, f.ServiceID)
	}
	if !f.Since.IsZero() {
		q += ` AND d.created_at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND d.created_at < ?`
		args = append(args, micros(f.Until))
	}
	if f.Page.StartingAfter != "" {
		q += ` AND d.id < ?`
		args = append(args, f.Page.StartingAfter)
	}
	q += ` ORDER BY d.id DESC LIMIT ?`
	args = append(args, f.Page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list provisions: %w", err)
	}
	defer r.Close()
	var out []*renkei.Provision
	for r.Next() {
		p, err := scanProvision(r)
		if err != nil {
			return nil, false, fmt.Errorf("list provisions: %w", err)
		}
		out = append(out, p)
	}
	if err := r.Err(); err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, f.Page.Limit)
	return out, more, nil
}

// consentSelect reads link consents and taps as one list, newest first by
// id (cns_ and sel_ ids both sort by time within their kind; the list
// merges them by time in Go).
const linkConsentSelect = `SELECT c.id, c.service_id, r.name, COALESCE(pn.pseudonym, ''), c.link_id, c.scopes, c.auto, c.statement,
	c.created_at, COALESCE((SELECT MIN(n.created_at) FROM link_consents n WHERE n.link_id = c.link_id AND n.id > c.id), 0),
	l.revoked_at, r.policy
	FROM link_consents c JOIN links l ON l.id = c.link_id JOIN related_services r ON r.id = c.service_id
	LEFT JOIN pseudonyms pn ON pn.user_id = c.user_id AND pn.service_id = c.service_id`

const selectionConsentSelect = `SELECT se.id, se.service_id, r.name, COALESCE(pn.pseudonym, ''), se.payment_id, r.scopes,
	se.memo, se.category, se.created_at,
	COALESCE((SELECT MIN(x.revoked_at) FROM links x WHERE x.user_id = se.user_id AND x.service_id = se.service_id
		AND x.status = 'revoked' AND x.revoked_at >= se.created_at), 0), r.policy
	FROM selections se JOIN related_services r ON r.id = se.service_id
	LEFT JOIN pseudonyms pn ON pn.user_id = se.user_id AND pn.service_id = se.service_id`

func scanLinkConsent(r row) (*renkei.Consent, error) {
	var (
		c                            renkei.Consent
		scopes, policy               string
		auto, statement              int
		created, superseded, revoked int64
	)
	if err := r.Scan(&c.ID, &c.ServiceID, &c.ServiceName, &c.User, &c.LinkID, &scopes, &auto, &statement, &created,
		&superseded, &revoked, &policy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("consent %s scopes: %w", c.ID, err)
	}
	var pol renkei.ServicePolicy
	if err := json.Unmarshal([]byte(policy), &pol); err != nil {
		return nil, fmt.Errorf("consent %s policy: %w", c.ID, err)
	}
	c.Kind, c.Auto, c.Statement, c.StatementLine = renkei.ConsentLink, auto == 1, statement == 1, pol.WantsStatement
	c.CreatedAt, c.Superseded, c.Withdrawn = fromMicros(created), optTime(superseded), optTime(revoked)
	if c.Superseded != nil {
		c.Withdrawn = nil // the link ended after this consent had been replaced
	}
	return &c, nil
}

func scanSelectionConsent(r row) (*renkei.Consent, error) {
	var (
		c                renkei.Consent
		scopes, policy   string
		memo, category   string
		created, revoked int64
	)
	if err := r.Scan(&c.ID, &c.ServiceID, &c.ServiceName, &c.User, &c.PaymentID, &scopes, &memo, &category, &created,
		&revoked, &policy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("consent %s scopes: %w", c.ID, err)
	}
	var pol renkei.ServicePolicy
	if err := json.Unmarshal([]byte(policy), &pol); err != nil {
		return nil, fmt.Errorf("consent %s policy: %w", c.ID, err)
	}
	c.Kind, c.Input, c.StatementLine = renkei.ConsentSelection, memo != "" || category != "", pol.WantsStatement
	c.CreatedAt, c.Withdrawn = fromMicros(created), optTime(revoked)
	return &c, nil
}

// ListConsents lists a payer's consents, links' and taps', newest first.
// The cursor is the created_at and id of the last one shown.
func (s *Store) ListConsents(ctx context.Context, userID string, page renkei.Page) ([]*renkei.Consent, bool, error) {
	page = page.Normalize()
	var before int64 = 1<<62 - 1
	if page.StartingAfter != "" {
		c, err := s.FindConsent(ctx, userID, page.StartingAfter)
		if err != nil {
			return nil, false, err
		}
		before = micros(c.CreatedAt)
	}
	var all []*renkei.Consent
	for _, q := range []struct {
		sql  string
		scan func(row) (*renkei.Consent, error)
	}{
		{linkConsentSelect + ` WHERE c.user_id = ? AND c.created_at <= ? ORDER BY c.created_at DESC, c.id DESC LIMIT ?`, scanLinkConsent},
		{selectionConsentSelect + ` WHERE se.user_id = ? AND se.created_at <= ? ORDER BY se.created_at DESC, se.id DESC LIMIT ?`, scanSelectionConsent},
	} {
		r, err := s.eng.query(ctx, q.sql, userID, before, page.Limit+2)
		if err != nil {
			return nil, false, fmt.Errorf("list consents: %w", err)
		}
		for r.Next() {
			c, err := q.scan(r)
			if err != nil {
				r.Close()
				return nil, false, fmt.Errorf("list consents: %w", err)
			}
			all = append(all, c)
		}
		r.Close()
		if err := r.Err(); err != nil {
			return nil, false, err
		}
	}
	sortConsents(all)
	if page.StartingAfter != "" {
		for i, c := range all {
			if c.ID == page.StartingAfter {
				all = all[i+1:]
				break
			}
		}
	}
	out, more := trimPage(all, page.Limit)
	return out, more, nil
}

// sortConsents orders consents newest first, ties by id.
func sortConsents(cs []*renkei.Consent) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && consentAfter(cs[j], cs[j-1]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func consentAfter(a, b *renkei.Consent) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// FindConsent returns one of a payer's consents; another payer's is not
// found.
func (s *Store) FindConsent(ctx context.Context, userID, id string) (*renkei.Consent, error) {
	var (
		c   *renkei.Consent
		err error
	)
	switch {
	case renkei.HasPrefix(id, renkei.PrefixConsent):
		c, err = scanLinkConsent(s.eng.queryRow(ctx, linkConsentSelect+` WHERE c.id = ? AND c.user_id = ?`, id, userID))
	case renkei.HasPrefix(id, renkei.PrefixSelection):
		c, err = scanSelectionConsent(s.eng.queryRow(ctx, selectionConsentSelect+` WHERE se.id = ? AND se.user_id = ?`, id, userID))
	default:
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No consent %s.", id)
	}
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No consent %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find consent %s: %w", id, err)
	}
	return c, nil
}
