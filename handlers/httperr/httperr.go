// Package httperr is the one JSON error shape of every endpoint and the echo
// HTTPErrorHandler that maps errors to it.
package httperr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/erp"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
)

// Body is the one JSON error shape of every endpoint.
type Body struct {
	Error Info `json:"error"`
}

// Info says what went wrong: a stable code, a sentence, and for input
// errors which field broke which rule.
type Info struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// Detail is one field's problem.
type Detail struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error is an error that knows its status and body. Handlers return it for
// input problems they detect themselves.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    []Detail
	RetryAfter string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrNotDelivered marks an answer that could not be written; nothing more
// can be sent.
var ErrNotDelivered = errors.New("answer not delivered")

// InvalidParameter is the 400 answer for bad query or path parameters.
func InvalidParameter(details ...Detail) *Error {
	msg := "invalid parameter"
	if len(details) > 0 {
		msg = "invalid parameter " + details[0].Field + ": " + details[0].Message
		if len(details) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(details)-1)
		}
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Message: msg, Details: details}
}

// Handler maps every error to its status and the one JSON shape. A 5xx
// never shows internal text; its cause is logged once, here.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		ctx := c.Request().Context()
		if errors.Is(err, ErrNotDelivered) {
			log.WarnContext(ctx, "client went away before the answer was delivered", "path", c.Path())
			return
		}
		apiErr := From(err)
		if apiErr.Status >= 500 {
			log.ErrorContext(ctx, "request failed", "path", c.Path(), "status", apiErr.Status, "error", err)
		}
		if c.Response().Committed {
			return
		}
		if apiErr.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", apiErr.RetryAfter)
		}
		body := Body{Error: Info{Code: apiErr.Code, Message: apiErr.Message, Details: apiErr.Details}}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(apiErr.Status)
		} else {
			werr = c.JSON(apiErr.Status, body)
		}
		if werr != nil {
			log.WarnContext(ctx, "writing error answer", "error", werr)
		}
	}
}

// sentinels maps the domain's sentinel errors to their answers. The typed
// errors, which carry their own code, message or details, come first in
// From: a recauda.ConflictError wraps the store sentinel that caused it.
var sentinels = []struct {
	err    error
	answer Error
}{
	{recauda.ErrInvalidIDNumber, Error{Status: http.StatusBadRequest, Code: "invalid_id_number",
		Message: "id_number must be 5 to 20 digits (0-9), nothing else",
		Details: []Detail{{Field: "id_number", Rule: "digits_5_20", Message: "must be 5 to 20 ASCII digits"}}}},
	{erp.ErrUnavailable, Error{Status: http.StatusServiceUnavailable, Code: "erp_unavailable",
		Message: "the ERP could not be reached in time; try again shortly", RetryAfter: "5"}},
	{store.ErrUnavailable, Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable",
		Message: "the tracking database is unavailable; try again shortly", RetryAfter: "5"}},
	{store.ErrNotFound, Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}},
	{store.ErrConflict, Error{Status: http.StatusConflict, Code: "conflict", Message: "the change conflicts with the current state"}},
}

// From is err's status and body: the one table from the domain's errors to
// answers, for every audience (the dashboard renders the same status as a
// page). Anything unknown is a 500.
func From(err error) *Error {
	var (
		apiErr   *Error
		conflict *recauda.ConflictError
		invalid  *recauda.InvalidChargeError
		httpErr  *echo.HTTPError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &conflict):
		// The use case says why the state refused the change.
		return &Error{Status: http.StatusConflict, Code: conflict.Code, Message: conflict.Message}
	case errors.As(err, &invalid):
		details := make([]Detail, len(invalid.Violations))
		for i, v := range invalid.Violations {
			details[i] = Detail{Field: v.Field, Rule: v.Rule, Message: v.Message}
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_charge",
			Message: fmt.Sprintf("the charge breaks %d rule(s); nothing was written", len(details)), Details: details}
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			answer := s.answer
			return &answer
		}
	}
	if errors.As(err, &httpErr) {
		return fromEcho(httpErr)
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

func fromEcho(e *echo.HTTPError) *Error {
	switch e.Code {
	case http.StatusNotFound:
		return &Error{Status: e.Code, Code: "not_found", Message: "no such endpoint"}
	case http.StatusMethodNotAllowed:
		return &Error{Status: e.Code, Code: "method_not_allowed", Message: "method not allowed on this endpoint"}
	case http.StatusRequestEntityTooLarge:
		return &Error{Status: e.Code, Code: "body_too_large", Message: "request body is too large"}
	case http.StatusUnauthorized:
		return &Error{Status: e.Code, Code: "unauthorized", Message: "missing or wrong credentials"}
	}
	if e.Code >= 500 {
		return &Error{Status: e.Code, Code: "internal", Message: "internal error"}
	}
	return &Error{Status: e.Code, Code: "bad_request", Message: http.StatusText(e.Code)}
}
