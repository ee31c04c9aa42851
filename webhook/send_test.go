package webhook_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/renkei/renkei/webhook"
)

// newServer starts a real HTTP server on 127.0.0.1 that the test closes.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// hold blocks a handler until the client hangs up or the test ends. The
// body is read first: only then does the server watch the connection and
// cancel r.Context() when the client goes away.
func hold(t *testing.T, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-t.Context().Done(): // so srv.Close cannot wait forever
	}
}

// newClient returns a policy client whose idle connections are closed when
// the test ends (before the servers, as cleanups run last-in first-out).
func newClient(t *testing.T, p webhook.Policy, timeout time.Duration) *http.Client {
	t.Helper()
	c := p.Client(timeout)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// local is the policy for test servers: they listen on loopback over http.
var local = webhook.Policy{AllowPrivate: true}

// checkErrSafe fails if an attempt's error leaks a secret or the signature.
func checkErrSafe(t *testing.T, a webhook.Attempt, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(a.Err, strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("Err %q contains a secret", a.Err)
		}
	}
	if strings.Contains(a.Err, "v1,") {
		t.Errorf("Err %q contains a signature", a.Err)
	}
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	newS, oldS := newSecret(t), newSecret(t)
	body := []byte(`{"type":"payment.completed","data":{"amount":1280,"currency":"JPY"}}`)
	type received struct {
		header http.Header
		body   []byte
		method string
	}
	got := make(chan received, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b, r.Method}
		io.WriteString(w, `{"ok":true}`)
	})
	c := newClient(t, local, 0)

	a := webhook.Send(t.Context(), c, srv.URL+"/hooks", "msg_send", time.Now(), body, newS, oldS)
	if !a.Delivered || a.Status != 200 || a.Gone || a.Err != "" {
		t.Fatalf("attempt = %+v, want delivered with 200", a)
	}
	if a.Body != `{"ok":true}` {
		t.Errorf("Body = %q", a.Body)
	}
	if a.Duration <= 0 {
		t.Errorf("Duration = %v, want > 0", a.Duration)
	}
	r := <-got
	if r.method != http.MethodPost || !bytes.Equal(r.body, body) {
		t.Errorf("received %s %q, want POST of the body", r.method, r.body)
	}
	// A receiver verifies with whichever secret it has: both work during
	// the rotation's grace period.
	for name, s := range map[string]string{"new": newS, "old": oldS} {
		if err := verify(t, s, r.body, r.header); err != nil {
			t.Errorf("receiver verify with the %s secret: %v", name, err)
		}
	}
	if r.header.Get("webhook-id") != "msg_send" || r.header.Get("User-Agent") != "Renkei-Webhooks/1" ||
		r.header.Get("Content-Type") != "application/json" {
		t.Errorf("received headers %v", r.header)
	}
}

func TestSendStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status    int
		delivered bool
		gone      bool
		err       string
	}{
		{200, true, false, ""},
		{202, true, false, ""},
		{204, true, false, ""},
		{299, true, false, ""},
		{400, false, false, "HTTP 400 Bad Request"},
		{410, false, true, "410 Gone"},
		{429, false, false, "HTTP 429"},
		{500, false, false, "HTTP 500 Internal Server Error"},
		{503, false, false, "HTTP 503"},
	} {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, "because")
		})
		c := newClient(t, local, 0)
		secret := newSecret(t)
		a := webhook.Send(t.Context(), c, srv.URL, "msg_s", time.Now(), []byte("{}"), secret)
		if a.Status != tc.status || a.Delivered != tc.delivered || a.Gone != tc.gone {
			t.Errorf("status %d: attempt = %+v", tc.status, a)
		}
		if tc.err == "" && a.Err != "" || !strings.Contains(a.Err, tc.err) {
			t.Errorf("status %d: Err = %q, want %q", tc.status, a.Err, tc.err)
		}
		if tc.status != 204 && a.Body != "because" {
			t.Errorf("status %d: Body = %q, want the receiver's explanation", tc.status, a.Body)
		}
		checkErrSafe(t, a, secret)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})
	c := newClient(t, local, 0)
	a := webhook.Send(t.Context(), c, srv.URL, "msg_r", time.Now(), []byte("{}"), newSecret(t))
	if a.Status != http.StatusFound || a.Delivered || a.Gone {
		t.Errorf("attempt = %+v, want failed with status 302", a)
	}
	if !strings.Contains(a.Err, "redirect") {
		t.Errorf("Err = %q, want it to say redirects are not followed", a.Err)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("redirect target received %d requests, want 0", n)
	}
}

