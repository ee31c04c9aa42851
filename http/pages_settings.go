package http

import (
	"net/http"
	"strings"

	"github.com/renkei/renkei"
)

// The payer's own settings: the time zone every page shows times in,
// whatever the language (a Japanese speaker abroad, an English speaker in
// Tokyo). The wallet page carries the form.

// zoneChoices are the zones offered on the wallet page; the API takes any
// IANA name.
var zoneChoices = []string{"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Singapore",
	"Asia/Bangkok", "Australia/Sydney", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Pacific/Honolulu"}

// zoneChoice is one option of the time zone form.
type zoneChoice struct {
	Name     string
	Selected bool
}

// ZoneChoices lists the zones to choose from, the page's own marked; a
// zone chosen through the API that is not in the list is offered too.
func (v *pageView) ZoneChoices() []zoneChoice {
	now := v.zone().String()
	out := make([]zoneChoice, 0, len(zoneChoices)+1)
	found := false
	for _, z := range zoneChoices {
		out = append(out, zoneChoice{Name: z, Selected: z == now})
		found = found || z == now
	}
	if !found {
		out = append([]zoneChoice{{Name: now, Selected: true}}, out...)
	}
	return out
}

// appTimeZone stores the user's time zone and goes back to the wallet,
// which then shows every time in it.
func (s *Server) appTimeZone(pr *pageReq) {
	zone := strings.TrimSpace(pr.r.PostFormValue("time_zone"))
	if _, err := s.Services.SetUserTimeZone(pr.ctx, pr.p.ID, zone); err != nil {
		if renkei.ErrorCode(err) == renkei.EINVALID {
			pr.view.Error = pr.view.L.T("tz.bad")
		} else {
			pr.view.Error = pr.view.L.ErrorText(err, sidePayer)
		}
		s.renderWallet(pr, s.errStatus(pr.ctx, err))
		return
	}
	http.Redirect(pr.w, pr.r, "/app?tz=1", http.StatusSeeOther)
}
