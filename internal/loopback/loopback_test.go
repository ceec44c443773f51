package loopback

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestClientRefusesRemoteAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()

	resp, err := Client(5*time.Second, false).Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback call: %v, want an answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("got status %d, want 302: the redirect is the answer, not followed", resp.StatusCode)
	}

	// 192.0.2.1 (TEST-NET-1) is never loopback; the dial is refused before
	// any packet leaves.
	_, err = Client(5*time.Second, false).Get("http://192.0.2.1:9/")
	if !errors.Is(err, ErrRemote) {
		t.Errorf("remote call: got %v, want ErrRemote", err)
	}
}

func TestIsLocal(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"http://localhost:8080/get-recaudas", true},
		{"http://127.0.0.1:8080/", true},
		{"http://127.8.9.1/", true},
		{"http://[::1]:8080/", true},
		{"https://erp.example.com/get-recaudas", false},
		{"http://10.0.0.1/", false},
		{"http://localhost.example.com/", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsLocal(u); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
