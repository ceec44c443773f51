package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/throttle"
)

// adminAuth checks the bearer token in constant time. Both sides are hashed
// first, so that neither the comparison nor its length leaks the token's.
func adminAuth(token string, guard *throttle.Credentials) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "admin_disabled",
					Message: "ADMIN_TOKEN is not configured; the admin API is off"}
			}
			if err := guard.Allow(c, throttle.CredentialAdminAPI); err != nil {
				return err
			}
			scheme, cred, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				guard.Failed(c, throttle.CredentialAdminAPI)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="recauda-bridge admin"`)
				return &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
					Message: "missing or wrong credentials: send Authorization: Bearer <ADMIN_TOKEN>"}
			}
			return next(c)
		}
	}
}
