package file

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// The CSV columns, named after Efipay's fields. See the package doc.
const (
	colRef              = "ref_payment"
	colID               = "id_number"
	colPayer            = "payer_name"
	colDescription      = "description"
	colAmount           = "amount"
	colCurrency         = "currency_type"
	colLimitDate        = "limit_date"
	colAdvanceType      = "advance_type"
	colAdvanceValue     = "advance_value"
	colReferences       = "references"
	colPicture          = "picture"
	colHasComments      = "has_comments"
	colCommentsLabel    = "comments_label"
	colDiscountType     = "discount_type"
	colDiscountValue    = "discount_value"
	colDiscountBeforeOn = "discount_before_on"
	colDeliveryType     = "delivery_type"
	colDeliveryValue    = "delivery_value"
	colRequestAddress   = "request_address_delivery"
	colMetadata         = "metadata"
)

// knownColumns lists the documented columns; the required ones first.
var knownColumns = []string{
	colRef, colID, colPayer, colDescription, colAmount, colCurrency,
	colLimitDate, colAdvanceType, colAdvanceValue, colReferences, colPicture,
	colHasComments, colCommentsLabel, colDiscountType, colDiscountValue,
	colDiscountBeforeOn, colDeliveryType, colDeliveryValue, colRequestAddress,
	colMetadata,
}

const requiredColumns = 6

var (
	// pointDecimal is a plain decimal: no thousands separators, no exponent.
	pointDecimal = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
	// commaDecimal is the same with a decimal comma, as Colombian Excel
	// writes it in semicolon-separated exports.
	commaDecimal = regexp.MustCompile(`^[+-]?[0-9]+,[0-9]+$`)
)

// parseCSV indexes one charge per row. Only a problem with the whole (no
// header, a required column missing, a repeated column) is an error; a row
// whose field cannot be read becomes a Charge with Defects at lookup; a row
// with the wrong number of fields, unreadable quoting, or no id_number or
// ref_payment is skipped.
//
// Only id_number and ref_payment are read here; each row's span in the file
// is kept, and a lookup reads the customer's rows from their spans with the
// same csv.Reader settings, so it sees the very fields this pass saw.
func parseCSV(data []byte) (*dataset, error) {
	o, err := openCSV(data)
	if err != nil {
		return nil, err
	}
	if uint64(len(o.data)) > maxSize {
		return nil, fmt.Errorf("%d bytes: larger than the %d a file may have", len(o.data), maxSize)
	}
	data, r, cols, sep, lineOffset := o.data, o.r, o.cols, o.sep, o.lineOffset
	r.ReuseRecord = true
	format := &csvFormat{cols: cols, sep: sep, fields: len(o.header)}

	// Each record takes a line at least: their number is at most this.
	ix := newIndexer(data, "line", bytes.Count(data, []byte{'\n'})+1, (*dataset).csvKeys)
	ix.d.csv = format
	for {
		before := r.InputOffset()
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, err
			}
			ix.skip(fmt.Sprintf("line %d skipped: %v", pe.StartLine+lineOffset, pe.Err))
			if r.InputOffset() == before {
				break // no progress: nothing more can be read
			}
			continue
		}
		n, _ := r.FieldPos(0)
		line := n + lineOffset
		if blank(row) {
			continue // spreadsheets export empty rows as ";;;;"
		}
		if len(row) != format.fields {
			ix.skip(fmt.Sprintf("line %d skipped: %d fields, the header has %d", line, len(row), format.fields))
			continue
		}
		id, ref, err := cols.keys(row)
		if err != nil {
			ix.skip(fmt.Sprintf("line %d skipped: %v", line, err))
			continue
		}
		ix.add(id, ref, span{start: uint32(before), end: uint32(r.InputOffset()), where: uint32(line)})
	}
	return ix.finish(), nil
}

// csvFormat is what a lookup needs to read a CSV file's rows again.
type csvFormat struct {
	cols   columns
	sep    rune
	fields int // in the header, and so in every indexed row
}

// openedCSV is a CSV file past its header, ready for its rows.
type openedCSV struct {
	data       []byte // without BOM or "sep=" line: spans are offsets in it
	r          *csv.Reader
	header     []string
	cols       columns
	sep        rune
	lineOffset int // lines before the header that the reader did not see
}

// openCSV reads what the file source and ReadCSV both need first: the BOM,
// the separator, the header and its columns.
func openCSV(data []byte) (openedCSV, error) {
	data = bytes.TrimPrefix(data, bom)
	sep, data, hinted := separator(data)
	o := openedCSV{data: data, sep: sep, r: newCSVReader(bytes.NewReader(data), sep)}
	if hinted {
		o.lineOffset = 1
	}
	header, err := o.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return o, errors.New("empty file: a header row is required")
		}
		return o, fmt.Errorf("header row: %w", err)
	}
	// The header must outlive the reader's next records.
	o.header = append([]string(nil), header...)
	if o.cols, err = readHeader(o.header); err != nil {
		return o, err
	}
	return o, nil
}

