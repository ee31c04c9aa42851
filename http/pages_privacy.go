package http

import (
	"net/http"
	"net/url"

	"github.com/renkei/renkei"
)

// The payer's privacy center (issue 11): what each link sends, with its
// consent receipt and the way to end it, and every provision of the
// payer's data to a service, newest first.

// privacyData is the privacy center page.
type privacyData struct {
	Links      []*privacyLink
	Provisions []*privacyRow
	Older      string
}

// privacyLink is one active link and what it sends.
type privacyLink struct {
	Link    *renkei.Link
	Name    string
	Fields  string
	Feed    bool // the service takes the statement feed
	Enabled bool
}

// privacyRow is one provision as the page says it.
type privacyRow struct {
	*renkei.Provision
	What   string // the message type in words
	Why    string // the source in words
	Fields string // the data categories in words
	Status string // the delivery status in words
}

func (s *Server) appPrivacy(pr *pageReq) {
	l := pr.view.L
	q := pr.r.URL.Query()
	links, err := s.Services.ListLinks(pr.ctx, pr.p.ID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &privacyData{}
	for _, lk := range links {
		if lk.Status != renkei.LinkActive {
			continue
		}
		rs, err := s.Services.FindRelatedService(pr.ctx, lk.ServiceID)
		if err != nil {
			s.pageFail(pr, err)
			return
		}
		d.Links = append(d.Links, &privacyLink{Link: lk, Name: rs.Name, Fields: l.Scopes(lk.Scopes),
			Feed: rs.Policy.WantsStatement, Enabled: rs.Enabled})
	}
	after := q.Get("after")
	if after != "" && !renkei.HasPrefix(after, renkei.PrefixMessage) {
		after = ""
	}
	ps, more, err := s.Services.ListProvisions(pr.ctx, renkei.ProvisionFilter{UserID: pr.p.ID, Page: renkei.Page{Limit: 20, StartingAfter: after}})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	for _, p := range ps {
		d.Provisions = append(d.Provisions, &privacyRow{Provision: p, What: l.T("privacy.type." + p.Type),
			Why: l.T("privacy.why." + p.Source + "." + p.Type), Fields: l.fieldWords(p.Fields), Status: l.provisionStatus(pr.view, p)})
	}
	if more && len(ps) > 0 {
		d.Older = "/app/privacy?after=" + url.QueryEscape(ps[len(ps)-1].ID)
	}
	if u := q.Get("unlinked"); u != "" {
		if rs, err := s.Services.FindRelatedService(pr.ctx, u); err == nil {
			pr.view.Notice = l.T("links.done.unlinked", rs.Name)
		}
	}
	pr.view.Nav = "privacy"
	s.renderPage(pr, http.StatusOK, "privacy", l.T("privacy.title"), d)
}

// fieldWords says data categories in plain words.
func (l lang) fieldWords(fields []string) string {
	words := make([]string, 0, len(fields))
	for _, f := range fields {
		words = append(words, l.T("field."+f))
	}
	return joinWords(l, words)
}

func joinWords(l lang, words []string) string {
	out := ""
	for i, w := range words {
		if i > 0 {
			out += l.T("list.sep")
		}
		out += w
	}
	return out
}

// provisionStatus says where a message is: waiting, acknowledged when,
// failed, or stopped before it left.
func (l lang) provisionStatus(v *pageView, p *renkei.Provision) string {
	switch p.Status {
	case renkei.DeliveryDelivered:
		if p.DeliveredAt != nil {
			return l.T("privacy.status.delivered", v.Time(*p.DeliveredAt))
		}
	case renkei.DeliveryQueued:
		if p.Attempts > 0 {
			return l.T("privacy.status.retrying")
		}
	}
	return l.T("privacy.status." + p.Status)
}

// appReceipt downloads one of the payer's consent receipts as a JSON file.
func (s *Server) appReceipt(pr *pageReq) {
	c, err := s.Services.FindConsent(pr.ctx, pr.p.ID, pr.r.PathValue("id"))
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		s.pageFail(pr, err)
		return
	}
	f, err := s.receiptDownload(c, string(pr.view.L))
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	pr.w.Header().Set("Content-Type", f.ContentType)
	pr.w.Header().Set("Content-Disposition", f.ContentDisposition)
	pr.w.Write(f.Body)
}
