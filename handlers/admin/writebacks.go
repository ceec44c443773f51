package admin

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// listWritebacks answers GET /admin/api/writebacks.
func (h *adminHandler) listWritebacks(c echo.Context) error {
	p := newParams(c, "state", "page", "per_page", "format")
	f := recauda.WritebackFilter{State: p.oneOf("state", models.WritebackStates)}
	f.Page, f.PerPage = p.pagination()
	format := listFormat(p)
	if err := p.err(); err != nil {
		return err
	}
	if format == "csv" {
		return writeListCSV(c, "writebacks", func(ctx context.Context, page, perPage int) ([]recauda.Writeback, int64, error) {
			f.Page, f.PerPage = page, perPage
			return h.svc.Writebacks(ctx, f)
		}, writebackFrom)
	}
	jobs, total, err := h.svc.Writebacks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(jobs, writebackFrom, f.Page, f.PerPage, total))
}

func (h *adminHandler) retryWriteback(c echo.Context) error {
	return h.writebackAction(c, h.svc.RetryWriteback)
}

func (h *adminHandler) cancelWriteback(c echo.Context) error {
	return h.writebackAction(c, h.svc.CancelWriteback)
}

// writebackAction answers POST /admin/api/writebacks/{id}/{retry,cancel}.
func (h *adminHandler) writebackAction(c echo.Context, action func(ctx context.Context, id int64) (recauda.Writeback, error)) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	w, err := action(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, writebackFrom(w))
}
