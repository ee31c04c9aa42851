package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

const partnerTokenPrefix = "rk_rsv_"

// CreateRelatedService registers a partner's app and returns the partner's
// API key, shown once. Under an idempotency key (ctx) a repeat of the
// same request registers nothing and returns the service the first call
// registered, without its key and signing secret: those are never stored
// in the clear, so only the first answer has them.
func (s *Store) CreateRelatedService(ctx context.Context, in renkei.RelatedServiceInput) (*renkei.RelatedService, string, error) {
	if err := in.Validate(); err != nil {
		return nil, "", err
	}
	if s.CheckEndpoint != nil {
		if err := s.CheckEndpoint(in.WebhookURL); err != nil {
			return nil, "", renkei.Invalid("body.webhook_url", "This webhook URL is not allowed: %s.", err.Error())
		}
	}
	key := renkei.RandomToken(s.Rand, partnerTokenPrefix, 32)
	secret, sealed, err := s.makeSecret()
	if err != nil {
		return nil, "", err
	}
	rs := serviceFrom(s.ids.New(renkei.PrefixRelatedService), in, s.now())
	rs.WebhookSecret = secret
	id, err := write(ctx, s, func(t tx) (string, error) {
		if _, err := t.exec(ctx, `INSERT INTO related_services (id, name, icon_url, description_ja, description_en, app_url,
			app_category, webhook_url, scopes, input, policy, enabled, key_hash, secret, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rs.ID, rs.Name, rs.IconURL, rs.Description.JA, rs.Description.EN, rs.AppURL, rs.AppCategory, rs.WebhookURL,
			mustJSON(rs.Scopes), mustJSON(rs.Input), mustJSON(rs.Policy), boolInt(rs.Enabled), HashToken(key), sealed, micros(rs.CreatedAt)); err != nil {
			return "", fmt.Errorf("insert related service: %w", err)
		}
		return rs.ID, s.indexService(ctx, t, rs)
	})
	if err != nil {
		return nil, "", err
	}
	if idem := renkei.IdempotencyFromContext(ctx); idem != nil && idem.Replayed {
		first, err := s.FindRelatedService(ctx, id)
		return first, "", err
	}
	return rs, key, nil
}

// UpdateRelatedService replaces a service's settings; its key and id stay.
func (s *Store) UpdateRelatedService(ctx context.Context, id string, in renkei.RelatedServiceInput) (*renkei.RelatedService, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	old, err := s.FindRelatedService(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.DeletedAt != nil {
		return nil, errServiceDeleted(id)
	}
	if s.CheckEndpoint != nil && in.WebhookURL != old.WebhookURL {
		if err := s.CheckEndpoint(in.WebhookURL); err != nil {
			return nil, renkei.Invalid("body.webhook_url", "This webhook URL is not allowed: %s.", err.Error())
		}
	}
	rs := serviceFrom(id, in, old.CreatedAt)
	if rs.IconURL == "" {
		rs.IconURL = old.IconURL // an uploaded icon survives a settings update
	}
	err = s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `UPDATE related_services SET name = ?, icon_url = ?, description_ja = ?, description_en = ?,
			app_url = ?, app_category = ?, webhook_url = ?, scopes = ?, input = ?, policy = ?, enabled = ?,
			disabled_reason = CASE WHEN ? = 1 THEN '' ELSE disabled_reason END,
			failing_since = CASE WHEN ? = 1 THEN 0 ELSE failing_since END WHERE id = ? AND deleted_at = 0`,
			rs.Name, rs.IconURL, rs.Description.JA, rs.Description.EN, rs.AppURL, rs.AppCategory, rs.WebhookURL,
			mustJSON(rs.Scopes), mustJSON(rs.Input), mustJSON(rs.Policy), boolInt(rs.Enabled), boolInt(rs.Enabled), boolInt(rs.Enabled), id); err != nil {
			return fmt.Errorf("update related service: %w", err)
		}
		return s.indexService(ctx, t, rs)
	})
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func serviceFrom(id string, in renkei.RelatedServiceInput, created time.Time) *renkei.RelatedService {
	return &renkei.RelatedService{ID: id, Name: strings.TrimSpace(in.Name), IconURL: in.IconURL, Description: in.Description,
		AppURL: in.AppURL, AppCategory: in.AppCategory, WebhookURL: in.WebhookURL, Scopes: in.Scopes, Input: in.Input,
		Policy: in.Policy, Enabled: in.Enabled, CreatedAt: created}
}

const serviceCols = `id, name, icon_url, description_ja, description_en, app_url, app_category, webhook_url,
	scopes, input, policy, enabled, disabled_reason, failing_since, created_at, deleted_at`

func errServiceDeleted(id string) error {
	return renkei.Errorf(renkei.ECONFLICT, "The related service %s was deleted; register a new one instead.", id)
}

// DeleteRelatedService takes a service out of use, in one transaction:
// it is disabled and hidden from lists and proposals, its partner API key
// stops working, every user's link to it is revoked, and its messages not
// sent yet (queued, retries included) are canceled. What was already
// delivered or failed, with every attempt, is kept for the audit trail,
// and so is the service's row, so those records still name it. Deleting
// a deleted service answers it again.
func (s *Store) DeleteRelatedService(ctx context.Context, id string) (*renkei.RelatedService, error) {
	return write(ctx, s, func(t tx) (*renkei.RelatedService, error) {
		rs, err := s.findService(ctx, t, id)
		if err != nil {
			return nil, err
		}
		if rs.DeletedAt != nil {
			return rs, nil
		}
		now := s.now()
		if _, err := t.exec(ctx, `UPDATE related_services SET enabled = 0, disabled_reason = 'deleted', deleted_at = ?,
			key_hash = ? WHERE id = ?`, micros(now), "deleted:"+id, id); err != nil {
			return nil, fmt.Errorf("delete related service: %w", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM service_targets WHERE service_id = ?`, id); err != nil {
			return nil, fmt.Errorf("unindex deleted service: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE links SET status = 'revoked', revoked_at = ? WHERE service_id = ? AND status <> 'revoked'`,
			micros(now), id); err != nil {
			return nil, fmt.Errorf("revoke links of deleted service: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE deliveries SET status = 'canceled', updated_at = ? WHERE service_id = ? AND status = 'queued'`,
			micros(now), id); err != nil {
			return nil, fmt.Errorf("cancel queued deliveries of deleted service: %w", err)
		}
		rs.Enabled, rs.DisabledReason, rs.DeletedAt = false, "deleted", &now
		return rs, nil
	})
}

func scanService(r row) (*renkei.RelatedService, error) {
	var (
		rs                    renkei.RelatedService
		scopes, input, policy string
		enabled               int
		created, failing      int64
		deleted               int64
	)
	if err := r.Scan(&rs.ID, &rs.Name, &rs.IconURL, &rs.Description.JA, &rs.Description.EN, &rs.AppURL, &rs.AppCategory,
		&rs.WebhookURL, &scopes, &input, &policy, &enabled, &rs.DisabledReason, &failing, &created, &deleted); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &rs.Scopes); err != nil {
		return nil, fmt.Errorf("service %s scopes: %w", rs.ID, err)
	}
	if err := json.Unmarshal([]byte(input), &rs.Input); err != nil {
		return nil, fmt.Errorf("service %s input: %w", rs.ID, err)
	}
	if err := json.Unmarshal([]byte(policy), &rs.Policy); err != nil {
		return nil, fmt.Errorf("service %s policy: %w", rs.ID, err)
	}
	rs.Enabled, rs.CreatedAt, rs.FailingSince, rs.DeletedAt = enabled == 1, fromMicros(created), optTime(failing), optTime(deleted)
	return &rs, nil
}

// FindRelatedService returns a related service by id.
func (s *Store) FindRelatedService(ctx context.Context, id string) (*renkei.RelatedService, error) {
	return s.findService(ctx, s.eng, id)
}

func (s *Store) findService(ctx context.Context, q querier, id string) (*renkei.RelatedService, error) {
	rs, err := scanService(q.queryRow(ctx, `SELECT `+serviceCols+` FROM related_services WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No related service %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find related service %s: %w", id, err)
	}
	return rs, nil
}

// ListRelatedServices lists related services, newest first.
func (s *Store) ListRelatedServices(ctx context.Context, page renkei.Page) ([]*renkei.RelatedService, bool, error) {
	page = page.Normalize()
	q := `SELECT ` + serviceCols + ` FROM related_services WHERE deleted_at = 0`
	var args []any
	if page.StartingAfter != "" {
		q += ` AND id < ?`
		args = append(args, page.StartingAfter)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, page.Limit+1)
	out, err := s.services(ctx, s.eng, q, args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, page.Limit)
	return out, more, nil
}

func (s *Store) services(ctx context.Context, q querier, query string, args ...any) ([]*renkei.RelatedService, error) {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list related services: %w", err)
	}
	defer r.Close()
	var out []*renkei.RelatedService
	for r.Next() {
		rs, err := scanService(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, r.Err()
}

// Icon limits: small, and only raster types a browser shows inline
// without running anything (no SVG, which can carry script).
var iconTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true, "image/gif": true}

// MaxIconBytes bounds an uploaded icon.
const MaxIconBytes = 256 << 10

// SetServiceIcon stores an uploaded icon; the service's icon_url then
// points at Renkei's copy.
func (s *Store) SetServiceIcon(ctx context.Context, id, contentType string, data []byte) (*renkei.RelatedService, error) {
	if !iconTypes[contentType] {
		return nil, renkei.Invalid("body", "The icon must be PNG, JPEG, WebP or GIF (got %q).", contentType)
	}
	if len(data) == 0 || len(data) > MaxIconBytes {
		return nil, renkei.Invalid("body", "The icon must be between 1 byte and %d KiB.", MaxIconBytes>>10)
	}
	url := "/v1/related_services/" + id + "/icon"
	n, err := s.eng.exec(ctx, `UPDATE related_services SET icon_type = ?, icon_data = ?, icon_url = ? WHERE id = ?`,
		contentType, base64.StdEncoding.EncodeToString(data), url, id)
	if err != nil {
		return nil, fmt.Errorf("store icon: %w", err)
	} else if n == 0 {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No related service %s.", id)
	}
	return s.FindRelatedService(ctx, id)
}

// ServiceIcon returns an uploaded icon.
func (s *Store) ServiceIcon(ctx context.Context, id string) (string, []byte, error) {
	var typ, data string
	err := s.eng.queryRow(ctx, `SELECT icon_type, icon_data FROM related_services WHERE id = ?`, id).Scan(&typ, &data)
	if isNoRows(err) || (err == nil && typ == "") {
		return "", nil, renkei.Errorf(renkei.ENOTFOUND, "No icon for %s.", id)
	} else if err != nil {
		return "", nil, fmt.Errorf("read icon: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	return typ, b, err
}

// pseudonym returns the pairwise id of a user for a service, making it on
// first use. It is random, so no partner can compute or reverse it.
func (s *Store) pseudonym(ctx context.Context, t tx, userID, serviceID string) (string, error) {
	if _, err := t.exec(ctx, `INSERT INTO pseudonyms (user_id, service_id, pseudonym) VALUES (?, ?, ?)
		ON CONFLICT (user_id, service_id) DO NOTHING`, userID, serviceID, renkei.RandomToken(s.Rand, "pu_", 20)); err != nil {
		return "", fmt.Errorf("make pseudonym: %w", err)
	}
	var p string
	err := t.queryRow(ctx, `SELECT pseudonym FROM pseudonyms WHERE user_id = ? AND service_id = ?`, userID, serviceID).Scan(&p)
	return p, err
}

// CreateLink records a user's standing consent to a service, with the
// consent receipt of what it covers. With Auto, every later payment is
// sent to the service without a tap; with Statement, the payee's later
// statement line of every payment is.
func (s *Store) CreateLink(ctx context.Context, userID string, in renkei.LinkInput) (*renkei.Link, error) {
	return write(ctx, s, func(t tx) (*renkei.Link, error) {
		rs, err := s.findService(ctx, t, in.ServiceID)
		if err != nil {
			return nil, err
		}
		if !rs.Enabled {
			return nil, renkei.Errorf(renkei.ECONFLICT, "%s is not taking new links right now.", rs.Name).
				With(renkei.ReasonNotLinking, "service", rs.Name)
		}
		if _, err := s.pseudonym(ctx, t, userID, rs.ID); err != nil {
			return nil, err
		}
		l := &renkei.Link{ID: s.ids.New(renkei.PrefixLink), UserID: userID, ServiceID: rs.ID, Scopes: rs.Scopes,
			Auto: in.Auto, Statement: in.Statement, Status: renkei.LinkActive, CreatedAt: s.now()}
		_, err = t.exec(ctx, `INSERT INTO links (id, user_id, service_id, scopes, auto, statement, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)`,
			l.ID, userID, rs.ID, mustJSON(l.Scopes), boolInt(l.Auto), boolInt(l.Statement), micros(l.CreatedAt))
		if s.eng.isUnique(err) {
			return nil, renkei.Errorf(renkei.ECONFLICT, "You are already linked to %s; change or end that link instead.", rs.Name).
				With(renkei.ReasonAlreadyLinked, "service", rs.Name)
		} else if err != nil {
			return nil, fmt.Errorf("insert link: %w", err)
		}
		if err := s.recordConsent(ctx, t, l); err != nil {
			return nil, err
		}
		return l, nil
	})
}

// recordConsent writes the consent receipt of a link's current settings.
func (s *Store) recordConsent(ctx context.Context, t tx, l *renkei.Link) error {
	l.ConsentID = s.ids.New(renkei.PrefixConsent)
	if _, err := t.exec(ctx, `INSERT INTO link_consents (id, link_id, user_id, service_id, scopes, auto, statement, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.ConsentID, l.ID, l.UserID, l.ServiceID, mustJSON(l.Scopes), boolInt(l.Auto),
		boolInt(l.Statement), micros(s.now())); err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}

// findLink reads a user's link for an update in t.
func (s *Store) findLink(ctx context.Context, t tx, userID, linkID string) (*renkei.Link, error) {
	l, err := scanLink(t.queryRow(ctx, `SELECT `+linkCols+` FROM links WHERE id = ? AND user_id = ?`, linkID, userID))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No link %s.", linkID)
	} else if err != nil {
		return nil, fmt.Errorf("find link: %w", err)
	}
	return l, nil
}

// UpdateLink turns a link's real-time sending or statement feed on or off,
// with a new consent receipt. What a consent no longer covers stops at
// once: queued messages it alone allowed are canceled in the same
// transaction (a statement line of a payment the user tapped stays: the
// tap covers it).
func (s *Store) UpdateLink(ctx context.Context, userID, linkID string, ch renkei.LinkChange) (*renkei.Link, error) {
	return write(ctx, s, func(t tx) (*renkei.Link, error) {
		l, err := s.findLink(ctx, t, userID, linkID)
		if err != nil {
			return nil, err
		}
		if l.Status != renkei.LinkActive {
			return nil, renkei.Errorf(renkei.ECONFLICT, "This link has ended; link the app again to send to it.")
		}
		auto, statement := l.Auto, l.Statement
		if ch.Auto != nil {
			auto = *ch.Auto
		}
		if ch.Statement != nil {
			statement = *ch.Statement
		}
		if auto == l.Auto && statement == l.Statement {
			return l, nil
		}
		now := micros(s.now())
		if _, err := t.exec(ctx, `UPDATE links SET auto = ?, statement = ? WHERE id = ?`, boolInt(auto), boolInt(statement), l.ID); err != nil {
			return nil, fmt.Errorf("update link: %w", err)
		}
		if l.Auto && !auto {
			if _, err := t.exec(ctx, `UPDATE deliveries SET status = 'canceled', updated_at = ?
				WHERE user_id = ? AND service_id = ? AND status = 'queued' AND type = 'payment.completed' AND source = 'link'`,
				now, userID, l.ServiceID); err != nil {
				return nil, fmt.Errorf("cancel queued link messages: %w", err)
			}
		}
		if l.Statement && !statement {
			if _, err := t.exec(ctx, `UPDATE deliveries SET status = 'canceled', updated_at = ?
				WHERE user_id = ? AND service_id = ? AND status = 'queued' AND type = 'statement.line'
				AND NOT EXISTS (SELECT 1 FROM deliveries tap WHERE tap.payment_id = deliveries.payment_id
					AND tap.service_id = deliveries.service_id AND tap.source = 'selection'
					AND tap.type = 'payment.completed' AND tap.status <> 'canceled')`,
				now, userID, l.ServiceID); err != nil {
				return nil, fmt.Errorf("cancel queued statement lines: %w", err)
			}
		}
		l.Auto, l.Statement = auto, statement
		if err := s.recordConsent(ctx, t, l); err != nil {
			return nil, err
		}
		return l, nil
	})
}

// RevokeLink ends a link at once: queued messages for the service that
// were not sent yet are canceled in the same transaction, and a
// link.revoked message is queued: the last one the link sends, so the
// service knows to stop and forget.
func (s *Store) RevokeLink(ctx context.Context, userID, linkID string) (*renkei.Link, error) {
	return write(ctx, s, func(t tx) (*renkei.Link, error) {
		l, err := s.findLink(ctx, t, userID, linkID)
		if err != nil {
			return nil, err
		}
		if l.Status == renkei.LinkRevoked {
			return l, nil
		}
		now := s.now()
		if _, err := t.exec(ctx, `UPDATE links SET status = 'revoked', revoked_at = ? WHERE id = ?`, micros(now), l.ID); err != nil {
			return nil, fmt.Errorf("revoke link: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE deliveries SET status = 'canceled', updated_at = ?
			WHERE user_id = ? AND service_id = ? AND status = 'queued' AND type <> 'link.revoked'`, micros(now), userID, l.ServiceID); err != nil {
			return nil, fmt.Errorf("cancel queued deliveries: %w", err)
		}
		l.Status, l.RevokedAt = renkei.LinkRevoked, &now
		rs, err := s.findService(ctx, t, l.ServiceID)
		if err != nil {
			return nil, err
		}
		if err := s.enqueueRevoked(ctx, t, rs, l); err != nil {
			return nil, err
		}
		return l, nil
	})
}

const linkCols = `id, user_id, service_id, scopes, auto, statement, status, created_at, revoked_at,
	COALESCE((SELECT MAX(c.id) FROM link_consents c WHERE c.link_id = links.id), '')`

func scanLink(r row) (*renkei.Link, error) {
	var (
		l                renkei.Link
		scopes           string
		auto, statement  int
		created, revoked int64
	)
	if err := r.Scan(&l.ID, &l.UserID, &l.ServiceID, &scopes, &auto, &statement, &l.Status, &created, &revoked, &l.ConsentID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &l.Scopes); err != nil {
		return nil, fmt.Errorf("link %s scopes: %w", l.ID, err)
	}
	l.Auto, l.Statement, l.CreatedAt, l.RevokedAt = auto == 1, statement == 1, fromMicros(created), optTime(revoked)
	return &l, nil
}

// ListLinks lists a user's links, newest first.
func (s *Store) ListLinks(ctx context.Context, userID string) ([]*renkei.Link, error) {
	r, err := s.eng.query(ctx, `SELECT `+linkCols+` FROM links WHERE user_id = ? ORDER BY id DESC LIMIT 200`, userID)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	defer r.Close()
	var out []*renkei.Link
	for r.Next() {
		l, err := scanLink(r)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, r.Err()
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs reach here
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
