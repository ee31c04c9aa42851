package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/policy"
)

// targetsVersion names what service_targets rows hold. Bump it when that
// changes (the policy's threshold formula, say): on open, the store
// indexes again every service indexed under another version.
const targetsVersion = 1

// maxKnown bounds how many of the services a user already knows (linked,
// or shown or sent a payment within the history window) one decision
// looks at: the most recently used first. A user with more than this many
// live relations is proposed among the ones they used last.
const maxKnown = 50

// policyService is what the policy is told of a related service.
func policyService(rs *renkei.RelatedService) policy.Service {
	return policy.Service{
		ID: rs.ID, Name: rs.Name, Enabled: rs.Enabled, BaseThreshold: rs.Policy.BaseThreshold,
		Floor: rs.Policy.Floor, Ceiling: rs.Policy.Ceiling, Categories: rs.Policy.MerchantCategories,
		RequiredFields: []string{renkei.ScopeAmount}, Scopes: rs.Scopes,
	}
}

// target is one row of the candidate index.
type target struct {
	currency, category string
	threshold          int64
}

// targets lists a service's rows in the candidate index: one per currency
// it takes and merchant category it is about (an empty category when it
// is about all of them), with the threshold the policy gives a user with
// no history. A service that may not receive the fields the policy
// requires can never be proposed and gets no row.
func targets(rs *renkei.RelatedService) []target {
	ps := policyService(rs)
	for _, f := range ps.RequiredFields {
		if !slices.Contains(ps.Scopes, f) {
			return nil
		}
	}
	cats := rs.Policy.MerchantCategories
	if len(cats) == 0 {
		cats = []string{""}
	}
	var out []target
	for cur := range rs.Policy.BaseThreshold {
		t, ok := policy.Threshold(ps, policy.History{}, cur)
		if !ok {
			continue
		}
		for _, c := range cats {
			out = append(out, target{currency: cur, category: c, threshold: t})
		}
	}
	return out
}

