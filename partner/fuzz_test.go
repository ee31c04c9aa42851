package partner_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei/partner"
)

// FuzzHandler sends correctly signed bodies of any content: whatever a
// (compromised or buggy) sender puts in them, the Handler answers 200 or
// 400 and never panics. It also fuzzes the signature header with a wrong
// value, which must always be 401 (or 400 before the signature is read).
func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		completed, completedWithFutureField, `{}`, `null`, `[]`, `{"type":1}`, `{"type":"payment.completed","data":null}`,
		`{"type":"payment.completed","data":{"payment_id":"p","amount":1e400}}`,
		`{"type":"payment.refunded","data":{"payment_id":"p","refund_id":"r","refunded_at":"yesterday"}}`,
		`{"type":"link.revoked","data":{"user":["x"]}}`, `{"type":"statement.line","data":"x"}`, "\xff\xfe",
	} {
		f.Add(seed, "v1,AAAA")
	}
	sec := "whsec_" + strings.Repeat("QUJD", 8)
	h := &partner.Handler{Secrets: []string{sec}, Log: discard,
		OnPaymentCompleted: func(context.Context, *partner.Event, *partner.PaymentCompleted) error { return nil },
		OnPaymentRefunded:  func(context.Context, *partner.Event, *partner.PaymentRefunded) error { return nil },
		OnStatementLine:    func(context.Context, *partner.Event, *partner.StatementLine) error { return nil },
		OnLinkRevoked:      func(context.Context, *partner.Event, *partner.LinkRevoked) error { return nil },
		OnOther:            func(context.Context, *partner.Event, json.RawMessage) error { return nil },
	}
	f.Fuzz(func(t *testing.T, body, badSig string) {
		id, ts := newMsgID(), time.Now()
		for _, sig := range []string{sign(t, id, ts, []byte(body), sec), badSig} {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set(partner.HeaderID, id)
			req.Header.Set(partner.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
			req.Header.Set(partner.HeaderSignature, sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			valid := sig != badSig
			switch {
			case valid && (w.Code == 200 || w.Code == 400):
			case !valid && (w.Code == 401 || w.Code == 400 && strings.TrimSpace(badSig) == ""):
			default:
				t.Fatalf("signature valid=%v: status %d %q", valid, w.Code, w.Body.String())
			}
		}
	})
}
