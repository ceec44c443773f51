package admin

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/recauda"
)

// listHeldBack answers GET /admin/api/rejections.
func (h *adminHandler) listHeldBack(c echo.Context) error {
	p := newParams(c, "id_number", "ref_payment", "rule", "page", "per_page", "format")
	f := recauda.HeldBackFilter{IDNumber: p.idNumber("id_number"), RefPayment: p.ref("ref_payment"), Rule: p.ruleID("rule")}
	f.Page, f.PerPage = p.pagination()
	format := listFormat(p)
	if err := p.err(); err != nil {
		return err
	}
	if format == "csv" {
		return writeListCSV(c, "held-back", func(ctx context.Context, page, perPage int) ([]recauda.HeldBackRecord, int64, error) {
			f.Page, f.PerPage = page, perPage
			return h.svc.HeldBack(ctx, f)
		}, heldBackFrom)
	}
	rows, total, err := h.svc.HeldBack(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, heldBackFrom, f.Page, f.PerPage, total))
}
