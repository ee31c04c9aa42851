package http

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/renkei/renkei"
)

// The payment-completion screen and its proposal cards (claims 2 and
// 6–8): the related apps offered for a payment, each with the reason it
// was offered, the memo and category the app asks for, and the tap that
// is the consent to send this one payment there. Without a tap nothing
// leaves; "Not now" counts in the user's history, so the app backs off.

// completionData is the payment-completion screen.
type completionData struct {
	Payment *renkei.Payment
	Heading string
	Failure string
	Balance *renkei.Wallet
	Cards   []*proposalCard
	// LinkNotes say what the user's links send of this payment without a
	// tap, so the screen never implies that nothing left.
	LinkNotes []string
	// Note is the memo form, once an app that takes a memo has the
	// payment (pages_note.go).
	Note *noteForm
	// TopUp offers the wallet's top-up after a decline for want of
	// balance, where users may top up their own wallets (demo mode).
	TopUp bool
}

// proposalCard is one related app offered on the completion screen.
type proposalCard struct {
	Proposal *renkei.Proposal
	Service  *renkei.ServiceCard
	// Verb is "record" for account books and expense tools, "send" for
	// the others: "Record in Kakeibo", "Send to Points".
	Verb string
	// Receives says what the tap would send, for an informed consent.
	Receives string
	Action   string // the select form's URL
	Dismiss  string // the "Not now" button's URL
	Key      string // the select form's idempotency key
	// Open is true while the card still asks: not chosen, not dismissed,
	// and the payment can still be sent.
	Open        bool
	Outcome     string // queued, retrying, sent, failed, canceled, dismissed; empty while open
	OutcomeText string
	// Pending is true while the chosen card's message may still change
	// state by itself (pages_cards.go): the script keeps asking.
	Pending bool
	// What the user typed, kept when the form comes back with an error.
	Memo, Category string
	Error          string
	ErrorField     string // memo or category
}

// ID is the card's element id, used for its label and its fields.
func (c *proposalCard) ID() string { return "card-" + c.Service.ID }

// cardError is a refused tap, shown in its card.
type cardError struct {
	ServiceID      string
	Message, Field string
	Memo, Category string
	// Note says the error is the memo form's, not a card's.
	Note bool
}

// recordingApps are the app categories whose cards say "Record in …":
// they keep a record of the payment rather than act on it.
var recordingApps = map[string]bool{"household_budget": true, "expenses": true}

// outcomeText says what became of a card, in the page's language.
func outcomeText(l lang, outcome, verb, name string) string {
	switch outcome {
	case "queued":
		return l.T("prop.queued", name)
	case "sent":
		return l.T("prop.sent."+verb, name)
	case renkei.ProposalDismissed:
		return l.T("prop.dismissed")
	}
	return ""
}

// selectable says whether a payment can still be sent to an app; the
// store refuses the others.
func selectable(p *renkei.Payment) bool {
	return p.Status == renkei.PaymentCompleted || p.Status == renkei.PaymentPartiallyRefunded
}

func (s *Server) appCompletion(pr *pageReq) {
	s.renderCompletion(pr, http.StatusOK, pr.r.PathValue("id"), nil)
}

// renderCompletion shows the completion screen. Only the payer sees it;
// anyone else gets the same 404 as for a payment that does not exist. The
// first view runs the proposal engine; later ones show the same cards in
// their current state.
func (s *Server) renderCompletion(pr *pageReq, status int, id string, ce *cardError) {
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		pr.notFound(s)
		return
	}
	l := pr.view.L
	v, err := s.Services.Completion(pr.ctx, pr.p.ID, id, string(l))
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		s.pageFail(pr, err)
		return
	}
	pay := v.Payment
	d := &completionData{Payment: pay, Heading: l.T("done." + pay.Status), Balance: s.pageWallet(pr, pay.Currency)}
	if pay.Status == renkei.PaymentFailed {
		d.Failure = pr.view.FailureText(pay)
		d.TopUp = s.Demo && pay.FailureCode == renkei.ReasonInsufficientBalance
	}
	shownErr := false
	for _, p := range v.Proposals {
		c := s.proposalCard(pr, pay, p)
		if c == nil {
			continue
		}
		if ce != nil && ce.ServiceID == p.ServiceID {
			c.Error, c.ErrorField, c.Memo, c.Category = ce.Message, ce.Field, ce.Memo, ce.Category
			shownErr = true
		}
		d.Cards = append(d.Cards, c)
	}
	s.resolveCards(pr, pay, d.Cards)
	if d.Note = s.noteForm(pr, pay, ce); d.Note != nil && ce != nil && ce.Note {
		shownErr = true
	}
	if ce != nil && !shownErr {
		pr.view.Error = ce.Message
	}
	if selectable(pay) || pay.Status == renkei.PaymentRefunded {
		d.LinkNotes = s.linkNotes(pr, pay)
	}
	pr.view.MainID = "completion"
	pr.view.Nav = "payments"
	s.renderPage(pr, status, "completion", d.Heading, d)
}

