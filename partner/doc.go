// Package partner is what a related service imports to receive Renkei's
// messages: the moment a user's payment completes and they choose your app
// (or have linked it), Renkei POSTs the payment information, with the memo
// and category the user typed, to your webhook endpoint.
//
// The package depends on nothing of Renkei but the wire format, which it
// mirrors in its own types (Event, PaymentCompleted, PaymentRefunded,
// StatementLine, LinkRevoked). Within one message Version that format only
// grows new optional fields, which these types ignore until you upgrade, so
// an old build of your service keeps working against a newer Renkei.
// Messages follow Standard Webhooks (https://www.standardwebhooks.com), so
// any Standard Webhooks library can receive them too; this package adds
// typed events, exactly-once processing and the partner API client.
//
// # Receiving
//
//	dedup, err := partner.NewSQLDedup(db, partner.DialectSQLite)
//	…
//	http.Handle("POST /renkei/webhook", &partner.Handler{
//		Secrets: []string{os.Getenv("RENKEI_WEBHOOK_SECRET")}, // whsec_…
//		Dedup:   dedup,
//		OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
//			… // book p; p.Input holds the user's memo and category, if any
//			return nil
//		},
//	})
//
// For every request the Handler checks, in this order: the three headers
// webhook-id, webhook-timestamp and webhook-signature; the body size; the
// HMAC-SHA256 signature against each configured secret; the timestamp
// against Tolerance in both directions; the JSON. Then it runs the callback
// for the message's type once per webhook-id.
//
// # Status codes
//
// Renkei counts only a 2xx as delivered. It retries every other answer
// with backoff (up to 8 attempts over about 33 hours), signing each attempt
// afresh with the same webhook-id; a delivery that never succeeded stays
// "failed" and can be sent again with Client.Replay or Client.ReplaySince.
// The one exception is 410 Gone, which makes Renkei disable the endpoint:
// the Handler never answers it. The Handler's answers:
//
//	200  processed; or a duplicate of a processed id (the callback is not
//	     run again); or a type with no callback (ignored). Done: no retry.
//	400  missing header, webhook-timestamp not a number, webhook-id
//	     unusable, body not a message (malformed JSON, no type, wrong field
//	     types, no payment_id). Don't retry: the same bytes fail again.
//	401  no signature matches a configured secret, or the timestamp is
//	     outside Tolerance (a replayed capture, or this server's clock is
//	     off). Don't retry: it only helps once your configuration changes
//	     (add the rotated secret, fix the clock), then replay.
//	405  not a POST.
//	409  another request is processing the same id and did not finish
//	     within Wait. Retry: the next attempt gets 200 (it finished) or runs
//	     the callback (it failed).
//	413  body over MaxBody. Don't retry.
//	500  the callback returned an error or panicked, the dedup store
//	     failed, or the Handler is misconfigured (no or invalid secrets).
//	     Retry: the claim was released, the next attempt runs the callback
//	     again.
//
// So 4xx mean "this request will never be accepted as sent" and 5xx (and
// 409) mean "try again". Renkei retries both; the answer's text and status
// appear in the delivery's attempt log (Client.Delivery), and the Handler
// logs every rejection as a line such as
//
//	renkei webhook: rejected msg_01…: signature does not match any configured secret (…)
//
// without ever logging a secret, a signature or a body.
//
// # Exactly once
//
// Renkei delivers at least once: a timeout, a retry or a replay can bring
// a message again, always with the same webhook-id (Event.ID). The Handler
// claims the id in its DedupStore before running the callback (Begin),
// marks it done after the callback returned nil (Commit), and releases it
// after an error (Abort) so the retry runs the callback again. A second
// delivery of an id while the first is still running waits up to Wait and
// then answers 200 (if the first succeeded) or 409; it never runs the
// callback concurrently. The callback runs under its own Timeout and is not
// canceled when Renkei hangs up, so a slow callback still finishes and the
// retry finds the id done.
//
// NewMemoryDedup forgets on restart; NewSQLDedup keeps ids in a table of
// your SQLite or PostgreSQL database, shared by all your processes. Even
// then, a crash between your callback's writes and the Commit would run the
// callback again on the retry. To close that gap, book the payment and
// mark the id done in one transaction with SQLDedup.RunTx (or
// SQLDedup.CommitTx in a transaction of your own):
//
//	OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
//		var memo string
//		if p.Input != nil {
//			memo = p.Input.Memo
//		}
//		return dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
//			_, err := tx.ExecContext(ctx, `INSERT INTO entries (payment_id, amount, currency, memo) VALUES (?, ?, ?, ?)`,
//				p.PaymentID, p.Amount, p.Currency, memo) // Amount is nil without the amount scope
//			return err
//		})
//	},
//
// Either both the entry and the id commit, or neither does and Renkei's
// retry books it. Pass the ctx the callback was given: it carries the
// claim, so that a worker whose claim expired (Lease) and was taken over
// cannot also commit (ErrClaimLost).
//
// # Secret rotation
//
// While Renkei rotates an endpoint's secret it signs with the new and the
// old one. List both in Handler.Secrets (or only either one): a message is
// accepted if any signature matches any secret. Drop the old secret when
// the grace period ends.
//
// # Reconciling
//
// payment.completed arrives in real time; the payee's statement feed later
// sends statement.line with the same payment_id. Count each payment_id
// once, keeping the memo of the real-time message. PaymentInfo.Sequence
// grows by one per user and service, so a gap shows a message still in
// flight.
//
// The payer may change the memo or category later, in their wallet:
// payment.annotated (OnPaymentAnnotated) carries the same payment_id and
// the input as it stands now. Replace what you keep; of two edits the one
// with the higher Sequence is the newer.
//
// # Partner API
//
// Client reads the service's own deliveries (with each attempt's status
// and the first bytes of your answer), replays failed ones and reads the
// service's settings, with the service's API key (rk_rsv_…). Errors are
// *APIError, decoded from RFC 9457 problem+json.
package partner
