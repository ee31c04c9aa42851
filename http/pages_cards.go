package http

import (
	"net/http"

	"github.com/renkei/renkei"
)

// After the tap, a completion card tells the truth of its message: it
// says "Sending to Kakeibo…" while the message waits, and turns into
// "Recorded in Kakeibo" when Kakeibo answered, or says that Renkei is
// retrying, or that it gave up, from the delivery itself. The page's
// script asks /app/payments/{id}/cards until every card is final; without
// the script a reload shows the same.

// cardState is one chosen card's state for the page's script.
type cardState struct {
	ServiceID string `json:"service_id"`
	Outcome   string `json:"outcome"` // the card's class: queued, retrying, sent, failed, canceled
	Message   string `json:"message"`
	Final     bool   `json:"final"`
}

// cardOutcome turns a selection's delivery state into the card's outcome
// and sentence.
func cardOutcome(l lang, st *renkei.SelectionState, verb, name string) (outcome, text string) {
	switch st.Status {
	case renkei.SelectionDelivered:
		return "sent", outcomeText(l, "sent", verb, name)
	case renkei.SelectionRetrying:
		return "retrying", l.T("prop.retrying", name)
	case renkei.SelectionFailed:
		return "failed", l.T("prop.failed.to", name, name)
	case renkei.SelectionCanceled:
		return "canceled", l.T("prop.canceled", name)
	}
	return "queued", outcomeText(l, "queued", verb, name)
}

// resolveCards puts the delivery states on the chosen cards of a page.
func (s *Server) resolveCards(pr *pageReq, pay *renkei.Payment, cards []*proposalCard) {
	if len(cards) == 0 {
		return
	}
	sts, err := s.Services.SelectionStates(pr.ctx, pr.p.ID, pay.ID)
	if err != nil {
		s.Log.ErrorContext(pr.ctx, "completion: selection states", "payment", pay.ID, "err", err)
		return
	}
	byService := map[string]*renkei.SelectionState{}
	for _, st := range sts {
		byService[st.ServiceID] = st
	}
	for _, c := range cards {
		st := byService[c.Service.ID]
		if st == nil || c.Proposal.Status != renkei.ProposalSelected {
			continue
		}
		c.Outcome, c.OutcomeText = cardOutcome(pr.view.L, st, c.Verb, c.Service.Name)
		c.Pending = !st.Final
	}
}

// appCards answers the card script's question: where the messages of the
// payer's taps on this payment stand.
func (s *Server) appCards(pr *pageReq) {
	id := pr.r.PathValue("id")
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		http.Error(pr.w, "", http.StatusNotFound)
		return
	}
	sts, err := s.Services.SelectionStates(pr.ctx, pr.p.ID, id)
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		http.Error(pr.w, "", http.StatusNotFound)
		return
	} else if err != nil {
		http.Error(pr.w, "", s.errStatus(pr.ctx, err))
		return
	}
	out := struct {
		Cards []cardState `json:"cards"`
	}{Cards: []cardState{}}
	for _, st := range sts {
		verb, name := s.serviceVerb(pr, st.ServiceID)
		o, text := cardOutcome(pr.view.L, st, verb, name)
		out.Cards = append(out.Cards, cardState{ServiceID: st.ServiceID, Outcome: o, Message: text, Final: st.Final})
	}
	writePageJSON(pr.w, out)
}

// payPoll is the pay page script's answer: the newest pay-code payment
// since the code was issued. A completed one sends the page to its
// completion screen. A declined one does not: the code stays valid (the
// store consumes a code only with a completed payment), so the page
// keeps the code up, says why, and asks again from after the decline.
type payPoll struct {
	URL     string `json:"url,omitempty"`
	Status  string `json:"status,omitempty"`
	Failure string `json:"failure,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Created is the payment's time in Unix microseconds: after a decline
	// the script asks for payments after it.
	Created int64 `json:"created,omitempty"`
}

func payPollAnswer(v *pageView, ps []*renkei.Payment, since int64) payPoll {
	for _, p := range ps {
		if p.Flow != renkei.FlowConsumerPresented || p.CreatedAt.UnixMicro() < since {
			continue
		}
		out := payPoll{URL: "/app/payments/" + p.ID, Status: p.Status, Created: p.CreatedAt.UnixMicro()}
		if p.Status == renkei.PaymentFailed {
			out.Failure, out.Reason = v.FailureText(p), p.FailureCode
		}
		return out
	}
	return payPoll{}
}

// topUpAnswer tells the pay page's script the new balance after a top-up,
// with a fresh key for the next one.
func (s *Server) topUpAnswer(pr *pageReq) {
	out := struct {
		Message string `json:"message"`
		Balance string `json:"balance"`
		Key     string `json:"key"`
	}{Key: newFormKey()}
	if w := s.pageWallet(pr, demoTopUp.Currency); w != nil {
		out.Balance = formatMoney(w.Balance.Amount, w.Balance.Currency)
		out.Message = pr.view.L.T("pay.toppedup", out.Balance)
	}
	writePageJSON(pr.w, out)
}
