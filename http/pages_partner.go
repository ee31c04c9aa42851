package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// The partner pages, and the message pages they share with the admin.
//
// A partner logs in with its API key (rk_rsv_…) into a cookie of its own,
// sent only to /partner. It reads its settings and its endpoint's health,
// and reads and resends its own messages: the same list, detail page and
// resend forms as the admin's, narrowed to its service. Another service's
// message is a 404, the same page as a message that does not exist.

const (
	areaPartner   = "partner"
	partnerCookie = "renkei_partner"
	partnerPath   = "/partner"
)

// secretGrace is how long a rotated-out signing secret still signs.
const secretGrace = 24 * time.Hour

func (s *Server) registerPartnerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /partner/login", s.pageLogin(areaPartner))
	mux.HandleFunc("POST /partner/login", s.pageLogin(areaPartner))
	mux.HandleFunc("/partner/logout", s.pageLogout(areaPartner))
	mux.HandleFunc("GET /partner", s.partnerPage(s.partnerHome))
	mux.HandleFunc("GET /partner/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/partner", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /partner/deliveries", s.partnerPage(func(pr *pageReq, sc deliveryScope) {
		s.deliveriesPage(pr, sc, http.StatusOK, "")
	}))
	mux.HandleFunc("POST /partner/deliveries/replay", s.partnerPage(s.replaySince))
	mux.HandleFunc("GET /partner/deliveries/{id}", s.partnerPage(s.deliveryPage))
	mux.HandleFunc("POST /partner/deliveries/{id}/replay", s.partnerPage(s.replayOne))
}

// partnerHandler is a page of a logged-in partner, given the scope of its
// own messages.
type partnerHandler func(pr *pageReq, sc deliveryScope)

// partnerPage admits only a partner's API key, and loads its service.
func (s *Server) partnerPage(h partnerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pr, ok := s.pageStart(w, r, areaPartner)
		if !ok {
			return
		}
		p, err := s.pageAuth(r, partnerCookie, renkei.KindPartner)
		if err != nil {
			if c := renkei.ErrorCode(err); (c == renkei.EUNAUTHORIZED || c == renkei.EFORBIDDEN) && hasCookie(r, partnerCookie) {
				s.clearAuthCookie(w, r, partnerCookie) // stale, revoked or of another kind: forget it
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/partner/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			} else {
				http.Redirect(w, r, "/partner/login", http.StatusSeeOther)
			}
			return
		}
		pr.p = p
		pr.view.LoggedIn = true
		pr.ctx = renkei.NewContextWithPrincipal(r.Context(), p)
		rs, err := s.Services.FindRelatedService(pr.ctx, p.ID)
		if err != nil {
			s.pageFail(pr, err)
			return
		}
		pr.view.Who = rs.Name
		h(pr, deliveryScope{base: "/partner/deliveries", service: rs})
	}
}

// partnerHome shows the partner its settings, read-only, and its
// endpoint's health.
func (s *Server) partnerHome(pr *pageReq, sc deliveryScope) {
	pr.view.Nav = "settings"
	s.renderPage(pr, http.StatusOK, "partner_home", pr.view.L.T("partner.title"), sc.service)
}

// ---- messages: shared by the admin and the partner ----

// deliveryScope is whose messages a page shows and acts on: every
// service's for the admin, its own for a partner.
type deliveryScope struct {
	base    string                 // the list's path
	service *renkei.RelatedService // the partner's service; nil for the admin
}

func (sc deliveryScope) admin() bool { return sc.service == nil }

// visibleDelivery finds a message the scope may see. A missing message
// and another service's are the same ENOTFOUND, so a partner learns
// nothing of other services' messages, not even that they exist.
func (s *Server) visibleDelivery(ctx context.Context, sc deliveryScope, id string) (*renkei.Delivery, error) {
	if !renkei.HasPrefix(id, renkei.PrefixMessage) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No message %s.", id)
	}
	d, err := s.Services.FindDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if !sc.admin() && d.ServiceID != sc.service.ID {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No message %s.", id)
	}
	return d, nil
}

// deliveriesData is the list of messages, with its filters, its paging
// and the form that resends failed ones.
type deliveriesData struct {
	Base     string
	Services []*renkei.RelatedService // the admin's service filter
	Names    map[string]string
	Service  string
	Status   string
	Payment  string
	Statuses []string
	Rows     []*deliveryRow
	First    string // the first page, when this is a later one
	Next     string
	// The resend-since form.
	ReplayKey     string
	ReplaySince   string // a datetime-local value in the page's time zone
	ReplayInvalid string // the field at fault: replay-service or replay-since
}

// deliveryRow is one message with its body laid out for reading and, when
// it failed, the key of its send-again form.
type deliveryRow struct {
	*renkei.Delivery
	Pretty string
	Key    string
}

