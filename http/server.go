// Package http serves Renkei's JSON API (huma, OpenAPI 3.1, problem+json)
// and the phone-sized web pages of the user terminal and the shop terminal.
package http

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// Services is what the server needs from the rest of Renkei.
type Services interface {
	renkei.UserService
	renkei.MerchantService
	renkei.PaymentService
	renkei.EventService
	renkei.AuthService
	renkei.RelatedServiceService
	renkei.AnnotationService
	renkei.PrivacyService
	DeliveryAdmin
	Ping(ctx context.Context) error
}

// DeliveryAdmin is what the API needs of the delivery engine's records.
type DeliveryAdmin interface {
	FindDelivery(ctx context.Context, id string) (*renkei.Delivery, error)
	Attempts(ctx context.Context, deliveryID string) ([]*renkei.Attempt, error)
	Replay(ctx context.Context, f store.ReplayFilter, progress func(done int)) (int, error)
	RotateSecret(ctx context.Context, serviceID string, grace time.Duration) (string, error)
}

// Server is the HTTP front of Renkei.
type Server struct {
	Services Services
	Log      *slog.Logger
	// Demo lets users top up their own wallets and shows the demo logins on
	// the login pages.
	Demo bool
	// DemoLogins are offered on the login pages in demo mode.
	DemoLogins []DemoLogin
	// Metrics is where the server registers its collectors; nil uses a new
	// registry (tests start many servers in one process).
	Metrics *prometheus.Registry
	// QRSVG renders a QR code image for the pages.
	QRSVG func(text string, size int) (string, error)
	// FormatPayCode groups a pay code for display.
	FormatPayCode func(code string) string
	// TimeZone is where the pages show times, in every language, for
	// everyone who has not chosen their own (users can); nil is
	// Asia/Tokyo. The API always answers UTC.
	TimeZone *time.Location
	// WorkerOnly serves only /healthz and /metrics: a node that sends
	// deliveries and takes no API traffic.
	WorkerOnly bool
	// TrustedProxies are the reverse proxies in front of the server. Only
	// when the direct peer is one of them are X-Forwarded-For (the client's
	// address, for rate limits) and X-Forwarded-Proto (https, for Secure
	// cookies) believed; otherwise any client could claim any address.
	TrustedProxies []netip.Prefix
	// AuthFailuresPerMinute bounds bad tokens from all addresses together
	// (0: 600). Past it, tokens not seen valid lately are refused unchecked.
	AuthFailuresPerMinute int
	// CookieKey (32 bytes) seals the login cookies. Nodes behind one load
	// balancer need the same key; nil makes a random one, and logins then
	// end when the process does.
	CookieKey []byte
	// Now is the clock of login expiry; nil is time.Now.
	Now func() time.Time
	// Operator is the controller that consent receipts name (the
	// operator running this Renkei); a generic name when empty.
	Operator renkei.Controller

	api     huma.API
	handler http.Handler
	limits  *limiter
	// cookieAEAD seals login cookies (see session.go).
	cookieAEAD cipher.AEAD
	metrics    *metrics
	srv        *http.Server
	ln         net.Listener
	Addr       string // the address actually bound, after Open
	basePath   string
}

// DemoLogin is a demo account shown on a login page.
type DemoLogin struct {
	Kind  string // user or terminal
	Name  string
	Token string
}

// maxBody bounds every request body: our requests are a few hundred bytes.
const maxBody = 64 << 10

// maxIconBody bounds an icon upload (API or admin form).
const maxIconBody = 256<<10 + 16<<10

func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return newProblem(status, msg, errs...)
	}
}

// Handler builds (once) and returns the server's handler.
func (s *Server) Handler() http.Handler {
	if s.handler != nil {
		return s.handler
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Metrics == nil {
		s.Metrics = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(s.Metrics)
	if s.Now == nil {
		s.Now = time.Now
	}
	s.limits = newLimiter(s.AuthFailuresPerMinute)
	aead, err := newCookieAEAD(s.CookieKey)
	if err != nil {
		panic(err) // a wiring mistake, caught by the first test that starts the server
	}
	s.cookieAEAD = aead

	if s.WorkerOnly {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", s.healthz)
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{}))
		mux.HandleFunc("/", s.notFound)
		s.handler = s.observe(securityHeaders(mux))
		return s.handler
	}
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Renkei API", renkei.Version)
	cfg.CreateHooks = nil // no $schema links in our bodies
	cfg.DocsPath = ""     // our own docs page works offline
	cfg.Info.Description = "Renkei moves money from wallets to merchants and hands each payment, with the user's consent, to the related services the user chooses. Authenticate with `Authorization: Bearer <token>` (user token, shop terminal API key or admin key). Money-moving POSTs take an `Idempotency-Key` header."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer"},
	}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	api := humago.New(mux, cfg)
	api.UseMiddleware(s.authenticate)
	api.UseMiddleware(s.checkText)
	s.api = api
	s.registerAPI(api)
	s.registerRelatedAPI(api)
	s.registerDeliveryAPI(api)
	s.registerAnnotationAPI(api)
	s.registerPrivacyAPI(api)

	// Any other method on a known API path: 405 as problem+json, with Allow.
	allowed := map[string][]string{}
	for path, item := range api.OpenAPI().Paths {
		for _, m := range []struct {
			name string
			op   *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
			if m.op != nil {
				allowed[path] = append(allowed[path], m.name)
			}
		}
	}
	for path, methods := range allowed {
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		h := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, newProblem(http.StatusMethodNotAllowed,
				fmt.Sprintf("%s is not supported on %s; use %s.", r.Method, r.URL.Path, allow)))
		}
		// One pattern per other method: a method-less pattern would
		// conflict with sibling paths such as /v1/payments/{id}.
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !strings.Contains(allow, m) {
				mux.HandleFunc(m+" "+path, h)
			}
		}
	}

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /docs", s.docs)
	mux.HandleFunc("GET /favicon.ico", favicon)
	s.registerPages(mux)
	mux.HandleFunc("/", s.notFound)

	s.handler = s.observe(securityHeaders(mux))
	return s.handler
}

// notFound answers every unknown path with problem+json, pages included:
// a person sees the sentence, a program sees the code.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, newProblem(http.StatusNotFound, fmt.Sprintf("There is nothing at %s %s. The API is described at /openapi.json and /docs.", r.Method, r.URL.Path)))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.Services.Ping(ctx); err != nil {
		s.Log.Error("health check: database", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"status":"unavailable","database":"down"}`)
		return
	}
	fmt.Fprintln(w, `{"status":"ok"}`)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Body != nil {
			limit := int64(maxBody)
			if strings.HasSuffix(r.URL.Path, "/icon") {
				limit = maxIconBody // icon uploads: images up to 256 KiB plus form overhead
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// Open listens on addr (port 0 picks one) and serves in the background.
func (s *Server) Open(addr string) error {
	if s.CookieKey != nil && len(s.CookieKey) != 32 {
		return fmt.Errorf("the cookie key has %d bytes, want 32", len(s.CookieKey))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL of the running server.
func (s *Server) URL() string { return "http://" + s.Addr }

// Close stops the server, letting requests in flight finish for a while.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
