// Package sandbox is a local stand-in for Efipay's collection portal, for
// trying the whole loop before going live: it looks a customer up the way
// Efipay does, shows each payment as the customer would see it beside the
// verdict of the bridge's own validator, keeps what it received de-duplicated
// by ref_payment as Efipay does, and "pays" by posting signed webhooks in
// Efipay's shape, retrying after a non-2xx answer as Efipay does.
//
// Its HTTP client reaches only this machine unless AllowRemote is set.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/internal/loopback"
	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// Payment kinds a tester can play.
const (
	// KindFull is an approved payment of Efipay's total: the amount, less
	// the early-payment discount while it runs, plus a paid delivery.
	KindFull = "full"
	// KindAdvance is an approved payment of the amount the tester types.
	KindAdvance = "advance"
	// KindRejected is a rejected attempt (Rechazada).
	KindRejected = "rejected"
	// KindPendingApproved is Pendiente, then Aprobada, of the same
	// transaction.
	KindPendingApproved = "pending_approved"
	// KindReversal reverses the item's latest approved payment (Reversada).
	KindReversal = "reversal"
)

// Kinds lists the payment kinds in the order the pages offer them.
var Kinds = []string{KindFull, KindAdvance, KindRejected, KindPendingApproved, KindReversal}

// Efipay's statuses the sandbox sends.
const (
	statusApproved = "Aprobada"
	statusRejected = "Rechazada"
	statusPending  = "Pendiente"
	statusReversed = "Reversada"
)

// Errors of Pay, shown to the tester.
var (
	ErrUnknownRef   = errors.New("sandbox: no item with this ref_payment was received: look the customer up first")
	ErrNotPayable   = errors.New("sandbox: Efipay would not take a payment for this item: it breaks a field rule")
	ErrNoWebhook    = errors.New("sandbox: the item has no result_urls.webhook (start the sandbox with --webhook URL)")
	ErrBadAmount    = errors.New("sandbox: the amount must be a positive decimal number")
	ErrNothingToRev = errors.New("sandbox: this item has no approved payment left to reverse")
	ErrUnknownKind  = errors.New("sandbox: unknown kind of payment")
)

// Options configure a Sandbox.
type Options struct {
	// LookupURL is the lookup endpoint, token included (see DefaultLookupURL).
	LookupURL string
	// WebhookURL, when set, replaces every item's result_urls.webhook.
	WebhookURL string
	// WebhookToken signs the webhooks (EFIPAY_WEBHOOK_TOKEN).
	WebhookToken []byte
	// AllowRemote lets the sandbox call hosts other than this machine.
	AllowRemote bool
	// RetryDelays are the waits before the retries of a webhook answered
	// with a non-2xx status; nil: Efipay's (efipay.RetryDelays).
	RetryDelays []time.Duration
	// Validator is the bridge's validator; its clock is the sandbox's.
	Validator *validation.Validator
	// Now is the clock of the webhooks' times; nil: time.Now.
	Now func() time.Time
	// Client overrides the HTTP client (tests); nil builds one that obeys
	// AllowRemote, with Efipay's timeout.
	Client *http.Client
}

// Sandbox is the stand-in's state and use cases. It is safe for concurrent
// use; Close stops the retries still waiting.
type Sandbox struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	offers     map[string]*offer   // by ref_payment: Efipay keeps the first item of a ref
	byCustomer map[string][]string // refs in the order first received, by the ID number asked
	deliveries []*Delivery
	nextTx     int64
}

// offer is an item Efipay took, and what was paid on it.
type offer struct {
	item       models.Payment
	idNumber   string
	receivedAt time.Time
	approved   []approval
}

type approval struct {
	txID     int64
	amount   decimal.Decimal
	reversed bool
}

