// Package web holds recauda-bridge's HTML pages: templates and styles
// embedded in the binary, rendered with html/template. Pages reference no
// external asset (no CDN, no web font): what the operator prints or saves is
// complete on its own.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/locale"
	"recauda-bridge/recauda"
)

//go:embed templates/*.html static/*.css
var files embed.FS

// Pages renders the HTML pages. It is safe for concurrent use.
type Pages struct {
	receipt *template.Template
	// dashboard holds one template set per dashboard page: the layout and
	// the page's "content".
	dashboard    map[string]*template.Template
	dashboardCSS []byte
}

// New parses the embedded templates.
func New() (*Pages, error) {
	css, err := files.ReadFile("static/print.css")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	funcs := template.FuncMap{
		// The stylesheet is ours, embedded at build time.
		"styles": func() template.CSS { return template.CSS(css) },
	}
	receipt, err := template.New("receipt.html").Funcs(funcs).ParseFS(files, "templates/receipt.html")
	if err != nil {
		return nil, fmt.Errorf("web: receipt template: %w", err)
	}
	p := &Pages{receipt: receipt}
	if err := p.parseDashboard(); err != nil {
		return nil, err
	}
	return p, nil
}

// ReceiptView is what the receipt page shows.
type ReceiptView struct {
	RefPayment    string
	PayerName     string
	IDNumber      string
	Description   string
	Status        string
	Currency      string
	Amount        decimal.Decimal
	PaidAmount    decimal.Decimal
	Balance       decimal.Decimal
	PaidAt        *time.Time
	TransactionID string
	PaymentMethod string
	References    []string
}

// NewReceiptView is r as the receipt page shows it.
func NewReceiptView(r recauda.Receipt) ReceiptView {
	c := r.Charge
	return ReceiptView{
		RefPayment: c.RefPayment, PayerName: c.PayerName, IDNumber: c.IDNumber, Description: c.Description, Status: c.Status,
		Currency: c.CurrencyType, Amount: c.Amount, PaidAmount: c.PaidAmount, Balance: c.Amount.Sub(c.PaidAmount),
		PaidAt: c.PaidAt, TransactionID: c.TransactionID, PaymentMethod: r.PaymentMethod, References: r.References,
	}
}

// receiptPage is a receipt in the reader's language.
type receiptPage struct {
	ReceiptView
	L *locale.Locale
}

// PaidOn is the payment's time in Colombia, or "—".
func (p receiptPage) PaidOn() string {
	if p.PaidAt == nil || p.PaidAt.IsZero() {
		return "—"
	}
	return p.L.T("receipt_time", locale.Params{"time": p.L.When(p.PaidAt)})
}

// Receipt writes the printable receipt in l's language. Nothing is written
// if the template fails, so the caller can still answer an error.
func (p *Pages) Receipt(w io.Writer, l *locale.Locale, v ReceiptView) error {
	var b bytes.Buffer
	if err := p.receipt.Execute(&b, receiptPage{ReceiptView: v, L: l}); err != nil {
		return fmt.Errorf("web: receipt: %w", err)
	}
	_, err := b.WriteTo(w)
	return err
}

// Dashboard page templates are templates/dashboard_<page>.html, each
// defining "content"; templates/dashboard_layout.html defines "layout", the
// page around it.
const (
	dashboardLayout  = "templates/dashboard_layout.html"
	dashboardPattern = "templates/dashboard_*.html"
)

func (p *Pages) parseDashboard() error {
	css, err := files.ReadFile("static/dashboard.css")
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	names, err := fs.Glob(files, dashboardPattern)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	p.dashboard, p.dashboardCSS = map[string]*template.Template{}, css
	for _, name := range names {
		if name == dashboardLayout {
			continue
		}
		page := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), "dashboard_"), ".html")
		t, err := template.New(page).ParseFS(files, dashboardLayout, name)
		if err != nil {
			return fmt.Errorf("web: dashboard template %s: %w", page, err)
		}
		p.dashboard[page] = t
	}
	return nil
}

// Dashboard writes the operator dashboard's page (overview, charges, …;
// the x of templates/dashboard_x.html) with data, inside the common layout.
// Nothing is written if the template fails, so the caller can still answer
// an error.
func (p *Pages) Dashboard(w io.Writer, page string, data any) error {
	return renderInLayout(w, p.dashboard, "dashboard", page, data)
}

// renderInLayout writes page of set inside its layout, all or nothing.
func renderInLayout(w io.Writer, set map[string]*template.Template, kind, page string, data any) error {
	t, ok := set[page]
	if !ok {
		return fmt.Errorf("web: no %s page %q", kind, page)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("web: %s %s: %w", kind, page, err)
	}
	_, err := b.WriteTo(w)
	return err
}

// DashboardCSS returns the dashboard's stylesheet and a short version of its
// content, to put in its URL so that browsers may cache it for good.
func (p *Pages) DashboardCSS() (css []byte, version string) {
	sum := sha256.Sum256(p.dashboardCSS)
	return p.dashboardCSS, hex.EncodeToString(sum[:6])
}
