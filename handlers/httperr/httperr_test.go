package httperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"recauda-bridge/erp"
	"recauda-bridge/handlers/httperr"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// Every error any audience returns maps through the one table to a status
// and a code, whatever the route or group it comes from.
func TestFrom(t *testing.T) {
	conflict := &recauda.ConflictError{Code: recauda.CodeNotPaid, Message: "charge R-1 is not paid", Err: store.ErrConflict}
	invalid := &recauda.InvalidChargeError{RefPayment: "R-1", Violations: []validation.Violation{
		{Field: "recauda_information.amount", Rule: "max_decimals", Message: "must have at most 2 decimal places"},
		{Field: "payer_name", Rule: "required", Message: "is required"},
	}}
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
		details    int
	}{
		{"own answer", &httperr.Error{Status: http.StatusTeapot, Code: "teapot"}, http.StatusTeapot, "teapot", "", 0},
		{"conflict of a use case", conflict, http.StatusConflict, recauda.CodeNotPaid, "", 0},
		{"wrapped conflict of a use case", fmt.Errorf("release: %w", conflict), http.StatusConflict, recauda.CodeNotPaid, "", 0},
		{"invalid charge", invalid, http.StatusUnprocessableEntity, "invalid_charge", "", 2},
		{"invalid id number", recauda.ErrInvalidIDNumber, http.StatusBadRequest, "invalid_id_number", "", 1},
		{"erp unavailable", fmt.Errorf("lookup: %w", erp.ErrUnavailable), http.StatusServiceUnavailable, "erp_unavailable", "5", 0},
		{"store unavailable", store.ErrUnavailable, http.StatusServiceUnavailable, "store_unavailable", "5", 0},
		{"not found", store.ErrNotFound, http.StatusNotFound, "not_found", "", 0},
		{"store conflict", store.ErrConflict, http.StatusConflict, "conflict", "", 0},
		{"no route", echo.ErrNotFound, http.StatusNotFound, "not_found", "", 0},
		{"wrong method", echo.ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "", 0},
		{"body too large", echo.ErrStatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge, "body_too_large", "", 0},
		{"anything else", errors.New("disk on fire"), http.StatusInternalServerError, "internal", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := httperr.From(tc.err)
			if got.Status != tc.status || got.Code != tc.code || got.RetryAfter != tc.retryAfter || len(got.Details) != tc.details {
				t.Errorf("got %d %q retry %q with %d details, want %d %q retry %q with %d details",
					got.Status, got.Code, got.RetryAfter, len(got.Details), tc.status, tc.code, tc.retryAfter, tc.details)
			}
		})
	}
}

// A use case's ConflictError is a 409 with its own code and message on any
// route, not only under /admin/api: before the one table, only the admin
// group translated it and anywhere else it became a 500.
func TestConflictOutsideTheAdminGroup(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = httperr.Handler(slog.New(slog.DiscardHandler))
	e.POST("/elsewhere", func(echo.Context) error {
		return fmt.Errorf("doing it: %w", &recauda.ConflictError{Code: recauda.CodeConflict, Message: "charge R-1 is paid; it cannot be released", Err: store.ErrConflict})
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/elsewhere", nil))
	var body httperr.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not the error shape: %v", rec.Body, err)
	}
	if rec.Code != http.StatusConflict || body.Error.Code != recauda.CodeConflict || body.Error.Message != "charge R-1 is paid; it cannot be released" {
		t.Errorf("got %d %+v, want 409 conflict with the use case's message", rec.Code, body.Error)
	}
}

// A 5xx never shows the cause; Retry-After travels in its header.
func TestHandlerHidesInternalText(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = httperr.Handler(slog.New(slog.DiscardHandler))
	e.GET("/broken", func(echo.Context) error { return errors.New("secret table t_charges is locked") })
	e.GET("/busy", func(echo.Context) error { return fmt.Errorf("read: %w", store.ErrUnavailable) })
	tests := []struct {
		target, code, retryAfter string
		status                   int
	}{
		{"/broken", "internal", "", http.StatusInternalServerError},
		{"/busy", "store_unavailable", "5", http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.target, nil))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) || rec.Header().Get("Retry-After") != tc.retryAfter {
				t.Errorf("got %d %s retry %q, want %d %s retry %q", rec.Code, rec.Body, rec.Header().Get("Retry-After"), tc.status, tc.code, tc.retryAfter)
			}
			if strings.Contains(rec.Body.String(), "t_charges") {
				t.Errorf("got body %s, want no internal text", rec.Body)
			}
		})
	}
}
