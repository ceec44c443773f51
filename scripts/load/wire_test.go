package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReadResponse(t *testing.T) {
	cases := []struct {
		name, raw string
		status    int
		keepAlive bool
		rest      string // what must be left unread: the next response
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhelloNEXT", 200, true, "NEXT"},
		{"chunked with trailer", "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\nNEXT", 503, true, "NEXT"},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nokNEXT", 200, false, "NEXT"},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, false, ""},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, true, "NEXT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(c.raw))
			status, keep, err := readResponse(br)
			if err != nil || status != c.status || keep != c.keepAlive {
				t.Fatalf("got %d keep-alive %v err %v; want %d keep-alive %v", status, keep, err, c.status, c.keepAlive)
			}
			if rest, _ := io.ReadAll(br); string(rest) != c.rest {
				t.Errorf("left %q unread, want %q", rest, c.rest)
			}
		})
	}
	for _, bad := range []string{"", "HTTP/1.1 2x0 OK\r\n\r\n", "SSH-2.0\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"} {
		if _, _, err := readResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The hand-driven connection against net/http's server: keep-alive over
// many requests, bodies sent and received, a closed connection dialed again.
func TestWireConnAgainstNetHTTP(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/big": // past net/http's buffer: chunked
			fmt.Fprint(w, strings.Repeat("x", 10000))
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		case "/echo":
			if r.Header.Get("Signature") != "abc" {
				http.Error(w, "no signature", http.StatusUnauthorized)
				return
			}
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	w := newWireConn(addr)
	defer w.close()
	for i := range 3 {
		if !w.do(getWire(addr, "/big")) {
			t.Fatalf("big %d failed", i)
		}
	}
	first := w.c
	if !w.do(postWire(addr, "/echo", "abc", []byte(`{"a":1}`))) {
		t.Fatal("post failed")
	}
	if w.c != first {
		t.Error("keep-alive connection was not reused")
	}
	if w.do(postWire(addr, "/echo", "wrong", []byte(`{}`))) {
		t.Error("a 401 reported as success")
	}
	if !w.do(getWire(addr, "/close")) || w.c != nil {
		t.Fatal("a closing answer must succeed and drop the connection")
	}
	if w.do(getWire(addr, "/missing")) {
		t.Error("a 404 reported as success")
	}
	if n := served.Load(); n != 7 {
		t.Errorf("server saw %d requests, want 7", n)
	}
}
