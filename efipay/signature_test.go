package efipay

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func readExample(tb testing.TB) []byte {
	tb.Helper()
	body, err := os.ReadFile("../testdata/efipay/webhook-example.json")
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func TestVerify(t *testing.T) {
	body := readExample(t)
	token := []byte("whsec-test-token")
	sig := Sign(body, token)
	altered := append([]byte(nil), body...)
	altered[len(altered)/2] ^= 0x01

	tests := []struct {
		name   string
		body   []byte
		header string
		token  []byte
		want   error
	}{
		{"valid", body, sig, token, nil},
		{"upper-case hex", body, strings.ToUpper(sig), token, nil},
		{"mixed-case hex", body, strings.ToUpper(sig[:10]) + sig[10:], token, nil},
		{"surrounding whitespace", body, " \t" + sig + "\r\n", token, nil},
		{"missing", body, "", token, ErrMissingSignature},
		{"only whitespace", body, "  \t ", token, ErrMissingSignature},
		{"wrong signature", body, Sign([]byte("other body"), token), token, ErrInvalidSignature},
		{"body altered by one byte", altered, sig, token, ErrInvalidSignature},
		{"body with a trailing newline", append(append([]byte(nil), body...), '\n'), sig, token, ErrInvalidSignature},
		{"wrong token", body, sig, []byte("whsec-test-tokem"), ErrInvalidSignature},
		{"empty token", body, Sign(body, nil), nil, ErrInvalidSignature},
		{"non-hex header", body, strings.Repeat("zz", 32), token, ErrInvalidSignature},
		{"too short", body, sig[:62], token, ErrInvalidSignature},
		{"too long", body, sig + "00", token, ErrInvalidSignature},
		{"sha256= prefix", body, "sha256=" + sig, token, ErrInvalidSignature},
		{"inner space", body, sig[:32] + " " + sig[32:], token, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.body, tt.header, tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// RFC 4231, test case 2.
	got := Sign([]byte("what do ya want for nothing?"), []byte("Jefe"))
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func FuzzVerify(f *testing.F) {
	body := readExample(f)
	token := []byte("whsec-test-token")
	f.Add(body, Sign(body, token), token)
	f.Add(body, strings.ToUpper(Sign(body, token)), token)
	f.Add([]byte("{}"), "", []byte("t"))
	f.Add([]byte(""), "zz", []byte(""))
	f.Add([]byte("x"), " "+Sign([]byte("x"), []byte("k"))+" ", []byte("k"))
	f.Fuzz(func(t *testing.T, body []byte, header string, token []byte) {
		err := Verify(body, header, token)
		if err != nil && !errors.Is(err, ErrMissingSignature) && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("got %v, want nil, ErrMissingSignature or ErrInvalidSignature", err)
		}
		if len(token) > 0 {
			if err := Verify(body, Sign(body, token), token); err != nil {
				t.Fatalf("own signature: got %v, want nil", err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	body := readExample(b)
	token := []byte("whsec-test-token")
	sig := Sign(body, token)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Verify(body, sig, token); err != nil {
			b.Fatal(err)
		}
	}
}

// Efipay's PHP plugins escape slashes (json_encode): the signature is over
// those bytes, and the same JSON written without the escapes must not verify.
func TestVerifyEscapedSlashes(t *testing.T) {
	body, err := os.ReadFile("../testdata/efipay/webhook-php-escaped.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `\/`) {
		t.Fatalf("test body has no escaped slash")
	}
	token := []byte("whsec-test-token")
	sig := Sign(body, token)
	if err := Verify(body, sig, token); err != nil {
		t.Fatalf("raw body: got %v, want nil", err)
	}
	unescaped := []byte(strings.ReplaceAll(string(body), `\/`, `/`))
	if err := Verify(unescaped, sig, token); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("re-encoded body: got %v, want ErrInvalidSignature", err)
	}
	ev, err := Parse(body)
	if err != nil {
		t.Fatalf("parse: got %v, want nil", err)
	}
	if got, want := ev.References, []string{"CP/2024/0143"}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("references: got %q, want %q", got, want)
	}
	if got, want := ev.Webhook.Transaction.URLResponse, "https://sag.efipay.co/Checkout/Transaction/9b902174-7189-4f5a-a035-6b68f97b695a/Response"; got != want {
		t.Fatalf("url_response: got %q, want %q", got, want)
	}
}
