package efipay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignatureHeader is the HTTP header that carries a webhook's signature.
const SignatureHeader = "Signature"

// ErrMissingSignature means the webhook came without a signature.
var ErrMissingSignature = errors.New("efipay: missing webhook signature")

// ErrInvalidSignature means the signature does not match the body and the
// token: the body was altered, the token is wrong, or the sender is not
// Efipay. Efipay's own plugins answer 401 in that case.
var ErrInvalidSignature = errors.New("efipay: invalid webhook signature")

// Verify checks that signatureHeader is the hex HMAC-SHA256 of body keyed with
// token. body must be the raw bytes received, before any decoding. The header
// may be in either hex case and may carry surrounding whitespace. It returns
// nil, [ErrMissingSignature], or an error wrapping [ErrInvalidSignature] that
// says why. An empty token fails every signature: with an empty key anybody
// could forge one.
func Verify(body []byte, signatureHeader string, token []byte) error {
	sig := strings.TrimSpace(signatureHeader)
	if sig == "" {
		return ErrMissingSignature
	}
	if len(token) == 0 {
		return fmt.Errorf("%w: no webhook token configured", ErrInvalidSignature)
	}
	if len(sig) != 2*sha256.Size {
		return fmt.Errorf("%w: %d hex digits, want %d", ErrInvalidSignature, len(sig), 2*sha256.Size)
	}
	got := make([]byte, sha256.Size)
	if _, err := hex.Decode(got, []byte(sig)); err != nil {
		return fmt.Errorf("%w: not hex", ErrInvalidSignature)
	}
	if !hmac.Equal(got, mac(body, token)) {
		return ErrInvalidSignature
	}
	return nil
}

// Sign returns the signature Efipay would send for body: the lowercase hex
// HMAC-SHA256 of body keyed with token. Tests and the load generator use it.
func Sign(body, token []byte) string {
	return hex.EncodeToString(mac(body, token))
}

func mac(body, token []byte) []byte {
	h := hmac.New(sha256.New, token)
	h.Write(body)
	return h.Sum(nil)
}
