package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Dashboard sessions are stateless signed cookies:
//
//	v1.<base64url(session id (16 random bytes) | expiry (unix seconds, 8 bytes))>.<base64url(HMAC-SHA256)>
//
// The HMAC key is derived from a random secret that the bridge generates
// once and keeps in its database (Config.SessionSecret), and from ADMIN_TOKEN's
// hash: every replica and every restart accepts the same cookies, and
// rotating the secret (recauda-bridge rotate-session-secret) or changing
// ADMIN_TOKEN signs everyone out. Nothing a visitor can see is a function of
// ADMIN_TOKEN alone, so no page or cookie lets anyone test guesses of the
// token offline. The CSRF token of a session is HMAC(key, "csrf|" + session
// id); the sign-in form's is HMAC(key, "login|" + a nonce kept in a cookie).
// Neither needs storage; both are checked in constant time. Signing out
// forgets the session id on this process until the cookie would have
// expired; a copy of the cookie taken before that stays valid on other
// replicas until its expiry (rotate the secret to end every session).

const (
	sessionCookie = "recauda_session"
	// loginCookie carries the nonce the sign-in form's CSRF token is bound
	// to: there is no session yet to bind it to.
	loginCookie = "recauda_login"
	langCookie  = "recauda_lang"
	// loginFormTTL is how long a sign-in form stays usable.
	loginFormTTL = time.Hour
	// defaultSessionTTL is how long a sign-in lasts when Config says nothing.
	defaultSessionTTL = 8 * time.Hour
)

// sessionKeyLabel separates the dashboard's key from any other use of the
// secret.
const sessionKeyLabel = "recauda-bridge dashboard session key v2"

// secretRefresh is how often the secret is read again, so that a rotation
// signs everyone out of every running replica within this long.
const secretRefresh = 10 * time.Second

// session is a signed-in operator's session.
type session struct {
	id      [16]byte
	expires time.Time
}

// sessions issues and checks session cookies. It is safe for concurrent use.
type sessions struct {
	secret    func(context.Context) ([]byte, error)
	tokenHash [32]byte
	ttl       time.Duration
	now       func() time.Time

	mu sync.Mutex
	// key is derived from the secret read at keyRead.
	key     []byte
	keyRead time.Time
	// revoked holds the sessions signed out, until they would expire.
	revoked map[[16]byte]time.Time
}

func newSessions(secret func(context.Context) ([]byte, error), adminToken string, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{secret: secret, tokenHash: sha256.Sum256([]byte(adminToken)), ttl: ttl, now: now, revoked: map[[16]byte]time.Time{}}
}

// refresh reads the secret again when the one in hand is older than
// secretRefresh. Every dashboard request calls it before anything else.
func (s *sessions) refresh(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	fresh := s.key != nil && now.Sub(s.keyRead) < secretRefresh && !now.Before(s.keyRead)
	s.mu.Unlock()
	if fresh {
		return nil
	}
	secret, err := s.secret(ctx)
	if err != nil {
		return fmt.Errorf("dashboard session secret: %w", err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(sessionKeyLabel))
	mac.Write(s.tokenHash[:])
	s.mu.Lock()
	s.key, s.keyRead = mac.Sum(nil), now
	s.mu.Unlock()
	return nil
}

func (s *sessions) sign(parts ...[]byte) []byte {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	if key == nil {
		// Not refreshed yet: sign nothing anyone could match.
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	mac := hmac.New(sha256.New, key)
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