// proposalCard makes a card of a proposal, or nil when there is nothing
// to show: an app never chosen for a payment that can no longer be sent.
func (s *Server) proposalCard(pr *pageReq, pay *renkei.Payment, p *renkei.Proposal) *proposalCard {
	l := pr.view.L
	open := p.Status == renkei.ProposalShown
	if open && !selectable(pay) {
		return nil
	}
	c := &proposalCard{Proposal: p, Service: p.Service, Verb: "send", Open: open,
		Action:  "/app/payments/" + pay.ID + "/select",
		Dismiss: "/app/payments/" + pay.ID + "/dismiss"}
	if c.Service == nil {
		c.Service = &renkei.ServiceCard{ID: p.ServiceID, Name: p.ServiceID}
	}
	if rs, err := s.Services.FindRelatedService(pr.ctx, p.ServiceID); err == nil {
		if recordingApps[rs.AppCategory] {
			c.Verb = "record"
		}
		words := l.Scopes(rs.Scopes)
		if rs.Input.Memo || len(rs.Input.Categories) > 0 {
			words += l.T("list.sep") + l.T("prop.receives.input")
		}
		c.Receives = l.T("prop.receives", rs.Name, words)
		if rs.Policy.WantsStatement {
			c.Receives += " " + l.T("prop.receives.statement")
		}
	} else {
		s.Log.ErrorContext(pr.ctx, "completion: find related service", "service", p.ServiceID, "err", err)
	}
	switch p.Status {
	case renkei.ProposalShown:
		c.Key = newFormKey()
	case renkei.ProposalSelected:
		c.Outcome = p.Outcome
		if c.Outcome == "" {
			c.Outcome = "queued"
		}
	case renkei.ProposalDismissed:
		c.Outcome = renkei.ProposalDismissed
	}
	c.OutcomeText = outcomeText(l, c.Outcome, c.Verb, c.Service.Name)
	return c
}

// linkNotes says what the user's links sent, or will send, of a payment
// without a tap: the real-time message of an automatic link, and the
// statement line of a link whose statement feed is on.
func (s *Server) linkNotes(pr *pageReq, pay *renkei.Payment) []string {
	l := pr.view.L
	ds, _, err := s.Services.ListDeliveries(pr.ctx, renkei.DeliveryFilter{PaymentID: pay.ID, Page: renkei.Page{Limit: 100}})
	if err != nil {
		s.Log.ErrorContext(pr.ctx, "completion: list deliveries", "payment", pay.ID, "err", err)
		return nil
	}
	links, err := s.Services.ListLinks(pr.ctx, pr.p.ID)
	if err != nil {
		s.Log.ErrorContext(pr.ctx, "completion: list links", "err", err)
		return nil
	}
	var notes []string
	// A statement line to any service means the payment was stated: a
	// link's feed turned on since then has nothing more to send of it.
	stated := false
	for _, d := range ds {
		stated = stated || d.Type == renkei.EventStatementLine
	}
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		d := ds[i]
		if d.Type != renkei.EventPaymentCompleted || d.Source != renkei.SourceLink || d.UserID != pr.p.ID {
			continue
		}
		if rs, err := s.Services.FindRelatedService(pr.ctx, d.ServiceID); err == nil {
			notes = append(notes, l.T("done.links.auto", rs.Name, l.Scopes(rs.Scopes)))
		}
	}
	for _, lk := range links {
		if lk.Status != renkei.LinkActive || !lk.Statement || stated {
			continue
		}
		if rs, err := s.Services.FindRelatedService(pr.ctx, lk.ServiceID); err == nil && rs.Enabled && rs.Policy.WantsStatement {
			notes = append(notes, l.T("done.links.statement", rs.Name))
		}
	}
	return notes
}

