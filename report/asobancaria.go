package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// Asobancaria are the merchant's settings of the Asobancaria 2001
// collection file (docs/asobancaria2001.md).
type Asobancaria struct {
	// NIT is the collecting company's NIT, digits, at most 10.
	NIT string
	// BankCode is the bank's code, 3 digits.
	BankCode string
	// Account is the account the collection is credited to, at most 17.
	Account string
	// AccountType is the account type's code, 2 digits.
	AccountType string
	// ServiceCode identifies the service collected (an EAN-13 or the NIT),
	// digits, at most 13.
	ServiceCode string
	// PaymentOrigin and PaymentMeans are the codes every detail record
	// carries for where and how it was paid, 2 digits each, from the
	// bank's tables; "00" when unset.
	PaymentOrigin string
	PaymentMeans  string
}

// ErrNotConfigured is an Asobancaria 2001 export without the settings it needs.
var ErrNotConfigured = errors.New("report: the Asobancaria 2001 settings are incomplete")

// Check says which settings are missing or malformed, wrapping ErrNotConfigured.
func (a Asobancaria) Check() error {
	var bad []string
	check := func(name, v string, min, max int, digits bool) {
		if len(v) < min || len(v) > max || (digits && strings.Trim(v, "0123456789") != "") || !ascii(v) {
			bad = append(bad, name)
		}
	}
	check("ASOBANCARIA_NIT", a.NIT, 1, 10, true)
	check("ASOBANCARIA_BANK_CODE", a.BankCode, 3, 3, true)
	check("ASOBANCARIA_ACCOUNT", a.Account, 1, 17, false)
	check("ASOBANCARIA_ACCOUNT_TYPE", a.AccountType, 2, 2, true)
	check("ASOBANCARIA_SERVICE_CODE", a.ServiceCode, 1, 13, true)
	check("ASOBANCARIA_PAYMENT_ORIGIN", a.PaymentOrigin, 0, 2, true)
	check("ASOBANCARIA_PAYMENT_MEANS", a.PaymentMeans, 0, 2, true)
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrNotConfigured, strings.Join(bad, ", "))
	}
	return nil
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// RecordLength is the length of every Asobancaria 2001 record, without
// its line end.
const RecordLength = 162

// ErrUnexportable is a payment the Asobancaria 2001 file cannot carry: a
// ref longer than 48 characters or not ASCII, an amount beyond 12 integer
// digits, a payment in another currency without its value in pesos.
var ErrUnexportable = errors.New("report: payment cannot be written in the Asobancaria 2001 file")

// num is v right-aligned in width digits, zero-filled.
func num(v string, width int) string {
	return strings.Repeat("0", max(width-len(v), 0)) + v
}

// alpha is v left-aligned in width characters, space-filled.
func alpha(v string, width int) string {
	return v + strings.Repeat(" ", max(width-len(v), 0))
}

// cents is a non-negative amount with two implied decimals, in width digits.
func cents(d decimal.Decimal, width int) (string, error) {
	s := d.Round(2).Shift(2).StringFixed(0)
	if d.IsNegative() || len(s) > width {
		return "", fmt.Errorf("%w: amount %s does not fit %d digits", ErrUnexportable, d, width)
	}
	return num(s, width), nil
}

// lastDigits is the digits of v, its last n of them, zero-filled to n.
func lastDigits(v string, n int) string {
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) > n {
		d = d[len(d)-n:]
	}
	return num(d, n)
}

// reference is the 48-character "referencia principal del usuario": the
// ERP's ref, zero-filled on the left when it is all digits (the field is
// numeric), space-filled on the right otherwise.
func reference(ref string) (string, error) {
	if ref == "" || len(ref) > 48 || !ascii(ref) {
		return "", fmt.Errorf("%w: ref %q is not 1 to 48 ASCII characters", ErrUnexportable, ref)
	}
	if strings.Trim(ref, "0123456789") == "" {
		return num(ref, 48), nil
	}
	return alpha(ref, 48), nil
}

