package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/demo/kakeibo"
	"github.com/renkei/renkei/demo/points"
)

// partnerServer is what both demo related services offer.
type partnerServer interface {
	Open() error
	URL() string
	Close() error
}

// newPartner makes a demo partner (both take the same Config); zone is the time zone its pages show,
// the same as Renkei's pages, so the tour shows one zone throughout.
func newPartner(name, addr, dir, secret string, zone *time.Location, log *slog.Logger) (partnerServer, error) {
	cfg := kakeibo.Config{Addr: addr, DataDir: dir, Secrets: []string{secret}, Log: log, Zone: zone}
	switch name {
	case "kakeibo":
		return kakeibo.New(cfg)
	case "points":
		return points.New(cfg)
	}
	return nil, fmt.Errorf("unknown demo partner %q: kakeibo or points", name)
}

// runPartner is `renkei partner kakeibo|points`: one demo related service
// on its own, as a partner would run it next to (not inside) Renkei.
const partnerUsage = "usage: renkei partner kakeibo|points --listen ADDR --data DIR --secret whsec_…"

// isHelp tells whether an argument asks for help rather than naming what
// to run, so "renkei partner --help" answers like "renkei demo --help".
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

func runPartner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 0 {
			fmt.Fprintln(stdout, partnerUsage)
			return nil
		}
		return errors.New(partnerUsage)
	}
	name := args[0]
	fs := flag.NewFlagSet("renkei partner "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	dir := fs.String("data", "renkei-data/"+name, "folder for the partner's own SQLite file")
	secret := fs.String("secret", envOr("RENKEI_PARTNER_SECRET", ""), "the endpoint's whsec_ signing secret from Renkei (env RENKEI_PARTNER_SECRET)")
	zoneName := fs.String("time-zone", envOr("RENKEI_TIME_ZONE", "Asia/Tokyo"), "IANA time zone the pages show times in (env RENKEI_TIME_ZONE)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	zone, err := time.LoadLocation(*zoneName)
	if err != nil || *zoneName == "" {
		return fmt.Errorf("--time-zone %q is not an IANA time zone such as Asia/Tokyo or UTC", *zoneName)
	}
	if !strings.HasPrefix(*secret, "whsec_") {
		return errors.New("--secret must be the whsec_… signing secret Renkei showed when the service was registered")
	}
	p, err := newPartner(name, *listen, *dir, *secret, zone, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	if err := p.Open(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is running on %s (webhook %s/webhooks/renkei)\n", name, p.URL(), p.URL())
	<-ctx.Done()
	return p.Close()
}

// startDemoPartners runs Kakeibo and Points next to the payment server and
// points the demo services' endpoints at them (their ports may differ from
// one start to the next, in tests they are random).
func (m *Main) startDemoPartners(ctx context.Context, demo *demoData) error {
	addrs := map[string]string{"Kakeibo": m.KakeiboAddr, "Points": m.PointsAddr}
	for _, ds := range demo.Services {
		name := strings.ToLower(ds.Name)
		if ds.WebhookSecret == "" {
			m.log.Warn("demo service has no signing secret on record; not starting it", "service", ds.Name)
			continue
		}
		p, err := m.openPartner(name, addrs[ds.Name], ds.WebhookSecret)
		if err != nil {
			return err
		}
		m.partners = append(m.partners, p)
		m.PartnerURLs = append(m.PartnerURLs, PartnerURL{ds.Name, p.URL()})
		rs, err := m.Store.FindRelatedService(ctx, ds.ID)
		if err != nil {
			return err
		}
		if rs.WebhookURL != p.URL()+kakeibo.WebhookPath {
			in := renkei.RelatedServiceInput{Name: rs.Name, IconURL: rs.IconURL, Description: rs.Description, AppURL: p.URL() + "/",
				AppCategory: rs.AppCategory, WebhookURL: p.URL() + kakeibo.WebhookPath, Scopes: rs.Scopes, Input: rs.Input,
				Policy: rs.Policy, Enabled: rs.Enabled}
			if _, err := m.Store.UpdateRelatedService(ctx, rs.ID, in); err != nil {
				return fmt.Errorf("point %s at its demo server: %w", rs.Name, err)
			}
		}
	}
	return nil
}

// openPartner starts one demo partner; if its usual port is taken it
// takes any free one rather than keep the tour from starting.
func (m *Main) openPartner(name, addr, secret string) (partnerServer, error) {
	dir := filepath.Join(m.DataDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p, err := newPartner(name, addr, dir, secret, m.TimeZone, m.log.With("partner", name))
	if err != nil {
		return nil, err
	}
	if err := p.Open(); err == nil {
		return p, nil
	} else if addr == "127.0.0.1:0" {
		return nil, fmt.Errorf("start demo partner %s: %w", name, err)
	} else {
		m.log.Warn("demo partner's port is taken; using another", "partner", name, "addr", addr, "err", err)
		p.Close()
	}
	return m.openPartner(name, "127.0.0.1:0", secret)
}

// PartnerURL is a demo related service's address.
type PartnerURL struct{ Name, URL string }
