package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"recauda-bridge/erp"
)

// debounce is how long the file must be quiet before it is read again:
// editors and exports write a file in several steps.
const debounce = 100 * time.Millisecond

// maxLoggedSkips caps the warnings of one load; the rest are counted.
const maxLoggedSkips = 20

// Config says where the file and the journal are.
type Config struct {
	// Path is the charges file, .json or .csv (the extension decides the format).
	Path string
	// JournalPath is where recorded payments are appended; empty means
	// Path + ".payments.jsonl".
	JournalPath string
}

// Source serves the charges of a JSON or CSV file and follows its changes.
// It is safe for concurrent use.
type Source struct {
	path    string
	parse   func([]byte) (*dataset, error)
	logger  *slog.Logger
	data    atomic.Pointer[dataset]
	status  atomic.Pointer[loadStatus]
	journal *journal
	watcher *fsnotify.Watcher
	last    os.FileInfo // of the last read; only the watch goroutine uses it after New

	done      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// loadStatus is the outcome of the last attempt to read the file.
type loadStatus struct {
	at  time.Time
	err error
}

// New reads cfg.Path, opens the journal and starts following the file. A file
// that cannot be read or is invalid as a whole is an error: the bridge must
// not start on it. logger may be nil.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Path == "" {
		return nil, errors.New("file source: no path")
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	s := &Source{path: path, logger: logger, done: make(chan struct{}), stopped: make(chan struct{})}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		s.parse = parseJSON
	case ".csv":
		s.parse = parseCSV
	default:
		return nil, fmt.Errorf("file source: %s: extension %q is neither .json nor .csv", path, ext)
	}
	if err := s.load(); err != nil {
		return nil, err
	}

	journalPath := cfg.JournalPath
	if journalPath == "" {
		journalPath = path + ".payments.jsonl"
	}
	if journalPath, err = filepath.Abs(journalPath); err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	if s.journal, err = openJournal(journalPath, logger); err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}

	// The directory is watched, not the file: editors save by writing a new
	// file and renaming it over the old one, which a watch on the file loses.
	if s.watcher, err = fsnotify.NewWatcher(); err == nil {
		err = s.watcher.Add(filepath.Dir(path))
	}
	if err != nil {
		if s.watcher != nil {
			s.watcher.Close()
		}
		s.journal.close()
		return nil, fmt.Errorf("file source: watch %s: %w", filepath.Dir(path), err)
	}
	go s.watch(journalPath)
	logger.Info("file source: following file", "path", path, "journal", journalPath, "journal_payments", s.journal.count)
	return s, nil
}

// load reads and parses the file. On success it replaces the served content;
// on failure it keeps the last good content and returns the reason.
func (s *Source) load() error {
	info, err := os.Stat(s.path)
	var d *dataset
	if err == nil {
		var b []byte
		if b, err = os.ReadFile(s.path); err == nil {
			d, err = s.parse(b)
		}
	}
	if err != nil {
		err = fmt.Errorf("file source: %s: %w", s.path, err)
		s.status.Store(&loadStatus{at: time.Now(), err: err})
		return err
	}
	s.last = info
	s.data.Store(d)
	s.status.Store(&loadStatus{at: time.Now()})
	for i, msg := range d.skipped {
		if i == maxLoggedSkips {
			s.logger.Warn("file source: more records skipped", "path", s.path, "not_logged", len(d.skipped)-i)
			break
		}
		s.logger.Warn("file source: record skipped", "path", s.path, "reason", msg)
	}
	// The old content and the garbage of the parse are collected before
	// the count, whose garbage (a parse of every record) then piles up in a
	// heap sized for one content rather than two: 180,000 CSV charges
	// peaked at 70 MB of RSS instead of 85. The count done, the pages freed
	// are handed back to the OS at once rather than over minutes: RSS
	// settles at 28 MB instead of 47.
	runtime.GC()
	defective := d.countDefective()
	debug.FreeOSMemory()
	s.logger.Info("file source: loaded", "path", s.path, "charges", d.charges,
		"customers", d.customers(), "with_defects", defective, "skipped", len(d.skipped))
	return nil
}

// watch reloads the file, debounced, until Close. Events on the file's own
// name always reload; other events in the directory reload only when the file
// now looks different (a Kubernetes ConfigMap swaps a symlink beside it).
func (s *Source) watch(journalPath string) {
	defer close(s.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	force := false
	for {
		select {
		case <-s.done:
			timer.Stop()
			return
		case ev, ok := <-s.watcher.Events:
			if !ok {
				return
			}
			name := filepath.Clean(ev.Name)
			if name == journalPath || ev.Op == fsnotify.Chmod {
				continue
			}
			force = force || name == s.path
			timer.Reset(debounce)
		case err, ok := <-s.watcher.Errors:
			if !ok {
				return
			}
			s.logger.Error("file source: watching failed", "path", s.path, "error", err)
		case <-timer.C:
			if !force && !s.changed() {
				continue
			}
			force = false
			if err := s.load(); err != nil {
				s.logger.Error("file source: reload failed, still serving the last good content", "path", s.path, "error", err)
			}
		}
	}
}

// changed reports whether the file differs from the one last read.
func (s *Source) changed() bool {
	info, err := os.Stat(s.path)
	if err != nil || s.last == nil {
		return true
	}
	return !os.SameFile(info, s.last) || !info.ModTime().Equal(s.last.ModTime()) || info.Size() != s.last.Size()
}

// PendingCharges returns the charges whose id_number is idNumber, in file
// order, from the last good read of the file.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file source: %w: %w", erp.ErrUnavailable, err)
	}
	return s.data.Load().lookup(strings.TrimSpace(idNumber)), nil
}

// RecordPayment appends p to the journal, once per TransactionID. It does not
// check that p.RefPayment is still in the file: the file may have changed
// since the lookup, and the payment must not be lost for that.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file source: record payment: %w: %w", erp.ErrUnavailable, err)
	}
	return s.journal.record(p)
}

// RecordReversal appends to the journal that the payment r.TransactionID
// was reversed (status "reversed"), once. Like RecordPayment it does not
// change the charges file: the next export must list the charge again.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file source: record reversal: %w: %w", erp.ErrUnavailable, err)
	}
	return s.journal.reverse(r)
}

// Check returns nil when the last read of the file succeeded. After a failed
// reload lookups still answer from the last good content, but Check reports
// the failure (wrapping erp.ErrUnavailable) so that it is seen and fixed.
func (s *Source) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file source: %w: %w", erp.ErrUnavailable, err)
	}
	select {
	case <-s.done:
		return fmt.Errorf("file source: %w: closed", erp.ErrUnavailable)
	default:
	}
	if st := s.status.Load(); st.err != nil {
		return fmt.Errorf("%w: last read at %s failed: %w", erp.ErrUnavailable, st.at.Format(time.RFC3339), st.err)
	}
	return nil
}

// Close stops following the file and closes the journal. Lookups still
// answer from the last content; payments can no longer be recorded.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		werr := s.watcher.Close()
		<-s.stopped
		s.closeErr = errors.Join(werr, s.journal.close())
	})
	return s.closeErr
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)