// asobancariaWriter writes the file as payments come, one batch (05 … 08)
// per Bogota day; the file header (01) is written before the first batch.
type asobancariaWriter struct {
	w       *bufio.Writer
	cfg     Asobancaria
	created time.Time
	// firstDay is the header's collection date when no payment comes.
	firstDay string

	headerDone bool
	day        string
	batch      int
	batchCount int64
	batchTotal decimal.Decimal
	fileCount  int64
	fileTotal  decimal.Decimal
	seq        int
}

func (a *asobancariaWriter) record(fields ...string) error {
	line := strings.Join(fields, "")
	if len(line) > RecordLength {
		return fmt.Errorf("report: asobancaria record of %d characters", len(line))
	}
	_, err := a.w.WriteString(alpha(line, RecordLength) + "\r\n")
	return err
}

func (a *asobancariaWriter) header(day string) error {
	a.headerDone = true
	local := a.created.In(models.Bogota)
	return a.record("01", num(a.cfg.NIT, 10), strings.ReplaceAll(day, "-", ""), a.cfg.BankCode, alpha(a.cfg.Account, 17),
		local.Format("20060102"), local.Format("1504"), "A", a.cfg.AccountType)
}

func (a *asobancariaWriter) closeBatch() error {
	if a.batch == 0 || a.day == "" {
		return nil
	}
	total, err := cents(a.batchTotal, 18)
	if err != nil {
		return err
	}
	a.day = ""
	return a.record("08", num(fmt.Sprint(a.batchCount), 9), total, num(fmt.Sprint(a.batch), 4))
}

func (a *asobancariaWriter) payment(p Payment) error {
	value := p.Amount
	if p.Currency != "COP" {
		if p.ValueCOP == nil {
			return fmt.Errorf("%w: transaction %s in %s has no value_cop", ErrUnexportable, p.TransactionID, p.Currency)
		}
		value = *p.ValueCOP
	}
	ref, err := reference(p.ERPRef)
	if err != nil {
		return err
	}
	amount, err := cents(value, 14)
	if err != nil {
		return err
	}
	if !a.headerDone {
		if err := a.header(p.Day); err != nil {
			return err
		}
	}
	if p.Day != a.day {
		if err := a.closeBatch(); err != nil {
			return err
		}
		a.batch++
		a.day, a.batchCount, a.batchTotal = p.Day, 0, decimal.Zero
		if err := a.record("05", num(a.cfg.ServiceCode, 13), num(fmt.Sprint(a.batch), 4)); err != nil {
			return err
		}
	}
	a.seq++
	a.batchCount++
	a.fileCount++
	a.batchTotal = a.batchTotal.Add(value.Round(2))
	a.fileTotal = a.fileTotal.Add(value.Round(2))
	return a.record("06", ref, amount, num(a.cfg.PaymentOrigin, 2), num(a.cfg.PaymentMeans, 2),
		lastDigits(p.TransactionID, 6), lastDigits(p.Authorization, 6), "000", "0000", num(fmt.Sprint(a.seq), 7))
}

func (a *asobancariaWriter) finish() error {
	if !a.headerDone {
		if err := a.header(a.firstDay); err != nil {
			return err
		}
	}
	if err := a.closeBatch(); err != nil {
		return err
	}
	total, err := cents(a.fileTotal, 18)
	if err != nil {
		return err
	}
	if err := a.record("09", num(fmt.Sprint(a.fileCount), 9), total); err != nil {
		return err
	}
	return a.w.Flush()
}

// exportAsobancaria writes the payments of q as an Asobancaria 2001 file.
// Reversals are left out: the file has no negative amounts, it records
// what was collected.
func (s *Service) exportAsobancaria(ctx context.Context, w io.Writer, q Query) error {
	if err := s.bank.Check(); err != nil {
		return err
	}
	now := s.now()
	first := q.From
	if first.IsZero() {
		first = now
	}
	a := &asobancariaWriter{w: bufio.NewWriter(w), cfg: s.bank, created: now}
	a.firstDay = first.Format(time.DateOnly)
	if q.From.IsZero() {
		a.firstDay = Day(now)
	}
	err := s.Each(ctx, q, func(p Payment) error {
		if p.Kind == KindReversal {
			return nil
		}
		return a.payment(p)
	})
	if err != nil {
		return err
	}
	return a.finish()
}
