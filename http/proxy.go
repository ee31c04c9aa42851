package http

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or
// single addresses (10.0.0.0/8, 192.0.2.7, fd00::/8): the reverse proxies
// whose X-Forwarded-For and X-Forwarded-Proto the server believes.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the direct peer of r, invalid if RemoteAddr
// is not an IP address and port.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// clientAddr is the address of the client behind r. X-Forwarded-For is read
// only when the direct peer is a trusted proxy, and then from the right:
// each trusted proxy appends the address it saw, so the right-most hop that
// is not a trusted proxy is the client. Everything to its left was written
// by the client and could say anything.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	addr := peerAddr(r)
	if !addr.IsValid() || !s.trusted(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return addr // a trusted proxy wrote something we cannot read: stop at it
		}
		if !s.trusted(a) {
			return a
		}
		addr = a
	}
	return addr
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some proxies write it.
func parseHop(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(h)
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// clientKey names the client of r for rate limits: its IPv4 address, or
// the /64 of its IPv6 address, since one IPv6 subscriber usually holds a
// whole /64 and could otherwise take a fresh budget per address.
func (s *Server) clientKey(r *http.Request) string {
	a := s.clientAddr(r)
	switch {
	case !a.IsValid():
		return r.RemoteAddr // not an IP connection (tests over pipes): as it is
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
