package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// maxKeptBody is how much of a response is kept: enough for a
	// receiver's error message, small enough to store with every attempt.
	maxKeptBody = 1 << 10
	// maxDiscardBody is how much more is read and thrown away, so that a
	// short response body is consumed; anything longer is cut off by
	// closing the connection rather than downloaded.
	maxDiscardBody = 64 << 10
	// maxErrLen keeps error strings short enough to store and show.
	maxErrLen = 256
)

// Attempt is the outcome of one delivery attempt, as the delivery log shows
// it to the partner and to the operator.
type Attempt struct {
	// Status is the HTTP status code received, 0 if there was no response.
	Status int
	// Duration is how long the attempt took, from request to closed body.
	Duration time.Duration
	// Body is the start of the response body (at most 1 KiB), valid UTF-8
	// without NUL bytes so it can be stored in any text column: receivers
	// often explain a failure there.
	Body string
	// Err says why the attempt failed, in a short string that is safe to
	// show the partner: it never holds a secret, the signature or the
	// endpoint URL (which may carry a token). It is empty when Delivered
	// and nothing went wrong.
	Err string
	// Delivered is true when the receiver answered 2xx, the only answer
	// that counts as accepted.
	Delivered bool
	// Gone is true when the receiver answered 410 Gone, which the spec
	// defines as "stop sending": the caller should disable the endpoint
	// rather than retry.
	Gone bool
}

// Send makes one delivery attempt: it POSTs body to url with the Standard
// Webhooks headers for msgID, ts and secrets, using client (normally from
// Policy.Client, which enforces the SSRF policy; Send adds no check of its
// own). It never returns an error: every outcome, including a refused
// address or a signing failure, is an Attempt to record, so the caller has
// one path for all of them.
//
// ts should be the time of this attempt (see Headers). Of the response only
// the first 1 KiB is kept and at most 64 KiB more read, so a receiver that
// answers with gigabytes costs neither memory nor time.
func Send(ctx context.Context, client *http.Client, url, msgID string, ts time.Time, body []byte, secrets ...string) Attempt {
	start := time.Now()
	a := send(ctx, client, url, msgID, ts, body, secrets)
	a.Duration = time.Since(start)
	return a
}

// send is Send without the clock, so every return path is timed the same.
func send(ctx context.Context, client *http.Client, rawURL, msgID string, ts time.Time, body []byte, secrets []string) Attempt {
	h, err := Headers(msgID, ts, body, secrets...)
	if err != nil {
		return Attempt{Err: shorten(err.Error())}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Attempt{Err: "invalid endpoint URL"}
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return Attempt{Err: describe(err, client.Timeout)}
	}
	defer resp.Body.Close()

	a := Attempt{
		Status:    resp.StatusCode,
		Delivered: resp.StatusCode >= 200 && resp.StatusCode <= 299,
		Gone:      resp.StatusCode == http.StatusGone,
	}
	kept, readErr := io.ReadAll(io.LimitReader(resp.Body, maxKeptBody))
	if readErr == nil {
		_, readErr = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDiscardBody))
	}
	a.Body = cleanText(kept)

	switch {
	case a.Delivered && readErr != nil:
		// Accepted all the same: the status is what counts.
		a.Err = "reading response body: " + describe(readErr, client.Timeout)
	case a.Delivered:
	case a.Gone:
		a.Err = "HTTP 410 Gone: the endpoint asks for no more messages"
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		a.Err = fmt.Sprintf("HTTP %d %s: redirects are not followed; register the final URL",
			resp.StatusCode, http.StatusText(resp.StatusCode))
	default:
		a.Err = "HTTP " + shorten(resp.Status)
	}
	return a
}

// describe turns a transport error into a short, safe message. It drops the
// *url.Error wrapper, whose message repeats the URL.
func describe(err error, timeout time.Duration) string {
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return shorten(blocked.Error())
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled before a response arrived"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if timeout > 0 {
			return fmt.Sprintf("timeout: no complete response within %v", timeout)
		}
		return "timeout: no complete response in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return shorten(err.Error())
}

// shorten cuts s to maxErrLen bytes on a rune boundary.
func shorten(s string) string {
	return truncate(strings.ToValidUTF8(s, "\uFFFD"), maxErrLen)
}

// cleanText makes a response body storable: invalid UTF-8 (including a
// character cut in half at the 1 KiB mark) and NUL, which PostgreSQL text
// refuses, become U+FFFD, and the result stays within maxKeptBody bytes.
func cleanText(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	return truncate(s, maxKeptBody)
}

// truncate cuts valid UTF-8 s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