// TestSendHugeResponse answers with 10 MiB and then holds the response open,
// unfinished, until the client hangs up. Send must return with the first
// 1 KiB without waiting for the rest: if it read to the end it would never
// get there, and the client's timeout would show up in Err.
func TestSendHugeResponse(t *testing.T) {
	t.Parallel()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var written atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for written.Load() < 10<<20 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
		w.(http.Flusher).Flush()
		hold(t, r) // no end of body: only hanging up ends this response
	}))
	// A write blocked on a client that stopped reading must not hold the
	// server's Close forever if the test fails.
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, local, 20*time.Second)
	a := webhook.Send(t.Context(), c, srv.URL, "msg_big", time.Now(), []byte("{}"), newSecret(t))
	if !a.Delivered || a.Err != "" {
		t.Fatalf("attempt = %+v, want delivered without error", a)
	}
	if len(a.Body) > 1024 || !strings.HasPrefix(string(chunk), a.Body) || len(a.Body) < 1000 {
		t.Errorf("Body is %d bytes, want the first 1 KiB of the response", len(a.Body))
	}
	t.Logf("server wrote %d bytes before the client hung up", written.Load())
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hold(t, r)
	})
	c := newClient(t, local, 100*time.Millisecond)
	secret := newSecret(t)
	a := webhook.Send(t.Context(), c, srv.URL, "msg_t", time.Now(), []byte("{}"), secret)
	if a.Delivered || a.Status != 0 {
		t.Errorf("attempt = %+v, want no response", a)
	}
	if !strings.Contains(a.Err, "timeout") {
		t.Errorf("Err = %q, want it to mention the timeout", a.Err)
	}
	t.Logf("Err = %q", a.Err)
	checkErrSafe(t, a, secret)
}

func TestSendBlockedAtDialTime(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	secret := newSecret(t)

	// "localhost" passes the URL's shape and is refused only once DNS
	// says 127.0.0.1, as a rebinding name would be.
	strict := newClient(t, webhook.Policy{}, 0)
	for _, u := range []string{"https://localhost:" + port + "/", "https://127.0.0.1:" + port + "/"} {
		a := webhook.Send(t.Context(), strict, u, "msg_b", time.Now(), []byte("{}"), secret)
		if a.Delivered || a.Status != 0 || !strings.Contains(a.Err, "not allowed") || !strings.Contains(a.Err, "127.0.0.1") {
			t.Errorf("strict send to %s = %+v, want blocked naming 127.0.0.1", u, a)
		}
		t.Logf("strict send to %s: Err = %q", u, a.Err)
		if strings.Contains(a.Err, u) {
			t.Errorf("Err %q repeats the URL", a.Err)
		}
		checkErrSafe(t, a, secret)

		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, u, nil)
		if _, err := strict.Do(req); !errors.Is(err, webhook.ErrBlocked) {
			t.Errorf("strict client Do(%s) = %v, want ErrBlocked", u, err)
		}
	}
	// Plain http is refused before any connection without AllowPrivate.
	a := webhook.Send(t.Context(), strict, srv.URL, "msg_b", time.Now(), []byte("{}"), secret)
	if a.Delivered || !strings.Contains(a.Err, "https") {
		t.Errorf("strict send to %s = %+v, want refused for http", srv.URL, a)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server received %d requests from the strict client", n)
	}

	// The same name is fine with AllowPrivate.
	a = webhook.Send(t.Context(), newClient(t, local, 0), "http://localhost:"+port+"/", "msg_b", time.Now(), []byte("{}"), secret)
	if !a.Delivered {
		t.Errorf("AllowPrivate send to localhost = %+v, want delivered", a)
	}

	// Metadata stays blocked with AllowPrivate; the check fires before
	// connect, so these addresses are never contacted.
	for _, u := range []string{"https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "https://[::ffff:169.254.169.254]/"} {
		a := webhook.Send(t.Context(), newClient(t, local, 0), u, "msg_b", time.Now(), []byte("{}"), secret)
		if a.Delivered || !strings.Contains(a.Err, "metadata") {
			t.Errorf("AllowPrivate send to %s = %+v, want blocked as metadata", u, a)
		}
	}
}

func TestSendBodyIsStorableText(t *testing.T) {
	t.Parallel()
	// 1023 ASCII bytes then a three-byte character cut by the 1 KiB limit,
	// after an invalid byte and a NUL.
	resp := "\xff\x00" + strings.Repeat("a", 1021) + "日本"
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, resp)
	})
	a := webhook.Send(t.Context(), newClient(t, local, 0), srv.URL, "msg_u", time.Now(), []byte("{}"), newSecret(t))
	if !utf8.ValidString(a.Body) || strings.ContainsRune(a.Body, 0) || len(a.Body) > 1024 {
		t.Errorf("Body (%d bytes) is not storable text: %q", len(a.Body), a.Body[:min(len(a.Body), 16)])
	}
	if !strings.HasPrefix(a.Body, "\uFFFD\uFFFDaaa") {
		t.Errorf("Body starts %q, want replacement characters then the text", a.Body[:min(len(a.Body), 16)])
	}
}

func TestSendInvalidInput(t *testing.T) {
	t.Parallel()
	c := newClient(t, local, 0)
	secret := newSecret(t)
	for _, tc := range []struct {
		name, url, msgID string
		secrets          []string
	}{
		{"bad url", "http://[::1", "msg_1", []string{secret}},
		{"no secret", "http://127.0.0.1:1/", "msg_1", nil},
		{"bad id", "http://127.0.0.1:1/", "msg.1", []string{secret}},
	} {
		a := webhook.Send(t.Context(), c, tc.url, tc.msgID, time.Now(), []byte("{}"), tc.secrets...)
		if a.Delivered || a.Err == "" || a.Status != 0 {
			t.Errorf("%s: attempt = %+v, want failed with Err", tc.name, a)
		}
		checkErrSafe(t, a, secret)
	}
}
