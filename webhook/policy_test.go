package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/renkei/renkei/webhook"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	// strict and private are the error substrings expected without and
	// with AllowPrivate; "" means the URL is accepted.
	for _, tc := range []struct {
		url     string
		strict  string
		private string
	}{
		{"https://example.com/hooks", "", ""},
		{"https://example.com:8443/hooks?x=1", "", ""},
		{"HTTPS://Hooks.Example.COM./a", "", ""},
		{"https://xn--bcher-kva.example/", "", ""},
		{"https://8.8.8.8/", "", ""},
		{"https://[2606:4700:4700::1111]:443/", "", ""},

		// Scheme.
		{"http://example.com/", "https", "loopback"},
		{"ftp://example.com/", "https", "https"},
		{"ws://localhost/", "https", "https"},
		{"http://localhost:8080/", "https", ""},
		{"http://LOCALHOST:8080/", "https", ""},
		{"http://127.0.0.1:8080/", "https", ""},
		{"http://127.9.9.9/", "https", ""},
		{"http://[::1]:8080/", "https", ""},
		{"http://10.0.0.1/", "https", "loopback"},
		{"http://192.168.1.10:3000/", "https", "loopback"},
		{"http://foo.localhost/", "https", "loopback"},

		// Shape.
		{"", "absolute", "absolute"},
		{"example.com/hooks", "absolute", "absolute"},
		{"/hooks", "absolute", "absolute"},
		{"https:example.com", "absolute", "absolute"},
		{"https:///hooks", "absolute", "absolute"},
		{"https://user:pass@example.com/", "user name", "user name"},
		{"https://token@example.com/", "user name", "user name"},
		{"https://example.com:0/", "port", "port"},
		{"https://example.com:65536/", "port", "port"},
		{"https://example.com:https/", "port", "port"},
		{"https://exa mple.com/", "invalid", "invalid"},
		{"https://bücher.example/", "xn--", "xn--"},
		{"https://a..b/", "invalid host", "invalid host"},
		{"https://" + strings.Repeat("a", 64) + ".com/", "invalid host", "invalid host"},

		// IPv4 in disguise: resolvers read these as 127.0.0.1.
		{"https://127.1/", "unusual form", "unusual form"},
		{"https://2130706433/", "unusual form", "unusual form"},
		{"https://0x7f000001/", "unusual form", "unusual form"},
		{"https://0177.0.0.1/", "unusual form", "unusual form"},
		{"https://0x7f.0.0.1/", "unusual form", "unusual form"},

		// Names that mean this machine or the local network.
		{"https://localhost/", "not allowed", ""},
		{"https://localhost./", "not allowed", ""},
		{"https://api.localhost/", "not allowed", ""},
		{"https://intranet/", "fully qualified", ""},

		// IP literals in blocked ranges.
		{"https://127.0.0.1/", "loopback", ""},
		{"https://10.1.2.3/", "private", ""},
		{"https://172.16.0.1/", "private", ""},
		{"https://192.168.0.1/", "private", ""},
		{"https://100.64.0.1/", "carrier-grade", ""},
		{"https://169.254.1.1/", "link-local", ""},
		{"https://0.0.0.0/", "unspecified", "unspecified"},
		{"https://169.254.169.254/latest/meta-data/", "metadata", "metadata"},
		{"https://[::ffff:169.254.169.254]/", "metadata", "metadata"},
		{"https://[fd00:ec2::254]/", "metadata", "metadata"},
		{"https://224.0.0.1/", "multicast", "multicast"},
		{"https://[ff02::1]/", "multicast", "multicast"},
		{"https://255.255.255.255/", "reserved", "reserved"},
		{"https://[::1]/", "loopback", ""},
		{"https://[::ffff:127.0.0.1]/", "loopback", ""},
		{"https://[fd12:3456::1]/", "unique local", ""},
		{"https://[fe80::1%25eth0]/", "link-local", ""},
		{"https://[64:ff9b::a9fe:a9fe]/", "not allowed", "not allowed"},
	} {
		for _, p := range []struct {
			policy webhook.Policy
			want   string
		}{{webhook.Policy{}, tc.strict}, {webhook.Policy{AllowPrivate: true}, tc.private}} {
			err := p.policy.CheckURL(tc.url)
			switch {
			case p.want == "" && err != nil:
				t.Errorf("%+v.CheckURL(%q) = %v, want nil", p.policy, tc.url, err)
			case p.want != "" && err == nil:
				t.Errorf("%+v.CheckURL(%q) = nil, want error with %q", p.policy, tc.url, p.want)
			case p.want != "" && !strings.Contains(err.Error(), p.want):
				t.Errorf("%+v.CheckURL(%q) = %v, want error with %q", p.policy, tc.url, err, p.want)
			}
		}
	}
}

func TestCheckURLBlockedIsErrBlocked(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://10.0.0.1/", "https://localhost/", "https://[::1]/"} {
		if err := (webhook.Policy{}).CheckURL(u); !errors.Is(err, webhook.ErrBlocked) {
			t.Errorf("CheckURL(%q) = %v, want ErrBlocked", u, err)
		}
	}
	if err := (webhook.Policy{}).CheckURL("http://example.com/"); errors.Is(err, webhook.ErrBlocked) {
		t.Errorf("a URL with the wrong scheme is reported as a blocked address: %v", err)
	}
}
