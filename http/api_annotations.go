package http

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/renkei/renkei"
)

// registerAnnotationAPI is what the payer does after the tap: edit the
// memo a service received, and follow the message of the tap itself.
func (s *Server) registerAnnotationAPI(api huma.API) {
	svc := s.Services
	tags := []string{"Completion"}

	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusCreated, OperationID: "create-annotation",
		Method: http.MethodPost, Path: "/v1/payments/{id}/annotations", Tags: tags,
		Summary: "Change the memo and category of a sent payment (user)",
		Description: "The payer's memo written after the fact. In one transaction it is recorded and payment.annotated, with the payment's id and the input as it stands now, " +
			"is queued to every related service that received the payment (by a tap or a link), is still linked and asks for a memo or a category; " +
			"each gets only the fields it asks for, checked against its limits. Takes an Idempotency-Key."},
		func(ctx context.Context, in *struct {
			IDPath
			IdemHeader
			Body renkei.AnnotateInput
		}) (*One[*renkei.Annotation], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			ctx, idem, err := withIdempotency(ctx, p, "create-annotation:"+in.ID, in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			a, err := svc.Annotate(ctx, p.ID, in.ID, in.Body)
			if err != nil {
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(a, idem), nil
		})

	huma.Register(api, huma.Operation{MaxBodyBytes: maxBody, DefaultStatus: http.StatusOK, OperationID: "list-selection-states",
		Method: http.MethodGet, Path: "/v1/payments/{id}/selections", Tags: tags,
		Summary: "Where the messages of my taps stand (user)",
		Description: "For each app the payer chose for this payment: queued (waiting for the first attempt), retrying (an attempt failed; Renkei tries again by itself), " +
			"delivered, failed (every attempt failed), canceled (unlinked before it went). Poll it until final is true."},
		func(ctx context.Context, in *IDPath) (*List[*renkei.SelectionState], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			sts, err := svc.SelectionStates(ctx, p.ID, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(sts, false), nil
		})
}
