package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"recauda-bridge/handlers/httperr"

	"github.com/labstack/echo/v4"
)

type healthHandler struct {
	ready func(ctx context.Context) error
	log   *slog.Logger
}

// live answers as long as the process serves HTTP; it checks nothing else.
func (h *healthHandler) live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readiness checks the database and the ERP source.
func (h *healthHandler) readiness(c echo.Context) error {
	if h.ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := h.ready(ctx); err != nil {
			h.log.WarnContext(ctx, "not ready", "error", err)
			return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "a dependency (database or ERP source) is not ready", RetryAfter: "5"}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
