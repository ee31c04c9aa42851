package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery attempt from dial to the last byte read,
// when Client is given no timeout. It is the low end of what the Standard
// Webhooks spec recommends (15 to 30 s): long enough for a receiver that
// writes to its database before answering, short enough that a hanging
// endpoint does not hold a worker.
const DefaultTimeout = 15 * time.Second

// ErrBlocked is wrapped by every error that refuses a destination address,
// so callers can tell "this endpoint points into a network we must not
// reach" from an ordinary network failure.
var ErrBlocked = errors.New("destination address not allowed")

// Policy decides where Renkei may send webhooks. Endpoint URLs are typed by
// partners, so without it anyone registering a related service could make
// Renkei's servers call its own database, an admin page on the private
// network or the cloud's metadata service, which hands out credentials
// (server-side request forgery).
type Policy struct {
	// AllowPrivate mirrors the server's --allow-private-endpoints flag, for
	// development and for self-hosted installs where the related service
	// runs next to Renkei. It allows loopback and private addresses, and
	// plain http:// but only to loopback, where nobody can listen in.
	// Metadata, multicast and unroutable addresses stay blocked.
	AllowPrivate bool
	// IdlePerHost is how many idle connections Client keeps per endpoint
	// (16 when zero); see Client.
	IdlePerHost int
}

// ipRange is a block of addresses and why it is blocked, for the error.
type ipRange struct {
	prefix netip.Prefix
	why    string
}

func mustRange(cidr, why string) ipRange { return ipRange{netip.MustParsePrefix(cidr), why} }

// forbiddenRanges are blocked whatever the policy. The metadata addresses
// answer with cloud credentials to anyone on the machine; multicast and
// unspecified or reserved addresses are never a webhook receiver.
var forbiddenRanges = []ipRange{
	mustRange("169.254.169.254/32", "a cloud metadata service"),
	mustRange("169.254.170.2/32", "the AWS ECS credentials service"),
	mustRange("169.254.170.23/32", "the AWS EKS pod identity service"),
	mustRange("100.100.100.200/32", "the Alibaba Cloud metadata service"),
	mustRange("fd00:ec2::254/128", "the AWS metadata service"),
	mustRange("fd00:ec2::23/128", "the AWS EKS pod identity service"),
	mustRange("224.0.0.0/4", "multicast"),
	mustRange("ff00::/8", "multicast"),
	mustRange("0.0.0.0/8", "unspecified (\"this network\")"),
	mustRange("::/128", "unspecified"),
	mustRange("240.0.0.0/4", "reserved"), // includes 255.255.255.255, broadcast
}

// privateRanges are blocked unless AllowPrivate: addresses that are not on
// the public Internet, so a partner has no business there (IANA special
// purpose registries, RFC 6890 and successors).
var privateRanges = []ipRange{
	mustRange("10.0.0.0/8", "private (RFC 1918)"),
	mustRange("100.64.0.0/10", "shared carrier-grade NAT space (RFC 6598)"),
	mustRange("127.0.0.0/8", "loopback"),
	mustRange("169.254.0.0/16", "link-local"),
	mustRange("172.16.0.0/12", "private (RFC 1918)"),
	mustRange("192.0.0.0/24", "IETF protocol assignments"),
	mustRange("192.0.2.0/24", "documentation (TEST-NET-1)"),
	mustRange("192.168.0.0/16", "private (RFC 1918)"),
	mustRange("198.18.0.0/15", "benchmarking"),
	mustRange("198.51.100.0/24", "documentation (TEST-NET-2)"),
	mustRange("203.0.113.0/24", "documentation (TEST-NET-3)"),
	mustRange("255.255.255.255/32", "broadcast"),
	mustRange("::1/128", "loopback"),
	mustRange("::/96", "IPv4-compatible (deprecated)"),
	mustRange("64:ff9b::/96", "NAT64"),
	mustRange("64:ff9b:1::/48", "local-use NAT64"),
	mustRange("100::/64", "discard-only"),
	mustRange("2001:db8::/32", "documentation"),
	mustRange("3fff::/20", "documentation"),
	mustRange("fc00::/7", "unique local (private)"),
	mustRange("fe80::/10", "link-local"),
}