// newCSVReader reads records the way the file source does, whether the
// whole file at load or some of its rows at lookup.
func newCSVReader(rd io.Reader, sep rune) *csv.Reader {
	r := csv.NewReader(rd)
	r.Comma = sep
	r.FieldsPerRecord = -1 // checked by the caller, so that a bad row is skipped, not fatal
	return r
}

// charges reads the rows at spans, appending them to out.
//
// Each span starts where the load's reader stood before reading the row (at
// the start of a line) and ends after the row's last newline, or at the end
// of the file; spans are in file order. Their concatenation therefore holds
// the same rows, each with the same fields.
func (f *csvFormat) charges(d *dataset, spans []span, out []erp.Charge) []erp.Charge {
	size := 0
	for _, sp := range spans {
		size += int(sp.end - sp.start)
	}
	text := make([]byte, 0, size)
	for _, sp := range spans {
		text = append(text, d.data[sp.start:sp.end]...)
	}
	br := bufReaders.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(text))
	defer func() {
		br.Reset(nil)
		bufReaders.Put(br)
	}()
	r := newCSVReader(br, f.sep)
	r.ReuseRecord = true
	for _, sp := range spans {
		row, err := r.Read()
		if err != nil || len(row) != f.fields {
			continue // cannot happen: the load read the same bytes
		}
		c, err := f.cols.charge(row, d.where(sp), f.sep == ';')
		if err != nil {
			continue // cannot happen either
		}
		out = append(out, d.withDup(c, sp))
	}
	return out
}

// csvKeys reads the id_number and ref_payment of the row at sp.
func (d *dataset) csvKeys(sp span) (id, ref string, err error) {
	br := bufReaders.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(d.data[sp.start:sp.end]))
	row, err := newCSVReader(br, d.csv.sep).Read()
	br.Reset(nil)
	bufReaders.Put(br)
	if err != nil {
		return "", "", err
	}
	if len(row) != d.csv.fields {
		return "", "", fmt.Errorf("%d fields, the header has %d", len(row), d.csv.fields)
	}
	return d.csv.cols.keys(row)
}

// bufReaders holds the buffers of lookups' CSV readers: csv.NewReader uses a
// *bufio.Reader of its default size as it is, instead of allocating one.
var bufReaders = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// separator picks ',' or ';'. Excel's "sep=;" first line says it outright
// (and is removed); otherwise the header line decides: ';' when it has more
// semicolons than commas.
func separator(data []byte) (sep rune, rest []byte, hinted bool) {
	first, after, _ := bytes.Cut(data, []byte("\n"))
	first = bytes.TrimSuffix(first, []byte("\r"))
	if h, ok := bytes.CutPrefix(first, []byte("sep=")); ok && len(h) == 1 && (h[0] == ',' || h[0] == ';') {
		return rune(h[0]), after, true
	}
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		return ';', data, false
	}
	return ',', data, false
}