// deliveryStatuses are the statuses the list filters by.
var deliveryStatuses = []string{renkei.DeliveryQueued, renkei.DeliveryDelivered, renkei.DeliveryFailed, renkei.DeliveryCanceled}

// deliveriesPage lists messages newest first, filtered by service (the
// admin's), status and payment, a page at a time; invalid names the field
// of the resend form at fault, after a bad post.
func (s *Server) deliveriesPage(pr *pageReq, sc deliveryScope, status int, invalid string) {
	r, l := pr.r, pr.view.L
	d := &deliveriesData{Base: sc.base, Names: map[string]string{}, Statuses: deliveryStatuses, ReplayKey: newFormKey(), ReplayInvalid: invalid}
	if sc.admin() {
		svcs, _, err := s.Services.ListRelatedServices(pr.ctx, renkei.Page{Limit: 100})
		if err != nil {
			s.pageFail(pr, err)
			return
		}
		d.Services = svcs
		for _, rs := range svcs {
			d.Names[rs.ID] = rs.Name
			if rs.ID == r.FormValue("service") {
				d.Service = rs.ID
			}
		}
	} else {
		d.Service = sc.service.ID
		d.Names[sc.service.ID] = sc.service.Name
	}
	if slices.Contains(deliveryStatuses, r.FormValue("status")) {
		d.Status = r.FormValue("status")
	}
	if d.ReplaySince = r.PostFormValue("since"); d.ReplaySince == "" {
		d.ReplaySince = time.Now().Add(-24 * time.Hour).In(pr.view.zone()).Format(datetimeLocal)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("replayed")); err == nil && n >= 0 && r.Method == http.MethodGet {
		switch n {
		case 0:
			pr.view.Notice = l.T("replay.none")
		case 1:
			pr.view.Notice = l.T("replay.one")
		default:
			pr.view.Notice = l.T("replay.many", n)
		}
	}

	filter := url.Values{}
	if sc.admin() && d.Service != "" {
		filter.Set("service", d.Service)
	}
	if d.Status != "" {
		filter.Set("status", d.Status)
	}
	var rows []*renkei.Delivery
	more := false
	if d.Payment = strings.TrimSpace(r.FormValue("payment")); d.Payment != "" && !renkei.HasPrefix(d.Payment, renkei.PrefixPayment) {
		pr.view.Error = l.T("deliveries.err.payment")
		status = http.StatusUnprocessableEntity
	} else {
		if d.Payment != "" {
			filter.Set("payment", d.Payment)
		}
		after := r.URL.Query().Get("starting_after")
		if !renkei.HasPrefix(after, renkei.PrefixMessage) {
			after = ""
		}
		var err error
		rows, more, err = s.Services.ListDeliveries(pr.ctx, renkei.DeliveryFilter{ServiceID: d.Service, Status: d.Status, PaymentID: d.Payment,
			Page: renkei.Page{Limit: 20, StartingAfter: after}})
		if err != nil {
			s.pageFail(pr, err)
			return
		}
		if after != "" {
			d.First = sc.base + query(filter)
		}
	}
	for _, dl := range rows {
		row := &deliveryRow{Delivery: dl, Pretty: prettyJSON(dl.Body)}
		if dl.Status == renkei.DeliveryFailed {
			row.Key = newFormKey()
		}
		d.Rows = append(d.Rows, row)
	}
	if more && len(rows) > 0 {
		next := url.Values{}
		for k, v := range filter {
			next[k] = v
		}
		next.Set("starting_after", rows[len(rows)-1].ID)
		d.Next = sc.base + query(next)
	}
	pr.view.Nav = "deliveries"
	if sc.admin() {
		s.renderPage(pr, status, "deliveries", l.T("admin.deliveries.title"), d)
		return
	}
	s.renderPage(pr, status, "deliveries", l.T("admin.messagesof", sc.service.Name), d)
}

func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// prettyJSON indents a message body for reading; a body that is not JSON
// is shown as it is.
func prettyJSON(body string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(body), "", "  ") == nil {
		return b.String()
	}
	return body
}

// deliveryData is one message with its attempt log.
type deliveryData struct {
	D           *renkei.Delivery
	ServiceName string
	ServiceURL  string // the admin's link to the service
	Pretty      string
	Log         []*renkei.Attempt
	Base        string
	Key         string // the send-again form's, when the message failed
}

