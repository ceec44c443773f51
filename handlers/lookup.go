package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
	"recauda-bridge/redact"
)

// maxLookupQuery bounds the query string of a lookup; Efipay sends one short
// parameter.
const maxLookupQuery = 512

type lookupHandler struct {
	svc         *recauda.Service
	emptyStatus int
	metrics     *metrics.Metrics
}

// get answers Efipay's GET /get-recaudas?id_number=... with the customer's
// pending payments, each offered once.
func (h *lookupHandler) get(c echo.Context) error {
	id, err := idNumberParam(c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	l, err := h.svc.Offer(ctx, id)
	if err != nil {
		// A source's error may quote the ID number; it is logged.
		return redact.IDInError(err, id)
	}
	observeLookup(h.metrics, l.Items)
	status := http.StatusOK
	if l.Sent() == 0 {
		status = h.emptyStatus
	}
	if err := writeJSONBytes(c, status, l.Body(), l.Sent() > 0); err != nil {
		// The caller never saw these charges: offer them at the next lookup.
		if rerr := h.svc.Release(context.WithoutCancel(ctx), l); rerr != nil {
			return rerr
		}
		return httperr.ErrNotDelivered
	}
	return nil
}

// idNumberParam reads the one id_number, refusing malformed query strings
// and repeats with different values.
func idNumberParam(rawQuery string) (string, error) {
	if len(rawQuery) > maxLookupQuery {
		return "", &httperr.Error{Status: http.StatusRequestURITooLong, Code: "query_too_long",
			Message: "the query string is too long",
			Details: []httperr.Detail{{Field: "id_number", Rule: "max_length", Message: "the query string must be at most 512 bytes"}}}
	}
	// What Efipay sends, "id_number=<digits>", needs no general parsing.
	if v, ok := strings.CutPrefix(rawQuery, "id_number="); ok && recauda.ValidateIDNumber(v) == nil {
		return v, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_id_number", Message: "the query string is malformed",
			Details: []httperr.Detail{{Field: "id_number", Rule: "query_syntax", Message: "the query string could not be parsed"}}}
	}
	values := q["id_number"]
	if len(values) == 0 {
		return "", &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_id_number", Message: "id_number is required",
			Details: []httperr.Detail{{Field: "id_number", Rule: "required", Message: "id_number is required"}}}
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return "", &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_id_number", Message: "id_number is given more than once with different values",
				Details: []httperr.Detail{{Field: "id_number", Rule: "single_value", Message: "repeat id_number only with the same value"}}}
		}
	}
	if err := recauda.ValidateIDNumber(values[0]); err != nil {
		return "", err
	}
	return values[0], nil
}

// writeJSONBytes writes a prepared JSON body with its length, so headers and
// body leave in one write. mustDeliver flushes it before returning, so that
// a client that has gone away is noticed here, while what it was offered
// can still be released; otherwise net/http writes it after the handler.
func writeJSONBytes(c echo.Context, status int, body []byte, mustDeliver bool) error {
	if err := c.Request().Context().Err(); err != nil {
		return err
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	res.WriteHeader(status)
	if _, err := res.Write(body); err != nil {
		return err
	}
	if !mustDeliver {
		return nil
	}
	return http.NewResponseController(res.Writer).Flush()
}
