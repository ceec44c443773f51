package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Dashboard sessions are stateless signed cookies:
//
//	v1.<base64url(session id (16 random bytes) | expiry (unix seconds, 8 bytes))>.<base64url(HMAC-SHA256)>
//
// The HMAC key is derived from ADMIN_TOKEN, so that every replica and every
// restart accepts the same cookies, and changing ADMIN_TOKEN signs everyone
// out. The CSRF token of a session is HMAC(key, "csrf|" + session id): it
// needs no storage either, and is checked in constant time on every POST.
// Signing out forgets the session id on this process until the cookie would
// have expired; a copy of the cookie taken before that stays valid on other
// replicas until its expiry (rotate ADMIN_TOKEN to end every session).

const (
	sessionCookie = "recauda_session"
	// loginCookie carries the nonce the sign-in form's CSRF token is bound
	// to: there is no session yet to bind it to.
	loginCookie = "recauda_login"
	langCookie  = "recauda_lang"
	// loginFormTTL is how long a sign-in form stays usable.
	loginFormTTL = time.Hour
	// defaultSessionTTL is how long a sign-in lasts when Deps says nothing.
	defaultSessionTTL = 8 * time.Hour
)

// sessionKeyLabel separates the dashboard's key from any other use of the
// token.
const sessionKeyLabel = "recauda-bridge dashboard session key v1"

// session is a signed-in operator's session.
type session struct {
	id      [16]byte
	expires time.Time
}

// sessions issues and checks session cookies. It is safe for concurrent use.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	// revoked holds the sessions signed out, until they would expire.
	revoked map[[16]byte]time.Time
}

func newSessions(adminToken string, ttl time.Duration, now func() time.Time) *sessions {
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte(sessionKeyLabel))
	return &sessions{key: mac.Sum(nil), ttl: ttl, now: now, revoked: map[[16]byte]time.Time{}}
}

func (s *sessions) sign(parts ...[]byte) []byte {
	mac := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		mac.Write(p)
	}
	return mac.Sum(nil)
}

var b64 = base64.RawURLEncoding

// issue starts a session and returns it with its cookie value.
func (s *sessions) issue() (session, string) {
	var sess session
	_, _ = rand.Read(sess.id[:]) // never fails (crypto/rand)
	sess.expires = s.now().Add(s.ttl).Truncate(time.Second)
	payload := make([]byte, 0, 24)
	payload = append(payload, sess.id[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(sess.expires.Unix()))
	return sess, "v1." + b64.EncodeToString(payload) + "." + b64.EncodeToString(s.sign([]byte("session|"), payload))
}

// check returns the session of a cookie value when the signature is right,
// it has not expired and it was not signed out.
func (s *sessions) check(value string) (session, bool) {
	version, rest, _ := strings.Cut(value, ".")
	enc, sig, _ := strings.Cut(rest, ".")
	if version != "v1" {
		return session{}, false
	}
	payload, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.sign([]byte("session|"), payload)) {
		return session{}, false
	}
	var sess session
	copy(sess.id[:], payload[:16])
	sess.expires = time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
	if !s.now().Before(sess.expires) {
		return session{}, false
	}
	s.mu.Lock()
	_, gone := s.revoked[sess.id]
	s.mu.Unlock()
	return sess, !gone
}

// revoke signs a session out on this process, and forgets the sessions
// signed out earlier that have expired since.
func (s *sessions) revoke(sess session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[sess.id] = sess.expires
}

// csrf is the CSRF token of a session.
func (s *sessions) csrf(sess session) string {
	return b64.EncodeToString(s.sign([]byte("csrf|"), sess.id[:]))
}

// loginNonce is a fresh nonce for the sign-in form's cookie.
func loginNonce() string {
	var n [16]byte
	_, _ = rand.Read(n[:])
	return b64.EncodeToString(n[:])
}

// loginCSRF is the sign-in form's CSRF token for nonce.
func (s *sessions) loginCSRF(nonce string) string {
	return b64.EncodeToString(s.sign([]byte("login|"), []byte(nonce)))
}

// validToken compares a submitted token with the expected one in constant
// time.
func validToken(got, want string) bool {
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}
