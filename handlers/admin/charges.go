package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/web"
)

// listCharges answers GET /admin/api/charges.
func (h *adminHandler) listCharges(c echo.Context) error {
	p := newParams(c, "status", "id_number", "ref_payment", "from", "to", "page", "per_page", "format")
	q := recauda.ChargeQuery{
		Status: p.oneOf("status", models.Statuses), IDNumber: p.idNumber("id_number"), RefPayment: p.ref("ref_payment"),
		From: p.date("from"), To: p.date("to"),
	}
	q.Page, q.PerPage = p.pagination()
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		p.fail("from", "not_after_to", "from must be on or before to")
	}
	format := listFormat(p)
	if err := p.err(); err != nil {
		return err
	}
	today := h.svc.Today()
	conv := func(r models.TrackedCharge) chargeDTO { return chargeFrom(r, today) }
	if format == "csv" {
		return writeListCSV(c, "charges", func(ctx context.Context, page, perPage int) ([]models.TrackedCharge, int64, error) {
			q.Page, q.PerPage = page, perPage
			return h.svc.Charges(ctx, q)
		}, conv)
	}
	rows, total, err := h.svc.Charges(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, conv, q.Page, q.PerPage, total))
}

// getCharge answers GET /admin/api/charges/{ref_payment}.
func (h *adminHandler) getCharge(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Charge(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeDetailFrom(d, h.svc.Today()))
}

func (h *adminHandler) release(c echo.Context) error    { return h.operate(c, h.svc.ReleaseCharge) }
func (h *adminHandler) deactivate(c echo.Context) error { return h.operate(c, h.svc.DeactivateCharge) }
func (h *adminHandler) activate(c echo.Context) error   { return h.operate(c, h.svc.ActivateCharge) }

// operate answers POST /admin/api/charges/{ref_payment}/{action}.
func (h *adminHandler) operate(c echo.Context, action func(ctx context.Context, ref string) (models.TrackedCharge, error)) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	row, err := action(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeFrom(row, h.svc.Today()))
}

// receipt answers GET /admin/api/charges/{ref_payment}/receipt: JSON, or a
// printable page for a client that prefers text/html, in the language of
// ?lang= or else of Accept-Language.
func (h *adminHandler) receipt(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Receipt(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	dto := receiptFrom(r)
	if !prefersHTML(c.Request().Header.Get(echo.HeaderAccept)) {
		return c.JSON(http.StatusOK, dto)
	}
	lang := c.QueryParam("lang")
	if !locale.Supported(lang) {
		lang = locale.Accept(c.Request().Header.Get("Accept-Language"))
	}
	var b strings.Builder
	if err := h.pages.Receipt(&b, locale.For(lang), web.NewReceiptView(r)); err != nil {
		return err
	}
	return c.HTML(http.StatusOK, b.String())
}