var (
	// globalUnicast6 is the only IPv6 block handed out for the public
	// Internet. Checking against it as well as the list above catches
	// ranges a list would forget (site-local, future assignments).
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	// nat64 and sixToFour carry an IPv4 address inside; that address must
	// pass too, or 64:ff9b::a9fe:a9fe would reach 169.254.169.254 through a
	// NAT64 gateway.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// blockedError says which address was refused and why.
type blockedError struct {
	ip  netip.Addr
	why string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("%v: %v is %s", ErrBlocked, e.ip, e.why)
}

func (e *blockedError) Unwrap() error { return ErrBlocked }

// checkIP reports whether the policy lets Renkei connect to ip.
func (p Policy) checkIP(ip netip.Addr) error {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		// ::ffff:a.b.c.d reaches a.b.c.d on a dual-stack socket.
		ip = ip.Unmap()
	}
	for _, b := range forbiddenRanges {
		if b.prefix.Contains(ip) {
			return &blockedError{ip, b.why}
		}
	}
	if embedded, ok := embeddedIPv4(ip); ok {
		if err := p.checkIP(embedded); err != nil {
			return &blockedError{ip, "a gateway to " + embedded.String() + ", which is not allowed"}
		}
	}
	if p.AllowPrivate {
		return nil
	}
	for _, b := range privateRanges {
		if b.prefix.Contains(ip) {
			return &blockedError{ip, b.why}
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return &blockedError{ip, "not a global unicast address"}
	}
	return nil
}

// embeddedIPv4 returns the IPv4 address inside a NAT64 or 6to4 address.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case !ip.Is6():
		return netip.Addr{}, false
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// CheckURL validates an endpoint URL when a related service registers it,
// so that mistakes and obvious attacks are refused with a clear message then
// rather than failing every delivery later. It requires https (plain http
// only with AllowPrivate and to a loopback host), refuses user info (it
// would be sent as credentials in every request) and checks IP literals and
// well-known loopback names against the policy.
//
// Host names cannot be judged here: DNS may answer differently at delivery
// time. The client from Client checks the address actually dialed.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return fmt.Errorf("endpoint URL: %w", err)
	}
	if err := p.checkShape(u); err != nil {
		return err
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := p.checkIP(ip); err != nil {
			return fmt.Errorf("endpoint URL: %w", err)
		}
		return nil
	}
	return p.checkHostName(host)
}

// checkShape holds the rules that depend only on the URL, checked both at
// registration and on every request, so that a URL stored under an older,
// looser policy is refused too.
func (p Policy) checkShape(u *url.URL) error {
	if u.Opaque != "" || u.Host == "" {
		return errors.New("endpoint URL: must be absolute, like https://example.com/webhooks")
	}
	if u.User != nil {
		return errors.New("endpoint URL: must not contain a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("endpoint URL: has no host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("endpoint URL: invalid port")
		}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if p.AllowPrivate && isLoopbackHost(host) {
			return nil
		}
		if p.AllowPrivate {
			return errors.New("endpoint URL: http:// is only allowed to localhost or a loopback address; use https://")
		}
		return errors.New("endpoint URL: must use https://")
	default:
		return errors.New("endpoint URL: must use https://")
	}
}