// indexService rewrites a service's rows in the candidate index, in the
// transaction that changes the service.
func (s *Store) indexService(ctx context.Context, t tx, rs *renkei.RelatedService) error {
	if _, err := t.exec(ctx, `DELETE FROM service_targets WHERE service_id = ?`, rs.ID); err != nil {
		return fmt.Errorf("clear service targets: %w", err)
	}
	for _, tg := range targets(rs) {
		if _, err := t.exec(ctx, `INSERT INTO service_targets (service_id, currency, category, threshold) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, rs.ID, tg.currency, tg.category, tg.threshold); err != nil {
			return fmt.Errorf("index service: %w", err)
		}
	}
	if _, err := t.exec(ctx, `UPDATE related_services SET targets_version = ? WHERE id = ?`, targetsVersion, rs.ID); err != nil {
		return fmt.Errorf("mark service indexed: %w", err)
	}
	return nil
}

// reindexServices indexes the services whose index rows are missing or
// from another targetsVersion, a hundred per transaction. Open calls it,
// so an upgraded database proposes its existing services at once; with
// nothing to do it is one indexed query.
func (s *Store) reindexServices(ctx context.Context) error {
	for {
		svcs, err := s.services(ctx, s.eng, `SELECT `+serviceCols+` FROM related_services WHERE targets_version <> ? ORDER BY id LIMIT 100`,
			targetsVersion)
		if err != nil {
			return err
		}
		if len(svcs) == 0 {
			return nil
		}
		if err := s.inTx(ctx, func(t tx) error {
			for _, rs := range svcs {
				if err := s.indexService(ctx, t, rs); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("index related services: %w", err)
		}
	}
}

// The user "knows" a service when they have a link to it (revoked ones
// too) or, within the history window, a proposal of it that was shown or
// a payment sent to it. These three sources are the one definition, used
// both to list the known services and to leave them out of the index
// lookup; each reads an index that starts with user_id.
const (
	knownLinks     = `FROM links WHERE user_id = ?`
	knownProposals = `FROM proposals WHERE user_id = ? AND created_at >= ? AND status <> 'skipped'`
	knownSent      = `FROM deliveries WHERE user_id = ? AND created_at >= ? AND type = 'payment.completed'`
)

// candidateIDs chooses the services to decide on for a payment, by
// relevance and never by the services' age:
//
//   - the services the user knows (see knownLinks), the most recently used
//     first, at most maxKnown: their history or link can make the policy
//     answer differently than for a stranger;
//   - every other service is new to the user, and the policy's answer for
//     it depends on the service alone: it can be proposed only if it takes
//     the currency, is about the merchant's category (or every category)
//     and its first-time threshold is at most the amount; among those the
//     policy ranks a category match first (+0.7 outweighs any margin
//     bonus), then the lower threshold (a larger margin bonus, else the
//     tie-break), then the id. The candidate index (service_targets) keeps
//     exactly that order per bucket, so the first K of each of the two
//     buckets (the merchant's category, all categories) are the only new
//     services that can reach the top K; any other would be not_in_top_k.
//
// So one decision costs the same whatever the number of registered
// services: one query over the user's own relations and recent activity,
// two index range scans that stop after K rows each (passing over only
// services the user knows), and the reads of at most maxKnown + 2K
// candidates.
func (s *Store) candidateIDs(ctx context.Context, q querier, p *renkei.Payment, k int, now time.Time) ([]string, error) {
	since := micros(now.Add(-historyWindow))
	r, err := q.query(ctx, `SELECT service_id FROM (
			SELECT service_id, created_at AS at `+knownLinks+`
			UNION ALL SELECT service_id, created_at AS at `+knownProposals+`
			UNION ALL SELECT service_id, created_at AS at `+knownSent+`) h
		GROUP BY service_id ORDER BY MAX(at) DESC, service_id LIMIT ?`,
		p.UserID, p.UserID, since, p.UserID, since, maxKnown)
	if err != nil {
		return nil, fmt.Errorf("find known services: %w", err)
	}
	ids, err := scanIDs(r)
	if err != nil {
		return nil, fmt.Errorf("find known services: %w", err)
	}
	buckets := []string{""}
	if p.Merchant.Category != "" {
		buckets = []string{p.Merchant.Category, ""}
	}
	for _, cat := range buckets {
		r, err := q.query(ctx, `SELECT t.service_id FROM service_targets t JOIN related_services r ON r.id = t.service_id
			WHERE t.currency = ? AND t.category = ? AND t.threshold <= ? AND r.enabled = 1
			AND NOT EXISTS (SELECT 1 `+knownLinks+` AND service_id = t.service_id)
			AND NOT EXISTS (SELECT 1 `+knownProposals+` AND service_id = t.service_id)
			AND NOT EXISTS (SELECT 1 `+knownSent+` AND service_id = t.service_id)
			ORDER BY t.threshold, t.service_id LIMIT ?`,
			p.Currency, cat, p.Amount, p.UserID, p.UserID, since, p.UserID, since, k)
		if err != nil {
			return nil, fmt.Errorf("find candidate services: %w", err)
		}
		more, err := scanIDs(r)
		if err != nil {
			return nil, fmt.Errorf("find candidate services: %w", err)
		}
		for _, id := range more {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.SortFunc(ids, strings.Compare)
	return ids, nil
}

// scanIDs reads a one-column result of ids and closes it.
func scanIDs(r rows) ([]string, error) {
	defer r.Close()
	var out []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, r.Err()
}

// servicesByID reads the services with the given ids, in id order.
func (s *Store) servicesByID(ctx context.Context, q querier, ids []string) ([]*renkei.RelatedService, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return s.services(ctx, q, `SELECT `+serviceCols+` FROM related_services WHERE id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`) ORDER BY id`, args...)
}
