package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"recauda-bridge/models"
)

// migration is one versioned schema step, with its SQL per dialect where
// they differ. Steps are append-only: never edit one that has shipped.
type migration struct {
	version  int
	name     string
	sqlite   []string
	postgres []string
}

// migrations is the whole schema history, in order.
var migrations = []migration{
	{
		version: 1,
		name:    "charges, timeline and held-back records",
		sqlite: []string{
			`CREATE TABLE charges (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				ref_payment TEXT NOT NULL UNIQUE,
				id_number TEXT NOT NULL,
				payer_name TEXT NOT NULL DEFAULT '',
				description TEXT NOT NULL DEFAULT '',
				amount TEXT NOT NULL,
				currency_type TEXT NOT NULL,
				advance_allowed INTEGER NOT NULL DEFAULT 0,
				status TEXT NOT NULL,
				payload TEXT NOT NULL DEFAULT '',
				payload_hash TEXT NOT NULL DEFAULT '',
				send_count INTEGER NOT NULL DEFAULT 0,
				first_sent_at DATETIME,
				last_sent_at DATETIME,
				offer_after DATETIME,
				paid_amount TEXT NOT NULL DEFAULT '0',
				paid_at DATETIME,
				transaction_id TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL
			)`,
			`CREATE INDEX idx_charges_id_number ON charges (id_number)`,
			`CREATE INDEX idx_charges_status_updated ON charges (status, updated_at)`,
			`CREATE INDEX idx_charges_updated ON charges (updated_at)`,
			`CREATE TABLE charge_events (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				charge_id INTEGER NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				from_status TEXT NOT NULL DEFAULT '',
				to_status TEXT NOT NULL DEFAULT '',
				detail TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL
			)`,
			`CREATE INDEX idx_charge_events_charge ON charge_events (charge_id, id)`,
			`CREATE TABLE held_back (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				ref_payment TEXT NOT NULL,
				id_number TEXT NOT NULL,
				violations TEXT NOT NULL,
				first_seen_at DATETIME NOT NULL,
				last_seen_at DATETIME NOT NULL,
				seen_count INTEGER NOT NULL DEFAULT 1,
				UNIQUE (ref_payment, id_number)
			)`,
			`CREATE INDEX idx_held_back_last_seen ON held_back (last_seen_at)`,
		},
		postgres: []string{
			`CREATE TABLE charges (
				id BIGSERIAL PRIMARY KEY,
				ref_payment TEXT NOT NULL UNIQUE,
				id_number TEXT NOT NULL,
				payer_name TEXT NOT NULL DEFAULT '',
				description TEXT NOT NULL DEFAULT '',
				amount NUMERIC NOT NULL,
				currency_type TEXT NOT NULL,
				advance_allowed BOOLEAN NOT NULL DEFAULT FALSE,
				status TEXT NOT NULL,
				payload TEXT NOT NULL DEFAULT '',
				payload_hash TEXT NOT NULL DEFAULT '',
				send_count INTEGER NOT NULL DEFAULT 0,
				first_sent_at TIMESTAMPTZ,
				last_sent_at TIMESTAMPTZ,
				offer_after TIMESTAMPTZ,
				paid_amount NUMERIC NOT NULL DEFAULT 0,
				paid_at TIMESTAMPTZ,
				transaction_id TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX idx_charges_id_number ON charges (id_number)`,
			`CREATE INDEX idx_charges_status_updated ON charges (status, updated_at)`,
			`CREATE INDEX idx_charges_updated ON charges (updated_at)`,
			`CREATE TABLE charge_events (
				id BIGSERIAL PRIMARY KEY,
				charge_id BIGINT NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				from_status TEXT NOT NULL DEFAULT '',
				to_status TEXT NOT NULL DEFAULT '',
				detail TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX idx_charge_events_charge ON charge_events (charge_id, id)`,
			`CREATE TABLE held_back (
				id BIGSERIAL PRIMARY KEY,
				ref_payment TEXT NOT NULL,
				id_number TEXT NOT NULL,
				violations TEXT NOT NULL,
				first_seen_at TIMESTAMPTZ NOT NULL,
				last_seen_at TIMESTAMPTZ NOT NULL,
				seen_count INTEGER NOT NULL DEFAULT 1,
				UNIQUE (ref_payment, id_number)
			)`,
			`CREATE INDEX idx_held_back_last_seen ON held_back (last_seen_at)`,
		},
	},
	{
		version: 2,
		name:    "webhook events, write-back jobs, derived balance refs",
		sqlite: []string{
			`ALTER TABLE charges ADD COLUMN parent_ref TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX idx_charges_parent_ref ON charges (parent_ref) WHERE parent_ref <> ''`,
			`CREATE TABLE webhook_events (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				received_at DATETIME NOT NULL,
				body TEXT NOT NULL,
				body_hash TEXT NOT NULL,
				transaction_id TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL DEFAULT '',
				amount TEXT NOT NULL DEFAULT '',
				currency_type TEXT NOT NULL DEFAULT '',
				production INTEGER NOT NULL DEFAULT 0,
				payment_method TEXT NOT NULL DEFAULT '',
				ref_payment TEXT NOT NULL DEFAULT '',
				charge_id INTEGER REFERENCES charges (id) ON DELETE SET NULL,
				outcome TEXT NOT NULL,
				detail TEXT NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX idx_webhook_events_txn ON webhook_events (transaction_id, status)`,
			`CREATE INDEX idx_webhook_events_outcome ON webhook_events (outcome, id)`,
			`CREATE INDEX idx_webhook_events_charge ON webhook_events (charge_id)`,
			`CREATE TABLE writebacks (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				charge_id INTEGER NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				ref_payment TEXT NOT NULL,
				transaction_id TEXT NOT NULL,
				payment TEXT NOT NULL,
				state TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at DATETIME NOT NULL,
				leased_until DATETIME,
				last_error TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL,
				done_at DATETIME,
				UNIQUE (ref_payment, transaction_id)
			)`,
			`CREATE INDEX idx_writebacks_due ON writebacks (state, next_attempt_at)`,
			`CREATE INDEX idx_writebacks_charge ON writebacks (charge_id)`,
		},
		postgres: []string{
			`ALTER TABLE charges ADD COLUMN parent_ref TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX idx_charges_parent_ref ON charges (parent_ref) WHERE parent_ref <> ''`,
			`CREATE TABLE webhook_events (
				id BIGSERIAL PRIMARY KEY,
				received_at TIMESTAMPTZ NOT NULL,
				body TEXT NOT NULL,
				body_hash TEXT NOT NULL,
				transaction_id TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL DEFAULT '',
				amount TEXT NOT NULL DEFAULT '',
				currency_type TEXT NOT NULL DEFAULT '',
				production BOOLEAN NOT NULL DEFAULT FALSE,
				payment_method TEXT NOT NULL DEFAULT '',
				ref_payment TEXT NOT NULL DEFAULT '',
				charge_id BIGINT REFERENCES charges (id) ON DELETE SET NULL,
				outcome TEXT NOT NULL,
				detail TEXT NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX idx_webhook_events_txn ON webhook_events (transaction_id, status)`,
			`CREATE INDEX idx_webhook_events_outcome ON webhook_events (outcome, id)`,
			`CREATE INDEX idx_webhook_events_charge ON webhook_events (charge_id)`,
			`CREATE TABLE writebacks (
				id BIGSERIAL PRIMARY KEY,
				charge_id BIGINT NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				ref_payment TEXT NOT NULL,
				transaction_id TEXT NOT NULL,
				payment TEXT NOT NULL,
				state TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at TIMESTAMPTZ NOT NULL,
				leased_until TIMESTAMPTZ,
				last_error TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL,
				done_at TIMESTAMPTZ,
				UNIQUE (ref_payment, transaction_id)
			)`,
			`CREATE INDEX idx_writebacks_due ON writebacks (state, next_attempt_at)`,
			`CREATE INDEX idx_writebacks_charge ON writebacks (charge_id)`,
		},
	},
	{
		version: 3,
		name:    "ledger of its own (ERP_SOURCE=local)",
		sqlite: []string{
			`CREATE TABLE ledger_charges (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				ref_payment TEXT NOT NULL UNIQUE,
				id_number TEXT NOT NULL,
				payer_name TEXT NOT NULL,
				description TEXT NOT NULL,
				amount TEXT NOT NULL,
				currency_type TEXT NOT NULL,
				selected_taxes TEXT NOT NULL DEFAULT '',
				limit_date TEXT NOT NULL DEFAULT '',
				advance_type TEXT NOT NULL DEFAULT '',
				advance_value TEXT,
				merchant_references TEXT NOT NULL DEFAULT '',
				picture TEXT NOT NULL DEFAULT '',
				has_comments INTEGER NOT NULL DEFAULT 0,
				comments_label TEXT NOT NULL DEFAULT '',
				discount_type TEXT NOT NULL DEFAULT '',
				discount_value TEXT,
				discount_before_on TEXT NOT NULL DEFAULT '',
				delivery_type TEXT NOT NULL DEFAULT '',
				delivery_value TEXT,
				request_address_delivery INTEGER,
				metadata TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL,
				paid_amount TEXT NOT NULL DEFAULT '0',
				paid_at DATETIME,
				transaction_id TEXT NOT NULL DEFAULT '',
				content_hash TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL
			)`,
			`CREATE INDEX idx_ledger_charges_id_number ON ledger_charges (id_number, status)`,
			`CREATE INDEX idx_ledger_charges_status_updated ON ledger_charges (status, updated_at)`,
			`CREATE INDEX idx_ledger_charges_updated ON ledger_charges (updated_at)`,
			`CREATE TABLE ledger_payments (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				ledger_charge_id INTEGER NOT NULL REFERENCES ledger_charges (id) ON DELETE CASCADE,
				ref_payment TEXT NOT NULL,
				transaction_id TEXT NOT NULL,
				amount TEXT NOT NULL,
				currency_type TEXT NOT NULL,
				status TEXT NOT NULL,
				payment_method TEXT NOT NULL DEFAULT '',
				paid_at DATETIME NOT NULL,
				created_at DATETIME NOT NULL,
				UNIQUE (ref_payment, transaction_id)
			)`,
			`CREATE INDEX idx_ledger_payments_charge ON ledger_payments (ledger_charge_id)`,
		},
		postgres: []string{
			`CREATE TABLE ledger_charges (
				id BIGSERIAL PRIMARY KEY,
				ref_payment TEXT NOT NULL UNIQUE,
				id_number TEXT NOT NULL,
				payer_name TEXT NOT NULL,
				description TEXT NOT NULL,
				amount NUMERIC NOT NULL,
				currency_type TEXT NOT NULL,
				selected_taxes TEXT NOT NULL DEFAULT '',
				limit_date TEXT NOT NULL DEFAULT '',
				advance_type TEXT NOT NULL DEFAULT '',
				advance_value NUMERIC,
				merchant_references TEXT NOT NULL DEFAULT '',
				picture TEXT NOT NULL DEFAULT '',
				has_comments BOOLEAN NOT NULL DEFAULT FALSE,
				comments_label TEXT NOT NULL DEFAULT '',
				discount_type TEXT NOT NULL DEFAULT '',
				discount_value NUMERIC,
				discount_before_on TEXT NOT NULL DEFAULT '',
				delivery_type TEXT NOT NULL DEFAULT '',
				delivery_value NUMERIC,
				request_address_delivery BOOLEAN,
				metadata TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL,
				paid_amount NUMERIC NOT NULL DEFAULT 0,
				paid_at TIMESTAMPTZ,
				transaction_id TEXT NOT NULL DEFAULT '',
				content_hash TEXT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX idx_ledger_charges_id_number ON ledger_charges (id_number, status)`,
			`CREATE INDEX idx_ledger_charges_status_updated ON ledger_charges (status, updated_at)`,
			`CREATE INDEX idx_ledger_charges_updated ON ledger_charges (updated_at)`,
			`CREATE TABLE ledger_payments (
				id BIGSERIAL PRIMARY KEY,
				ledger_charge_id BIGINT NOT NULL REFERENCES ledger_charges (id) ON DELETE CASCADE,
				ref_payment TEXT NOT NULL,
				transaction_id TEXT NOT NULL,
				amount NUMERIC NOT NULL,
				currency_type TEXT NOT NULL,
				status TEXT NOT NULL,
				payment_method TEXT NOT NULL DEFAULT '',
				paid_at TIMESTAMPTZ NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				UNIQUE (ref_payment, transaction_id)
			)`,
			`CREATE INDEX idx_ledger_payments_charge ON ledger_payments (ledger_charge_id)`,
		},
	},
	{
		version: 4,
		name:    "earlier offers of a charge",
		sqlite: []string{
			`CREATE TABLE charge_offers (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				charge_id INTEGER NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				send_count INTEGER NOT NULL,
				amount TEXT NOT NULL,
				payload TEXT NOT NULL,
				replaced_at DATETIME NOT NULL
			)`,
			`CREATE INDEX idx_charge_offers_charge ON charge_offers (charge_id, id)`,
		},
		postgres: []string{
			`CREATE TABLE charge_offers (
				id BIGSERIAL PRIMARY KEY,
				charge_id BIGINT NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				send_count INTEGER NOT NULL,
				amount NUMERIC NOT NULL,
				payload TEXT NOT NULL,
				replaced_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX idx_charge_offers_charge ON charge_offers (charge_id, id)`,
		},
	},
	{
		version: 5,
		name:    "the bridge's own secrets",
		sqlite: []string{
			`CREATE TABLE secrets (
				name TEXT PRIMARY KEY,
				value TEXT NOT NULL,
				created_at DATETIME NOT NULL
			)`,
		},
		postgres: []string{
			`CREATE TABLE secrets (
				name TEXT PRIMARY KEY,
				value TEXT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL
			)`,
		},
	},
	{
		version: 6,
		name:    dueDatesMigration,
		sqlite: []string{
			`ALTER TABLE charges ADD COLUMN due_date TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE charges ADD COLUMN limit_date TEXT NOT NULL DEFAULT ''`,
			// Until now the two were the same: the limit date sent was the ERP's.
			`UPDATE charges SET limit_date = COALESCE(json_extract(payload, '$.advanced_options.limit_date'), ''),
				due_date = COALESCE(json_extract(payload, '$.advanced_options.limit_date'), '')
				WHERE json_valid(payload) AND json_type(payload, '$.advanced_options.limit_date') = 'text'`,
		},
		postgres: []string{
			`ALTER TABLE charges ADD COLUMN due_date TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE charges ADD COLUMN limit_date TEXT NOT NULL DEFAULT ''`,
			`UPDATE charges SET limit_date = payload::jsonb -> 'advanced_options' ->> 'limit_date',
				due_date = payload::jsonb -> 'advanced_options' ->> 'limit_date'
				WHERE payload LIKE '{%' AND jsonb_typeof(payload::jsonb -> 'advanced_options' -> 'limit_date') = 'string'`,
		},
	},
	{
		version: 7,
		name:    "webhook bodies no text column can hold, kept as bytes",
		sqlite: []string{
			`ALTER TABLE webhook_events ADD COLUMN body_raw BLOB`,
		},
		postgres: []string{
			`ALTER TABLE webhook_events ADD COLUMN body_raw BYTEA`,
		},
	},
	{
		version: 8,
		name:    "write-back jobs of reversals",
		// A reversal job carries the same (ref, transaction) as the payment
		// it undoes, so the kind joins the unique key. SQLite cannot drop a
		// table's UNIQUE constraint: the table is copied; nothing references it.
		sqlite: []string{
			`CREATE TABLE writebacks_new (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				charge_id INTEGER NOT NULL REFERENCES charges (id) ON DELETE CASCADE,
				ref_payment TEXT NOT NULL,
				transaction_id TEXT NOT NULL,
				kind TEXT NOT NULL DEFAULT 'payment',
				payment TEXT NOT NULL,
				state TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at DATETIME NOT NULL,
				leased_until DATETIME,
				last_error TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL,
				done_at DATETIME,
				UNIQUE (ref_payment, transaction_id, kind)
			)`,
			`INSERT INTO writebacks_new (id, charge_id, ref_payment, transaction_id, payment, state, attempts,
				next_attempt_at, leased_until, last_error, created_at, updated_at, done_at)
				SELECT id, charge_id, ref_payment, transaction_id, payment, state, attempts,
				next_attempt_at, leased_until, last_error, created_at, updated_at, done_at FROM writebacks`,
			`DROP TABLE writebacks`,
			`ALTER TABLE writebacks_new RENAME TO writebacks`,
			`CREATE INDEX idx_writebacks_due ON writebacks (state, next_attempt_at)`,
			`CREATE INDEX idx_writebacks_charge ON writebacks (charge_id)`,
		},
		postgres: []string{
			`ALTER TABLE writebacks ADD COLUMN kind TEXT NOT NULL DEFAULT 'payment'`,
			`ALTER TABLE writebacks DROP CONSTRAINT writebacks_ref_payment_transaction_id_key`,
			`ALTER TABLE writebacks ADD CONSTRAINT writebacks_ref_payment_transaction_id_kind_key UNIQUE (ref_payment, transaction_id, kind)`,
		},
	},
	{
		version: 9,
		name:    paymentsMigration,
		// The payments report reads webhook_events alone: status_after says
		// which applied events moved money (paid, partially_paid: a payment;
		// reversed: a reversal). Events stored before keep no approval time
		// (the report dates them by receipt and says so) and take their
		// state from the timeline entry their settle wrote at the same instant.
		sqlite: []string{
			`ALTER TABLE webhook_events ADD COLUMN approved_at DATETIME`,
			`ALTER TABLE webhook_events ADD COLUMN status_after TEXT NOT NULL DEFAULT ''`,
			paymentsBackfill,
			paymentsIndex,
		},
		postgres: []string{
			`ALTER TABLE webhook_events ADD COLUMN approved_at TIMESTAMPTZ`,
			`ALTER TABLE webhook_events ADD COLUMN status_after TEXT NOT NULL DEFAULT ''`,
			paymentsBackfill,
			paymentsIndex,
		},
	},
}