// New builds a sandbox.
func New(o Options) (*Sandbox, error) {
	if _, err := url.Parse(o.LookupURL); err != nil || o.LookupURL == "" {
		return nil, fmt.Errorf("sandbox: lookup URL %q: %v", o.LookupURL, err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Validator == nil {
		o.Validator = validation.New(o.Now)
	}
	if o.RetryDelays == nil {
		o.RetryDelays = efipay.RetryDelays()
	}
	if o.Client == nil {
		o.Client = loopback.Client(efipay.LookupTimeout, o.AllowRemote)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		o: o, ctx: ctx, cancel: cancel,
		offers:     map[string]*offer{},
		byCustomer: map[string][]string{},
		// Transaction ids from the clock, so that a restarted sandbox does
		// not repeat the ids the bridge already stored.
		nextTx: o.Now().UnixMilli(),
	}, nil
}

// Close cancels the retries still waiting and waits for those under way.
func (s *Sandbox) Close() {
	s.cancel()
	s.wg.Wait()
}

// Wait waits until every webhook has had its last attempt (tests).
func (s *Sandbox) Wait() { s.wg.Wait() }

// DefaultLookupURL is the bridge's own lookup as Efipay calls it: on
// listenAddr (an unspecified host means this machine), with token as the
// last path segment when set.
func DefaultLookupURL(listenAddr, token string) (string, error) {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("sandbox: LISTEN_ADDR %q: %w", listenAddr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/get-recaudas"}
	if token != "" {
		return u.JoinPath(token).String(), nil
	}
	return u.String(), nil
}

// ShownLookupURL is the lookup URL with its last path segment hidden when
// it is a token, for pages and logs.
func ShownLookupURL(lookupURL, token string) string {
	if token == "" {
		return lookupURL
	}
	return strings.Replace(lookupURL, url.PathEscape(token), "[token]", 1)
}

// Item is one payment as the sandbox shows it.
type Item struct {
	Payment models.Payment
	// Violations are the field rules the item breaks today: Efipay refuses
	// such an item (Payable false).
	Violations []validation.Violation
	// Unreadable says why an item could not be decoded at all.
	Unreadable string
	// Earlier is set for an item received in an earlier lookup and not sent
	// again: Efipay still offers it.
	Earlier bool
	// Again is set for an item sent again under a ref already kept: Efipay
	// ignores the new copy and keeps the first.
	Again bool
	// Total is what a full payment costs today, Efipay's way.
	Total decimal.Decimal
	// Paid is the sum of approved payments not reversed.
	Paid decimal.Decimal
	// Reversible says a payment of the item can be reversed.
	Reversible bool
}

// Payable says whether Efipay would take a payment for the item.
func (i Item) Payable() bool { return i.Unreadable == "" && len(i.Violations) == 0 }

// LookupResult is one lookup's outcome.
type LookupResult struct {
	IDNumber string
	Took     time.Duration
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Problem says what was wrong with the call or the body; "" when fine.
	Problem string
	// Items are the items received now (kept or refused), then those kept
	// from earlier lookups.
	Items []Item
}

// maxBody bounds what is read of an answer.
const maxBody = 8 << 20

// Lookup calls the lookup for idNumber exactly as Efipay does (GET,
// id_number the only query parameter, no cookies, Efipay's timeout),
// keeps each valid item under its ref_payment unless one is already kept,
// and returns what the customer would see.
func (s *Sandbox) Lookup(ctx context.Context, idNumber string) LookupResult {
	res := LookupResult{IDNumber: idNumber}
	u, _ := url.Parse(s.o.LookupURL)
	u.RawQuery = url.Values{"id_number": {idNumber}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, efipay.LookupTimeout)
	defer cancel()
	start := time.Now()
	body, status, err := s.get(ctx, u.String())
	res.Took, res.Status = time.Since(start), status
	var raws []json.RawMessage
	switch {
	case err != nil:
		res.Problem = err.Error()
	case status != http.StatusOK:
		res.Problem = fmt.Sprintf("HTTP %d: %s", status, excerpt(body))
	default:
		var top struct {
			Payments *[]json.RawMessage `json:"payments"`
		}
		if json.Unmarshal(body, &top) != nil || top.Payments == nil {
			res.Problem = `the body is not {"payments":[...]}: ` + excerpt(body)
		} else {
			raws = *top.Payments
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	fresh := map[string]bool{}
	for _, raw := range raws {
		var it Item
		if err := json.Unmarshal(raw, &it.Payment); err != nil {
			it.Unreadable = err.Error()
			res.Items = append(res.Items, it)
			continue
		}
		ref := it.Payment.RecaudaInformation.RefPayment
		if o, ok := s.offers[ref]; ok {
			// Efipay de-duplicates by ref_payment: the copy is ignored.
			it = s.itemOf(o)
			it.Again = true
		} else {
			it.Violations = s.o.Validator.Payment(&it.Payment)
			if len(it.Violations) == 0 {
				o := &offer{item: it.Payment, idNumber: idNumber, receivedAt: now}
				s.offers[ref] = o
				s.byCustomer[idNumber] = append(s.byCustomer[idNumber], ref)
				it = s.itemOf(o)
			}
		}
		fresh[ref] = true
		res.Items = append(res.Items, it)
	}
	for _, ref := range s.byCustomer[idNumber] {
		if !fresh[ref] {
			it := s.itemOf(s.offers[ref])
			it.Earlier = true
			res.Items = append(res.Items, it)
		}
	}
	return res
}

func (s *Sandbox) get(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return body, resp.StatusCode, err
}

// itemOf is the view of a kept offer, judged today. Callers hold s.mu.
func (s *Sandbox) itemOf(o *offer) Item {
	it := Item{Payment: o.item, Violations: s.o.Validator.Payment(&o.item), Total: s.total(&o.item)}
	for _, a := range o.approved {
		if !a.reversed {
			it.Paid = it.Paid.Add(a.amount)
			it.Reversible = true
		}
	}
	return it
}

// total is what Efipay charges for p in full today: the amount, less the
// early-payment discount up to its before_on day, plus a paid delivery.
// This is the payer's side; the bridge judges the amount on its own.
func (s *Sandbox) total(p *models.Payment) decimal.Decimal {
	amount := p.RecaudaInformation.Amount.Decimal
	total := amount
	ao := p.AdvancedOptions
	if ao == nil {
		return total
	}
	if d := ao.Discount; d != nil && s.o.Validator.Today() <= d.BeforeOn {
		switch d.Type {
		case models.DiscountValue:
			total = total.Sub(d.Value.Decimal)
		case models.DiscountPercent:
			total = total.Sub(amount.Mul(d.Value.Decimal).Div(decimal.NewFromInt(100)).Round(2))
		}
	}
	if ds := ao.DeliveryService; ds != nil && ds.Type == models.DeliveryPaid && ds.Value != nil {
		total = total.Add(ds.Value.Decimal)
	}
	return total
}

// Customer returns what the customer idNumber is offered now, without
// calling the lookup: the items kept from earlier lookups.
func (s *Sandbox) Customer(idNumber string) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Item
	for _, ref := range s.byCustomer[idNumber] {
		it := s.itemOf(s.offers[ref])
		it.Earlier = true
		out = append(out, it)
	}
	return out
}

// Payer returns the ID number an item was received for, "" when unknown.
func (s *Sandbox) Payer(ref string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.offers[ref]; ok {
		return o.idNumber
	}
	return ""
}

// Attempt is one POST of a webhook.
type Attempt struct {
	At time.Time
	// Status is the HTTP status answered; 0 when no answer came.
	Status int
	// Answer is the start of the body answered, or the error.
	Answer string
}

// OK says the attempt got a 2xx answer.
func (a Attempt) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Delivery is one webhook and its attempts.
type Delivery struct {
	ID            int
	RefPayment    string
	Kind          string
	Status        string // Efipay's status sent
	TransactionID int64
	Amount        decimal.Decimal
	Currency      string
	Production    bool
	URL           string
	Body          []byte
	Attempts      []Attempt
	// NextRetry is when the next attempt is due; zero when none is.
	NextRetry time.Time
}

// Delivered says the last attempt got a 2xx answer.
func (d Delivery) Delivered() bool {
	return len(d.Attempts) > 0 && d.Attempts[len(d.Attempts)-1].OK()
}

// Deliveries returns every webhook sent, newest first, as copies.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.deliveries))
	for i := len(s.deliveries) - 1; i >= 0; i-- {
		d := *s.deliveries[i]
		d.Attempts = slices.Clone(d.Attempts)
		out = append(out, d)
	}
	return out
}

// Pay plays a payment of kind on the item ref: it builds each webhook in
// Efipay's shape, signs it, POSTs it and waits for the first answer; a
// non-2xx answer is retried later in the background. amount is read for
// KindAdvance only. It returns the webhooks sent, in order.
func (s *Sandbox) Pay(ctx context.Context, ref, kind, amount string, production bool) ([]Delivery, error) {
	s.mu.Lock()
	o, ok := s.offers[ref]
	if !ok {
		s.mu.Unlock()
		return nil, ErrUnknownRef
	}
	it := s.itemOf(o)
	if !it.Payable() {
		s.mu.Unlock()
		return nil, ErrNotPayable
	}
	target := s.o.WebhookURL
	if target == "" && o.item.AdvancedOptions != nil && o.item.AdvancedOptions.ResultURLs != nil {
		target = o.item.AdvancedOptions.ResultURLs.Webhook
	}
	s.mu.Unlock()
	if target == "" {
		return nil, ErrNoWebhook
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("sandbox: webhook URL %q is not an absolute http(s) URL", target)
	} else if !s.o.AllowRemote && !loopback.IsLocal(u) {
		return nil, fmt.Errorf("sandbox: webhook URL %s: %w", u.Host, loopback.ErrRemote)
	}

	type step struct {
		status string
		amount decimal.Decimal
		tx     int64
	}
	var steps []step
	s.mu.Lock()
	switch kind {
	case KindFull:
		steps = []step{{statusApproved, it.Total, s.tx()}}
	case KindAdvance:
		d, err := decimal.NewFromString(strings.TrimSpace(amount))
		if err != nil || !d.IsPositive() {
			s.mu.Unlock()
			return nil, ErrBadAmount
		}
		steps = []step{{statusApproved, d, s.tx()}}
	case KindRejected:
		steps = []step{{statusRejected, it.Total, s.tx()}}
	case KindPendingApproved:
		tx := s.tx()
		steps = []step{{statusPending, it.Total, tx}, {statusApproved, it.Total, tx}}
	case KindReversal:
		var last *approval
		for i := range o.approved {
			if !o.approved[i].reversed {
				last = &o.approved[i]
			}
		}
		if last == nil {
			s.mu.Unlock()
			return nil, ErrNothingToRev
		}
		steps = []step{{statusReversed, last.amount, last.txID}}
	default:
		s.mu.Unlock()
		return nil, ErrUnknownKind
	}
	// Efipay's side of the ledger: what it approved and reversed, whatever
	// the merchant answers.
	for _, st := range steps {
		switch st.status {
		case statusApproved:
			o.approved = append(o.approved, approval{txID: st.tx, amount: st.amount})
		case statusReversed:
			for i := range o.approved {
				if o.approved[i].txID == st.tx {
					o.approved[i].reversed = true
				}
			}
		}
	}
	item := o.item
	idNumber := o.idNumber
	s.mu.Unlock()

	var out []Delivery
	for _, st := range steps {
		body, err := webhookBody(&item, idNumber, st.tx, st.status, st.amount, production, s.o.Now())
		if err != nil {
			return out, err
		}
		d := s.deliver(ctx, &Delivery{RefPayment: ref, Kind: kind, Status: st.status, TransactionID: st.tx,
			Amount: st.amount, Currency: item.RecaudaInformation.CurrencyType, Production: production, URL: target, Body: body})
		out = append(out, d)
	}
	return out, nil
}

// tx returns a new transaction id. Callers hold s.mu.
func (s *Sandbox) tx() int64 {
	s.nextTx++
	return s.nextTx
}

// deliver records d, makes its first attempt and, after a non-2xx answer,
// schedules Efipay's retries. It returns a copy of d after the first attempt.
func (s *Sandbox) deliver(ctx context.Context, d *Delivery) Delivery {
	s.mu.Lock()
	d.ID = len(s.deliveries) + 1
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()

	ok := s.attempt(ctx, d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok && len(s.o.RetryDelays) > 0 {
		d.NextRetry = s.o.Now().Add(s.o.RetryDelays[0])
		s.wg.Add(1)
		go s.retry(d)
	}
	c := *d
	c.Attempts = slices.Clone(d.Attempts)
	return c
}

// retry makes the retries of d, each after its delay, until one gets a
// 2xx answer or none is left.
func (s *Sandbox) retry(d *Delivery) {
	defer s.wg.Done()
	for i, wait := range s.o.RetryDelays {
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			s.mu.Lock()
			d.NextRetry = time.Time{}
			s.mu.Unlock()
			return
		case <-t.C:
		}
		ok := s.attempt(s.ctx, d)
		s.mu.Lock()
		d.NextRetry = time.Time{}
		if !ok && i+1 < len(s.o.RetryDelays) {
			d.NextRetry = s.o.Now().Add(s.o.RetryDelays[i+1])
		}
		s.mu.Unlock()
		if ok {
			return
		}
	}
}

// attempt POSTs d once and records the answer; it says whether it was 2xx.
func (s *Sandbox) attempt(ctx context.Context, d *Delivery) bool {
	ctx, cancel := context.WithTimeout(ctx, efipay.LookupTimeout)
	defer cancel()
	a := Attempt{At: s.o.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(efipay.SignatureHeader, efipay.Sign(d.Body, s.o.WebhookToken))
		var resp *http.Response
		if resp, err = s.o.Client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			a.Status, a.Answer = resp.StatusCode, excerpt(body)
		}
	}
	if err != nil {
		a.Answer = err.Error()
	}
	s.mu.Lock()
	d.Attempts = append(d.Attempts, a)
	s.mu.Unlock()
	return a.OK()
}

// excerpt is the start of an answer, for the pages.
func excerpt(b []byte) string {
	const n = 300
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
