package http

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// The shop terminal: charge a pay code, show a QR code, list and refund
// the merchant's payments.

// chargeData is the charge form.
type chargeData struct {
	Amount string
	Code   string
	Key    string
	// Invalid names the field at fault ("amount" or "code"), marked with
	// aria-invalid so it is highlighted and read out with the error.
	Invalid string
}

// fieldAt names the form field an error points at: the first of the
// domain error's fields, without its "body." prefix ("amount", "code").
func fieldAt(err error) string {
	var e *renkei.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return strings.TrimPrefix(e.Fields[0].Location, "body.")
	}
	if e != nil && e.Reason == renkei.ReasonUnknownPayCode {
		return "code"
	}
	return ""
}

func (s *Server) shopCharge(pr *pageReq) {
	s.renderCharge(pr, http.StatusOK, &chargeData{Amount: pr.r.URL.Query().Get("amount")})
}

func (s *Server) renderCharge(pr *pageReq, status int, d *chargeData) {
	d.Key = newFormKey()
	pr.view.Nav = "charge"
	s.renderPage(pr, status, "shop_charge", pr.view.L.T("shop.charge.title"), d)
}

// shopChargePost charges the customer's pay code under the form's key: a
// double tap on "Charge" charges once and shows the same payment twice.
func (s *Server) shopChargePost(pr *pageReq) {
	l := pr.view.L
	d := &chargeData{Amount: pr.r.PostFormValue("amount"), Code: strings.TrimSpace(pr.r.PostFormValue("code"))}
	amount, msg := parseYen(d.Amount)
	if msg != "" {
		pr.view.Error, d.Invalid = l.T(msg), "amount"
		s.renderCharge(pr, http.StatusUnprocessableEntity, d)
		return
	}
	key, err := formKey(pr.r)
	if err != nil {
		pr.view.Error = l.T("err.form")
		s.renderCharge(pr, http.StatusUnprocessableEntity, d)
		return
	}
	limKey := "charge:" + pr.p.ID
	if !s.limits.allow(limKey, false) {
		pr.view.Error = l.ErrorText(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown pay codes from this terminal; wait a minute."), sideShop)
		s.renderCharge(pr, http.StatusTooManyRequests, d)
		return
	}
	req := renkei.ChargeCode{TerminalID: pr.p.ID, Code: d.Code, Amount: amount, Currency: renkei.DefaultCurrency}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-charge-pay-code", key, req)
	var pay *renkei.Payment
	if err == nil {
		pay, err = s.Services.ChargeCode(ctx, req)
		s.countPayment(renkei.FlowConsumerPresented, err)
	}
	if err != nil {
		if e, ok := err.(*renkei.Error); ok && e.Reason == "unknown_pay_code" {
			s.limits.allow(limKey, true)
		}
		pr.view.Error, d.Invalid = l.ErrorText(err, sideShop), fieldAt(err)
		s.renderCharge(pr, s.errStatus(pr.ctx, err), d)
		return
	}
	http.Redirect(pr.w, pr.r, "/shop/payments/"+pay.ID, http.StatusSeeOther)
}

// qrFormData is the form that creates a merchant-presented QR code.
type qrFormData struct {
	Amount  string
	Key     string
	Invalid string // the field at fault: "amount" or ""
}

func (s *Server) shopQR(pr *pageReq) {
	s.renderQRForm(pr, http.StatusOK, pr.r.URL.Query().Get("amount"), "")
}

func (s *Server) renderQRForm(pr *pageReq, status int, amount, invalid string) {
	pr.view.Nav = "qr"
	d := &qrFormData{Amount: amount, Key: newFormKey(), Invalid: invalid}
	s.renderPage(pr, status, "shop_qr", pr.view.L.T("shop.qr.title"), d)
}

func (s *Server) shopQRPost(pr *pageReq) {
	l := pr.view.L
	raw := pr.r.PostFormValue("amount")
	amount, msg := parseYen(raw)
	if msg != "" {
		pr.view.Error = l.T(msg)
		s.renderQRForm(pr, http.StatusUnprocessableEntity, raw, "amount")
		return
	}
	key, err := formKey(pr.r)
	if err != nil {
		pr.view.Error = l.T("err.form")
		s.renderQRForm(pr, http.StatusUnprocessableEntity, raw, "")
		return
	}
	req := renkei.CreatePaymentRequest{TerminalID: pr.p.ID, Amount: amount, Currency: renkei.DefaultCurrency}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-create-payment-request", key, req)
	var pay *renkei.Payment
	if err == nil {
		pay, err = s.Services.CreatePaymentRequest(ctx, req)
	}
	if err != nil {
		pr.view.Error = l.ErrorText(err, sideShop)
		s.renderQRForm(pr, s.errStatus(pr.ctx, err), raw, fieldAt(err))
		return
	}
	http.Redirect(pr.w, pr.r, "/shop/qr/"+pay.ID, http.StatusSeeOther)
}

// qrStatusData is the QR code on the shop's screen and what became of it.
type qrStatusData struct {
	Payment *renkei.Payment
	State   string // the payment's status, with a lapsed request as expired
	QR      template.HTML
}

// shopPayment loads a payment of this terminal's merchant; any other is
// answered as missing, so ids cannot be probed.
func (s *Server) shopPaymentOf(pr *pageReq, id string) (*renkei.Payment, bool) {
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		pr.notFound(s)
		return nil, false
	}
	pay, err := s.Services.FindPayment(pr.ctx, id)
	if renkei.ErrorCode(err) == renkei.ENOTFOUND || (err == nil && pay.Merchant.ID != pr.p.MerchantID) {
		pr.notFound(s)
		return nil, false
	} else if err != nil {
		s.pageFail(pr, err)
		return nil, false
	}
	return pay, true
}

