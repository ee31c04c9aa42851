package http

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// The user terminal: the payer's wallet, pay code, QR scan and the
// payment-completion screen.

// demoTopUp is what the demo's top-up button adds.
var demoTopUp = renkei.Money{Amount: 10_000, Currency: renkei.DefaultCurrency}

// walletData is the wallet home page.
type walletData struct {
	Wallets  []*renkei.Wallet
	Entries  []*renkei.Entry
	TopUp    renkei.Money
	TopUpKey string
}

func (s *Server) appWallet(pr *pageReq) {
	if pr.r.URL.Query().Get("topped") == "1" {
		if w := s.pageWallet(pr, demoTopUp.Currency); w != nil {
			pr.view.Notice = pr.view.L.T("wallet.toppedup", formatMoney(w.Balance.Amount, w.Balance.Currency))
		}
	}
	if pr.r.URL.Query().Get("tz") == "1" {
		pr.view.Notice = pr.view.L.T("tz.saved", pr.view.ZoneName())
	}
	s.renderWallet(pr, http.StatusOK)
}

func (s *Server) renderWallet(pr *pageReq, status int) {
	ws, err := s.Services.Wallets(pr.ctx, pr.p.ID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	es, _, err := s.Services.History(pr.ctx, pr.p.ID, renkei.Page{Limit: 10})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &walletData{Wallets: ws, Entries: es, TopUp: demoTopUp}
	if s.Demo {
		d.TopUpKey = newFormKey()
	}
	pr.view.Nav = "home"
	s.renderPage(pr, status, "wallet", pr.view.L.T("wallet.title"), d)
}

// pageWallet is the user's wallet in one currency, or nil.
func (s *Server) pageWallet(pr *pageReq, currency string) *renkei.Wallet {
	ws, err := s.Services.Wallets(pr.ctx, pr.p.ID)
	if err != nil {
		s.Log.ErrorContext(pr.ctx, "page wallets", "err", err)
		return nil
	}
	for _, w := range ws {
		if w.Balance.Currency == currency {
			return w
		}
	}
	return nil
}

// pageFail shows an unexpected error as a page with its sentence.
func (s *Server) pageFail(pr *pageReq, err error) {
	who := sidePayer
	if pr.view.Area == areaShop {
		who = sideShop
	}
	s.renderPage(pr, s.errStatus(pr.ctx, err), "error", pr.view.L.T("err.title"),
		map[string]string{"Message": pr.view.L.ErrorText(err, who)})
}

func (s *Server) appTopUp(pr *pageReq) {
	if !s.Demo {
		pr.notFound(s)
		return
	}
	key, err := formKey(pr.r)
	if err != nil && wantsJSON(pr.r) {
		writePageJSONStatus(pr.w, http.StatusUnprocessableEntity, cardAnswer{Error: pr.view.L.T("err.form")})
		return
	} else if err != nil {
		pr.view.Error = pr.view.L.T("err.form")
		s.renderWallet(pr, http.StatusUnprocessableEntity)
		return
	}
	req := renkei.TopUp{UserID: pr.p.ID, Amount: demoTopUp.Amount, Currency: demoTopUp.Currency}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-topup", key, req)
	if err == nil {
		_, err = s.Services.TopUp(ctx, req)
	}
	if err != nil && wantsJSON(pr.r) {
		writePageJSONStatus(pr.w, s.errStatus(pr.ctx, err), cardAnswer{Error: pr.view.L.ErrorText(err, sidePayer)})
		return
	} else if err != nil {
		pr.view.Error = pr.view.L.ErrorText(err, sidePayer)
		s.renderWallet(pr, s.errStatus(pr.ctx, err))
		return
	}
	if wantsJSON(pr.r) {
		s.topUpAnswer(pr) // the pay page tops up without leaving its code
		return
	}
	http.Redirect(pr.w, pr.r, "/app?topped=1", http.StatusSeeOther)
}

// payData is the pay-code page.
type payData struct {
	Code      string
	Formatted string
	QR        template.HTML
	ExpiresAt time.Time
	// Since is when the code was issued, in Unix microseconds: the page's
	// script asks for a payment made after it, to show its result.
	Since   int64
	Balance *renkei.Wallet
	// TopUpKey is the key of the top-up offered after a decline, in demo
	// mode (where users may top up their own wallets); empty otherwise.
	TopUpKey string
	TopUp    renkei.Money
}

func (s *Server) appPay(pr *pageReq) {
	pc, err := s.Services.NewPayCode(pr.ctx, pr.p.ID, renkei.DefaultCurrency)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &payData{Code: pc.Code, Formatted: pc.Code, ExpiresAt: pc.ExpiresAt,
		Since: pc.ExpiresAt.Add(-renkei.PayCodeTTL).UnixMicro(), QR: s.qrSVG(pr.ctx, pc.Code, 240, pr.view.L.T("pay.qr")),
		Balance: s.pageWallet(pr, pc.Currency)}
	if s.FormatPayCode != nil {
		d.Formatted = s.FormatPayCode(pc.Code)
	}
	if s.Demo {
		d.TopUpKey, d.TopUp = newFormKey(), demoTopUp
	}
	pr.view.Nav = "pay"
	s.renderPage(pr, http.StatusOK, "pay", pr.view.L.T("pay.title"), d)
}

// appPayPoll tells the pay page's script where the result of its code is:
// the newest pay-code payment of this user made since the code was issued.
func (s *Server) appPayPoll(pr *pageReq) {
	since, err := strconv.ParseInt(pr.r.URL.Query().Get("since"), 10, 64)
	if err != nil {
		http.Error(pr.w, "since: Unix microseconds", http.StatusBadRequest)
		return
	}
	ps, _, err := s.Services.ListPayments(pr.ctx, renkei.PaymentFilter{UserID: pr.p.ID, Page: renkei.Page{Limit: 5}})
	if err != nil {
		s.errStatus(pr.ctx, err)
		http.Error(pr.w, "", http.StatusInternalServerError)
		return
	}
	writePageJSON(pr.w, payPollAnswer(pr.view, ps, since))
}

// scanData is the scan page.
type scanData struct {
	Payload string
}

func (s *Server) appScan(pr *pageReq) {
	s.renderScan(pr, http.StatusOK, "")
}

func (s *Server) renderScan(pr *pageReq, status int, payload string) {
	pr.view.Nav = "scan"
	s.renderPage(pr, status, "scan", pr.view.L.T("scan.title"), &scanData{Payload: payload})
}

// confirmData is the confirmation of a scanned QR payment.
type confirmData struct {
	Payment *renkei.Payment
	Payload string
	Key     string
	Balance *renkei.Wallet
}

// appConfirm shows what a scanned code would pay. It only reads, so it is
// a GET: reloading it or going back to it moves no money.
func (s *Server) appConfirm(pr *pageReq) {
	payload := strings.TrimSpace(pr.r.URL.Query().Get("qr"))
	if payload == "" {
		pr.view.Error = pr.view.L.T("scan.empty")
		s.renderScan(pr, http.StatusUnprocessableEntity, "")
		return
	}
	limKey := "scan:" + pr.p.ID
	if !s.limits.allow(limKey, false) {
		pr.view.Error = pr.view.L.ErrorText(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown QR codes; wait a minute."), sidePayer)
		s.renderScan(pr, http.StatusTooManyRequests, payload)
		return
	}
	pay, err := s.Services.ResolveQR(pr.ctx, pr.p.ID, payload)
	if err != nil {
		if c := renkei.ErrorCode(err); c == renkei.ENOTFOUND || c == renkei.EINVALID {
			s.limits.allow(limKey, true)
		}
		pr.view.Error = pr.view.L.ErrorText(err, sidePayer)
		s.renderScan(pr, s.errStatus(pr.ctx, err), payload)
		return
	}
	if pay.Status != renkei.PaymentPending {
		// Paid by this user already: show the result, not a second button.
		http.Redirect(pr.w, pr.r, "/app/payments/"+pay.ID, http.StatusSeeOther)
		return
	}
	s.renderConfirm(pr, http.StatusOK, pay, payload)
}

func (s *Server) renderConfirm(pr *pageReq, status int, pay *renkei.Payment, payload string) {
	pr.view.Nav = "scan"
	s.renderPage(pr, status, "confirm", pr.view.L.T("confirm.title"), &confirmData{
		Payment: pay, Payload: payload, Key: newFormKey(), Balance: s.pageWallet(pr, pay.Currency)})
}

// appConfirmPay pays a scanned code under the form's idempotency key and
// sends the payer to the completion screen.
func (s *Server) appConfirmPay(pr *pageReq) {
	payload := strings.TrimSpace(pr.r.PostFormValue("qr"))
	key, err := formKey(pr.r)
	if err != nil || payload == "" {
		pr.view.Error = pr.view.L.T("err.form")
		s.renderScan(pr, http.StatusUnprocessableEntity, payload)
		return
	}
	limKey := "scan:" + pr.p.ID
	if !s.limits.allow(limKey, false) {
		pr.view.Error = pr.view.L.ErrorText(renkei.Errorf(renkei.ERATELIMIT, "Too many unknown QR codes; wait a minute."), sidePayer)
		s.renderScan(pr, http.StatusTooManyRequests, payload)
		return
	}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-confirm-qr", key, struct{ QRPayload string }{payload})
	var pay *renkei.Payment
	if err == nil {
		pay, err = s.Services.ConfirmQR(ctx, pr.p.ID, payload)
		s.countPayment(renkei.FlowMerchantPresented, err)
	}
	if err != nil {
		if c := renkei.ErrorCode(err); c == renkei.ENOTFOUND || c == renkei.EINVALID {
			s.limits.allow(limKey, true)
		}
		status := s.errStatus(pr.ctx, err)
		pr.view.Error = pr.view.L.ErrorText(err, sidePayer)
		// Show the request again if it is still open (after a top-up the
		// payer can pay it), else the scan form.
		if again, rerr := s.Services.ResolveQR(pr.ctx, pr.p.ID, payload); rerr == nil && again.Status == renkei.PaymentPending {
			s.renderConfirm(pr, status, again, payload)
			return
		}
		s.renderScan(pr, status, payload)
		return
	}
	http.Redirect(pr.w, pr.r, "/app/payments/"+pay.ID, http.StatusSeeOther)
}

// paymentsData is a page of a payment list.
type paymentsData struct {
	Payments []*renkei.Payment
	Older    string // the link to the next page, if any
}

func (s *Server) appPayments(pr *pageReq) {
	after := pr.r.URL.Query().Get("after")
	ps, more, err := s.Services.ListPayments(pr.ctx, renkei.PaymentFilter{UserID: pr.p.ID,
		Page: renkei.Page{Limit: 20, StartingAfter: after}})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &paymentsData{Payments: ps}
	if more && len(ps) > 0 {
		d.Older = "/app/payments?after=" + ps[len(ps)-1].ID
	}
	pr.view.Nav = "payments"
	s.renderPage(pr, http.StatusOK, "payments", pr.view.L.T("payments.title"), d)
}

// payerFailures says a recorded decline to the payer; the stored sentence
// is written for the cashier.
var payerFailures = map[string][2]string{
	renkei.ReasonInsufficientBalance: {"Your wallet balance was too low for this payment. Top up and pay again.", "残高が足りませんでした。チャージしてからもう一度お支払いください。"},
	renkei.ReasonCodeExpired:         {"The pay code had expired. Show a new code.", "支払いコードの有効期限が切れていました。新しいコードを表示してください。"},
	renkei.ReasonCodeUsed:            {"The pay code was already used. Show a new code.", "支払いコードは使用済みでした。新しいコードを表示してください。"},
	renkei.ReasonCurrencyMismatch:    {"The shop charged in a currency your code does not pay in.", "お店の請求とコードの通貨が異なりました。"},
	renkei.ReasonMerchantDisabled:    {"This shop cannot take payments at the moment.", "このお店は現在支払いを受け付けていません。"},
}

// linksData is the page of the user's links to related services.
type linksData struct {
	Rows []*linkRow
}

// linkRow is one related service on the links page, with the user's
// active link to it, if any.
type linkRow struct {
	Service     *renkei.RelatedService
	Description string
	Link        *renkei.Link // the active link, or nil
	Key         string       // the link form's idempotency key
	// Feed is whether the service takes the statement feed: only then is
	// there a statement consent to give.
	Feed bool
}

// appLinks lists the related services a user can link and the links the
// user has. A linked service that was since disabled is still listed, so
// the link can be ended.
func (s *Server) appLinks(pr *pageReq) {
	q := pr.r.URL.Query()
	s.renderLinks(pr, http.StatusOK, q.Get("linked"), q.Get("unlinked"), q.Get("changed"))
}

func (s *Server) renderLinks(pr *pageReq, status int, linked, unlinked, changed string) {
	l := pr.view.L
	svcs, _, err := s.Services.ListRelatedServices(pr.ctx, renkei.Page{Limit: 100})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	links, err := s.Services.ListLinks(pr.ctx, pr.p.ID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	active := map[string]*renkei.Link{}
	for _, lk := range links {
		if lk.Status == renkei.LinkActive {
			active[lk.ServiceID] = lk
		}
	}
	d := &linksData{}
	// The store lists newest first; the page shows them in the order they
	// were registered, which stays put as services are added.
	for i := len(svcs) - 1; i >= 0; i-- {
		rs := svcs[i]
		lk := active[rs.ID]
		if !rs.Enabled && lk == nil {
			continue
		}
		row := &linkRow{Service: publicService(rs), Description: rs.Description.In(string(l)), Link: lk, Feed: rs.Policy.WantsStatement}
		if lk == nil {
			row.Key = newFormKey()
		}
		d.Rows = append(d.Rows, row)
		switch rs.ID {
		case linked:
			pr.view.Notice = l.T("links.done.linked", rs.Name)
		case unlinked:
			pr.view.Notice = l.T("links.done.unlinked", rs.Name)
		}
		if changed == rs.ID {
			pr.view.Notice = l.T("links.done.changed", rs.Name)
		}
	}
	pr.view.Nav = "links"
	s.renderPage(pr, status, "links", l.T("links.title"), d)
}

// appLink links a related service: a standing consent, and with "send
// every payment automatically" the end of the question on each payment.
func (s *Server) appLink(pr *pageReq) {
	l := pr.view.L
	serviceID := strings.TrimSpace(pr.r.PostFormValue("service_id"))
	auto := pr.r.PostFormValue("auto") != ""
	statement := pr.r.PostFormValue("statement") != ""
	key, err := formKey(pr.r)
	if err != nil {
		pr.view.Error = l.T("err.form")
		s.renderLinks(pr, http.StatusUnprocessableEntity, "", "", "")
		return
	}
	in := renkei.LinkInput{ServiceID: serviceID, Auto: auto, Statement: statement}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-link", key, in)
	if err == nil {
		_, err = s.Services.CreateLink(ctx, pr.p.ID, in)
	}
	if err != nil {
		pr.view.Error = linkErrorText(l, err)
		s.renderLinks(pr, s.errStatus(pr.ctx, err), "", "", "")
		return
	}
	http.Redirect(pr.w, pr.r, "/app/links?linked="+url.QueryEscape(serviceID), http.StatusSeeOther)
}

// appLinkChange sets a link's two consents from its form's checkboxes:
// real time and the statement feed. Setting them again changes nothing.
func (s *Server) appLinkChange(pr *pageReq) {
	auto, statement := pr.r.PostFormValue("auto") != "", pr.r.PostFormValue("statement") != ""
	lk, err := s.Services.UpdateLink(pr.ctx, pr.p.ID, pr.r.PathValue("id"), renkei.LinkChange{Auto: &auto, Statement: &statement})
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		pr.view.Error = linkErrorText(pr.view.L, err)
		s.renderLinks(pr, s.errStatus(pr.ctx, err), "", "", "")
		return
	}
	http.Redirect(pr.w, pr.r, "/app/links?changed="+url.QueryEscape(lk.ServiceID), http.StatusSeeOther)
}

// appUnlink ends a link at once; messages to the service not yet sent are
// canceled. Ending an ended link again changes nothing.
func (s *Server) appUnlink(pr *pageReq) {
	lk, err := s.Services.RevokeLink(pr.ctx, pr.p.ID, pr.r.PathValue("id"))
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		pr.view.Error = linkErrorText(pr.view.L, err)
		s.renderLinks(pr, s.errStatus(pr.ctx, err), "", "", "")
		return
	}
	if pr.r.PostFormValue("back") == "privacy" {
		http.Redirect(pr.w, pr.r, "/app/privacy?unlinked="+url.QueryEscape(lk.ServiceID), http.StatusSeeOther)
		return
	}
	http.Redirect(pr.w, pr.r, "/app/links?unlinked="+url.QueryEscape(lk.ServiceID), http.StatusSeeOther)
}

// linkErrorText says why a link was refused: an unknown app, or the
// reason code's sentence (already linked, not taking links).
func linkErrorText(l lang, err error) string {
	if l == langJA && renkei.ErrorCode(err) == renkei.ENOTFOUND {
		return "このアプリは見つかりません。"
	}
	return l.ErrorText(err, sidePayer)
}
