package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes every endpoint of the bridge (OpenAPI 3.0.3).
// handlers/openapi_test.go drives the real server and validates every
// answer against it, so the document cannot drift from the code.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI document served at /openapi.yaml.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

// registerOpenAPI serves the document at GET /openapi.yaml.
func registerOpenAPI(e *echo.Echo) {
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", openAPIDocument)
	})
}