// qrState is a payment's status as the shop should see it now: a pending
// request past its time is expired even before the sweeper records it.
func (s *Server) qrState(pay *renkei.Payment) string {
	if pay.Status == renkei.PaymentPending && pay.ExpiresAt != nil && !time.Now().Before(*pay.ExpiresAt) {
		return renkei.PaymentExpired
	}
	return pay.Status
}

func (s *Server) shopQRStatus(pr *pageReq) {
	pay, ok := s.shopPaymentOf(pr, pr.r.PathValue("id"))
	if !ok {
		return
	}
	d := &qrStatusData{Payment: pay, State: s.qrState(pay)}
	title := pr.view.L.T("shop.qr.title")
	switch d.State {
	case renkei.PaymentPending:
		d.QR = s.qrSVG(pr.ctx, pay.QRPayload, 280, pr.view.L.T("shop.qr.img", formatMoney(pay.Amount, pay.Currency)))
		pr.view.Refresh = 2
	case renkei.PaymentExpired:
		title = pr.view.L.T("status.expired")
	default:
		title = pr.view.L.T("shop.qr.paid")
	}
	pr.view.Nav = "qr"
	s.renderPage(pr, http.StatusOK, "shop_qr_status", title, d)
}

// shopQRStatusJSON is what the QR page's script polls, instead of reloading
// the whole page every two seconds.
func (s *Server) shopQRStatusJSON(pr *pageReq) {
	id := pr.r.PathValue("id")
	pay, err := s.Services.FindPayment(pr.ctx, id)
	if err != nil || pay.Merchant.ID != pr.p.MerchantID {
		http.Error(pr.w, "", http.StatusNotFound)
		return
	}
	writePageJSON(pr.w, struct {
		Status string `json:"status"`
	}{s.qrState(pay)})
}

// shopPaymentsData is the merchant's payment list; each refundable
// payment carries its own refund form key.
type shopPaymentsData struct {
	Rows  []shopPaymentRow
	Older string
}

type shopPaymentRow struct {
	Payment *renkei.Payment
	Key     string
}

func (s *Server) shopPayments(pr *pageReq) {
	after := pr.r.URL.Query().Get("after")
	ps, more, err := s.Services.ListPayments(pr.ctx, renkei.PaymentFilter{MerchantID: pr.p.MerchantID,
		Page: renkei.Page{Limit: 20, StartingAfter: after}})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &shopPaymentsData{}
	for _, p := range ps {
		row := shopPaymentRow{Payment: p}
		if p.Refundable() > 0 {
			row.Key = newFormKey()
		}
		d.Rows = append(d.Rows, row)
	}
	if more && len(ps) > 0 {
		d.Older = "/shop/payments?after=" + ps[len(ps)-1].ID
	}
	pr.view.Nav = "payments"
	s.renderPage(pr, http.StatusOK, "shop_payments", pr.view.L.T("shop.payments.title"), d)
}

// shopPaymentData is one payment on the shop's screen: the result of a
// charge, or a payment opened from the list.
type shopPaymentData struct {
	Payment *renkei.Payment
	Key     string
	Heading string
	Refund  string // the refund amount typed, kept after an error
	Invalid string // "amount" when the refund amount is at fault
}

