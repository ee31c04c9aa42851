package http

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/renkei/renkei"
)

// IdemHeader is the Idempotency-Key of a money-moving POST.
type IdemHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"A unique key per intended operation. Retrying with the same key and the same parameters returns the first result, with Idempotent-Replayed: true, and moves no money twice. Keys are kept 48 hours."`
}

// One is a single object in a response.
type One[T any] struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored result of an earlier request with the same Idempotency-Key."`
	Body     T
}

// List is a page of a list response.
type List[T any] struct {
	Body struct {
		Data    []T  `json:"data"`
		HasMore bool `json:"has_more"`
	}
}

// PageParams are the list parameters of CONVENTIONS.md.
type PageParams struct {
	Limit         int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"How many items, at most 100."`
	StartingAfter string `query:"starting_after" maxLength:"64" doc:"The cursor: the last id of the previous page."`
}

func (p PageParams) page() renkei.Page {
	return renkei.Page{Limit: p.Limit, StartingAfter: p.StartingAfter}
}

// IDPath is an object id in the path.
type IDPath struct {
	ID string `path:"id" maxLength:"64"`
}

func one[T any](v T, idem *renkei.Idempotency) *One[T] {
	o := &One[T]{Body: v}
	if idem != nil && idem.Replayed {
		o.Replayed = "true"
	}
	return o
}

func list[T any](data []T, more bool) *List[T] {
	l := &List[T]{}
	if data == nil {
		data = []T{}
	}
	l.Body.Data, l.Body.HasMore = data, more
	return l
}

// UserCreated is a new user with its token, shown only this once.
type UserCreated struct {
	renkei.User
	Token string `json:"token" doc:"The user's bearer token. It is shown only once."`
}

// TerminalCreated is a new terminal with its API key, shown only once.
type TerminalCreated struct {
	renkei.Terminal
	APIKey string `json:"api_key" doc:"The terminal's API key (a bearer token). It is shown only once."`
}

// Me describes the caller.
type Me struct {
	Kind       string `json:"kind" enum:"user,terminal,admin"`
	ID         string `json:"id"`
	MerchantID string `json:"merchant_id,omitempty"`
	// TimeZone is, for a user, the zone their pages show times in: their
	// own choice, else the server's default.
	TimeZone string `json:"time_zone,omitempty"`
}

// MeSettings are the settings a user changes on themselves.
type MeSettings struct {
	TimeZone string `json:"time_zone" maxLength:"64" doc:"An IANA time zone such as Asia/Tokyo for the pages' times, whatever the language; empty for the server's default. The API's times stay UTC."`
}

func (s *Server) registerAPI(api huma.API) {
	svc := s.Services
	reg := func(op huma.Operation) huma.Operation {
		op.MaxBodyBytes = maxBody
		if op.Method == http.MethodPost && op.DefaultStatus == 0 {
			op.DefaultStatus = http.StatusCreated
		}
		return op
	}

	huma.Register(api, reg(huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/v1/me",
		Summary: "Who am I", Tags: []string{"Auth"}}),
		func(ctx context.Context, _ *struct{}) (*One[Me], error) {
			p, err := need(ctx, renkei.KindUser, renkei.KindTerminal, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			me := Me{Kind: p.Kind, ID: p.ID, MerchantID: p.MerchantID}
			if p.Kind == renkei.KindUser {
				u, err := svc.FindUser(ctx, p.ID)
				if err != nil {
					return nil, s.problem(ctx, err)
				}
				me.TimeZone = s.userZone(u).String()
			}
			return one(me, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "update-me", Method: http.MethodPatch, Path: "/v1/me",
		Summary: "Change my settings (user)", Description: "The time zone the user's pages show times in, whatever their language.", Tags: []string{"Auth"}}),
		func(ctx context.Context, in *struct{ Body MeSettings }) (*One[Me], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			u, err := svc.SetUserTimeZone(ctx, p.ID, in.Body.TimeZone)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(Me{Kind: p.Kind, ID: p.ID, TimeZone: s.userZone(u).String()}, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "rotate-my-token", Method: http.MethodPost, Path: "/v1/me/rotate_token",
		Summary: "Give me a new token (user)", Description: "For a token that may have leaked: the new token is shown only in this answer, and the one this call was made with, with every page login made with it, stops working at once.",
		DefaultStatus: http.StatusOK, Tags: []string{"Auth"}}),
		func(ctx context.Context, _ *struct{}) (*One[UserCreated], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			u, tok, err := svc.RotateUserToken(ctx, p.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(UserCreated{User: *u, Token: tok}, nil), nil
		})

	// ---- users and wallets ----

	huma.Register(api, reg(huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/v1/users",
		Summary: "Create a user (admin)", Tags: []string{"Users"}}),
		func(ctx context.Context, in *struct{ Body renkei.CreateUser }) (*One[UserCreated], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			u, tok, err := svc.CreateUser(ctx, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(UserCreated{User: *u, Token: tok}, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "rotate-user-token", Method: http.MethodPost, Path: "/v1/users/{id}/rotate_token",
		Summary: "Give a user a new token (admin)", Description: "For a token that leaked or a phone that was lost: the new token is shown only in this answer, and the old one, with every login made with it, stops working at once.",
		DefaultStatus: http.StatusOK, Tags: []string{"Users"}}),
		func(ctx context.Context, in *IDPath) (*One[UserCreated], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			u, tok, err := svc.RotateUserToken(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(UserCreated{User: *u, Token: tok}, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/v1/users/{id}",
		Summary: "Get a user", Tags: []string{"Users"}}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.User], error) {
			p, err := need(ctx, renkei.KindUser, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			if p.Kind == renkei.KindUser && p.ID != in.ID {
				return nil, notYours("user", in.ID)
			}
			u, err := svc.FindUser(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(u, nil), nil
		})

	type walletsIn struct {
		UserID string `query:"user_id" maxLength:"64" doc:"Whose wallets (admin only; a user sees their own)."`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "list-wallets", Method: http.MethodGet, Path: "/v1/wallets",
		Summary: "List wallets", Description: "A user's wallets, one per currency.", Tags: []string{"Users"}}),
		func(ctx context.Context, in *walletsIn) (*List[*renkei.Wallet], error) {
			p, err := need(ctx, renkei.KindUser, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			uid := in.UserID
			if p.Kind == renkei.KindUser {
				if uid != "" && uid != p.ID {
					return nil, notYours("user", uid)
				}
				uid = p.ID
			} else if uid == "" {
				return nil, problemFrom(renkei.Invalid("query.user_id", "Say whose wallets: ?user_id=usr_…"))
			}
			ws, err := svc.Wallets(ctx, uid)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ws, false), nil
		})

	type entriesIn struct {
		PageParams
		UserID string `query:"user_id" maxLength:"64" doc:"Whose history (admin only)."`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "list-wallet-entries", Method: http.MethodGet, Path: "/v1/wallet_entries",
		Summary: "Wallet history", Description: "The ledger postings on a user's wallets, newest first.", Tags: []string{"Users"}}),
		func(ctx context.Context, in *entriesIn) (*List[*renkei.Entry], error) {
			p, err := need(ctx, renkei.KindUser, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			uid := in.UserID
			if p.Kind == renkei.KindUser {
				if uid != "" && uid != p.ID {
					return nil, notYours("user", uid)
				}
				uid = p.ID
			} else if uid == "" {
				return nil, problemFrom(renkei.Invalid("query.user_id", "Say whose history: ?user_id=usr_…"))
			}
			es, more, err := svc.History(ctx, uid, in.page())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(es, more), nil
		})

	type topUpIn struct {
		IdemHeader
		Body renkei.TopUp
	}
	huma.Register(api, reg(huma.Operation{OperationID: "create-topup", Method: http.MethodPost, Path: "/v1/topups",
		Summary: "Top up a wallet", Description: "Adds money from outside (admin; in demo mode a user may top up their own wallet).", Tags: []string{"Users"}}),
		func(ctx context.Context, in *topUpIn) (*One[*renkei.Wallet], error) {
			kinds := []string{renkei.KindAdmin}
			if s.Demo {
				kinds = append(kinds, renkei.KindUser)
			}
			p, err := need(ctx, kinds...)
			if err != nil {
				return nil, err
			}
			if p.Kind == renkei.KindUser {
				if in.Body.UserID != "" && in.Body.UserID != p.ID {
					return nil, notYours("user", in.Body.UserID)
				}
				in.Body.UserID = p.ID
			}
			ctx, idem, err := withIdempotency(ctx, p, "create-topup", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			w, err := svc.TopUp(ctx, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(w, idem), nil
		})

	// ---- merchants and terminals ----

	huma.Register(api, reg(huma.Operation{OperationID: "create-merchant", Method: http.MethodPost, Path: "/v1/merchants",
		Summary: "Create a merchant (admin)", Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *struct{ Body renkei.CreateMerchant }) (*One[*renkei.Merchant], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			m, err := svc.CreateMerchant(ctx, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(m, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "list-merchants", Method: http.MethodGet, Path: "/v1/merchants",
		Summary: "List merchants (admin)", Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *PageParams) (*List[*renkei.Merchant], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			ms, more, err := svc.ListMerchants(ctx, in.page())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ms, more), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-merchant", Method: http.MethodGet, Path: "/v1/merchants/{id}",
		Summary: "Get a merchant", Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.Merchant], error) {
			p, err := need(ctx, renkei.KindTerminal, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			if p.Kind == renkei.KindTerminal && p.MerchantID != in.ID {
				return nil, notYours("merchant", in.ID)
			}
			m, err := svc.FindMerchant(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(m, nil), nil
		})

	type statusIn struct {
		IDPath
		Body struct {
			Status string `json:"status" enum:"active,disabled" doc:"active or disabled"`
		}
	}
	huma.Register(api, reg(huma.Operation{OperationID: "set-merchant-status", Method: http.MethodPost, Path: "/v1/merchants/{id}/status",
		Summary: "Enable or disable a merchant (admin)", DefaultStatus: http.StatusOK, Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *statusIn) (*One[*renkei.Merchant], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			m, err := svc.SetMerchantStatus(ctx, in.ID, in.Body.Status)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(m, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "create-terminal", Method: http.MethodPost, Path: "/v1/terminals",
		Summary: "Create a shop terminal (admin)", Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *struct{ Body renkei.CreateTerminal }) (*One[TerminalCreated], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			t, key, err := svc.CreateTerminal(ctx, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(TerminalCreated{Terminal: *t, APIKey: key}, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "rotate-terminal-key", Method: http.MethodPost, Path: "/v1/terminals/{id}/rotate_key",
		Summary: "Give a shop terminal a new API key (admin)", Description: "For a key that leaked or a till that was stolen: the new key is shown only in this answer, and the old one, with every login made with it, stops working at once.",
		DefaultStatus: http.StatusOK, Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *IDPath) (*One[TerminalCreated], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			t, key, err := svc.RotateTerminalKey(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(TerminalCreated{Terminal: *t, APIKey: key}, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "list-terminals", Method: http.MethodGet, Path: "/v1/merchants/{id}/terminals",
		Summary: "List a merchant's terminals", Tags: []string{"Merchants"}}),
		func(ctx context.Context, in *IDPath) (*List[*renkei.Terminal], error) {
			p, err := need(ctx, renkei.KindTerminal, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			if p.Kind == renkei.KindTerminal && p.MerchantID != in.ID {
				return nil, notYours("merchant", in.ID)
			}
			ts, err := svc.Terminals(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ts, false), nil
		})

	// ---- payments ----

	type payCodeIn struct {
		Body struct {
			Currency string `json:"currency,omitempty" maxLength:"3" doc:"The wallet to pay from; JPY if left out."`
		}
	}
	huma.Register(api, reg(huma.Operation{OperationID: "create-pay-code", Method: http.MethodPost, Path: "/v1/pay_codes",
		Summary: "Issue a one-time pay code (user)", Description: "A 20-digit code valid for 5 minutes and one payment, for a shop terminal to charge.", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *payCodeIn) (*One[*renkei.PayCode], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			pc, err := svc.NewPayCode(ctx, p.ID, in.Body.Currency)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return one(pc, nil), nil
		})

	type chargeIn struct {
		IdemHeader
		Body renkei.ChargeCode
	}
	huma.Register(api, reg(huma.Operation{OperationID: "charge-pay-code", Method: http.MethodPost, Path: "/v1/payments/charge",
		Summary: "Charge a user's pay code (terminal)", Description: "The consumer-presented flow. Completes the payment or declines it with 402 and a reason (insufficient_balance, code_expired, code_already_used, currency_mismatch, merchant_disabled).", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *chargeIn) (*One[*renkei.Payment], error) {
			p, err := need(ctx, renkei.KindTerminal)
			if err != nil {
				return nil, err
			}
			key := "charge:" + p.ID
			if !s.limits.allow(key, false) {
				return nil, problemFrom(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown pay codes from this terminal; wait a minute."))
			}
			in.Body.TerminalID = p.ID
			ctx, idem, err := withIdempotency(ctx, p, "charge-pay-code", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			pay, err := svc.ChargeCode(ctx, in.Body)
			s.countPayment(renkei.FlowConsumerPresented, err)
			if err != nil {
				if e, ok := err.(*renkei.Error); ok && e.Reason == renkei.ReasonUnknownPayCode {
					s.limits.allow(key, true)
				}
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(pay, idem), nil
		})

	type requestIn struct {
		IdemHeader
		Body renkei.CreatePaymentRequest
	}
	huma.Register(api, reg(huma.Operation{OperationID: "create-payment-request", Method: http.MethodPost, Path: "/v1/payment_requests",
		Summary: "Create a merchant-presented QR payment (terminal)", Description: "Returns a pending payment whose qr_payload (EMVCo merchant-presented format) the terminal shows as a QR code. It expires after 10 minutes.", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *requestIn) (*One[*renkei.Payment], error) {
			p, err := need(ctx, renkei.KindTerminal)
			if err != nil {
				return nil, err
			}
			in.Body.TerminalID = p.ID
			ctx, idem, err := withIdempotency(ctx, p, "create-payment-request", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			pay, err := svc.CreatePaymentRequest(ctx, in.Body)
			if err != nil {
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(pay, idem), nil
		})

	type qrIn struct {
		IdemHeader
		Body struct {
			QRPayload string `json:"qr_payload" minLength:"1" maxLength:"512" doc:"The text of the scanned QR code."`
		}
	}
	huma.Register(api, reg(huma.Operation{OperationID: "scan-qr", Method: http.MethodPost, Path: "/v1/payments/scan",
		Summary: "Look up a scanned QR code (user)", Description: "Shows what the code asks to pay, without paying.", DefaultStatus: http.StatusOK, Tags: []string{"Payments"}}),
		func(ctx context.Context, in *qrIn) (*One[*renkei.Payment], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			key := "scan:" + p.ID
			if !s.limits.allow(key, false) {
				return nil, problemFrom(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown QR codes; wait a minute."))
			}
			pay, err := svc.ResolveQR(ctx, p.ID, in.Body.QRPayload)
			if err != nil {
				if c := renkei.ErrorCode(err); c == renkei.ENOTFOUND || c == renkei.EINVALID {
					s.limits.allow(key, true)
				}
				return nil, s.problem(ctx, err)
			}
			return one(pay, nil), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "confirm-qr", Method: http.MethodPost, Path: "/v1/payments/confirm",
		Summary: "Pay a scanned QR code (user)", Description: "The merchant-presented flow's second step: pays the payment request from the user's wallet.", DefaultStatus: http.StatusOK, Tags: []string{"Payments"}}),
		func(ctx context.Context, in *qrIn) (*One[*renkei.Payment], error) {
			p, err := need(ctx, renkei.KindUser)
			if err != nil {
				return nil, err
			}
			key := "scan:" + p.ID
			if !s.limits.allow(key, false) {
				return nil, problemFrom(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown QR codes; wait a minute."))
			}
			ctx, idem, err := withIdempotency(ctx, p, "confirm-qr", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			pay, err := svc.ConfirmQR(ctx, p.ID, in.Body.QRPayload)
			s.countPayment(renkei.FlowMerchantPresented, err)
			if err != nil {
				if c := renkei.ErrorCode(err); c == renkei.ENOTFOUND || c == renkei.EINVALID {
					s.limits.allow(key, true)
				}
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(pay, idem), nil
		})

	type listPaymentsIn struct {
		PageParams
		UserID     string `query:"user_id" maxLength:"64" doc:"Filter by payer (admin)."`
		MerchantID string `query:"merchant_id" maxLength:"64" doc:"Filter by merchant (admin)."`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "list-payments", Method: http.MethodGet, Path: "/v1/payments",
		Summary: "List payments", Description: "A user sees their own, a terminal its merchant's, the admin all.", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *listPaymentsIn) (*List[*renkei.Payment], error) {
			p, err := need(ctx, renkei.KindUser, renkei.KindTerminal, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			f := renkei.PaymentFilter{UserID: in.UserID, MerchantID: in.MerchantID, Page: in.page()}
			switch p.Kind {
			case renkei.KindUser:
				f.UserID, f.MerchantID = p.ID, ""
			case renkei.KindTerminal:
				f.MerchantID, f.UserID = p.MerchantID, ""
			}
			ps, more, err := svc.ListPayments(ctx, f)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(ps, more), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-payment", Method: http.MethodGet, Path: "/v1/payments/{id}",
		Summary: "Get a payment", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.Payment], error) {
			pay, err := s.visiblePayment(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return one(pay, nil), nil
		})

	type refundIn struct {
		IdemHeader
		Body renkei.CreateRefund
	}
	huma.Register(api, reg(huma.Operation{OperationID: "create-refund", Method: http.MethodPost, Path: "/v1/refunds",
		Summary: "Refund a payment (terminal of its merchant, or admin)", Description: "Full (leave out amount) or partial; never more than what is left.", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *refundIn) (*One[*renkei.Refund], error) {
			p, err := need(ctx, renkei.KindTerminal, renkei.KindAdmin)
			if err != nil {
				return nil, err
			}
			if err := in.Body.Validate(); err != nil {
				return nil, s.problem(ctx, err)
			}
			if _, err := s.visiblePayment(ctx, in.Body.PaymentID); err != nil {
				return nil, err
			}
			ctx, idem, err := withIdempotency(ctx, p, "create-refund", in.IdempotencyKey, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			rf, err := svc.CreateRefund(ctx, in.Body)
			if err != nil {
				return nil, s.replayedProblem(ctx, err, idem)
			}
			return one(rf, idem), nil
		})

	huma.Register(api, reg(huma.Operation{OperationID: "get-refund", Method: http.MethodGet, Path: "/v1/refunds/{id}",
		Summary: "Get a refund", Tags: []string{"Payments"}}),
		func(ctx context.Context, in *IDPath) (*One[*renkei.Refund], error) {
			if _, err := need(ctx, renkei.KindUser, renkei.KindTerminal, renkei.KindAdmin); err != nil {
				return nil, err
			}
			rf, err := svc.FindRefund(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if _, err := s.visiblePayment(ctx, rf.PaymentID); err != nil {
				return nil, notYours("refund", in.ID)
			}
			return one(rf, nil), nil
		})

	type eventsIn struct {
		PageParams
		ObjectID string `query:"object_id" maxLength:"64"`
		Type     string `query:"type" maxLength:"64"`
	}
	huma.Register(api, reg(huma.Operation{OperationID: "list-events", Method: http.MethodGet, Path: "/v1/events",
		Summary: "List events (admin)", Description: "The immutable log of state changes, newest first.", Tags: []string{"Events"}}),
		func(ctx context.Context, in *eventsIn) (*List[*renkei.Event], error) {
			if _, err := need(ctx, renkei.KindAdmin); err != nil {
				return nil, err
			}
			es, more, err := svc.ListEvents(ctx, renkei.EventFilter{ObjectID: in.ObjectID, Type: in.Type, Page: in.page()})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return list(es, more), nil
		})
}

// visiblePayment returns a payment the caller may see: the payer, a
// terminal of the payee, or the admin. Anyone else gets the 404 of a
// missing payment.
func (s *Server) visiblePayment(ctx context.Context, id string) (*renkei.Payment, error) {
	p, err := need(ctx, renkei.KindUser, renkei.KindTerminal, renkei.KindAdmin)
	if err != nil {
		return nil, err
	}
	pay, err := s.Services.FindPayment(ctx, id)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	switch {
	case p.Kind == renkei.KindUser && pay.UserID != p.ID,
		p.Kind == renkei.KindTerminal && pay.Merchant.ID != p.MerchantID:
		return nil, notYours("payment", id)
	}
	return pay, nil
}

// replayedProblem is problem() for money-moving calls: a replayed decline
// says so in its headers too.
func (s *Server) replayedProblem(ctx context.Context, err error, idem *renkei.Idempotency) *Problem {
	p := s.problem(ctx, err)
	if idem != nil && idem.Replayed {
		if p.headers == nil {
			p.headers = http.Header{}
		}
		p.headers.Set("Idempotent-Replayed", "true")
	}
	return p
}

func (s *Server) countPayment(flow string, err error) {
	outcome := "completed"
	if err != nil {
		outcome = renkei.ErrorCode(err)
		if e, ok := err.(*renkei.Error); ok && e.Reason != "" {
			outcome = e.Reason
		}
	}
	s.metrics.payments.WithLabelValues(flow, outcome).Inc()
}
