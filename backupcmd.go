package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"recauda-bridge/config"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

// backup writes a checked copy of the SQLite tracking store to dest, also
// while serve runs and takes writes. Exit 1 on any failure: no file is left
// at dest unless the copy passed its checks.
func backup(ctx context.Context, env config.Lookup, dest string, stdout io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	if cfg.Database.Dialect != models.DialectSQLite {
		return &exitError{code: 1, err: fmt.Errorf("DATABASE_URL is %s: %w (the tables that matter are listed in README.md, Running in production)",
			cfg.Database.Dialect, store.ErrBackupUnsupported)}
	}
	// Opening a path that is not there would create an empty database.
	if _, err := os.Stat(cfg.Database.DSN); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("DATABASE_URL: %w", err)}
	}
	st, err := openStore(ctx, cfg, nil, asFound)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer st.Close()
	rep, err := st.Backup(ctx, dest)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: 1, err: errors.New("backup interrupted; nothing written")}
		}
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(stdout, "backup written to %s: %d bytes, schema version %d, integrity_check ok, in %s\n",
		rep.Path, rep.Bytes, rep.SchemaVersion, rep.Took.Round(1e6))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, t := range rep.Tables {
		fmt.Fprintf(tw, "  %s\t%d rows\n", t.Table, t.Rows)
	}
	return tw.Flush()
}
