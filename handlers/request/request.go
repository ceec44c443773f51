// Package request holds what the admin API and the dashboard share in
// reading a request and answering it: path parameters, with the one 400
// answer for a bad one, and streamed file downloads.
package request

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
)

// MaxRefLength is Efipay's limit on ref_payment.
const MaxRefLength = 191

// Ref is the ref_payment path parameter, unescaped once.
func Ref(c echo.Context) (string, error) {
	ref, err := url.PathUnescape(c.Param("ref"))
	switch {
	case err != nil:
		return "", httperr.InvalidParameter(httperr.Detail{Field: "ref_payment", Rule: "path_escape", Message: "is not a valid percent-encoded path segment"})
	case ref == "" || len([]rune(ref)) > MaxRefLength:
		return "", httperr.InvalidParameter(httperr.Detail{Field: "ref_payment", Rule: "length_1_191", Message: "must be 1 to 191 characters"})
	}
	return ref, nil
}

// ID is the numeric id path parameter: a positive integer.
func ID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, httperr.InvalidParameter(httperr.Detail{Field: "id", Rule: "positive_integer", Message: "must be a positive integer"})
	}
	return id, nil
}

// EscapedPaths makes the router see paths under each prefix escaped, always,
// so that a ref_payment holding "/" (sent as %2F) stays one path segment and
// every ref is unescaped exactly once, in Ref.
func EscapedPaths(prefixes ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := c.Request().URL
			for _, p := range prefixes {
				if strings.HasPrefix(u.Path, p) {
					u.RawPath = u.EscapedPath()
					break
				}
			}
			return next(c)
		}
	}
}

// MaxPage is the highest page number of a list.
const MaxPage = 1_000_000

// ValidRuleID reports whether v is a validation rule id: 1 to 64 of
// lower-case ASCII letters, digits and _.
func ValidRuleID(v string) bool {
	ok := v != "" && len(v) <= 64
	for i := 0; i < len(v) && ok; i++ {
		ch := v[i]
		ok = ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_'
	}
	return ok
}
