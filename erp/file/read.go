package file

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"recauda-bridge/erp"
)

// Row is one record of a charges file, read the way the file source reads
// it, and where it was found.
type Row struct {
	// Charge is the record; a field that could not be read is a Defect.
	Charge erp.Charge
	// Line is the CSV line the record starts on, or the JSON item's number,
	// both counting from 1.
	Line int
	// Where is "line 7" or "item 3", as the Defects' messages say.
	Where string
	// Extra holds the non-empty values of the extra columns (CSV) or item
	// keys (JSON) the caller asked for, by their lower-case name.
	Extra map[string]string
}

// Skip is a record that could not be read at all: no id_number or
// ref_payment, a CSV row with the wrong number of fields or broken quoting,
// a JSON item that is not an object.
type Skip struct {
	Line   int
	Where  string
	Reason string
}

// Read reads the charges file at path, .csv or .json by its extension (in
// any case), as ReadCSV or ReadJSON do.
func Read(path string, extra ...string) ([]Row, []Skip, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		return ReadCSV(b, extra...)
	case ".json":
		return ReadJSON(b, extra...)
	default:
		return nil, nil, fmt.Errorf("%s: extension %q is neither .json nor .csv", path, ext)
	}
}

// ReadCSV reads a CSV charges file (the format of the package doc) in file
// order. The columns named in extra (any case) are returned in Row.Extra
// instead of going into metadata. Only a problem with the whole file (no
// header, a required column missing, a repeated column) is an error. Unlike
// the file source, ReadCSV does not mark repeated ref_payments: that is the
// caller's to decide.
func ReadCSV(data []byte, extra ...string) ([]Row, []Skip, error) {
	o, err := openCSV(data)
	if err != nil {
		return nil, nil, err
	}
	r, header, cols, sep, lineOffset := o.r, o.header, o.cols, o.sep, o.lineOffset
	// The extra columns are the caller's, not metadata.
	wanted := make(map[string]bool, len(extra))
	for _, name := range extra {
		wanted[strings.ToLower(name)] = true
	}
	var extras []unknownColumn
	kept := cols.unknown[:0:0]
	for _, u := range cols.unknown {
		if key := strings.ToLower(u.name); wanted[key] {
			extras = append(extras, unknownColumn{name: key, idx: u.idx})
		} else {
			kept = append(kept, u)
		}
	}
	cols.unknown = kept

	var (
		rows  []Row
		skips []Skip
	)
	for {
		before := r.InputOffset()
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, err
			}
			line := pe.StartLine + lineOffset
			skips = append(skips, Skip{Line: line, Where: fmt.Sprintf("line %d", line), Reason: pe.Err.Error()})
			if r.InputOffset() == before {
				break
			}
			continue
		}
		n, _ := r.FieldPos(0)
		line := n + lineOffset
		where := fmt.Sprintf("line %d", line)
		if blank(row) {
			continue
		}
		if len(row) != len(header) {
			skips = append(skips, Skip{Line: line, Where: where, Reason: fmt.Sprintf("%d fields, the header has %d", len(row), len(header))})
			continue
		}
		c, err := cols.charge(row, where, sep == ';')
		if err != nil {
			skips = append(skips, Skip{Line: line, Where: where, Reason: err.Error()})
			continue
		}
		out := Row{Charge: c, Line: line, Where: where}
		for _, x := range extras {
			if v := strings.TrimSpace(row[x.idx]); v != "" {
				if out.Extra == nil {
					out.Extra = make(map[string]string, len(extras))
				}
				out.Extra[x.name] = v
			}
		}
		rows = append(rows, out)
	}
	return rows, skips, nil
}

// ReadJSON reads a JSON charges file, {"payments":[...]}, in file order.
// The item-level keys named in extra (beside recauda_information and
// advanced_options) are returned in Row.Extra: a string as it is, anything
// else as its JSON text. Only a problem with the whole file is an error.
// Like ReadCSV, it leaves repeated ref_payments to the caller.
func ReadJSON(data []byte, extra ...string) ([]Row, []Skip, error) {
	data = bytes.TrimPrefix(data, bom)
	var top struct {
		Payments *[]json.RawMessage `json:"payments"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf(`not a JSON object {"payments":[...]}: %w`, err)
	}
	if top.Payments == nil {
		return nil, nil, errors.New(`no "payments" array at the top level`)
	}
	var (
		rows  []Row
		skips []Skip
	)
	for i, raw := range *top.Payments {
		where := fmt.Sprintf("item %d", i+1)
		c, err := decodeItem(raw, where)
		if err != nil {
			skips = append(skips, Skip{Line: i + 1, Where: where, Reason: err.Error()})
			continue
		}
		out := Row{Charge: c, Line: i + 1, Where: where}
		if len(extra) > 0 {
			var item map[string]json.RawMessage
			_ = json.Unmarshal(raw, &item) // decodeItem has read it as an object
			for _, name := range extra {
				v, ok := item[name]
				if !ok {
					continue
				}
				var s string
				if json.Unmarshal(v, &s) != nil {
					s = string(bytes.TrimSpace(v))
				}
				if s = strings.TrimSpace(s); s != "" && s != "null" {
					if out.Extra == nil {
						out.Extra = make(map[string]string, len(extra))
					}
					out.Extra[strings.ToLower(name)] = s
				}
			}
		}
		rows = append(rows, out)
	}
	return rows, skips, nil
}