// isLoopbackHost reports whether host names this machine: the only place
// plain http cannot be read by others on the way.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkHostName refuses names that cannot be a public web server: names
// that are numbers in disguise ("127.1", "2130706433", "0x7f.1" are read as
// IPv4 addresses by some resolvers), localhost, and single-label names that
// the resolver would complete with the local search domain.
func (p Policy) checkHostName(host string) error {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" || len(name) > 253 {
		return errors.New("endpoint URL: invalid host name")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("endpoint URL: invalid host name")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return errors.New("endpoint URL: invalid host name (use the xn-- form of international names)")
			}
		}
	}
	if last := labels[len(labels)-1]; isNumeric(last) {
		return errors.New("endpoint URL: host looks like an IP address in an unusual form; write it as a.b.c.d")
	}
	if p.AllowPrivate {
		return nil
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return fmt.Errorf("endpoint URL: %w: %s is loopback", ErrBlocked, host)
	}
	if len(labels) == 1 {
		return errors.New("endpoint URL: host must be a fully qualified domain name")
	}
	return nil
}

// isNumeric reports whether a label is a decimal, octal or hex number, the
// forms inet_aton accepts for parts of an IPv4 address.
func isNumeric(l string) bool {
	digits := l
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		digits = rest
		for i := 0; i < len(digits); i++ {
			if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Client returns the HTTP client for deliveries under this policy.
//
// The address check runs in the dialer's Control function, on the IP
// address about to be connected, after DNS: a name that resolved to a
// public address when it was registered and to 127.0.0.1 now (DNS
// rebinding) is still refused. Redirects are never followed, because a
// redirect would send the signed message, and the next one, to a URL nobody
// checked; the 3xx is recorded as a failed attempt instead, as the spec
// recommends. Proxies from the environment are ignored so that
// HTTPS_PROXY cannot route deliveries around the check. Response headers
// are capped at 16 KiB and timeout (DefaultTimeout when zero or less) bounds
// the whole attempt, so a hostile receiver cannot hold memory or a worker.
//
// Plain http requests (AllowPrivate only) go through a second transport
// whose dialer accepts loopback addresses only. Call CloseIdleConnections
// on the client when done with it.
//
// The client keeps up to IdlePerHost connections open to each endpoint
// (16 when zero): at least as many as the sender runs at once to one
// endpoint, or connections are closed and dialed again under load.
func (p Policy) Client(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	t := &transport{policy: p, tls: p.newTransport(false)}
	if p.AllowPrivate {
		t.plain = p.newTransport(true)
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: timeout,
	}
}

// newTransport returns a transport whose dialer enforces the policy and, if
// loopbackOnly, also refuses anything but loopback.
func (p Policy) newTransport(loopbackOnly bool) *http.Transport {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   p.control(loopbackOnly),
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    10 * time.Second,
		ForceAttemptHTTP2:      true, // a custom dialer turns HTTP/2 off otherwise
		DisableCompression:     true, // the body is kept as text; gzip would only cost CPU
		MaxIdleConns:           max(64, 4*p.idlePerHost()),
		MaxIdleConnsPerHost:    p.idlePerHost(),
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
}

func (p Policy) idlePerHost() int {
	if p.IdlePerHost > 0 {
		return p.IdlePerHost
	}
	return 16
}

// control returns the net.Dialer Control function that checks each address
// just before the socket connects.
func (p Policy) control(loopbackOnly bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("%w: network %s", ErrBlocked, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse %q", ErrBlocked, address)
		}
		ip := ap.Addr().Unmap()
		if err := p.checkIP(ip); err != nil {
			return err
		}
		if loopbackOnly && !ip.IsLoopback() {
			return &blockedError{ip, "not loopback, and plain http is only allowed to loopback"}
		}
		return nil
	}
}

// transport sends https and http requests through separate transports, so
// that the plain one can be limited to loopback at dial time, and checks
// each request's URL first.
type transport struct {
	policy Policy
	tls    *http.Transport
	plain  *http.Transport // nil unless AllowPrivate
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.checkShape(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if req.URL.Scheme == "http" {
		return t.plain.RoundTrip(req)
	}
	return t.tls.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach both
// transports.
func (t *transport) CloseIdleConnections() {
	t.tls.CloseIdleConnections()
	if t.plain != nil {
		t.plain.CloseIdleConnections()
	}
}