// wantsJSON is the page's script asking for a small JSON answer instead
// of a redirect, to update one card without reloading the page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// cardAnswer is the JSON answer to the card's script.
type cardAnswer struct {
	Outcome string `json:"outcome,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	Field   string `json:"field,omitempty"`
}

// appSelect is the tap on a card: it records the consent and queues the
// payment with the memo and category, under the form's idempotency key
// (a double tap or a reload sends once).
func (s *Server) appSelect(pr *pageReq) {
	id := pr.r.PathValue("id")
	in := renkei.SelectInput{ServiceID: strings.TrimSpace(pr.r.PostFormValue("service_id")),
		Memo: strings.TrimSpace(pr.r.PostFormValue("memo")), Category: pr.r.PostFormValue("category")}
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		s.cardFailed(pr, id, in, renkei.Errorf(renkei.ENOTFOUND, "No payment %s.", id))
		return
	}
	key, err := formKey(pr.r)
	if err != nil {
		s.cardFailed(pr, id, in, err)
		return
	}
	ctx, _, err := withIdempotency(pr.ctx, pr.p, "page-select:"+id, key, in)
	var sel *renkei.Selection
	if err == nil {
		sel, err = s.Services.Select(ctx, pr.p.ID, id, in)
	}
	if err != nil {
		s.cardFailed(pr, id, in, err)
		return
	}
	if wantsJSON(pr.r) {
		verb, name := s.serviceVerb(pr, sel.ServiceID)
		writePageJSONStatus(pr.w, http.StatusOK, cardAnswer{Outcome: sel.Outcome,
			Message: outcomeText(pr.view.L, sel.Outcome, verb, name)})
		return
	}
	http.Redirect(pr.w, pr.r, "/app/payments/"+id+"#card-"+url.PathEscape(sel.ServiceID), http.StatusSeeOther)
}

// appDismiss is "Not now": the card closes and the app's threshold for
// this user backs off. It moves nothing, and a second one changes
// nothing, so it needs no key.
func (s *Server) appDismiss(pr *pageReq) {
	id := pr.r.PathValue("id")
	in := renkei.SelectInput{ServiceID: strings.TrimSpace(pr.r.PostFormValue("service_id"))}
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		s.cardFailed(pr, id, in, renkei.Errorf(renkei.ENOTFOUND, "No payment %s.", id))
		return
	}
	if _, err := s.Services.Dismiss(pr.ctx, pr.p.ID, id, in.ServiceID); err != nil {
		s.cardFailed(pr, id, in, err)
		return
	}
	if wantsJSON(pr.r) {
		writePageJSONStatus(pr.w, http.StatusOK, cardAnswer{Outcome: renkei.ProposalDismissed,
			Message: outcomeText(pr.view.L, renkei.ProposalDismissed, "", "")})
		return
	}
	http.Redirect(pr.w, pr.r, "/app/payments/"+id+"#card-"+url.PathEscape(in.ServiceID), http.StatusSeeOther)
}

// serviceVerb names a service and says whether its cards record or send.
func (s *Server) serviceVerb(pr *pageReq, id string) (verb, name string) {
	rs, err := s.Services.FindRelatedService(pr.ctx, id)
	if err != nil {
		return "send", id
	}
	if recordingApps[rs.AppCategory] {
		return "record", rs.Name
	}
	return "send", rs.Name
}

// cardFailed answers a refused tap: the sentence in the card (or as JSON
// for the script), with the status of the error. Someone else's payment
// is the same 404 as a missing one.
func (s *Server) cardFailed(pr *pageReq, id string, in renkei.SelectInput, err error) {
	l := pr.view.L
	if errors.Is(err, errPageFormExpired) {
		if wantsJSON(pr.r) {
			writePageJSONStatus(pr.w, http.StatusUnprocessableEntity, cardAnswer{Error: l.T("err.form")})
			return
		}
		s.renderCompletion(pr, http.StatusUnprocessableEntity, id, &cardError{ServiceID: in.ServiceID,
			Message: l.T("err.form"), Memo: in.Memo, Category: in.Category})
		return
	}
	status := s.errStatus(pr.ctx, err)
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		if wantsJSON(pr.r) {
			writePageJSONStatus(pr.w, http.StatusNotFound, cardAnswer{Error: l.T("err.notfound.body")})
			return
		}
		pr.notFound(s)
		return
	}
	msg, field := s.cardErrorText(pr, err, in)
	if wantsJSON(pr.r) {
		writePageJSONStatus(pr.w, status, cardAnswer{Error: msg, Field: field})
		return
	}
	s.renderCompletion(pr, status, id, &cardError{ServiceID: in.ServiceID, Message: msg, Field: field,
		Memo: in.Memo, Category: in.Category})
}

// cardErrorText is the sentence for a refused tap and the field at fault,
// said from the error's reason code and parameters in the page's language.
func (s *Server) cardErrorText(pr *pageReq, err error, in renkei.SelectInput) (msg, field string) {
	var e *renkei.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		switch e.Fields[0].Location {
		case "body.memo":
			field = "memo"
		case "body.category":
			field = "category"
		}
	}
	return pr.view.L.ErrorText(err, sidePayer), field
}
