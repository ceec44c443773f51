package admin

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/erp"
	"recauda-bridge/handlers/request"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// The ledger of the bridge's own (ERP_SOURCE=local) under /admin/api/ledger:
// create, read, change (JSON merge patch) and cancel charges. A charge's
// content is checked with the lookup's own rules: a broken rule is
// 422 invalid_charge with one detail per violation.

type ledgerHandler struct {
	svc *recauda.Service
}

// registerLedger mounts the ledger routes on the admin group g.
func registerLedger(g *echo.Group, svc *recauda.Service) {
	h := &ledgerHandler{svc: svc}
	g.GET("/ledger", h.list)
	g.POST("/ledger", h.create)
	g.GET("/ledger/:ref", h.get)
	g.PATCH("/ledger/:ref", h.patch)
	g.DELETE("/ledger/:ref", h.cancel)
}

// list answers GET /admin/api/ledger.
func (h *ledgerHandler) list(c echo.Context) error {
	p := newParams(c, "id_number", "status", "page", "per_page")
	f := recauda.LedgerFilter{IDNumber: p.idNumber("id_number"), Status: p.oneOf("status", models.LedgerStatuses)}
	f.Page, f.PerPage = p.pagination()
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := h.svc.LedgerCharges(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, ledgerFrom, f.Page, f.PerPage, total))
}

// get answers GET /admin/api/ledger/{ref_payment}.
func (h *ledgerHandler) get(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	lc, err := h.svc.LedgerCharge(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ledgerFrom(lc))
}

// create answers POST /admin/api/ledger.
func (h *ledgerHandler) create(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	var in ledgerInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	lc, err := h.svc.CreateLedgerCharge(c.Request().Context(), in.charge())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ledgerFrom(lc))
}

// patch answers PATCH /admin/api/ledger/{ref_payment}: the body is a JSON
// merge patch (RFC 7396) of the charge's content, applied inside the store's
// transaction so that concurrent changes never lose one another.
func (h *ledgerHandler) patch(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	var patch map[string]any
	if err := decodeJSON(body, &patch); err != nil || patch == nil {
		return invalidBody("body", "merge_patch", "must be a JSON object (a merge patch of the charge)")
	}
	lc, err := h.svc.UpdateLedgerCharge(c.Request().Context(), ref, func(cur erp.Charge) (erp.Charge, error) {
		return applyMergePatch(ledgerInputFrom(cur), patch)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ledgerFrom(lc))
}

// cancel answers DELETE /admin/api/ledger/{ref_payment}: the charge is kept,
// cancelled; a paid one is 409.
func (h *ledgerHandler) cancel(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	lc, err := h.svc.CancelLedgerCharge(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ledgerFrom(lc))
}
