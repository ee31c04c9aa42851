package http

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"
)

// docs is a plain page of the API for people: works offline, unlike the
// script-driven renderers, and links the machine-readable spec.
func (s *Server) docs(w http.ResponseWriter, r *http.Request) {
	type op struct {
		Method, Path, Summary, Description string
	}
	var ops []op
	for path, item := range s.api.OpenAPI().Paths {
		for _, m := range []struct {
			name string
			o    *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
			if m.o != nil {
				ops = append(ops, op{m.name, path, m.o.Summary, m.o.Description})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	docsPage.Execute(w, map[string]any{"Ops": ops, "Problems": problemDocs})
}

var problemDocs = []struct{ Code, Status, Meaning string }{
	{"invalid_request", "400/422", "The body or a parameter is malformed or out of range; errors[] names each field."},
	{"invalid", "422", "A value is not acceptable (for example an unknown currency); errors[] names the field."},
	{"unauthorized", "401", "No bearer token, or one we do not know."},
	{"forbidden", "403", "The token is valid but of a kind that may not make this call."},
	{"not_found", "404", "No such object, or not one the caller may see."},
	{"conflict", "409", "The object's state does not allow this (already paid, already refunded)."},
	{"idempotency_key_reused", "409", "The Idempotency-Key was used before with other parameters."},
	{"insufficient_balance", "402", "The wallet balance is too low. For a pay code the failed payment is recorded (payment_id)."},
	{"currency_mismatch", "402", "The wallet and the charge are in different currencies."},
	{"code_expired", "402", "The pay code is older than 5 minutes."},
	{"code_already_used", "402", "The pay code has paid once already."},
	{"merchant_disabled", "402", "The merchant may not take payments."},
	{"payment_request_expired", "402", "The QR payment request is older than 10 minutes."},
	{"amount_too_large", "422", "The amount is above the limit of 100,000,000,000 minor units for one payment, top-up or refund; errors[] names the field."},
	{"unknown_pay_code", "422", "No such pay code; repeated failures are rate-limited."},
	{"not_proposed", "422", "The app was not proposed for this payment, so it cannot be chosen or dismissed."},
	{"already_selected", "409", "The payer already chose this app for this payment."},
	{"payment_not_sendable", "409", "Only a completed payment can be sent to an app."},
	{"service_unavailable", "409", "The related service is switched off."},
	{"already_sent", "409", "The related service already has this payment; it is not sent again."},
	{"memo_not_accepted", "422", "The related service takes no memo."},
	{"memo_too_long", "422", "The memo is longer than the related service takes."},
	{"unknown_category", "422", "The category is not one of the related service's."},
	{"already_linked", "409", "The user is already linked to the service; change or end that link instead."},
	{"service_not_linking", "409", "The related service takes no new links."},
	{"rate_limited", "429", "Too many failed attempts; wait a minute."},
	{"body_too_large", "413", "Request bodies are limited to 64 KiB."},
	{"internal", "500", "Our fault; logged on the server."},
}

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Renkei API</title>
<link rel="icon" href="/favicon.ico" sizes="32x32">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem;overflow-wrap:break-word}
code{background:#f3f3f3;padding:0 .2em;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
.m{font-weight:bold;font-family:monospace}
@media (max-width:40rem){body{padding:.75rem}table,tbody,tr,td{display:block}thead{display:none}
tr{border-bottom:1px solid #ddd;padding:.5rem 0}td{border:0;padding:0}td.m{display:inline;margin-right:.4rem}td.p{display:inline}}</style></head><body>
<h1>Renkei API</h1>
<p>The machine-readable description is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Authenticate with
<code>Authorization: Bearer &lt;token&gt;</code>. Money is <code>{"amount": 1280, "currency": "JPY"}</code> in minor units.
Money-moving POSTs take an <code>Idempotency-Key</code>; a replay answers with <code>Idempotent-Replayed: true</code>.
Lists take <code>?limit=</code> and <code>?starting_after=</code> and answer <code>{"data": [...], "has_more": false}</code>.</p>
<h2>Operations</h2>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
{{range .Ops}}<tr><td class="m">{{.Method}}</td><td class="p"><code>{{.Path}}</code></td><td>{{.Summary}}{{if .Description}}<br><small>{{.Description}}</small>{{end}}</td></tr>
{{end}}</tbody></table>
<h2>Problems</h2>
<p>Every error is <code>application/problem+json</code> (RFC 9457) with <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, <code>code</code> and, for validation, <code>errors</code>.</p>
<table><thead><tr><th>code</th><th>status</th><th>meaning</th></tr></thead><tbody>
{{range .Problems}}<tr id="problem-{{.Code}}"><td class="m"><code>{{.Code}}</code></td><td class="p">{{.Status}}</td><td>{{.Meaning}}</td></tr>
{{end}}</tbody></table>
</body></html>`))
