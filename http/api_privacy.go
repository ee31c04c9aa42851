package http

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/renkei/renkei"
)

// The payer's privacy center as JSON (issue 11; APPI art. 27 and 29):
// every provision of the payer's data to a service, every consent with its
// receipt, and for the admin the record of provision per service.

// controller is the operator as consent receipts name it.
func (s *Server) controller() renkei.Controller {
	c := s.Operator
	if c.Name == "" {
		c.Name = "Renkei (the operator of this wallet)"
	}
	return c
}

// receiptFor makes a consent's receipt in a language.
func (s *Server) receiptFor(c *renkei.Consent, lang string) *renkei.ConsentReceipt {
	policy := s.controller().URL
	if policy != "" {
		policy = strings.TrimSuffix(policy, "/") + "/app/privacy"
	} else {
		policy = "/app/privacy"
	}
	return c.Receipt(s.controller(), policy, lang)
}

// receiptFile is a consent receipt as a file to download.
type receiptFile struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (s *Server) registerPrivacyAPI(api huma.API) {
	svc := s.Services
	tags := []string{"Privacy"}
	reg := func(op huma.Operation) huma.Operation {
		op.MaxBodyBytes, op.DefaultStatus, op.Tags = maxBody, http.StatusOK, tags
		return op
	}

	huma.Register(api, reg(huma.Operation{OperationID: "list-provisions", Method: http.MethodGet, Path: "/v1/privacy/provisions",
		Summary: "Every provision of my data to a related service (user)",
		Description: "Newest first: when, which payment, which fields (as sent), why (source: selection, link, statement), " +
			"the delivery status (queued, delivered with delivered_at when the service acknowledged it, failed, canceled) " +
			"and the consent that covers it. Read from the messages themselves."}),
		func(ctx context.Context, in *PageParams) (*List[*renkei.Provision], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			ps, more, err := svc.ListProvisions(ctx, renkei.ProvisionFilter{UserID: p.ID, Page: in.page()})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			for _, pv := range ps {
				pv.UserID = ""
			}
			return list(ps, more), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "list-consents", Method: http.MethodGet, Path: "/v1/privacy/consents",
		Summary:     "My consents: each link as made or changed, and each tap (user)",
		Description: "Newest first, with whether each still holds (superseded_at, withdrawn_at). GET …/consents/{id}/receipt gives its consent receipt."}),
		func(ctx context.Context, in *PageParams) (*List[*renkei.Consent], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			cs, more, err := svc.ListConsents(ctx, p.ID, in.page())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(cs, more), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-consent-receipt", Method: http.MethodGet, Path: "/v1/privacy/consents/{id}/receipt",
		Summary: "The consent receipt of one consent, as a file (user)",
		Description: "JSON in the shape of the Kantara Consent Receipt v1.1 (receipt id, timestamp, collection method, controller, " +
			"pseudonymous principal id, purposes with their data categories, third party, termination), sent as an attachment."}),
		func(ctx context.Context, in *struct {
			IDPath
			Lang           string `query:"lang" enum:"ja,en," doc:"Language of the receipt's texts; else Accept-Language."`
			AcceptLanguage string `header:"Accept-Language"`
		}) (*receiptFile, error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			c, err := svc.FindConsent(ctx, p.ID, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return s.receiptDownload(c, langOf(in.Lang, in.AcceptLanguage))
		})

	type exportIn struct {
		IDPath
		PageParams
		Since  time.Time `query:"since" doc:"From this time (RFC 3339), inclusive."`
		Until  time.Time `query:"until" doc:"Up to this time (RFC 3339), exclusive."`
		Format string    `query:"format" enum:"json,csv,jsonl," doc:"json (default): a page, {data, has_more}; csv or jsonl: the whole period as a file."`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "export-provisions", Method: http.MethodGet, Path: "/v1/related_services/{id}/provisions",
		Summary: "The record of provision to one related service over a period (admin)",
		Description: "APPI art. 29: every message that gave a payer's data to the service, newest first: when, the payer (user_id and the " +
			"pseudonym the service knows), the payment, the fields sent, why, the delivery status and the consent. format=json pages " +
			"with limit and starting_after; format=csv or jsonl streams the whole period as a download."}),
		func(ctx context.Context, in *exportIn) (*huma.StreamResponse, error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			if !in.Since.IsZero() && !in.Until.IsZero() && !in.Until.After(in.Since) {
				return nil, s.problem(ctx, renkei.Invalid("query.until", "until must be after since."))
			}
			rs, err := svc.FindRelatedService(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			f := renkei.ProvisionFilter{ServiceID: rs.ID, Since: in.Since, Until: in.Until, Page: in.page()}
			if in.Format == "" || in.Format == "json" {
				ps, more, err := svc.ListProvisions(ctx, f)
				if err != nil {
					return nil, s.problem(ctx, err)
				}
				body, err := json.Marshal(list(ps, more).Body)
				if err != nil {
					return nil, s.problem(ctx, err)
				}
				return &huma.StreamResponse{Body: func(hc huma.Context) {
					hc.SetHeader("Content-Type", "application/json")
					hc.BodyWriter().Write(body)
				}}, nil
			}
			return &huma.StreamResponse{Body: func(hc huma.Context) {
				name := "provisions-" + rs.ID + "." + in.Format
				ct := "text/csv; charset=utf-8"
				if in.Format == "jsonl" {
					ct = "application/jsonl"
				}
				hc.SetHeader("Content-Type", ct)
				hc.SetHeader("Content-Disposition", `attachment; filename="`+name+`"`)
				if err := s.writeProvisions(hc.Context(), hc.BodyWriter(), f, in.Format); err != nil {
					s.Log.ErrorContext(ctx, "export provisions", "service", rs.ID, "err", err)
				}
			}}, nil
		})
}

