package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/renkei/renkei"
)

// authenticate resolves the bearer token of an API call, if any, into the
// caller. Operations then say which kinds of caller they admit.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	h := ctx.Header("Authorization")
	if h == "" {
		next(ctx)
		return
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		huma.WriteErr(s.api, ctx, 401, "")
		return
	}
	r, _ := humago.Unwrap(ctx)
	p, err := s.checkToken(r, strings.TrimSpace(token))
	if err != nil {
		writeHumaProblem(s.api, ctx, s.problem(ctx.Context(), err))
		return
	}
	next(huma.WithValue(ctx, principalCtx{}, p))
}

type principalCtx struct{}

func principal(ctx context.Context) *renkei.Principal {
	p, _ := ctx.Value(principalCtx{}).(*renkei.Principal)
	return p
}

// need returns the caller if it is one of kinds, else the problem to send.
func need(ctx context.Context, kinds ...string) (*renkei.Principal, error) {
	p := principal(ctx)
	if p == nil {
		return nil, problemFrom(renkei.Errorf(renkei.EUNAUTHORIZED,
			"This call needs a bearer token: Authorization: Bearer <token>."))
	}
	for _, k := range kinds {
		if p.Kind == k {
			return p, nil
		}
	}
	return nil, problemFrom(renkei.Errorf(renkei.EFORBIDDEN,
		"A %s token cannot make this call; it needs a %s token.", p.Kind, strings.Join(kinds, " or ")))
}

// notYours hides another caller's object behind the same 404 as a missing
// one, so ids cannot be probed.
func notYours(kind, id string) error {
	return problemFrom(renkei.Errorf(renkei.ENOTFOUND, "No %s %s.", kind, id))
}

func writeHumaProblem(api huma.API, ctx huma.Context, p *Problem) {
	for k, vs := range p.headers {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	json.NewEncoder(ctx.BodyWriter()).Encode(p)
}

// problem converts any error for the caller and logs only internal ones.
func (s *Server) problem(ctx context.Context, err error) *Problem {
	if p, ok := err.(*Problem); ok {
		return p
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nothing of ours failed.
		p := newProblem(499, "The request was canceled by the client.")
		p.Code = "client_closed_request"
		p.Title, p.Type = "Client Closed Request", problemType(p.Code)
		return p
	}
	if renkei.ErrorCode(err) == renkei.EINTERNAL {
		s.Log.ErrorContext(ctx, "internal error", "err", err)
	}
	return problemFrom(err)
}

// withIdempotency puts the call's Idempotency-Key, scoped to the caller and
// bound to the operation and its parameters, into ctx.
func withIdempotency(ctx context.Context, p *renkei.Principal, op, key string, params any) (context.Context, *renkei.Idempotency, error) {
	if key == "" {
		return ctx, nil, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	h.Write([]byte(op))
	h.Write([]byte{0})
	h.Write(b)
	idem := &renkei.Idempotency{Scope: p.Kind + ":" + p.ID, Key: key, RequestHash: hex.EncodeToString(h.Sum(nil))}
	return renkei.NewContextWithIdempotency(ctx, idem), idem, nil
}

// checkToken authenticates a token (a bearer token, a login form's or a
// login cookie's) for the client of r. The token is checked first: a valid
// token always works, even from an address whose budget of bad tokens is
// spent, so one guesser behind a shared address (a shop's NAT, a proxy)
// cannot lock out the honest callers there. Only bad tokens count, and only
// they are answered 429 once the client's budget is spent; while the
// global budget is spent, tokens not seen valid lately are refused unchecked.
func (s *Server) checkToken(r *http.Request, token string) (*renkei.Principal, error) {
	if !s.limits.mayCheckToken(token) {
		return nil, renkei.Errorf(renkei.ERATELIMIT, "Too many bad tokens are being tried; wait a minute.")
	}
	p, err := s.Services.Authenticate(r.Context(), token)
	if err != nil {
		if renkei.ErrorCode(err) != renkei.EUNAUTHORIZED {
			s.Log.ErrorContext(r.Context(), "authenticate", "err", err)
			return nil, err
		}
		if !s.limits.tokenFailed("auth-fail:" + s.clientKey(r)) {
			return nil, renkei.Errorf(renkei.ERATELIMIT, "Too many bad tokens from your address; wait a minute.")
		}
		return nil, err
	}
	s.limits.tokenWorked(token)
	return p, nil
}