// paymentsMigration names the step that gave webhook events their approval
// time and the charge's state after them (its test migrates up to it).
const paymentsMigration = "webhook events keep the approval time and the charge's state after them"

const paymentsBackfill = `UPDATE webhook_events SET status_after = COALESCE((SELECT e.to_status FROM charge_events e
	WHERE e.charge_id = webhook_events.charge_id AND e.kind = 'webhook' AND e.created_at = webhook_events.received_at
	ORDER BY e.id LIMIT 1), '') WHERE outcome = 'applied' AND charge_id IS NOT NULL`

// paymentsIndex serves the report's range: its WHERE repeats both the
// expression and the condition (paymentRows).
const paymentsIndex = `CREATE INDEX idx_webhook_events_payments ON webhook_events (COALESCE(approved_at, received_at), id)
	WHERE status_after IN ('paid', 'partially_paid', 'reversed')`

// dueDatesMigration names the step that added charges' due_date and
// limit_date (its test migrates up to it).
const dueDatesMigration = "charges keep the ERP's due date and the limit date sent"

// LatestVersion is the schema version this binary expects.
func LatestVersion() int { return migrations[len(migrations)-1].version }

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// SchemaVersion returns the version the database is at (0 for a new one).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	db := s.write.WithContext(ctx)
	if err := db.Exec(migrationsTable).Error; err != nil {
		return 0, translate("store: schema version", err)
	}
	var v int
	if err := db.Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v).Error; err != nil {
		return 0, translate("store: schema version", err)
	}
	return v, nil
}

