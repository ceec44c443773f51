#!/bin/sh
# Lookup command for ERP_SOURCE=exec (testdata/erp-config/exec.yaml): prints
# the pending charges of the customer whose ID number is the last argument,
# as {"charges":[...]}, read with psql from the ERP of
# testdata/sqlsource/postgres-schema.sql. ERP_DB_URL (a libpq URL) comes from
# exec.env. The ID number reaches SQL only as a psql variable quoted with
# :'id', never spliced into the text.
set -eu
for id; do :; done   # the last argument
case "$id" in
  *[!0-9]*|'') echo "not an ID number" >&2; exit 2 ;;
esac
exec psql "$ERP_DB_URL" --no-psqlrc --quiet --tuples-only --no-align \
  --set ON_ERROR_STOP=1 --set id="$id" <<'SQL'
SELECT json_build_object('charges', coalesce(json_agg(json_build_object(
         'ref_payment',   i.number,
         'id_number',     c.document,
         'payer_name',    c.name,
         'description',   'Factura ' || i.number || ': ' || i.concept,
         'amount',        i.balance,
         'currency_type', i.currency,
         'limit_date',    i.due_date,
         'references',    i.tags,
         'has_comments',  i.allow_comments
       ) ORDER BY i.due_date NULLS LAST, i.number), '[]'::json))
FROM invoices i
JOIN customers c ON c.id = i.customer_id
WHERE c.document = :'id'
  AND i.balance > 0;
SQL
