package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// ServiceCreated is a new related service with its partner API key, shown once.
type ServiceCreated struct {
	renkei.RelatedService
	APIKey string `json:"api_key" doc:"The partner's API key (a bearer token) to read its deliveries and settings. Shown only once."`
}

// langOf picks the language of sentences for an API caller: ?lang= first,
// then Accept-Language, English by default.
func langOf(query, accept string) string {
	if query == "ja" || query == "en" {
		return query
	}
	for _, part := range strings.Split(accept, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "ja"):
			return "ja"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

func (s *Server) registerRelatedAPI(api huma.API) {
	svc := s.Services
	reg := func(op huma.Operation) huma.Operation {
		op.MaxBodyBytes = maxBody
		if op.Method == http.MethodPost && op.DefaultStatus == 0 {
			op.DefaultStatus = http.StatusCreated
		}
		if len(op.Tags) == 0 {
			op.Tags = []string{"Related services"}
		}
		return op
	}

	huma.Register(api, reg(huma.Operation{OperationID: "create-related-service", Method: http.MethodPost, Path: "/v1/related_services",
		Summary: "Register a related service (admin)", Description: "App information, webhook endpoint, scopes, the input fields it asks for and its proposal policy."}),
		func(ctx context.Context, in *struct {
			IdemHeader
			Body renkei.RelatedServiceInput
		}) (*One[ServiceCreated], error) {
			p, err := need(ctx, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			ctx, idem, err := withIdempotency(ctx, p, "create-related-service", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			rs, key, err := svc.CreateRelatedService(ctx, in.Body)
			if err != nil {
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(ServiceCreated{RelatedService: *rs, APIKey: key}, idem), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "delete-related-service", Method: http.MethodDelete, Path: "/v1/related_services/{id}",
		Summary: "Delete a related service (admin)", Description: "Takes the service out of use at once: it is no longer listed or proposed, " +
			"its partner API key stops working, every user's link to it is revoked and its messages not sent yet are canceled. " +
			"Messages already delivered or failed, with their attempts, are kept for the audit trail (GET /v1/deliveries?service=…), " +
			"and GET /v1/related_services/{id} still answers the service, with deleted_at. Deleting it again answers the same."}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.RelatedService], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			rs, err := svc.DeleteRelatedService(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(rs, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "update-related-service", Method: http.MethodPut, Path: "/v1/related_services/{id}",
		Summary: "Replace a related service's settings (admin)"}),
		func(ctx context.Context, in *struct {
			IDPath
			Body renkei.RelatedServiceInput
		}) (*One[*renkei.RelatedService], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			rs, err := svc.UpdateRelatedService(ctx, in.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(rs, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "list-related-services", Method: http.MethodGet, Path: "/v1/related_services",
		Summary: "List related services", Description: "The admin sees all with their settings; a user sees the enabled ones, to link them."}),
		func(ctx context.Context, in *PageParams) (*List[*renkei.RelatedService], error) {
			p, err := need(ctx, renkei.KindAdmin, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			all, more, err := svc.ListRelatedServices(ctx, in.page())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if p.Kind == renkei.KindUser {
				var shown []*renkei.RelatedService
				for _, rs := range all {
					if rs.Enabled {
						shown = append(shown, publicService(rs))
					}
				}
				all = shown
			}
			return list(all, more), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-related-service", Method: http.MethodGet, Path: "/v1/related_services/{id}",
		Summary: "Get a related service", Description: "The admin, the partner itself (its own settings), or a user (app information only)."}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.RelatedService], error) {
			p, err := need(ctx, renkei.KindAdmin, renkei.KindPartner, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			if p.Kind == renkei.KindPartner && p.ID != in.ID {
				return nil, notYours("related service", in.ID)
			}
			rs, err := svc.FindRelatedService(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if p.Kind == renkei.KindUser {
				if !rs.Enabled {
					return nil, notYours("related service", in.ID)
				}
				rs = publicService(rs)
			}
			return one(rs, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "put-related-service-icon", Method: http.MethodPut, Path: "/v1/related_services/{id}/icon",
		Summary: "Upload a related service's icon (admin)", Description: "The body is the image itself: PNG, JPEG, WebP or GIF, at most 256 KiB.",
		MaxBodyBytes: 256 << 10}),
		func(ctx context.Context, in *struct {
			IDPath
			ContentType string `header:"Content-Type"`
			RawBody     []byte `contentType:"image/png"`
		}) (*One[*renkei.RelatedService], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			rs, err := svc.SetServiceIcon(ctx, in.ID, strings.TrimSpace(strings.SplitN(in.ContentType, ";", 2)[0]), in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(rs, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-related-service-icon", Method: http.MethodGet, Path: "/v1/related_services/{id}/icon",
		Summary: "A related service's uploaded icon", Description: "Public app information: no token needed, so pages and apps can show it.",
		Security: []map[string][]string{}}),
		func(ctx context.Context, in *IDPath) (*struct {
			ContentType  string `header:"Content-Type"`
			CacheControl string `header:"Cache-Control"`
			CSP          string `header:"Content-Security-Policy"`
			Body         []byte
		}, error) {
			typ, data, err := svc.ServiceIcon(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out := &struct {
				ContentType  string `header:"Content-Type"`
				CacheControl string `header:"Cache-Control"`
				CSP          string `header:"Content-Security-Policy"`
				Body         []byte
			}{typ, "public, max-age=300", "default-src 'none'", data}
			return out, nil
		})

	// ---- links ----

	huma.Register(api, reg(huma.Operation{OperationID: "create-link", Method: http.MethodPost, Path: "/v1/links", Tags: []string{"Links"},
		Summary: "Link a related service (user)", Description: "A standing consent, with a consent receipt: the service gets a pseudonymous id for the user. " +
			"With auto, every payment is sent in real time without a tap; with statement, the payee's later statement line of every payment. " +
			"With neither, nothing is sent by the link itself: the user is asked on each payment screen."}),
		func(ctx context.Context, in *struct {
			Body renkei.LinkInput
		}) (*One[*renkei.Link], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			l, err := svc.CreateLink(ctx, p.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(l, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "list-links", Method: http.MethodGet, Path: "/v1/links", Tags: []string{"Links"},
		Summary: "List my links (user)"}),
		func(ctx context.Context, _ *struct{}) (*List[*renkei.Link], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			ls, err := svc.ListLinks(ctx, p.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ls, false), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "update-link", Method: http.MethodPatch, Path: "/v1/links/{id}", Tags: []string{"Links"},
		Summary:     "Turn a link's real-time sending or statement feed on or off (user)",
		Description: "Each change makes a new consent receipt. Turning a consent off stops at once: queued messages only it allowed are canceled."}),
		func(ctx context.Context, in *struct {
			IDPath
			Body renkei.LinkChange
		}) (*One[*renkei.Link], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			l, err := svc.UpdateLink(ctx, p.ID, in.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(l, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "revoke-link", Method: http.MethodPost, Path: "/v1/links/{id}/revoke", Tags: []string{"Links"},
		Summary: "Unlink (user)", Description: "Stops all sending to the service at once; queued messages not yet sent are canceled, and link.revoked is sent to the service (the link's last message).", DefaultStatus: http.StatusOK}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.Link], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			l, err := svc.RevokeLink(ctx, p.ID, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(l, nil), nil
		})

	// ---- the completion screen as JSON ----

	type langIn struct {
		IDPath
		Lang           string `query:"lang" enum:"ja,en," doc:"Language of the reason sentences; else Accept-Language."`
		AcceptLanguage string `header:"Accept-Language"`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "get-completion", Method: http.MethodGet, Path: "/v1/payments/{id}/completion", Tags: []string{"Completion"},
		Summary: "The payment-completion view (user)", Description: "The payment and the related apps proposed for it, each with the reason (claims 2–6, 10)."}),
		func(ctx context.Context, in *langIn) (*One[*renkei.CompletionView], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			v, err := svc.Completion(ctx, p.ID, in.ID, langOf(in.Lang, in.AcceptLanguage))
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(v, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "create-selection", Method: http.MethodPost, Path: "/v1/payments/{id}/selections", Tags: []string{"Completion"},
		Summary: "Choose a proposed app (user)", Description: "The tap: records the consent and, in the same transaction, queues the payment information with the memo and category to that service (claims 1, 7, 8)."}),
		func(ctx context.Context, in *struct {
			IDPath
			IdemHeader
			Body renkei.SelectInput
		}) (*One[*renkei.Selection], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			ctx, idem, err := withIdempotency(ctx, p, "create-selection:"+in.ID, in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			sel, err := svc.Select(ctx, p.ID, in.ID, in.Body)
			if err != nil {
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(sel, idem), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "create-dismissal", Method: http.MethodPost, Path: "/v1/payments/{id}/dismissals", Tags: []string{"Completion"},
		Summary: "Dismiss a proposed app (user)", Description: "Counts in the user's history: repeated dismissals raise that service's threshold for this user.", DefaultStatus: http.StatusOK}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				ServiceID string `json:"service_id" maxLength:"64"`
			}
		}) (*One[*renkei.Proposal], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			pr, err := svc.Dismiss(ctx, p.ID, in.ID, in.Body.ServiceID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(pr, nil), nil
		})

	// ---- deliveries ----

	type deliveriesIn struct {
		PageParams
		ServiceID string `query:"service_id" maxLength:"64"`
		PaymentID string `query:"payment_id" maxLength:"64"`
		Status    string `query:"status" enum:"queued,delivered,failed,canceled,"`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "list-deliveries", Method: http.MethodGet, Path: "/v1/deliveries", Tags: []string{"Deliveries"},
		Summary: "List messages to related services", Description: "The admin sees all; a partner its own."}),
		func(ctx context.Context, in *deliveriesIn) (*List[*renkei.Delivery], error) {
			p, err := need(ctx, renkei.KindAdmin, renkei.KindPartner)
			if err != nil {
				return nil, err
			}
			f := renkei.DeliveryFilter{ServiceID: in.ServiceID, PaymentID: in.PaymentID, Status: in.Status, Page: in.page()}
			if p.Kind == renkei.KindPartner {
				f.ServiceID = p.ID
			}
			ds, more, err := svc.ListDeliveries(ctx, f)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ds, more), nil
		})
}

// publicService is what a user may see of a service: its app
// information, not its endpoint or policy.
func publicService(rs *renkei.RelatedService) *renkei.RelatedService {
	return &renkei.RelatedService{ID: rs.ID, Name: rs.Name, IconURL: rs.IconURL, Description: rs.Description, AppURL: rs.AppURL,
		AppCategory: rs.AppCategory, Scopes: rs.Scopes, Input: rs.Input, Enabled: rs.Enabled, CreatedAt: rs.CreatedAt,
		Policy: renkei.ServicePolicy{}}
}

// DeliveryDetail is a delivery with its attempts.
type DeliveryDetail struct {
	*renkei.Delivery
	AttemptLog []*renkei.Attempt `json:"attempt_log"`
}

func (s *Server) registerDeliveryAPI(api huma.API) {
	svc := s.Services
	tags := []string{"Deliveries"}

	// visible returns the delivery if the caller may see it.
	visible := func(ctx context.Context, id string) (*renkei.Delivery, error) {
		p, err := need(ctx, renkei.KindAdmin, renkei.KindPartner)
		if err != nil {
			return nil, err
		}
		d, err := svc.FindDelivery(ctx, id)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if p.Kind == renkei.KindPartner && d.ServiceID != p.ID {
			return nil, notYours("delivery", id)
		}
		return d, nil
	}

	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusOK, OperationID: "get-delivery", Method: http.MethodGet, Path: "/v1/deliveries/{id}", Tags: tags,
		Summary: "A delivery with its attempts", Description: "Each attempt's time, duration, response status, first bytes of the response body and error."},
		func(ctx context.Context, in *IDPath) (*One[DeliveryDetail], error) {
			d, err := visible(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			as, err := svc.Attempts(ctx, d.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if as == nil {
				as = []*renkei.Attempt{}
			}
			return one(DeliveryDetail{Delivery: d, AttemptLog: as}, nil), nil
		})

	type replayOut struct {
		Replayed int `json:"replayed" doc:"How many failed deliveries were queued again."`
	}
	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusOK, OperationID: "replay-delivery", Method: http.MethodPost, Path: "/v1/deliveries/{id}/replay", Tags: tags,
		Summary: "Send a failed delivery again", Description: "Queues it again with its original message id, so a partner deduplicating by webhook-id counts it once."},
		func(ctx context.Context, in *IDPath) (*One[replayOut], error) {
			d, err := visible(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			if d.Status != renkei.DeliveryFailed {
				return nil, problemFrom(renkei.Errorf(renkei.ECONFLICT, "Delivery %s is %s; only a failed delivery can be replayed.", d.ID, d.Status))
			}
			n, err := svc.Replay(ctx, store.ReplayFilter{DeliveryID: d.ID}, nil)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(replayOut{n}, nil), nil
		})

	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusOK, OperationID: "replay-deliveries", Method: http.MethodPost, Path: "/v1/deliveries/replay", Tags: tags,
		Summary: "Send every failed delivery since a time again", Description: "The admin may narrow to one service; a partner replays its own."},
		func(ctx context.Context, in *struct {
			Body struct {
				Since     time.Time `json:"since" doc:"Failed deliveries created at or after this time."`
				ServiceID string    `json:"service_id,omitempty" maxLength:"64"`
			}
		}) (*One[replayOut], error) {
			p, err := need(ctx, renkei.KindAdmin, renkei.KindPartner)
			if err != nil {
				return nil, err
			}
			f := store.ReplayFilter{ServiceID: in.Body.ServiceID, Since: in.Body.Since}
			if p.Kind == renkei.KindPartner {
				f.ServiceID = p.ID
			}
			n, err := svc.Replay(ctx, f, nil)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(replayOut{n}, nil), nil
		})

	type rotateOut struct {
		WebhookSecret string    `json:"webhook_secret" doc:"The new signing secret, shown once."`
		OldValidUntil time.Time `json:"old_secret_valid_until"`
	}
	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusOK, OperationID: "rotate-secret", Method: http.MethodPost, Path: "/v1/related_services/{id}/rotate_secret",
		Tags: []string{"Related services"}, Summary: "Rotate the webhook signing secret (admin)",
		Description: "Messages are signed with both the new and the old secret for the grace period (default 24 h), so the partner can switch without losing one."},
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				GraceHours int `json:"grace_hours,omitempty" minimum:"0" maximum:"720"`
			}
		}) (*One[rotateOut], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			grace := 24 * time.Hour
			if in.Body.GraceHours > 0 {
				grace = time.Duration(in.Body.GraceHours) * time.Hour
			}
			sec, err := svc.RotateSecret(ctx, in.ID, grace)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(rotateOut{sec, time.Now().Add(grace).UTC()}, nil), nil
		})
}
