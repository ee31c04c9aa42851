package partner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Defaults of Handler's zero fields.
const (
	DefaultTolerance = 5 * time.Minute
	DefaultMaxBody   = 64 << 10
	DefaultWait      = 10 * time.Second
	DefaultTimeout   = time.Minute
)

// Handler receives Renkei's messages: it checks each request's signature
// and freshness, decodes the body, and runs the callback for its type once
// per message id. It is an http.Handler; mount it at the webhook URL
// registered with Renkei. Set Secrets and at least one callback; the other
// fields have sensible zero values. Do not copy a Handler after first use.
//
// The status codes it answers, and what Renkei does with them, are listed
// in the package documentation.
type Handler struct {
	// Secrets are the endpoint's signing secrets (whsec_…). A request is
	// accepted if it carries a valid signature by any of them, so during
	// a rotation list the new and the old one, in either order.
	Secrets []string
	// Tolerance is how far webhook-timestamp may be from this server's
	// clock, either way (DefaultTolerance when zero). Every retry is
	// signed afresh, so only a replayed capture or a wrong clock is
	// refused.
	Tolerance time.Duration
	// Dedup records processed message ids. Nil means an in-memory store
	// of this Handler, forgotten on restart; use a SQLDedup in production.
	Dedup DedupStore
	// MaxBody is the largest body accepted, in bytes (DefaultMaxBody, 64
	// KiB, when zero). Renkei's messages are well under 20 KB.
	MaxBody int64
	// Wait is how long a delivery of an id that another request is
	// processing waits for that request to finish (DefaultWait when zero,
	// no wait when negative). If it finishes in time the answer is 200,
	// else 409 and Renkei retries later.
	Wait time.Duration
	// Timeout bounds one callback run (DefaultTimeout when zero). The run
	// goes on if Renkei hangs up, so a slow callback still finishes and
	// the retry finds the id done. Keep it below the dedup store's lease.
	Timeout time.Duration
	// Log receives one line per rejected or failed delivery (slog.Default
	// when nil). It never holds a secret, a signature or a body.
	Log *slog.Logger
	// Now is the clock for the timestamp check (time.Now when nil).
	Now func() time.Time

	// OnPaymentCompleted handles payment.completed.
	OnPaymentCompleted func(ctx context.Context, ev *Event, p *PaymentCompleted) error
	// OnPaymentRefunded handles payment.refunded.
	OnPaymentRefunded func(ctx context.Context, ev *Event, r *PaymentRefunded) error
	// OnStatementLine handles statement.line.
	OnStatementLine func(ctx context.Context, ev *Event, s *StatementLine) error
	// OnPaymentAnnotated handles payment.annotated: the payer's new memo
	// or category for a payment this service received.
	OnPaymentAnnotated func(ctx context.Context, ev *Event, a *PaymentAnnotated) error
	// OnLinkRevoked handles link.revoked.
	OnLinkRevoked func(ctx context.Context, ev *Event, l *LinkRevoked) error
	// OnOther handles every other type, including types added to Renkei
	// after this package was written, with the data undecoded; it is also
	// called for a known type whose typed callback is nil. When nil,
	// such messages are answered 200 and dropped.
	OnOther func(ctx context.Context, ev *Event, data json.RawMessage) error

	once sync.Once
	mem  *MemoryDedup
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "renkei webhooks are POSTed")
		return
	}
	id := r.Header.Get(HeaderID)
	who := "a request"
	reject := func(status int, reason string) {
		log.Warn("renkei webhook: rejected "+who+": "+reason, "webhook_id", safeID(id), "status", status)
		reply(w, status, reason)
	}

	// 1. Headers: without them nothing can be checked.
	for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		if r.Header.Get(name) == "" {
			reject(http.StatusBadRequest, "missing header "+name+" (is this a Standard Webhooks request from Renkei?)")
			return
		}
	}
	if err := checkID(id); err != nil {
		reject(http.StatusBadRequest, err.Error())
		return
	}
	who = id
	sec, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		reject(http.StatusBadRequest, HeaderTimestamp+" header is not a Unix time in seconds")
		return
	}
	signedAt := time.Unix(sec, 0)

	// 2. Our own configuration: a mistake here is ours, so 500 and retry.
	keys, err := decodeSecrets(h.Secrets)
	if err != nil {
		log.Error("renkei webhook: cannot verify "+id+": "+err.Error()+"; answered 500 so Renkei retries", "webhook_id", id)
		reply(w, http.StatusInternalServerError, "receiver is misconfigured; retry later")
		return
	}

	// 3. The body, bounded.
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes is over the limit of %d", r.ContentLength, limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over the limit of %d bytes", limit))
			return
		}
		reject(http.StatusBadRequest, "could not read the body")
		return
	}

	// 4. Authenticity, then freshness: a stale but genuine message points
	// at this server's clock, a forged one says nothing.
	if !signatureMatches(keys, id, strconv.FormatInt(sec, 10), body, r.Header.Get(HeaderSignature)) {
		reject(http.StatusUnauthorized, fmt.Sprintf("signature does not match any configured secret (%d configured; after a rotation configure the new one)", len(keys)))
		return
	}
	tol := h.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	if skew := now.Sub(signedAt); skew > tol {
		reject(http.StatusUnauthorized, fmt.Sprintf("signed %v ago, beyond the tolerance of %v: a replayed request, or this server's clock is behind", skew.Round(time.Second), tol))
		return
	} else if -skew > tol {
		reject(http.StatusUnauthorized, fmt.Sprintf("signed %v in the future, beyond the tolerance of %v: this server's clock is ahead", (-skew).Round(time.Second), tol))
		return
	}

	// 5. The message.
	ev, err := ParseEvent(body)
	if err != nil {
		reject(http.StatusBadRequest, err.Error())
		return
	}
	ev.ID, ev.SignedAt = id, signedAt
	run, err := h.callback(ev)
	if err != nil {
		reject(http.StatusBadRequest, err.Error())
		return
	}
	if run == nil {
		log.Info("renkei webhook: ignored "+id+": no handler for type "+strconv.Quote(ev.Type), "webhook_id", id, "type", ev.Type)
		reply(w, http.StatusOK, "ignored: no handler for this type")
		return
	}

	// 6. Once per id.
	status, msg := h.process(r.Context(), log, ev, run)
	reply(w, status, msg)
}