// Migrate applies every pending step, each in its own transaction, and
// returns the versions applied. On PostgreSQL an advisory lock keeps two
// replicas starting together from racing.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	db := s.write.WithContext(ctx)
	if s.dialect == models.DialectPostgres {
		conn, err := db.DB()
		if err != nil {
			return nil, translate("store: migrate", err)
		}
		c, err := conn.Conn(ctx)
		if err != nil {
			return nil, translate("store: migrate", err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock(72110001)`); err != nil {
			return nil, translate("store: migrate lock", err)
		}
		defer c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(72110001)`)
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if current > LatestVersion() {
		return nil, newerSchema(current)
	}
	var applied []int
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		steps := m.sqlite
		if s.dialect == models.DialectPostgres {
			steps = m.postgres
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			for _, stmt := range steps {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, s.now().Format(time.RFC3339)).Error
		})
		if err != nil {
			return applied, translate(fmt.Sprintf("store: migration %d (%s)", m.version, m.name), err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// CheckSchema returns ErrSchemaOutdated unless the database is at the
// version this binary expects.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > LatestVersion() {
		return newerSchema(v)
	}
	if v != LatestVersion() {
		return fmt.Errorf("store: at version %d, want %d: %w", v, LatestVersion(), ErrSchemaOutdated)
	}
	return nil
}

// newerSchema is the refusal to touch a database a newer binary migrated:
// this one does not know what the newer steps changed.
func newerSchema(v int) error {
	return fmt.Errorf("store: the database is at schema version %d, newer than the %d this binary knows: "+
		"a newer recauda-bridge migrated it; run that version or a later one (going back means restoring a backup taken before the upgrade): %w",
		v, LatestVersion(), ErrSchemaNewer)
}

// Step is one migration as Pending lists it.
type Step struct {
	Version int
	Name    string
}

// Pending lists the migrations Migrate would apply now, in order; an error
// wrapping ErrSchemaNewer when the database is ahead of this binary.
func (s *Store) Pending(ctx context.Context) ([]Step, error) {
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if current > LatestVersion() {
		return nil, newerSchema(current)
	}
	var steps []Step
	for _, m := range migrations {
		if m.version > current {
			steps = append(steps, Step{Version: m.version, Name: m.name})
		}
	}
	return steps, nil
}
