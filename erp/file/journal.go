package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"recauda-bridge/erp"
)

// journalLine is one line of the payments journal. See the package doc.
type journalLine struct {
	TransactionID string `json:"transaction_id"`
	RefPayment    string `json:"ref_payment"`
	IDNumber      string `json:"id_number"`
	Amount        string `json:"amount"`
	CurrencyType  string `json:"currency_type"`
	Status        string `json:"status"`
	PaymentMethod string `json:"payment_method"`
	PaidAt        string `json:"paid_at,omitempty"`
	// ReversedAt is set on the line of a reversal (status "reversed").
	ReversedAt string `json:"reversed_at,omitempty"`
}

// reversedStatus is the status of a reversal's line.
const reversedStatus = "reversed"

// key is what a line is written once per: its transaction, and whether it
// reverses it.
func (jl journalLine) key() string {
	if jl.Status == reversedStatus {
		return reversedStatus + "\x00" + jl.TransactionID
	}
	return jl.TransactionID
}

// journal appends payments to a JSON Lines file, once per transaction id,
// and reversals of them, once each.
type journal struct {
	path string

	mu    sync.Mutex
	f     *os.File // nil once closed
	seen  map[string]struct{}
	torn  bool // the last line may lack its newline
	count int
}

// openJournal opens (or creates) the journal and loads the transaction ids
// already in it. A line that cannot be read (a torn write after a crash) is
// skipped with a warning; its payment will be written again if it comes back.
func openJournal(path string, logger *slog.Logger) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &journal{path: path, f: f, seen: make(map[string]struct{})}
	br := bufio.NewReader(f)
	lineNo, last := 0, byte('\n')
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			last = line[len(line)-1]
			if t := bytes.TrimSpace(line); len(t) > 0 {
				var jl journalLine
				if jerr := json.Unmarshal(t, &jl); jerr != nil || jl.TransactionID == "" {
					logger.Warn("file source: unreadable journal line skipped", "journal", path, "line", lineNo)
				} else {
					j.seen[jl.key()] = struct{}{}
					j.count++
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read journal: %w", err)
		}
	}
	j.torn = last != '\n'
	return j, nil
}

// record appends p unless its transaction id is already in the journal, and
// syncs the file before returning, so that a nil error means it is on disk.
func (j *journal) record(p erp.Payment) error {
	if p.TransactionID == "" {
		return errors.New("file source: record payment: empty transaction id")
	}
	return j.append("record payment", journalLine{
		TransactionID: p.TransactionID,
		RefPayment:    p.RefPayment,
		IDNumber:      p.IDNumber,
		Amount:        p.Amount.String(),
		CurrencyType:  p.Currency,
		Status:        p.Status,
		PaymentMethod: p.PaymentMethod,
		PaidAt:        p.PaidAt.Format(time.RFC3339Nano),
	})
}

// reverse appends the reversal of r's payment (status "reversed") unless it
// is already in the journal, synced like record.
func (j *journal) reverse(r erp.Reversal) error {
	if r.TransactionID == "" {
		return errors.New("file source: record reversal: empty transaction id")
	}
	return j.append("record reversal", journalLine{
		TransactionID: r.TransactionID,
		RefPayment:    r.RefPayment,
		IDNumber:      r.IDNumber,
		Amount:        r.Amount.String(),
		CurrencyType:  r.Currency,
		Status:        reversedStatus,
		PaymentMethod: r.PaymentMethod,
		ReversedAt:    r.ReversedAt.Format(time.RFC3339Nano),
	})
}

// append writes jl unless a line with its key is in the journal.
func (j *journal) append(op string, jl journalLine) error {
	line, err := json.Marshal(jl)
	if err != nil {
		return fmt.Errorf("file source: %s: %w", op, err)
	}
	line = append(line, '\n')

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("file source: %s: %w: source closed", op, erp.ErrUnavailable)
	}
	if _, dup := j.seen[jl.key()]; dup {
		return nil
	}
	if j.torn {
		// End the torn line first, so that this one is readable on its own.
		line = append([]byte{'\n'}, line...)
	}
	if _, err := j.f.Write(line); err != nil {
		j.torn = true
		return fmt.Errorf("file source: append to journal: %w: %w", erp.ErrUnavailable, err)
	}
	j.torn = false
	if err := j.f.Sync(); err != nil {
		// The line may or may not be on disk: not marked as seen, so a retry
		// writes it again, and a duplicate line is harmless to readers that
		// key on transaction_id.
		return fmt.Errorf("file source: sync journal: %w: %w", erp.ErrUnavailable, err)
	}
	j.seen[jl.key()] = struct{}{}
	j.count++
	return nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
