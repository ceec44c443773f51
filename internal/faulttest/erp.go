// Package faulttest has the tools of recauda-bridge's fault tests: a fake
// ERP over HTTP that can be made slow, hung, garbled or unreachable and
// brought back, the consistency checks of a tracking database after a fault,
// and the SIGKILL soak driver run by scripts/sigkill-soak.sh (20 rounds) and
// by faults_process_test.go (3 rounds).
//
// It talks to the real binary and the real SQLite file from outside, as an
// operator or Efipay would: HTTP on loopback, signals, read-only SQL.
package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how the fake ERP answers lookups.
type Mode int32

// Modes of the fake ERP.
const (
	// ModeOK answers at once with the customer's charges.
	ModeOK Mode = iota
	// ModeSlow answers correctly after the delay given to SetMode.
	ModeSlow
	// ModeHang reads the request and never answers; the connection stays
	// open until the client gives up.
	ModeHang
	// ModeGarbage answers 200 with a body that is not JSON.
	ModeGarbage
	// ModeError answers 500.
	ModeError
)

// Record is one charge as the fake ERP serves it; ERP.HTTPConfig maps its
// fields to the bridge's.
type Record struct {
	Ref         string `json:"ref"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Due         string `json:"due"`
}

// ERP is a fake ERP speaking JSON over HTTP on loopback, for ERP_SOURCE=http:
// GET /charges?id=N answers {"items":[...]}, POST /payments records a
// payment keyed by its Idempotency-Key. Down closes the listener (connection
// refused) and Up listens again on the same address, so the bridge's
// configuration stays valid across the outage. It is safe for concurrent use.
type ERP struct {
	mode    atomic.Int32
	delay   atomic.Int64 // ModeSlow's delay, nanoseconds
	wbDelay atomic.Int64 // delay of every write-back, nanoseconds

	// LookupStarted and WritebackStarted receive a value (never blocking;
	// extra ones are dropped) when a request arrives, so a test knows a call
	// is in flight.
	LookupStarted    chan struct{}
	WritebackStarted chan string

	mu         sync.Mutex
	addr       string
	srv        *http.Server
	charges    map[string][]Record
	writebacks map[string]int // Idempotency-Key → calls completed
	release    chan struct{}  // closed by Close: hung requests return
}

// NewERP starts a fake ERP on a free loopback port serving charges by ID
// number. Close it when done.
func NewERP(charges map[string][]Record) (*ERP, error) {
	e := &ERP{
		LookupStarted:    make(chan struct{}, 64),
		WritebackStarted: make(chan string, 64),
		charges:          charges,
		writebacks:       map[string]int{},
		release:          make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.addr = ln.Addr().String()
	e.serve(ln)
	return e, nil
}

func (e *ERP) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /charges", e.lookup)
	mux.HandleFunc("POST /payments", e.payment)
	e.mu.Lock()
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv := e.srv
	e.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// SetMode changes how lookups are answered from now on; delay is ModeSlow's.
func (e *ERP) SetMode(m Mode, delay time.Duration) {
	e.delay.Store(int64(delay))
	e.mode.Store(int32(m))
}

// SetWritebackDelay makes every write-back answer after d.
func (e *ERP) SetWritebackDelay(d time.Duration) { e.wbDelay.Store(int64(d)) }

// Writebacks returns how many times each transaction (Idempotency-Key) was
// recorded.
func (e *ERP) Writebacks() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.writebacks))
	for k, v := range e.writebacks {
		out[k] = v
	}
	return out
}

// Down stops listening and drops every open connection: the ERP's host
// refuses connections until Up.
func (e *ERP) Down() {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	_ = srv.Close()
}

// Up listens again on the same address.
func (e *ERP) Up() error {
	var err error
	for i := 0; i < 50; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", e.addr); err == nil {
			e.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("fake ERP: listen again on %s: %w", e.addr, err)
}

// Close stops the ERP and releases hung requests.
func (e *ERP) Close() {
	e.mu.Lock()
	select {
	case <-e.release:
	default:
		close(e.release)
	}
	srv := e.srv
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
}

// HTTPConfig is the ERP_CONFIG document for ERP_SOURCE=http pointing at e,
// write-back included. timeout is the source's per-request timeout.
func (e *ERP) HTTPConfig(timeout time.Duration) string {
	return fmt.Sprintf(`http:
  url: http://%s/charges?id={id_number}
  items_path: items
  mapping:
    ref_payment: ref
    id_number: id
    payer_name: name
    description: description
    amount: amount
    currency_type: currency
    limit_date: due
  defaults:
    has_comments: "false"
  timeout: %s
  retries: 0
  writeback:
    url: http://%s/payments
    body: '{"ref":"{ref_payment}","transaction":"{transaction_id}","amount":"{amount}"}'
`, e.addr, timeout, e.addr)
}

func (e *ERP) lookup(w http.ResponseWriter, r *http.Request) {
	select {
	case e.LookupStarted <- struct{}{}:
	default:
	}
	switch Mode(e.mode.Load()) {
	case ModeSlow:
		if !e.wait(r.Context(), time.Duration(e.delay.Load())) {
			return
		}
	case ModeHang:
		select {
		case <-r.Context().Done():
		case <-e.release:
		}
		return
	case ModeGarbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>{\"items\":["))
		return
	case ModeError:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	e.mu.Lock()
	items := e.charges[r.URL.Query().Get("id")]
	e.mu.Unlock()
	if items == nil {
		items = []Record{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
}

func (e *ERP) payment(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	select {
	case e.WritebackStarted <- key:
	default:
	}
	if !e.wait(r.Context(), time.Duration(e.wbDelay.Load())) {
		return
	}
	var body struct {
		Ref         string `json:"ref"`
		Transaction string `json:"transaction"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || key == "" || body.Transaction != key {
		http.Error(w, "bad payment", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.writebacks[key]++
	e.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// wait sleeps d unless the request or the ERP ends first; it reports whether
// the whole delay passed.
func (e *ERP) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-e.release:
		return false
	}
}

// Records builds n charges for idNumber with refs prefix-1 … prefix-n.
func Records(prefix, idNumber string, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{
			Ref: fmt.Sprintf("%s-%d", prefix, i+1), ID: idNumber, Name: "Cliente de Prueba " + idNumber,
			Description: fmt.Sprintf("Cuota de prueba %d", i+1), Amount: fmt.Sprintf("%d.00", 10000+i), Currency: "COP", Due: "2099-12-31",
		}
	}
	return out
}

// ErrorShape is the bridge's one JSON error body.
type ErrorShape struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// DecodeError reads the bridge's error body, failing when body is not that
// shape.
func DecodeError(body []byte) (ErrorShape, error) {
	var e ErrorShape
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("error body %q: %w", truncate(string(body), 200), err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		return e, errors.New("error body lacks error.code or error.message: " + truncate(string(body), 200))
	}
	return e, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
