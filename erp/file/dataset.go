package file

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"recauda-bridge/erp"
)

// bom is the UTF-8 byte order mark that Windows tools put before text.
var bom = []byte{0xEF, 0xBB, 0xBF}

// A dataset is the content of one successful read of the file. It keeps the
// file's bytes and, per id_number, where each of that customer's records is
// in them; a lookup parses those records again, the way the load read them.
// A file of 180,000 charges of 60,000 customers (12 MB of CSV) so costs its
// own size and an index of about 35 bytes per charge (18 MiB in all), where
// the charges parsed once and for all took 540 bytes each (93 MiB).
// The parsed charges of up to memoSize recently looked-up customers are kept
// too: the content never changes, so they are exact until the next reload.
type dataset struct {
	// data is the file after its byte order mark (and, for CSV, an Excel
	// "sep=" line): the spans are offsets into it. It is never written to.
	data []byte
	// byID maps an id_number to its customer number c, whose records are
	// spans[first[c]:first[c+1]], in file order.
	byID  map[string]uint32
	first []uint32
	spans []span
	// dupOf maps the start of a record whose ref_payment is also used by
	// other records to its group in dups: the where numbers of all of them,
	// in file order. Each of them gets a Defect at lookup.
	dupOf map[uint32]uint32
	dups  [][]uint32
	// unit is "line" (CSV) or "item" (JSON), for the records' where.
	unit string
	// csv reads the CSV records; nil for JSON.
	csv *csvFormat

	// memo holds recent lookups' parsed charges, customer c in slot
	// c%memoSize; a customer whose slot another took is parsed again.
	memo [memoSize]atomic.Pointer[memoEntry]

	charges int
	// skipped says, for each record that was left out, where and why. It
	// never holds a customer's ID number or name.
	skipped []string
}

// memoSize bounds the customers whose parsed charges a dataset keeps: a few
// MiB, enough for the customers looking themselves up at any one time.
const memoSize = 2048

type memoEntry struct {
	customer uint32
	charges  []erp.Charge
}

// span is one record, data[start:end], found at line or item where (from 1).
type span struct {
	start, end, where uint32
}

// maxSize is the largest file a dataset can index: spans are 32-bit offsets.
const maxSize uint64 = 1<<32 - 1

// indexer builds a dataset from the records of a file, given in file order.
// What it holds besides the dataset is dropped by finish; it is kept small
// (about 20 bytes a record), since during a reload it adds to the content
// still being served.
type indexer struct {
	d        *dataset
	spans    []span   // in file order
	customer []uint32 // customer number of each span
	counts   []uint32 // records per customer number
	// refHash is a hash of each span's ref_payment: records that share one
	// are found by sorting, and the few candidates are compared by reading
	// their ref_payment again (keys).
	refHash []uint64
	seed    maphash.Seed
	// keys reads a record's id_number and ref_payment again.
	keys func(span) (id, ref string, err error)
}

// newIndexer starts a dataset of data; records is a guess of their number.
func newIndexer(data []byte, unit string, records int, keys func(*dataset, span) (string, string, error)) *indexer {
	ix := &indexer{
		d:        &dataset{data: data, byID: make(map[string]uint32), unit: unit},
		spans:    make([]span, 0, records),
		customer: make([]uint32, 0, records),
		refHash:  make([]uint64, 0, records),
		seed:     maphash.MakeSeed(),
	}
	ix.keys = func(sp span) (string, string, error) { return keys(ix.d, sp) }
	return ix
}

func (ix *indexer) skip(msg string) { ix.d.skipped = append(ix.d.skipped, msg) }

// add indexes the record at sp, of customer id and reference ref. id is
// copied when kept: it may point into a whole row's string.
func (ix *indexer) add(id, ref string, sp span) {
	c, ok := ix.d.byID[id]
	if !ok {
		c = uint32(len(ix.counts))
		ix.d.byID[strings.Clone(id)] = c
		ix.counts = append(ix.counts, 0)
	}
	ix.counts[c]++
	ix.spans = append(ix.spans, sp)
	ix.customer = append(ix.customer, c)
	ix.refHash = append(ix.refHash, maphash.String(ix.seed, ref))
}

// finish marks the records that share a ref_payment and groups the spans by
// customer, keeping file order within each.
func (ix *indexer) finish() *dataset {
	d := ix.d
	d.charges = len(ix.spans)
	ix.markDuplicates()

	d.first = make([]uint32, len(ix.counts)+1)
	for c, n := range ix.counts {
		d.first[c+1] = d.first[c] + n
	}
	// Turn each customer number into the span's place in the grouped
	// order, then move the spans there, in place.
	next := slices.Clone(d.first[:len(ix.counts)])
	dest := ix.customer
	for i, c := range dest {
		dest[i] = next[c]
		next[c]++
	}
	spans := ix.spans
	for i := range spans {
		for dest[i] != uint32(i) {
			j := dest[i]
			spans[i], spans[j] = spans[j], spans[i]
			dest[i], dest[j] = dest[j], dest[i]
		}
	}
	if cap(spans)-len(spans) > len(spans)/8 {
		spans = slices.Clone(spans) // the guess was well above the count
	}
	d.spans = spans
	*ix = indexer{}
	return d
}

