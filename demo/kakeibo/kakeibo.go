// Package kakeibo is an example of partner code: a household account book
// (家計簿) that receives Renkei's payment information through the partner
// SDK (github.com/renkei/renkei/partner) and nothing else of Renkei, the
// way a partner outside Renkei would build it on the standard library and
// SQLite.
//
// It books every payment a user sends it in real time, with the memo and
// category they typed on the completion screen (claims 1 and 7), and
// reconciles the payee's later statement feed against those entries
// (claim 9): a statement.line for a payment already booked only confirms
// the entry and keeps its memo; one for a payment never sent in real time
// is booked from the statement, without a memo. Either way each payment is
// one entry. A refund books a reversal, a negative entry linked to the
// payment. A memo the payer changes later in their wallet arrives as
// payment.annotated and replaces the entry's memo and category (the
// newest edit wins, by the stream's sequence).
//
// Exactly once: every message is processed in one SQLite transaction that
// writes the entry and marks the message id done in the SDK's dedup table
// (partner.SQLDedup.RunTx), so neither Renkei's retries nor a crash between
// the two writes can book anything twice, and the unique keys on payment_id
// and refund_id hold even across different message ids.
//
// Pages: GET / shows a month (?month=2026-11, ?user=pu_…) with totals per
// category and every entry, saying how it arrived. GET /api/entries serves
// the same as JSON (EntryList). Times are shown in Japan time.
package kakeibo

import (
	"github.com/renkei/renkei/demo/internal/app"
	"github.com/renkei/renkei/partner"
)

// WebhookPath is where Renkei sends messages.
const WebhookPath = app.WebhookPath

// DBFile is the name of the SQLite database in Config.DataDir.
const DBFile = "kakeibo.db"

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
	a, err := app.New("kakeibo", DBFile, schema, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{App: a}
	s.Webhook(&partner.Handler{
		OnPaymentCompleted: s.onPaymentCompleted,
		OnPaymentRefunded:  s.onPaymentRefunded,
		OnStatementLine:    s.onStatementLine,
		OnPaymentAnnotated: s.onPaymentAnnotated,
	})
	s.Mux.HandleFunc("GET /{$}", s.handleMonth)
	s.Mux.HandleFunc("GET /api/entries", s.handleEntries)
	return s, nil
}
