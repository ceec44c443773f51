package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"recauda-bridge/erp"
)

// Error is an error Odoo answered with (it was reached and refused), as
// opposed to a network failure or an unreadable answer.
type Error struct {
	// Status is the HTTP status of a JSON-2 error; 200 for JSON-RPC.
	Status int
	// Name is the Python exception, e.g. "odoo.exceptions.UserError".
	Name string
	// Message is Odoo's message.
	Message string
}

func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = "error"
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		return fmt.Sprintf("odoo answered %d %s: %s", e.Status, name, e.Message)
	}
	return fmt.Sprintf("odoo answered %s: %s", name, e.Message)
}

// is reports whether the exception is the named one ("UserError" matches
// "odoo.exceptions.UserError").
func (e *Error) is(short string) bool {
	return e.Name == short || strings.HasSuffix(e.Name, "."+short)
}

// permanent reports whether trying the same write again cannot succeed
// without someone changing something in Odoo: the data was refused.
func (e *Error) permanent() bool {
	return e.is("UserError") || e.is("ValidationError") ||
		e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusBadRequest
}

// caller calls one ORM method. ids is nil for @api.model methods; kw are the
// method's named arguments (context included). out receives the JSON
// result; nil discards it. A failure to reach Odoo or read its answer wraps
// erp.ErrUnavailable; an answer with an error is an *Error.
type caller interface {
	call(ctx context.Context, model, method string, ids []int64, kw map[string]any, out any) error
}

// transport sends JSON to Odoo under the per-request timeout and a size cap.
type transport struct {
	client   *http.Client
	base     string
	timeout  time.Duration
	maxBytes int64
}

// post sends body to path and returns the status and the answer.
func (t *transport) post(ctx context.Context, path string, header http.Header, body any) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // domains hold ">" and "<"; keep them readable
	if err := enc.Encode(body); err != nil {
		return 0, nil, fmt.Errorf("odoo: encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, &b)
	if err != nil {
		return 0, nil, fmt.Errorf("odoo: %w: %w", err, erp.ErrUnavailable)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "recauda-bridge")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, t.failed(ctx, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBytes+1))
	if err != nil {
		return 0, nil, t.failed(ctx, path, err)
	}
	if int64(len(data)) > t.maxBytes {
		return 0, nil, fmt.Errorf("odoo: %s: answer over %d bytes: %w", path, t.maxBytes, erp.ErrUnavailable)
	}
	return resp.StatusCode, data, nil
}

// failed describes a request that got no answer, without the URL's query.
func (t *transport) failed(ctx context.Context, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("odoo: %s: %w: %w", path, err, erp.ErrUnavailable)
}

// jsonRPC speaks Odoo's classic external API: POST /jsonrpc with service
// "common" method "authenticate" for the uid, then service "object" method
// "execute_kw". Deprecated since Odoo 19 (to be removed in 22) but the only
// API before it.
type jsonRPC struct {
	t     *transport
	db    string
	login string
	key   string

	nextID atomic.Int64
	mu     sync.Mutex
	uid    int64
}

type rpcRequest struct {
	JSONRPC string    `json:"jsonrpc"`
	Method  string    `json:"method"`
	Params  rpcParams `json:"params"`
	ID      int64     `json:"id"`
}

type rpcParams struct {
	Service string `json:"service"`
	Method  string `json:"method"`
	Args    []any  `json:"args"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"data"`
	} `json:"error"`
}

// rpc sends one JSON-RPC call and returns its result.
func (c *jsonRPC) rpc(ctx context.Context, service, method string, args []any) (json.RawMessage, error) {
	req := rpcRequest{JSONRPC: "2.0", Method: "call", Params: rpcParams{Service: service, Method: method, Args: args}, ID: c.nextID.Add(1)}
	status, body, err := c.t.post(ctx, "/jsonrpc", nil, req)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("odoo: /jsonrpc answered %d: %w", status, erp.ErrUnavailable)
	}
	var resp rpcResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("odoo: /jsonrpc answer is not JSON-RPC: %w", erp.ErrUnavailable)
	}
	if resp.Error != nil {
		msg := resp.Error.Data.Message
		if msg == "" {
			msg = resp.Error.Message
		}
		return nil, &Error{Status: http.StatusOK, Name: resp.Error.Data.Name, Message: msg}
	}
	if resp.Result == nil {
		return nil, fmt.Errorf("odoo: /jsonrpc answer has neither result nor error: %w", erp.ErrUnavailable)
	}
	return resp.Result, nil
}

// userID authenticates once and keeps the uid.
func (c *jsonRPC) userID(ctx context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uid != 0 {
		return c.uid, nil
	}
	res, err := c.rpc(ctx, "common", "authenticate", []any{c.db, c.login, c.key, map[string]any{}})
	if err != nil {
		return 0, err
	}
	var uid int64
	if json.Unmarshal(res, &uid) != nil || uid == 0 {
		// Odoo answers false for a wrong login, key or database.
		return 0, &Error{Name: "AccessDenied", Message: fmt.Sprintf("login %q to database %q refused: check login and api_key", c.login, c.db)}
	}
	c.uid = uid
	return uid, nil
}

func (c *jsonRPC) call(ctx context.Context, model, method string, ids []int64, kw map[string]any, out any) error {
	uid, err := c.userID(ctx)
	if err != nil {
		return err
	}
	args := []any{}
	if ids != nil {
		args = append(args, ids)
	}
	if kw == nil {
		kw = map[string]any{}
	}
	res, err := c.rpc(ctx, "object", "execute_kw", []any{c.db, uid, c.key, model, method, args, kw})
	var oe *Error
	if errors.As(err, &oe) && oe.is("AccessDenied") {
		// The key may have been revoked or rotated: authenticate anew next time.
		c.mu.Lock()
		c.uid = 0
		c.mu.Unlock()
	}
	if err != nil {
		return err
	}
	return decodeResult(res, out)
}

// json2 speaks Odoo 19's JSON-2 API: POST /json/2/<model>/<method> with the
// named arguments as the JSON body, an API key as bearer token, and the
// database in X-Odoo-Database. Errors come back as a 4xx/5xx status with
// {"name", "message", "arguments", "context", "debug"}.
type json2 struct {
	t   *transport
	db  string
	key string
}

func (c *json2) call(ctx context.Context, model, method string, ids []int64, kw map[string]any, out any) error {
	body := make(map[string]any, len(kw)+1)
	for k, v := range kw {
		body[k] = v
	}
	if ids != nil {
		body["ids"] = ids
	}
	h := http.Header{}
	h.Set("Authorization", "bearer "+c.key)
	if c.db != "" {
		h.Set("X-Odoo-Database", c.db)
	}
	path := "/json/2/" + url.PathEscape(model) + "/" + url.PathEscape(method)
	status, res, err := c.t.post(ctx, path, h, body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		var e struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		}
		if json.Unmarshal(res, &e) != nil || (e.Name == "" && e.Message == "") {
			// Not Odoo's error object: a proxy's page, most likely.
			return fmt.Errorf("odoo: %s answered %d: %w", path, status, erp.ErrUnavailable)
		}
		return &Error{Status: status, Name: e.Name, Message: e.Message}
	}
	return decodeResult(res, out)
}

func decodeResult(res json.RawMessage, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("odoo: unexpected answer: %v: %w", err, erp.ErrUnavailable)
	}
	return nil
}
