package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every range the policy blocks, by its first and last addresses (or an
// address well inside), in IPv4 and IPv6, for both settings of AllowPrivate.
var ipCases = []struct {
	ip      string
	strict  bool // allowed without AllowPrivate
	private bool // allowed with AllowPrivate
}{
	// IPv4 blocked unless AllowPrivate.
	{"10.0.0.0", false, true},
	{"10.255.255.255", false, true},
	{"100.64.0.0", false, true},
	{"100.127.255.255", false, true},
	{"127.0.0.1", false, true},
	{"127.255.255.254", false, true},
	{"169.254.0.1", false, true},
	{"169.254.255.254", false, true},
	{"172.16.0.0", false, true},
	{"172.31.255.255", false, true},
	{"192.0.0.0", false, true},
	{"192.0.0.255", false, true},
	{"192.0.2.0", false, true},
	{"192.0.2.255", false, true},
	{"192.168.0.0", false, true},
	{"192.168.255.255", false, true},
	{"198.18.0.0", false, true},
	{"198.19.255.255", false, true},
	{"198.51.100.0", false, true},
	{"198.51.100.255", false, true},
	{"203.0.113.0", false, true},
	{"203.0.113.255", false, true},

	// IPv4 blocked always.
	{"0.0.0.0", false, false},
	{"0.255.255.255", false, false},
	{"169.254.169.254", false, false},
	{"169.254.170.2", false, false},
	{"100.100.100.200", false, false},
	{"224.0.0.0", false, false},
	{"239.255.255.250", false, false},
	{"240.0.0.0", false, false},
	{"254.255.255.255", false, false},
	{"255.255.255.255", false, false},

	// IPv4 just outside the ranges: public.
	{"1.1.1.1", true, true},
	{"8.8.8.8", true, true},
	{"9.255.255.255", true, true},
	{"11.0.0.0", true, true},
	{"100.63.255.255", true, true},
	{"100.128.0.0", true, true},
	{"126.255.255.255", true, true},
	{"128.0.0.0", true, true},
	{"169.253.255.255", true, true},
	{"169.255.0.0", true, true},
	{"172.15.255.255", true, true},
	{"172.32.0.0", true, true},
	{"192.0.1.0", true, true},
	{"192.0.3.0", true, true},
	{"192.167.255.255", true, true},
	{"192.169.0.0", true, true},
	{"198.17.255.255", true, true},
	{"198.20.0.0", true, true},
	{"198.51.99.255", true, true},
	{"198.51.101.0", true, true},
	{"203.0.112.255", true, true},
	{"203.0.114.0", true, true},
	{"223.255.255.255", true, true},

	// IPv6 blocked unless AllowPrivate.
	{"::1", false, true},
	{"::7f00:1", false, true}, // IPv4-compatible 127.0.0.1
	{"::ffff:127.0.0.1", false, true},
	{"::ffff:10.0.0.1", false, true},
	{"::ffff:192.168.1.1", false, true},
	{"64:ff9b::a00:1", false, true},   // NAT64 of 10.0.0.1
	{"64:ff9b::808:808", false, true}, // NAT64 of 8.8.8.8: still a gateway
	{"64:ff9b:1::1", false, true},
	{"100::", false, true},
	{"100::ffff:ffff:ffff:ffff", false, true},
	{"2001:db8::", false, true},
	{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false, true},
	{"3fff::1", false, true},
	{"fc00::", false, true},
	{"fd00::1", false, true},
	{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, true},
	{"fe80::", false, true},
	{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, true},
	{"fec0::1", false, true},           // deprecated site-local: not global unicast
	{"2002:a00:1::1", false, true},     // 6to4 of 10.0.0.1
	{"2002:7f00:1::1", false, true},    // 6to4 of 127.0.0.1
	{"4000::1", false, true},           // outside 2000::/3
	{"::ffff:100.64.0.1", false, true}, // mapped CGNAT

	// IPv6 blocked always.
	{"::", false, false},
	{"64:ff9b::", false, false}, // NAT64 of 0.0.0.0
	{"fd00:ec2::254", false, false},
	{"fd00:ec2::23", false, false},
	{"::ffff:169.254.169.254", false, false},
	{"::ffff:0.0.0.0", false, false},
	{"::ffff:224.0.0.1", false, false},
	{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
	{"2002:a9fe:a9fe::1", false, false},  // 6to4 of 169.254.169.254
	{"ff00::", false, false},
	{"ff02::1", false, false},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, false},

	// IPv6 public.
	{"2606:4700:4700::1111", true, true},
	{"2001:4860:4860::8888", true, true},
	{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true, true},
	{"2001:db9::", true, true},
	{"2002:808:808::1", true, true}, // 6to4 of 8.8.8.8
	{"::ffff:8.8.8.8", true, true},
}

func TestCheckIP(t *testing.T) {
	t.Parallel()
	for _, tc := range ipCases {
		ip := netip.MustParseAddr(tc.ip)
		for _, p := range []struct {
			policy Policy
			want   bool
		}{{Policy{}, tc.strict}, {Policy{AllowPrivate: true}, tc.private}} {
			err := p.policy.checkIP(ip)
			if p.want && err != nil {
				t.Errorf("%+v.checkIP(%s) = %v, want allowed", p.policy, tc.ip, err)
			}
			if !p.want && !errors.Is(err, ErrBlocked) {
				t.Errorf("%+v.checkIP(%s) = %v, want ErrBlocked", p.policy, tc.ip, err)
			}
		}
	}
}

// dialers returns the dial function of the client's https transport, and of
// its plain http transport (nil without AllowPrivate).
func dialers(t *testing.T, p Policy) (tlsDial, plainDial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	t.Helper()
	c := p.Client(time.Second)
	tr := c.Transport.(*transport)
	t.Cleanup(c.CloseIdleConnections)
	if tr.plain != nil {
		plainDial = tr.plain.DialContext
	}
	return tr.tls.DialContext, plainDial
}

// TestDialerBlocks dials every blocked address through the client's real
// dialer. The check runs before connect, so nothing leaves the machine; the
// error must be the policy's, not a network failure.
func TestDialerBlocks(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{{}, {AllowPrivate: true}} {
		dial, _ := dialers(t, p)
		for _, tc := range ipCases {
			allowed := tc.strict
			if p.AllowPrivate {
				allowed = tc.private
			}
			if allowed {
				continue // would really connect
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			conn, err := dial(ctx, "tcp", net.JoinHostPort(tc.ip, "443"))
			cancel()
			if err == nil {
				conn.Close()
				t.Errorf("%+v: dial %s succeeded, want blocked", p, tc.ip)
				continue
			}
			if errors.Is(err, syscall.EAFNOSUPPORT) {
				t.Logf("%+v: dial %s: no IPv6 on this machine: %v", p, tc.ip, err)
				continue
			}
			if !errors.Is(err, ErrBlocked) {
				t.Errorf("%+v: dial %s = %v, want ErrBlocked", p, tc.ip, err)
			}
		}
	}
}

// TestDialerChecksResolvedAddress dials a name, not an address: only the
// address DNS returns shows that it is loopback, which is how DNS rebinding
// would slip past a check made at registration.
func TestDialerChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-accepted })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	strictDial, _ := dialers(t, Policy{})
	for _, addr := range []string{"localhost:" + port, "127.0.0.1:" + port} {
		_, err := strictDial(t.Context(), "tcp", addr)
		if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("strict dial %s = %v, want ErrBlocked naming 127.0.0.1", addr, err)
		}
	}

	tlsDial, plainDial := dialers(t, Policy{AllowPrivate: true})
	for name, dial := range map[string]func(context.Context, string, string) (net.Conn, error){"https": tlsDial, "http": plainDial} {
		conn, err := dial(t.Context(), "tcp", "localhost:"+port)
		if err != nil {
			t.Errorf("AllowPrivate %s dial localhost = %v, want connected", name, err)
			continue
		}
		conn.Close()
	}
	// Plain http goes to loopback only, even with AllowPrivate.
	if _, err := plainDial(t.Context(), "tcp", "10.0.0.1:80"); !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("AllowPrivate http dial 10.0.0.1 = %v, want blocked as not loopback", err)
	}
}