// callback decodes the event's data for its typed callback and returns the
// run, or nil when nothing handles the type.
func (h *Handler) callback(ev *Event) (func(context.Context) error, error) {
	other := func() func(context.Context) error {
		if h.OnOther == nil {
			return nil
		}
		return func(ctx context.Context) error { return h.OnOther(ctx, ev, ev.Data) }
	}
	switch ev.Type {
	case TypePaymentCompleted:
		if h.OnPaymentCompleted == nil {
			return other(), nil
		}
		var d PaymentCompleted
		if err := decodeData(ev, &d); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return h.OnPaymentCompleted(ctx, ev, &d) }, nil
	case TypePaymentRefunded:
		if h.OnPaymentRefunded == nil {
			return other(), nil
		}
		var d PaymentRefunded
		if err := decodeData(ev, &d); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return h.OnPaymentRefunded(ctx, ev, &d) }, nil
	case TypeStatementLine:
		if h.OnStatementLine == nil {
			return other(), nil
		}
		var d StatementLine
		if err := decodeData(ev, &d); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return h.OnStatementLine(ctx, ev, &d) }, nil
	case TypePaymentAnnotated:
		if h.OnPaymentAnnotated == nil {
			return other(), nil
		}
		var d PaymentAnnotated
		if err := decodeData(ev, &d); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return h.OnPaymentAnnotated(ctx, ev, &d) }, nil
	case TypeLinkRevoked:
		if h.OnLinkRevoked == nil {
			return other(), nil
		}
		var d LinkRevoked
		if err := decodeData(ev, &d); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return h.OnLinkRevoked(ctx, ev, &d) }, nil
	}
	return other(), nil
}

