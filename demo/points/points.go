// Package points is an example of partner code: a points programme that
// receives Renkei's payment information through the partner SDK
// (github.com/renkei/renkei/partner) and nothing else of Renkei, the way a
// partner outside Renkei would build it on the standard library and
// SQLite. It is the demo's second related service ([0006]: the related
// service processes the payment information it receives).
//
// The rule (Earned): 1 point per ¥100 paid, rounded down, doubled at
// merchants of the categories groceries, restaurants and books; payments
// in other currencies earn nothing. A refund revokes the points of the
// refunded amount by the same rule, counted over all refunds of the
// payment so that partial refunds add up to a full one, and never more
// than the payment earned. Points does not take the statement feed: a
// statement.line is answered 200 and dropped.
//
// Exactly once: each message is processed in one SQLite transaction that
// moves the points and marks the message id done in the SDK's dedup table
// (partner.SQLDedup.RunTx), so neither Renkei's retries nor a crash
// between the two can award twice; the payment and refund ids are keys
// too, so a second message about the same payment or refund moves nothing.
//
// Pages: GET / lists each user's (pseudonym's) balance and recent points;
// GET /api/points and GET /api/balances serve them as JSON (PaymentList,
// BalanceList).
package points

import (
	"github.com/renkei/renkei/demo/internal/app"
	"github.com/renkei/renkei/partner"
)

// WebhookPath is where Renkei sends messages.
const WebhookPath = app.WebhookPath

// DBFile is the name of the SQLite database in Config.DataDir.
const DBFile = "points.db"

// Config configures a Server: Addr (port 0 picks one), DataDir, the
// endpoint's signing Secrets, Log and the clock Now.
type Config = app.Config

// Server is the service: its database, its webhook endpoint and its
// pages. Create it with New, serve it with Open (or mount Handler in a
// server of your own) and end it with Close.
type Server struct {
	*app.App
}

// New opens (or creates) the database in cfg.DataDir and returns a Server
// that is not yet listening.
func New(cfg Config) (*Server, error) {
	a, err := app.New("points", DBFile, schema, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{App: a}
	s.Webhook(&partner.Handler{
		OnPaymentCompleted: s.onPaymentCompleted,
		OnPaymentRefunded:  s.onPaymentRefunded,
		// No OnStatementLine: Points does not take the feed, and the
		// Handler answers 200 to a type without a callback.
	})
	s.Mux.HandleFunc("GET /{$}", s.handleHome)
	s.Mux.HandleFunc("GET /api/points", s.handlePoints)
	s.Mux.HandleFunc("GET /api/balances", s.handleBalances)
	return s, nil
}
