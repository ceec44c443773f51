#!/bin/sh
# Write-back command for ERP_SOURCE=exec (testdata/erp-config/exec.yaml):
# reads one payment as JSON on stdin and records it in the ERP of
# testdata/sqlsource/postgres-schema.sql, once per transaction_id (the
# UNIQUE payments.transaction_id makes a second delivery a no-op).
# Exit 0: recorded or already recorded; 67: the ERP has no such invoice;
# anything else: recauda-bridge tries again later.
set -eu
payment=$(cat)
outcome=$(psql "$ERP_DB_URL" --no-psqlrc --quiet --tuples-only --no-align \
  --set ON_ERROR_STOP=1 --set payment="$payment" <<'SQL'
WITH p AS (SELECT :'payment'::jsonb AS j),
invoice AS (
    SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id, p
    WHERE i.number = p.j->>'ref_payment' AND c.document = p.j->>'id_number'
),
recorded AS (
    INSERT INTO payments (transaction_id, invoice_id, amount, paid_at, status, method)
    SELECT p.j->>'transaction_id', invoice.id, (p.j->>'amount')::numeric,
           (p.j->>'paid_at')::timestamptz, p.j->>'status', p.j->>'payment_method'
    FROM p, invoice
    ON CONFLICT (transaction_id) DO NOTHING
    RETURNING invoice_id, amount
),
applied AS (
    UPDATE invoices i SET balance = i.balance - recorded.amount
    FROM recorded WHERE i.id = recorded.invoice_id
    RETURNING i.id
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM invoice) THEN 'unknown'
            WHEN EXISTS (SELECT 1 FROM applied) THEN 'recorded'
            ELSE 'duplicate' END;
SQL
)
case "$outcome" in
  recorded|duplicate) exit 0 ;;
  unknown) echo "no invoice for this ref_payment and id_number" >&2; exit 67 ;;
  *) echo "unexpected answer from psql: $outcome" >&2; exit 75 ;;
esac
