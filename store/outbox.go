package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

const deliveryCols = `id, service_id, user_id, payment_id, type, source, sequence, status, body, attempts, last_error, delivered_at, created_at`

func scanDelivery(r row) (*renkei.Delivery, error) {
	var (
		d                  renkei.Delivery
		delivered, created int64
	)
	if err := r.Scan(&d.ID, &d.ServiceID, &d.UserID, &d.PaymentID, &d.Type, &d.Source, &d.Sequence, &d.Status, &d.Body,
		&d.Attempts, &d.LastError, &delivered, &created); err != nil {
		return nil, err
	}
	d.DeliveredAt, d.CreatedAt = optTime(delivered), fromMicros(created)
	return &d, nil
}

// FindDelivery returns one delivery.
func (s *Store) FindDelivery(ctx context.Context, id string) (*renkei.Delivery, error) {
	d, err := scanDelivery(s.eng.queryRow(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No delivery %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	return d, nil
}

// makeSecret makes a new endpoint secret and its sealed form.
func (s *Store) makeSecret() (plain, sealed string, err error) {
	if s.NewSecret == nil || s.Secrets == nil {
		return "", "", nil // no delivery engine wired (some tests)
	}
	if plain, err = s.NewSecret(s.Rand); err != nil {
		return "", "", fmt.Errorf("make webhook secret: %w", err)
	}
	if sealed, err = s.Secrets.Seal(plain); err != nil {
		return "", "", fmt.Errorf("seal webhook secret: %w", err)
	}
	return plain, sealed, nil
}

// RotateSecret gives a service a new signing secret. The old one stays
// valid for grace: messages are signed with both meanwhile, so the partner
// can switch without losing one. The new secret is returned once.
func (s *Store) RotateSecret(ctx context.Context, serviceID string, grace time.Duration) (string, error) {
	plain, sealed, err := s.makeSecret()
	if err != nil {
		return "", err
	} else if plain == "" {
		return "", fmt.Errorf("rotate secret: no secret box configured")
	}
	n, err := s.eng.exec(ctx, `UPDATE related_services SET old_secret = secret, old_secret_until = ?, secret = ? WHERE id = ? AND deleted_at = 0`,
		micros(s.now().Add(grace)), sealed, serviceID)
	if err != nil {
		return "", fmt.Errorf("rotate secret: %w", err)
	} else if n == 0 {
		return "", renkei.Errorf(renkei.ENOTFOUND, "No related service %s.", serviceID)
	}
	return plain, nil
}

// Outgoing is what the sender needs to send one delivery.
type Outgoing struct {
	Delivery *renkei.Delivery
	URL      string
	// Secrets are the endpoint's signing secrets in the clear, newest
	// first; two during a rotation's grace period.
	Secrets []string
	// Enabled is false when the service or its endpoint is turned off.
	Enabled bool
}

// Outgoing loads a delivery with its endpoint for sending, in one query.
func (s *Store) Outgoing(ctx context.Context, id string) (*Outgoing, error) {
	os, err := s.OutgoingMany(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	o, ok := os[id]
	if !ok {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No delivery %s.", id)
	}
	return o, nil
}

// OutgoingMany loads several deliveries with their endpoints in one query,
// keyed by delivery id; an id that matches nothing is left out.
func (s *Store) OutgoingMany(ctx context.Context, ids []string) (map[string]*Outgoing, error) {
	if len(ids) == 0 {
		return map[string]*Outgoing{}, nil
	}
	in, args := inList(ids)
	r, err := s.eng.query(ctx, `SELECT `+dDeliveryCols+`, r.webhook_url, r.secret, r.old_secret, r.old_secret_until, r.enabled
		FROM deliveries d JOIN related_services r ON r.id = d.service_id WHERE d.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("load deliveries with their endpoints: %w", err)
	}
	defer r.Close()
	out := make(map[string]*Outgoing, len(ids))
	now := micros(s.now())
	for r.Next() {
		var (
			d                         renkei.Delivery
			delivered, created, until int64
			url, secret, old          string
			enabled                   int
		)
		if err := r.Scan(&d.ID, &d.ServiceID, &d.UserID, &d.PaymentID, &d.Type, &d.Source, &d.Sequence, &d.Status, &d.Body,
			&d.Attempts, &d.LastError, &delivered, &created, &url, &secret, &old, &until, &enabled); err != nil {
			return nil, fmt.Errorf("load deliveries with their endpoints: %w", err)
		}
		d.DeliveredAt, d.CreatedAt = optTime(delivered), fromMicros(created)
		o := &Outgoing{Delivery: &d, URL: url, Enabled: enabled == 1}
		for _, sealed := range []string{secret, old} {
			if sealed == "" || (sealed == old && now >= until) {
				continue
			}
			plain, err := s.openSecret(sealed)
			if err != nil {
				return nil, fmt.Errorf("open secret of %s: %w", d.ServiceID, err)
			}
			o.Secrets = append(o.Secrets, plain)
		}
		out[d.ID] = o
	}
	return out, r.Err()
}

// openSecret opens a sealed secret once and remembers it: a sealed value
// never changes meaning (a rotation writes a new one), and every attempt
// needs its endpoint's secrets.
func (s *Store) openSecret(sealed string) (string, error) {
	if v, ok := s.opened.Load(sealed); ok {
		return v.(string), nil
	}
	plain, err := s.Secrets.Open(sealed)
	if err != nil {
		return "", err
	}
	s.opened.Store(sealed, plain)
	return plain, nil
}

// AttemptResult is one try at sending, as the sender saw it.
type AttemptResult struct {
	Attempt   int // 1-based
	StartedAt time.Time
	Duration  time.Duration
	Status    int
	Body      string
	Err       string
	Delivered bool
	Gone      bool // 410: stop and disable the endpoint
	Final     bool // no retry follows a failure
}

// Attempted is one attempt at one delivery, for RecordAttempts.
type Attempted struct {
	DeliveryID string
	// ServiceID is the delivery's service; looked up when empty.
	ServiceID string
	AttemptResult
}

// RecordAttempt logs one attempt; see RecordAttempts.
func (s *Store) RecordAttempt(ctx context.Context, deliveryID string, a AttemptResult) error {
	return s.RecordAttempts(ctx, []Attempted{{DeliveryID: deliveryID, AttemptResult: a}})
}

// RecordAttempts logs attempts and moves their deliveries and endpoints'
// health, all in one transaction: each delivery becomes delivered, queued
// again for a retry, or failed. A delivery an unlink canceled while it was
// in flight stays canceled when the attempt failed, but becomes delivered
// when the partner answered 2xx: the partner has the payment, and what
// follows (a refund after a relink) must know it. An endpoint failing
// without a break for DisableAfter, or answering 410, is disabled with the
// reason recorded. The delivery engine writes its attempts in groups
// through here, so a busy node commits once for many deliveries.
func (s *Store) RecordAttempts(ctx context.Context, as []Attempted) error {
	if len(as) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t tx) error {
		now := s.now()
		var (
			rows      [][]any
			delivered []string
			// clean is the services whose every attempt here was delivered;
			// the others get their health worked out attempt by attempt.
			clean = map[string]bool{}
			order []string
		)
		for i := range as {
			a := &as[i]
			if a.ServiceID == "" {
				if err := t.queryRow(ctx, `SELECT service_id FROM deliveries WHERE id = ?`, a.DeliveryID).Scan(&a.ServiceID); err != nil {
					return fmt.Errorf("load delivery %s: %w", a.DeliveryID, err)
				}
			}
			rows = append(rows, []any{s.ids.New(renkei.PrefixAttempt), a.DeliveryID, a.ServiceID, a.Attempt, micros(a.StartedAt),
				a.Duration.Microseconds(), a.Status, a.Body, a.Err})
			if _, seen := clean[a.ServiceID]; !seen {
				clean[a.ServiceID] = true
				order = append(order, a.ServiceID)
			}
			if a.Delivered {
				delivered = append(delivered, a.DeliveryID)
				continue
			}
			clean[a.ServiceID] = false
			next := renkei.DeliveryQueued
			if a.Final || a.Gone {
				next = renkei.DeliveryFailed
			}
			errText := a.Err
			if errText == "" {
				errText = fmt.Sprintf("HTTP %d", a.Status)
			}
			if _, err := t.exec(ctx, `UPDATE deliveries SET status = CASE status WHEN 'canceled' THEN status ELSE ? END,
				attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?`, next, errText, micros(now), a.DeliveryID); err != nil {
				return fmt.Errorf("update delivery: %w", err)
			}
		}
		// The common case, attempts that delivered, needs no reads: its
		// statements go with the commit (one round trip on PostgreSQL).
		for _, k := range powerChunks(len(rows)) {
			var args []any
			for _, r := range rows[:k] {
				args = append(args, r...)
			}
			rows = rows[k:]
			t.later(stmt{q: `INSERT INTO delivery_attempts (id, delivery_id, service_id, attempt, started_at, duration_us, status_code, response_body, error)
				VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?), `, k), ", "), args: args})
		}
		if len(delivered) > 0 {
			in, ids := inList(delivered)
			t.later(stmt{q: `UPDATE deliveries SET status = 'delivered',
				attempts = attempts + 1, last_error = '', delivered_at = ?, updated_at = ? WHERE id IN (` + in + `)`,
				args: append([]any{micros(now), micros(now)}, ids...)})
		}
		var healthy []string
		for _, id := range order {
			if clean[id] {
				healthy = append(healthy, id)
			}
		}
		if len(healthy) > 0 {
			in, ids := inList(healthy)
			t.later(stmt{q: `UPDATE related_services SET failing_since = 0 WHERE failing_since <> 0 AND id IN (` + in + `)`, args: ids})
		}
		for _, a := range as {
			if !clean[a.ServiceID] {
				if err := s.endpointHealth(ctx, t, a.ServiceID, a.AttemptResult, now); err != nil {
					return fmt.Errorf("endpoint health: %w", err)
				}
			}
		}
		return nil
	})
}

func (s *Store) endpointHealth(ctx context.Context, t tx, serviceID string, a AttemptResult, now time.Time) error {
	if a.Delivered {
		_, err := t.exec(ctx, `UPDATE related_services SET failing_since = 0 WHERE id = ? AND failing_since <> 0`, serviceID)
		return err
	}
	if _, err := t.exec(ctx, `UPDATE related_services SET failing_since = ? WHERE id = ? AND failing_since = 0`, micros(a.StartedAt), serviceID); err != nil {
		return err
	}
	reason := ""
	if a.Gone {
		reason = "The endpoint answered 410 Gone, which means: stop sending."
	} else if s.DisableAfter > 0 {
		var since int64
		if err := t.queryRow(ctx, `SELECT failing_since FROM related_services WHERE id = ?`, serviceID).Scan(&since); err != nil {
			return err
		}
		if since > 0 && now.Sub(fromMicros(since)) >= s.DisableAfter {
			reason = fmt.Sprintf("Every attempt failed for %s (since %s); last: %s.", s.DisableAfter, fromMicros(since).Format(time.RFC3339), a.Err)
		}
	}
	if reason == "" {
		return nil
	}
	s.Log.Warn("endpoint disabled", "service", serviceID, "reason", reason)
	_, err := t.exec(ctx, `UPDATE related_services SET enabled = 0, disabled_reason = ? WHERE id = ?`, reason, serviceID)
	return err
}

// inList is the "?, ?, …" of an IN list and its arguments, padded to a
// power of two by repeating the last value (which matches nothing more).
// Lists of any length thus share a few statement texts, and each engine
// prepares and plans a few statements instead of one per length.
func inList[T any](vs []T) (string, []any) {
	n := 1
	for n < len(vs) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = vs[min(i, len(vs)-1)]
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", "), args
}

// powerChunks cuts n into chunks whose sizes are powers of two, largest
// first (13 is 8, 4, 1), for multi-row statements of a few shapes only.
func powerChunks(n int) []int {
	var out []int
	for n > 0 {
		k := 1
		for k*2 <= n {
			k *= 2
		}
		out = append(out, k)
		n -= k
	}
	return out
}

// Attempts lists a delivery's attempts, oldest first.
func (s *Store) Attempts(ctx context.Context, deliveryID string) ([]*renkei.Attempt, error) {
	r, err := s.eng.query(ctx, `SELECT id, delivery_id, attempt, started_at, duration_us, status_code, response_body, error
		FROM delivery_attempts WHERE delivery_id = ? ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	defer r.Close()
	var out []*renkei.Attempt
	for r.Next() {
		var (
			a           renkei.Attempt
			started, us int64
		)
		if err := r.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &started, &us, &a.StatusCode, &a.ResponseBody, &a.Error); err != nil {
			return nil, err
		}
		a.StartedAt, a.DurationMS = fromMicros(started), float64(us)/1000
		out = append(out, &a)
	}
	return out, r.Err()
}

// ReplayFilter picks failed deliveries to send again.
type ReplayFilter struct {
	ServiceID  string
	DeliveryID string
	Since      time.Time
}

// Replay queues failed deliveries again, with their original message ids
// (the partner's dedup keys), in batches; it returns how many.
func (s *Store) Replay(ctx context.Context, f ReplayFilter, progress func(done int)) (int, error) {
	total := 0
	after := ""
	for {
		// A deleted service's failed messages stay failed: nothing is
		// sent to a service that no longer exists.
		q := `SELECT id FROM deliveries WHERE status = 'failed' AND id > ?
			AND service_id NOT IN (SELECT id FROM related_services WHERE deleted_at <> 0)`
		args := []any{after}
		if f.ServiceID != "" {
			q += ` AND service_id = ?`
			args = append(args, f.ServiceID)
		}
		if f.DeliveryID != "" {
			q += ` AND id = ?`
			args = append(args, f.DeliveryID)
		}
		if !f.Since.IsZero() {
			q += ` AND created_at >= ?`
			args = append(args, micros(f.Since))
		}
		q += ` ORDER BY id LIMIT 200`
		var ids []string
		r, err := s.eng.query(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("find failed deliveries: %w", err)
		}
		for r.Next() {
			var id string
			if err := r.Scan(&id); err != nil {
				r.Close()
				return total, err
			}
			ids = append(ids, id)
		}
		r.Close()
		if err := r.Err(); err != nil {
			return total, fmt.Errorf("find failed deliveries: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		// Count only what this call queued: a delivery another replay
		// (or node) took in between is not counted twice.
		queued := 0
		err = s.inTx(ctx, func(t tx) error {
			for _, id := range ids {
				n, err := t.exec(ctx, `UPDATE deliveries SET status = 'queued', updated_at = ? WHERE id = ? AND status = 'failed'`, micros(s.now()), id)
				if err != nil {
					return err
				}
				if n > 0 {
					if err := s.outbox(ctx, t, id); err != nil {
						return err
					}
					queued++
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("replay: %w", err)
		}
		total += queued
		after = ids[len(ids)-1]
		if progress != nil {
			progress(total)
		}
	}
}

// QueueStats is what the metrics report of the queue.
type QueueStats struct {
	Queued       int
	OldestQueued time.Duration
}

// Queue reports the number of queued deliveries and the age of the oldest.
func (s *Store) Queue(ctx context.Context) (QueueStats, error) {
	var (
		st     QueueStats
		oldest int64
	)
	err := s.eng.queryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM deliveries WHERE status = 'queued'`).Scan(&st.Queued, &oldest)
	if oldest > 0 {
		st.OldestQueued = s.now().Sub(fromMicros(oldest))
	}
	return st, err
}