// deliveryPage shows a message, its body and every attempt at sending it.
func (s *Server) deliveryPage(pr *pageReq, sc deliveryScope) {
	l := pr.view.L
	d, err := s.visibleDelivery(pr.ctx, sc, pr.r.PathValue("id"))
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		s.pageFail(pr, err)
		return
	}
	log, err := s.Services.Attempts(pr.ctx, d.ID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	data := &deliveryData{D: d, Pretty: prettyJSON(d.Body), Log: log, Base: sc.base, ServiceName: d.ServiceID}
	if sc.admin() {
		data.ServiceURL = "/admin/services/" + d.ServiceID
		if rs, err := s.Services.FindRelatedService(pr.ctx, d.ServiceID); err == nil {
			data.ServiceName = rs.Name
		}
	} else {
		data.ServiceName = sc.service.Name
	}
	if d.Status == renkei.DeliveryFailed {
		data.Key = newFormKey()
	}
	switch pr.r.URL.Query().Get("replayed") {
	case "1":
		pr.view.Notice = l.T("replay.again")
	case "0":
		pr.view.Error = l.T("replay.notfailed", l.T("dstatus."+d.Status))
	}
	pr.view.Nav = "deliveries"
	s.renderPage(pr, http.StatusOK, "partner_delivery", l.T("delivery.title"), data)
}

// replayOne queues a failed message again, once per form.
func (s *Server) replayOne(pr *pageReq, sc deliveryScope) {
	d, err := s.visibleDelivery(pr.ctx, sc, pr.r.PathValue("id"))
	if renkei.ErrorCode(err) == renkei.ENOTFOUND {
		pr.notFound(s)
		return
	} else if err != nil {
		s.pageFail(pr, err)
		return
	}
	n, err := formOnce(pr, "page-replay", d.ID, func(ctx context.Context) (int, error) {
		return s.Services.Replay(ctx, store.ReplayFilter{DeliveryID: d.ID}, nil)
	})
	if err != nil {
		s.formActionFailed(pr, err)
		return
	}
	http.Redirect(pr.w, pr.r, sc.base+"/"+d.ID+"?replayed="+strconv.Itoa(min(n, 1)), http.StatusSeeOther)
}

// datetimeLocal is the value of an <input type="datetime-local">.
const datetimeLocal = "2006-01-02T15:04"

// replaySince queues every failed message of a service created since a
// time again: the admin picks the service, a partner resends its own.
func (s *Server) replaySince(pr *pageReq, sc deliveryScope) {
	l := pr.view.L
	serviceID := ""
	if sc.admin() {
		id := pr.r.PostFormValue("service")
		var err error
		if renkei.HasPrefix(id, renkei.PrefixRelatedService) {
			_, err = s.Services.FindRelatedService(pr.ctx, id)
		} else {
			err = renkei.Errorf(renkei.ENOTFOUND, "No related service %s.", id)
		}
		if renkei.ErrorCode(err) == renkei.ENOTFOUND {
			pr.view.Error = l.T("replay.err.service")
			s.deliveriesPage(pr, sc, http.StatusUnprocessableEntity, "replay-service")
			return
		} else if err != nil {
			s.pageFail(pr, err)
			return
		}
		serviceID = id
	} else {
		serviceID = sc.service.ID
	}
	since, err := parseDatetimeLocal(pr.r.PostFormValue("since"), pr.view.zone())
	if err != nil {
		pr.view.Error = l.T("replay.err.since")
		s.deliveriesPage(pr, sc, http.StatusUnprocessableEntity, "replay-since")
		return
	}
	n, err := formOnce(pr, "page-replay-since", []any{serviceID, since}, func(ctx context.Context) (int, error) {
		return s.Services.Replay(ctx, store.ReplayFilter{ServiceID: serviceID, Since: since}, nil)
	})
	if err != nil {
		pr.view.Error = formErrorText(l, err)
		s.deliveriesPage(pr, sc, s.formErrStatus(pr.ctx, err), "")
		return
	}
	next := url.Values{"replayed": {strconv.Itoa(n)}}
	if sc.admin() {
		next.Set("service", serviceID)
	}
	http.Redirect(pr.w, pr.r, sc.base+"?"+next.Encode(), http.StatusSeeOther)
}