func blank(row []string) bool {
	for _, f := range row {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// columns maps the header: the index of each documented column (-1 when
// absent) and the unknown columns, which go into metadata.
type columns struct {
	idx     map[string]int
	unknown []unknownColumn
}

type unknownColumn struct {
	name string
	idx  int
}

func readHeader(header []string) (columns, error) {
	cols := columns{idx: make(map[string]int, len(knownColumns))}
	for _, k := range knownColumns {
		cols.idx[k] = -1
	}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		name := strings.TrimSpace(h)
		if name == "" {
			continue // trailing empty columns of spreadsheet exports
		}
		key := strings.ToLower(name)
		if seen[key] {
			return columns{}, fmt.Errorf("header: column %q appears twice", name)
		}
		seen[key] = true
		if _, known := cols.idx[key]; known {
			cols.idx[key] = i
		} else {
			cols.unknown = append(cols.unknown, unknownColumn{name: name, idx: i})
		}
	}
	var missing []string
	for _, k := range knownColumns[:requiredColumns] {
		if cols.idx[k] < 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return columns{}, fmt.Errorf("header: required column(s) missing: %s (separator detected from the header line)", strings.Join(missing, ", "))
	}
	return cols, nil
}

// keys reads a row's id_number and ref_payment, trimmed. It fails when
// either is empty, as charge does.
func (cols columns) keys(row []string) (id, ref string, err error) {
	get := func(col string) string {
		if i := cols.idx[col]; i >= 0 {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	id, ref = get(colID), get(colRef)
	if id == "" {
		return "", "", errors.New("id_number is empty")
	}
	if ref == "" {
		return "", "", errors.New("ref_payment is empty")
	}
	return id, ref, nil
}

// charge reads one row. It fails only when the row has no id_number or
// ref_payment; any other unreadable field becomes a Defect.
func (cols columns) charge(row []string, where string, decimalComma bool) (erp.Charge, error) {
	get := func(col string) string {
		if i := cols.idx[col]; i >= 0 {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	id, ref, err := cols.keys(row)
	if err != nil {
		return erp.Charge{}, err
	}

	var defects []erp.Defect
	defect := func(field, col, format string, args ...any) {
		defects = append(defects, erp.Defect{
			Field:   field,
			Message: fmt.Sprintf("%s, column %s: ", where, col) + fmt.Sprintf(format, args...),
		})
	}
	money := func(col, field string, required bool) (models.Money, bool) {
		s := get(col)
		if s == "" {
			if required {
				defect(field, col, "empty")
			}
			return models.Money{}, false
		}
		m, err := parseMoney(s, decimalComma)
		if err != nil {
			defect(field, col, "%v", err)
			return models.Money{}, false
		}
		return m, true
	}
	boolean := func(col, field string) *bool {
		s := get(col)
		if s == "" {
			return nil
		}
		b, err := parseBool(s)
		if err != nil {
			defect(field, col, "%v", err)
			return nil
		}
		return &b
	}

	var p models.Payment
	r := &p.RecaudaInformation
	r.RefPayment, r.IDNumber = ref, id
	r.PayerName = get(colPayer)
	r.Description = get(colDescription)
	r.CurrencyType = get(colCurrency)
	r.Amount, _ = money(colAmount, "recauda_information.amount", true)

	if t, v := get(colAdvanceType), get(colAdvanceValue); t != "" || v != "" {
		r.Advance = &models.Advance{Type: t}
		if t == "" {
			defect("recauda_information.advance.type", colAdvanceType, "empty while advance_value is set")
		}
		r.Advance.Value, _ = money(colAdvanceValue, "recauda_information.advance.value", true)
	}
	r.Metadata = cols.metadata(row, get(colMetadata), func(format string, args ...any) {
		defect("recauda_information.metadata", colMetadata, format, args...)
	})

	o := &models.AdvancedOptions{
		Picture:       get(colPicture),
		LimitDate:     get(colLimitDate),
		CommentsLabel: get(colCommentsLabel),
	}
	p.AdvancedOptions = o
	for _, ref := range strings.Split(get(colReferences), "|") {
		if ref = strings.TrimSpace(ref); ref != "" {
			o.References = append(o.References, ref)
		}
	}
	o.HasComments = boolean(colHasComments, "advanced_options.has_comments")
	o.RequestAddressDelivery = boolean(colRequestAddress, "advanced_options.request_address_delivery")
	if t := get(colDeliveryType); t != "" || get(colDeliveryValue) != "" {
		o.DeliveryService = &models.DeliveryService{Type: t}
		if t == "" {
			defect("advanced_options.delivery_service.type", colDeliveryType, "empty while delivery_value is set")
		}
		if v, ok := money(colDeliveryValue, "advanced_options.delivery_service.value", false); ok {
			o.DeliveryService.Value = &v
		}
	}
	if t, b := get(colDiscountType), get(colDiscountBeforeOn); t != "" || b != "" || get(colDiscountValue) != "" {
		o.Discount = &models.Discount{Type: t, BeforeOn: b}
		if t == "" {
			defect("advanced_options.discount.type", colDiscountType, "empty while another discount column is set")
		}
		o.Discount.Value, _ = money(colDiscountValue, "advanced_options.discount.value", true)
	}

	c := erp.ChargeFromPayment(p)
	c.Defects = defects
	return c, nil
}

// metadata merges the metadata column (a JSON object) with the non-empty
// cells of the unknown columns, as strings. A key of the metadata column wins
// over an unknown column of the same name.
func (cols columns) metadata(row []string, cell string, defect func(string, ...any)) json.RawMessage {
	m := make(map[string]any)
	for _, u := range cols.unknown {
		if v := strings.TrimSpace(row[u.idx]); v != "" {
			m[u.name] = v
		}
	}
	if cell != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(cell), &obj); err != nil || obj == nil {
			defect("must be a JSON object such as {\"plan\":\"oro\"}")
		} else {
			for k, v := range obj {
				m[k] = v
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil { // cannot happen: strings and raw JSON that was just decoded
		defect("cannot be encoded: %v", err)
		return nil
	}
	return b
}

// parseMoney reads a plain decimal with '.' as the decimal point and no
// thousands separators; in semicolon files a decimal comma is accepted too.
func parseMoney(s string, decimalComma bool) (models.Money, error) {
	switch {
	case pointDecimal.MatchString(s):
	case decimalComma && commaDecimal.MatchString(s):
		s = strings.Replace(s, ",", ".", 1)
	default:
		shown := s
		if len(shown) > 32 {
			shown = shown[:32] + "..."
		}
		return models.Money{}, fmt.Errorf("%q is not a plain decimal number (digits, one decimal point, no thousands separators)", shown)
	}
	var m models.Money
	if err := m.UnmarshalJSON([]byte(s)); err != nil {
		return models.Money{}, err
	}
	return m, nil
}

// parseBool reads true/false, 1/0, si/sí/no, in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "si", "sí", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	shown := s
	if len(shown) > 16 {
		shown = shown[:16] + "..."
	}
	return false, fmt.Errorf("%q is not one of true, false, 1, 0, si, no", shown)
}
