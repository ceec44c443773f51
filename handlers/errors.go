package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/erp"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
)

// ErrorBody is the one JSON error shape of every endpoint.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo says what went wrong: a stable code, a sentence, and for input
// errors which field broke which rule.
type ErrorInfo struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail is one field's problem.
type ErrorDetail struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// APIError is an error that knows its status and body. Handlers return it
// for input problems they detect themselves.
type APIError struct {
	Status     int
	Code       string
	Message    string
	Details    []ErrorDetail
	RetryAfter string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// errAnswerNotDelivered marks a lookup whose answer could not be written;
// the claims were released and nothing more can be sent.
var errAnswerNotDelivered = errors.New("answer not delivered")

// errorHandler maps every error to its status and the one JSON shape. A 5xx
// never shows internal text; its cause is logged once, here.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		ctx := c.Request().Context()
		if errors.Is(err, errAnswerNotDelivered) {
			log.WarnContext(ctx, "client went away before the answer was delivered", "path", c.Path())
			return
		}
		apiErr := toAPIError(err)
		if apiErr.Status >= 500 {
			log.ErrorContext(ctx, "request failed", "path", c.Path(), "status", apiErr.Status, "error", err)
		}
		if c.Response().Committed {
			return
		}
		if apiErr.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", apiErr.RetryAfter)
		}
		body := ErrorBody{Error: ErrorInfo{Code: apiErr.Code, Message: apiErr.Message, Details: apiErr.Details}}
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

func toAPIError(err error) *APIError {
	var apiErr *APIError
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, recauda.ErrInvalidIDNumber):
		return &APIError{Status: http.StatusBadRequest, Code: "invalid_id_number",
			Message: "id_number must be 5 to 20 digits (0-9), nothing else",
			Details: []ErrorDetail{{Field: "id_number", Rule: "digits_5_20", Message: "must be 5 to 20 ASCII digits"}}}
	case errors.Is(err, erp.ErrUnavailable):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "erp_unavailable",
			Message: "the ERP could not be reached in time; try again shortly", RetryAfter: "5"}
	case errors.Is(err, store.ErrUnavailable):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Message: "the tracking database is unavailable; try again shortly", RetryAfter: "5"}
	case errors.Is(err, store.ErrNotFound):
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
	case errors.Is(err, store.ErrConflict):
		return &APIError{Status: http.StatusConflict, Code: "conflict", Message: "the change conflicts with the current state"}
	case errors.As(err, &httpErr):
		return fromEchoError(httpErr)
	default:
		return &APIError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
}

func fromEchoError(e *echo.HTTPError) *APIError {
	switch e.Code {
	case http.StatusNotFound:
		return &APIError{Status: e.Code, Code: "not_found", Message: "no such endpoint"}
	case http.StatusMethodNotAllowed:
		return &APIError{Status: e.Code, Code: "method_not_allowed", Message: "method not allowed on this endpoint"}
	case http.StatusRequestEntityTooLarge:
		return &APIError{Status: e.Code, Code: "body_too_large", Message: "request body is too large"}
	case http.StatusUnauthorized:
		return &APIError{Status: e.Code, Code: "unauthorized", Message: "missing or wrong credentials"}
	}
	if e.Code >= 500 {
		return &APIError{Status: e.Code, Code: "internal", Message: "internal error"}
	}
	return &APIError{Status: e.Code, Code: "bad_request", Message: http.StatusText(e.Code)}
}