// receiptDownload is a consent's receipt as an attachment.
func (s *Server) receiptDownload(c *renkei.Consent, lang string) (*receiptFile, error) {
	b, err := json.MarshalIndent(s.receiptFor(c, lang), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode receipt: %w", err)
	}
	return &receiptFile{ContentType: "application/json", Body: append(b, '\n'),
		ContentDisposition: `attachment; filename="consent-receipt-` + c.ID + `.json"`}, nil
}

// provisionColumns are the CSV export's columns.
var provisionColumns = []string{"created_at", "id", "service_id", "service_name", "user_id", "user", "payment_id", "type", "source",
	"fields", "status", "attempts", "delivered_at", "consent_id"}

// writeProvisions writes every provision of a filter, page by page, as CSV
// or JSON lines: an export of a period is not limited to one page.
func (s *Server) writeProvisions(ctx context.Context, w io.Writer, f renkei.ProvisionFilter, format string) error {
	cw := csv.NewWriter(w)
	if format == "csv" {
		cw.Write(provisionColumns)
	}
	enc := json.NewEncoder(w)
	f.Page = renkei.Page{Limit: 100}
	for {
		ps, more, err := s.Services.ListProvisions(ctx, f)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if format == "jsonl" {
				if err := enc.Encode(p); err != nil {
					return err
				}
				continue
			}
			delivered := ""
			if p.DeliveredAt != nil {
				delivered = p.DeliveredAt.UTC().Format(time.RFC3339Nano)
			}
			cw.Write([]string{p.CreatedAt.UTC().Format(time.RFC3339Nano), p.ID, p.ServiceID, p.ServiceName, p.UserID, p.User,
				p.PaymentID, p.Type, p.Source, strings.Join(p.Fields, " "), p.Status, strconv.Itoa(p.Attempts), delivered, p.ConsentID})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if !more || len(ps) == 0 {
			return nil
		}
		f.Page.StartingAfter = ps[len(ps)-1].ID
	}
}