// parseDatetimeLocal reads a datetime-local value as a time in loc: the
// page's own zone, the one its times are shown in.
func parseDatetimeLocal(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{datetimeLocal, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date and time: %q", v)
}

// formActionFailed shows why a form's action did not run.
func (s *Server) formActionFailed(pr *pageReq, err error) {
	s.renderPage(pr, s.formErrStatus(pr.ctx, err), "error", pr.view.L.T("err.title"),
		map[string]string{"Message": formErrorText(pr.view.L, err)})
}

func formErrorText(l lang, err error) string {
	if errors.Is(err, errPageFormExpired) {
		return l.T("err.form")
	}
	return l.ErrorText(err, sideShop)
}

func (s *Server) formErrStatus(ctx context.Context, err error) int {
	if errors.Is(err, errPageFormExpired) {
		return http.StatusUnprocessableEntity
	}
	return s.errStatus(ctx, err)
}

// ---- what the pages say about an endpoint ----

// endpointHealth is an endpoint's state in plain words.
type endpointHealth struct {
	State string // ok, failing or off
	Label string
	Text  string // what is going on
	Last  string // the last error, when the engine recorded one
	Fix   string // what the reader can do about it
}

// Health says whether a service's endpoint receives messages, and if not,
// why and what to do, for the admin or for the partner reading it.
func (v *pageView) Health(rs *renkei.RelatedService) endpointHealth {
	l, who := v.L, "admin"
	if v.Area == areaPartner {
		who = "partner"
	}
	switch {
	case rs.Enabled && rs.FailingSince == nil:
		return endpointHealth{State: "ok", Label: l.T("admin.enabled"), Text: l.T("health.ok")}
	case rs.Enabled:
		return endpointHealth{State: "failing", Label: l.T("health.failing"), Text: l.T("health.failing.text", v.Time(*rs.FailingSince)),
			Fix: l.T("health.failing.fix." + who)}
	case rs.DisabledReason == "":
		return endpointHealth{State: "off", Label: l.T("admin.disabled"), Text: l.T("health.off"), Fix: l.T("health.off.fix." + who)}
	}
	h := endpointHealth{State: "off", Label: l.T("admin.disabled"), Fix: l.T("health.auto.fix." + who)}
	_, last, _ := strings.Cut(rs.DisabledReason, "; last: ")
	h.Last = strings.TrimSuffix(strings.TrimSpace(last), ".")
	switch {
	case strings.Contains(rs.DisabledReason, "410 Gone"):
		h.Text = l.T("health.gone")
	case rs.FailingSince != nil:
		h.Text = l.T("health.failed", v.Time(*rs.FailingSince))
	default:
		h.Text = l.T("health.auto", rs.DisabledReason)
	}
	return h
}

// zone is the time zone the page shows times in, and reads them in.
func (v *pageView) zone() *time.Location {
	if v.Zone != nil {
		return v.Zone
	}
	return pageTokyo
}

// Millis shows a duration in milliseconds: one decimal below ten.
func (v *pageView) Millis(ms float64) string {
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return strconv.FormatFloat(ms, 'f', 0, 64)
}

// ---- forms whose action the store does not run under a key ----

// formOnceTTL is how long a form's result is kept for a repeat of it.
const formOnceTTL = 30 * time.Minute

// formOnce runs a form's action once per hidden idempotency key, like the
// store does for money: a double tap or a reload of the post waits for
// the first run and gets its result, so a secret is not rotated twice
// (which would end the old one's grace at once). The action runs to the
// end even if the browser leaves. Results are kept in this process only:
// a repeat is the same browser's, on the same connection as a rule.
func formOnce[T any](pr *pageReq, op string, params any, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	key, err := formKey(pr.r)
	if err != nil {
		return zero, err
	}
	b, err := json.Marshal(params)
	if err != nil {
		return zero, err
	}
	h := sha256.Sum256(append([]byte(op+"\x00"), b...))
	ctx := context.WithoutCancel(pr.ctx)
	v, err := pageOnce.do(pr.ctx, pr.p.Kind+":"+pr.p.ID+"\x00"+key, hex.EncodeToString(h[:]), func() (any, error) {
		return fn(ctx)
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

// onceCache holds the results of form actions by key.
type onceCache struct {
	mu sync.Mutex
	m  map[string]*onceEntry
}

type onceEntry struct {
	hash string
	at   time.Time
	done chan struct{}
	val  any
	err  error
}

// onceMax bounds the cache; beyond it an action runs without the guard
// rather than not at all.
const onceMax = 10_000

var pageOnce = &onceCache{m: map[string]*onceEntry{}}

func (c *onceCache) do(ctx context.Context, key, hash string, fn func() (any, error)) (any, error) {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.mu.Unlock()
		if e.hash != hash {
			return nil, &renkei.Error{Code: renkei.ECONFLICT, Reason: renkei.ReasonIdempotencyKeyReused,
				Message: "This form was already sent with other values. Open the page again."}
		}
		select {
		case <-e.done:
			return e.val, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for k, e := range c.m {
		if now.Sub(e.at) > formOnceTTL {
			select {
			case <-e.done:
				delete(c.m, k)
			default:
			}
		}
	}
	e := &onceEntry{hash: hash, at: now, done: make(chan struct{})}
	if len(c.m) < onceMax {
		c.m[key] = e
	}
	c.mu.Unlock()

	e.val, e.err = fn()
	if e.err != nil {
		// A failed action may be tried again with the same form.
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
	close(e.done)
	return e.val, e.err
}