// dedup returns the configured store or this Handler's memory store.
func (h *Handler) dedup() DedupStore {
	if h.Dedup != nil {
		return h.Dedup
	}
	h.once.Do(func() { h.mem = NewMemoryDedup() })
	return h.mem
}

// process claims the id, runs the callback and records the outcome, and
// returns the answer for Renkei.
func (h *Handler) process(reqCtx context.Context, log *slog.Logger, ev *Event, run func(context.Context) error) (int, string) {
	store := h.dedup()
	ctx := withClaim(reqCtx, newToken())
	// Ending a claim must not depend on Renkei still listening.
	endCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}

	done, err := h.begin(ctx, store, ev.ID)
	switch {
	case errors.Is(err, ErrInProgress):
		log.Warn("renkei webhook: deferred "+ev.ID+": another request is still processing it; answered 409 so Renkei retries",
			"webhook_id", ev.ID, "type", ev.Type, "status", http.StatusConflict)
		return http.StatusConflict, "in progress: another request is processing this message; retry later"
	case err != nil:
		log.Error("renkei webhook: dedup store failed for "+ev.ID+"; answered 500 so Renkei retries", "webhook_id", ev.ID, "err", err)
		return http.StatusInternalServerError, "receiver could not record the message; retry later"
	case done:
		log.Info("renkei webhook: duplicate "+ev.ID+": already processed, not run again", "webhook_id", ev.ID, "type", ev.Type)
		return http.StatusOK, "duplicate: already processed"
	}

	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	runCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	err = safeRun(runCtx, run)
	cancel()
	if err != nil {
		c, cancel := endCtx()
		defer cancel()
		if aerr := store.Abort(c, ev.ID); aerr != nil {
			log.Error("renkei webhook: could not release "+ev.ID+" after its handler failed; a retry waits for the lease",
				"webhook_id", ev.ID, "err", aerr)
		}
		log.Error("renkei webhook: handler failed for "+ev.ID+" ("+ev.Type+"); answered 500 so Renkei retries",
			"webhook_id", ev.ID, "type", ev.Type, "err", err)
		return http.StatusInternalServerError, "handler failed; retry later"
	}
	c, cancel := endCtx()
	defer cancel()
	if err := store.Commit(c, ev.ID); err != nil {
		// The work is done, so a retry could only do it twice: accept.
		log.Error("renkei webhook: processed "+ev.ID+" but could not record it as done; a redelivery of this id may run the handler again",
			"webhook_id", ev.ID, "err", err)
	}
	log.Debug("renkei webhook: processed "+ev.ID, "webhook_id", ev.ID, "type", ev.Type)
	return http.StatusOK, "ok"
}

// begin claims id, waiting up to Wait while another request holds it.
func (h *Handler) begin(ctx context.Context, store DedupStore, id string) (bool, error) {
	wait := h.Wait
	if wait == 0 {
		wait = DefaultWait
	}
	deadline := time.Now().Add(wait)
	pause := 20 * time.Millisecond
	for {
		done, err := store.Begin(ctx, id)
		if !errors.Is(err, ErrInProgress) || wait < 0 {
			return done, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, err
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ErrInProgress
		case <-t.C:
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// safeRun runs a callback, turning a panic into an error so the claim is
// released and Renkei retries, as after any other failure.
func safeRun(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return run(ctx)
}

// newToken returns a random claim token.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// safeID is the webhook-id for a log attribute: only once it passed
// checkID, so a hostile header cannot forge log lines.
func safeID(id string) string {
	if id == "" || checkID(id) != nil {
		return ""
	}
	return id
}

// reply answers with a short text: Renkei keeps the first bytes of every
// answer in the delivery log, where the partner reads why.
func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
