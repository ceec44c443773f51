package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The export formats.
const (
	FormatCSV         = "csv"
	FormatCSVExcel    = "csv-excel"
	FormatXLSX        = "xlsx"
	FormatAsobancaria = "asobancaria2001"
)

// Formats are the export formats, in the order they are offered.
var Formats = []string{FormatCSV, FormatCSVExcel, FormatXLSX, FormatAsobancaria}

// ErrUnknownFormat is an export format not in Formats.
var ErrUnknownFormat = errors.New("report: unknown format")

// CheckFormat returns ErrUnknownFormat unless format is one of Formats, and
// ErrNotConfigured for an Asobancaria 2001 export without its settings, so
// that a caller can refuse before writing anything.
func (s *Service) CheckFormat(format string) error {
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("%w %q: want one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
	}
	if format == FormatAsobancaria {
		return s.bank.Check()
	}
	return nil
}

// Export writes the payments q selects to w in format, streamed.
func (s *Service) Export(ctx context.Context, w io.Writer, format string, q Query) error {
	if err := s.CheckFormat(format); err != nil {
		return err
	}
	if _, err := q.filter(); err != nil {
		return err
	}
	switch format {
	case FormatCSV, FormatCSVExcel:
		return s.exportCSV(ctx, w, q, format == FormatCSVExcel)
	case FormatXLSX:
		return s.exportXLSX(ctx, w, q)
	default:
		return s.exportAsobancaria(ctx, w, q)
	}
}

// ContentType is the media type of format's files.
func ContentType(format string) string {
	switch format {
	case FormatCSV, FormatCSVExcel:
		return "text/csv; charset=utf-8"
	case FormatXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		return "text/plain; charset=us-ascii"
	}
}

// FileName is the name an export of q in format is offered under.
func FileName(format string, q Query) string {
	name := "pagos"
	if !q.From.IsZero() {
		name += "-" + q.From.Format(time.DateOnly)
	}
	if !q.To.IsZero() {
		name += "_" + q.To.Format(time.DateOnly)
	}
	switch format {
	case FormatXLSX:
		return name + ".xlsx"
	case FormatAsobancaria:
		return name + "-asobancaria2001.txt"
	case FormatCSVExcel:
		return name + "-excel.csv"
	default:
		return name + ".csv"
	}
}