func (s *Server) shopPayment(pr *pageReq) {
	pay, ok := s.shopPaymentOf(pr, pr.r.PathValue("id"))
	if !ok {
		return
	}
	if rid := pr.r.URL.Query().Get("refund"); rid != "" {
		if rf, err := s.Services.FindRefund(pr.ctx, rid); err == nil && rf.PaymentID == pay.ID {
			pr.view.Notice = pr.view.L.T("shop.refunded", formatMoney(rf.Amount, rf.Currency))
		}
	}
	s.renderShopPayment(pr, http.StatusOK, pay, "")
}

func (s *Server) renderShopPayment(pr *pageReq, status int, pay *renkei.Payment, refund string) {
	l := pr.view.L
	d := &shopPaymentData{Payment: pay, Refund: refund}
	if pr.view.Error != "" && refund != "" {
		d.Invalid = "amount"
	}
	switch pay.Status {
	case renkei.PaymentCompleted:
		d.Heading = l.T("shop.charged")
	case renkei.PaymentFailed:
		d.Heading = l.T("done.failed")
	default:
		d.Heading = l.T("shop.payment.title") + ": " + l.Status(pay.Status)
	}
	if pay.Refundable() > 0 {
		d.Key = newFormKey()
	}
	pr.view.Nav = "payments"
	s.renderPage(pr, status, "shop_payment", d.Heading, d)
}

// refundConfirmData is the step between "Refund" and the refund: what
// will go back to the customer, before any money moves.
type refundConfirmData struct {
	Payment *renkei.Payment
	Amount  int64  // what this refund gives back
	Raw     string // the amount as typed ("" for the rest), posted again
	Left    int64  // what remains refundable after it
	Key     string // the first form's idempotency key, carried over
}

// shopRefund refunds a payment of this terminal's merchant, in full (no
// amount) or in part, under the form's idempotency key. The refund forms
// post here without confirm=1 first: that only shows what will be
// refunded, and its button posts again with confirm=1 and the same key,
// so a refund needs two deliberate taps and a double tap still refunds
// once. It works without scripts.
func (s *Server) shopRefund(pr *pageReq) {
	l := pr.view.L
	pay, ok := s.shopPaymentOf(pr, pr.r.PostFormValue("payment_id"))
	if !ok {
		return
	}
	raw := strings.TrimSpace(pr.r.PostFormValue("amount"))
	amount := pay.Refundable()
	if raw != "" {
		var msg string
		if amount, msg = parseYen(raw); msg != "" {
			pr.view.Error = l.T(msg)
			s.renderShopPayment(pr, http.StatusUnprocessableEntity, pay, raw)
			return
		}
		if left := pay.Refundable(); amount > left && left > 0 {
			pr.view.Error = l.T("shop.refund.toomuch", formatMoney(left, pay.Currency))
			s.renderShopPayment(pr, http.StatusUnprocessableEntity, pay, raw)
			return
		}
	}
	key, err := formKey(pr.r)
	if err != nil {
		pr.view.Error = l.T("err.form")
		s.renderShopPayment(pr, http.StatusUnprocessableEntity, pay, raw)
		return
	}
	if pr.r.PostFormValue("confirm") != "1" && pay.Refundable() > 0 {
		pr.view.Nav = "payments"
		s.renderPage(pr, http.StatusOK, "shop_refund_confirm", l.T("shop.refund.confirm", formatMoney(amount, pay.Currency)),
			&refundConfirmData{Payment: pay, Amount: amount, Raw: raw, Left: pay.Refundable() - amount, Key: key})
		return
	}
	if raw == "" {
		amount = 0 // the rest, whatever it is when the refund runs
	}
	req := renkei.CreateRefund{PaymentID: pay.ID, Amount: amount}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-create-refund", key, req)
	var rf *renkei.Refund
	if err == nil {
		rf, err = s.Services.CreateRefund(ctx, req)
	}
	if err != nil {
		pr.view.Error = l.ErrorText(err, sideShop)
		if again, ferr := s.Services.FindPayment(pr.ctx, pay.ID); ferr == nil {
			pay = again
		}
		s.renderShopPayment(pr, s.errStatus(pr.ctx, err), pay, raw)
		return
	}
	http.Redirect(pr.w, pr.r, "/shop/payments/"+pay.ID+"?refund="+rf.ID, http.StatusSeeOther)
}