// markDuplicates fills d.dupOf and d.dups. Efipay keeps only one recauda
// per ref_payment: every record that shares one is held back until the file
// is fixed.
func (ix *indexer) markDuplicates() {
	order := make([]uint32, len(ix.refHash))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		if c := cmp.Compare(ix.refHash[a], ix.refHash[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	d := ix.d
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && ix.refHash[order[hi]] == ix.refHash[order[lo]] {
			hi++
		}
		if hi-lo > 1 {
			// Same hash, in file order: group them by their actual ref_payment.
			byRef := make(map[string][]uint32)
			var refs []string
			for _, i := range order[lo:hi] {
				_, ref, err := ix.keys(ix.spans[i])
				if err != nil {
					continue // cannot happen: the record was read before
				}
				if _, ok := byRef[ref]; !ok {
					refs = append(refs, ref)
				}
				byRef[ref] = append(byRef[ref], i)
			}
			for _, ref := range refs {
				same := byRef[ref]
				if len(same) < 2 {
					continue
				}
				if d.dupOf == nil {
					d.dupOf = make(map[uint32]uint32)
				}
				g := uint32(len(d.dups))
				where := make([]uint32, len(same))
				for k, i := range same {
					where[k] = ix.spans[i].where
					d.dupOf[ix.spans[i].start] = g
				}
				d.dups = append(d.dups, where)
			}
		}
		lo = hi
	}
}

// lookup returns the charges of idNumber, in file order, never nil; they are
// the caller's, copies of what the memo keeps.
func (d *dataset) lookup(idNumber string) []erp.Charge {
	c, ok := d.byID[idNumber]
	if !ok {
		return []erp.Charge{}
	}
	slot := &d.memo[c%memoSize]
	e := slot.Load()
	if e == nil || e.customer != c {
		e = &memoEntry{customer: c, charges: d.parse(c)}
		slot.Store(e)
	}
	out := make([]erp.Charge, len(e.charges))
	for i, ch := range e.charges {
		out[i] = ch.Clone()
	}
	return out
}

// parse reads customer c's records from the file's bytes.
func (d *dataset) parse(c uint32) []erp.Charge {
	spans := d.spans[d.first[c]:d.first[c+1]]
	out := make([]erp.Charge, 0, len(spans))
	if d.csv != nil {
		return d.csv.charges(d, spans, out)
	}
	for _, sp := range spans {
		ch, err := decodeItem(d.data[sp.start:sp.end], d.where(sp))
		if err != nil {
			continue // cannot happen: the load read the same bytes
		}
		out = append(out, d.withDup(ch, sp))
	}
	return out
}

// where says where a record is, as the Defects' messages do: "line 7".
func (d *dataset) where(sp span) string {
	return d.unit + " " + strconv.FormatUint(uint64(sp.where), 10)
}

// withDup adds the Defect of a ref_payment that other records use too.
func (d *dataset) withDup(c erp.Charge, sp span) erp.Charge {
	g, ok := d.dupOf[sp.start]
	if !ok {
		return c
	}
	where := make([]string, len(d.dups[g]))
	for i, w := range d.dups[g] {
		where[i] = d.unit + " " + strconv.FormatUint(uint64(w), 10)
	}
	c.Defects = append(c.Defects, erp.Defect{
		Field:   "recauda_information.ref_payment",
		Message: fmt.Sprintf("%s: ref_payment is not unique, used at %s", d.where(sp), strings.Join(where, ", ")),
	})
	return c
}

// customers is the number of distinct id_numbers.
func (d *dataset) customers() int { return len(d.byID) }

// countDefective parses every record, as lookups do (but past the memo),
// and counts those with a Defect.
func (d *dataset) countDefective() int {
	n := 0
	for _, c := range d.byID {
		for _, c := range d.parse(c) {
			if len(c.Defects) > 0 {
				n++
			}
		}
	}
	return n
}

// readKey reads id_number or ref_payment: a JSON string, or a JSON integer
// as spreadsheets export them, trimmed. It fails on anything else and on an
// empty value.
func readKey(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", fmt.Errorf("missing")
	}
	var s string
	if raw[0] == '"' {
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && isPlainString(raw[1:len(raw)-1]) {
			s = string(raw[1 : len(raw)-1]) // what json.Unmarshal gives, without its garbage
		} else if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("not a string")
		}
	} else {
		for _, b := range raw {
			if b < '0' || b > '9' {
				return "", fmt.Errorf("must be a string")
			}
		}
		s = string(raw)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty")
	}
	return s, nil
}

// isPlainString reports whether b, between a JSON string's quotes, decodes
// to itself: no escapes, quotes or control characters, valid UTF-8.
func isPlainString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}
