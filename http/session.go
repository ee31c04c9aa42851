package http

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A login cookie holds the token it was made with, a random login id and
// its expiry, sealed with AES-256-GCM under the server's cookie key. So the
// browser never holds a bearer token in the clear (a copied cookie is not a
// key to the API), the expiry is checked here and cannot be moved by the
// client, and a token that is rotated ends every login made with it, since
// each page checks the token inside again. Logging out records the login
// id as ended (in the database, so on every node) until the cookie's
// expiry: a copy of the cookie taken before is refused too.

// loginLifetime is how long a login lasts: a shop's working day, and one
// hour for the admin, whose key can do everything.
func loginLifetime(cookie string) time.Duration {
	if cookie == adminCookie {
		return time.Hour
	}
	return 12 * time.Hour
}

// newCookieAEAD makes the cipher of the login cookies from a 32-byte key,
// or from a random one (logins then end when the process does).
func newCookieAEAD(key []byte) (cipher.AEAD, error) {
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("renkei: the cookie key has %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// login is what a login cookie holds.
type login struct {
	token   string
	id      string // random, hex: what a logout ends
	expires time.Time
}

// loginIDBytes is the length of a login id before hex.
const loginIDBytes = 16

// cookieAD binds a login cookie to its name (a wallet login cannot be
// moved into the admin cookie) and to this cookie format.
func cookieAD(name string) []byte { return []byte(name + "\x00login-v2") }

// sealLogin is the value of login cookie name for token, valid until
// expires, with a new login id.
func (s *Server) sealLogin(name, token string, expires time.Time) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	id := make([]byte, loginIDBytes)
	rand.Read(id)
	plain = append(plain, id...)
	plain = append(plain, token...)
	nonce := make([]byte, s.cookieAEAD.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.cookieAEAD.Seal(nonce, nonce, plain, cookieAD(name)))
}

// openLogin returns what a login cookie holds if the cookie is ours, for
// this name, and not expired. Whether its login was ended is for the
// caller to ask.
func (s *Server) openLogin(name, value string, now time.Time) (login, bool) {
	b, err := base64.RawURLEncoding.DecodeString(value)
	n := s.cookieAEAD.NonceSize()
	if err != nil || len(b) < n+8+loginIDBytes {
		return login{}, false
	}
	plain, err := s.cookieAEAD.Open(nil, b[:n], b[n:], cookieAD(name))
	if err != nil || len(plain) < 8+loginIDBytes {
		return login{}, false
	}
	exp := int64(binary.BigEndian.Uint64(plain[:8]))
	if now.Unix() >= exp {
		return login{}, false
	}
	return login{token: string(plain[8+loginIDBytes:]), id: hex.EncodeToString(plain[8 : 8+loginIDBytes]),
		expires: time.Unix(exp, 0)}, true
}

// isHTTPS reports whether the client reached us over TLS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto (its last
// value, the one the proxy talking to us wrote).
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if a := peerAddr(r); !a.IsValid() || !s.trusted(a) {
		return false
	}
	var last string
	for _, v := range r.Header.Values("X-Forwarded-Proto") {
		parts := strings.Split(v, ",")
		last = parts[len(parts)-1]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// setAuthCookie logs the browser in with token: HttpOnly, SameSite=Strict,
// Secure over https, scoped to its area, and ending after loginLifetime
// in the browser and here.
func (s *Server) setAuthCookie(w http.ResponseWriter, r *http.Request, name, token string) {
	life := loginLifetime(name)
	expires := s.Now().Add(life)
	http.SetCookie(w, &http.Cookie{Name: name, Value: s.sealLogin(name, token, expires), Path: cookiePath(name),
		MaxAge: int(life / time.Second), Expires: expires, HttpOnly: true, Secure: s.isHTTPS(r), SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearAuthCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: cookiePath(name), MaxAge: -1, HttpOnly: true,
		Secure: s.isHTTPS(r), SameSite: http.SameSiteStrictMode})
}
