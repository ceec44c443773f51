#!/bin/sh
# Lookup test script that says too much on stderr, as careless scripts do:
# the ID number it looks up and the name it finds.
set -eu
for last; do :; done
cat >/dev/null
echo "SELECT * FROM invoices WHERE document = '$last'" >&2
echo "found 1 invoice of Castaño Ospina, Luz Marina ($last)" >&2
cat <<JSON
{"charges":[{"ref_payment":"EXEC-1","id_number":"$last","payer_name":"Luz Marina Castaño Ospina","description":"Cuota de administración","amount":150000,"currency_type":"COP","limit_date":"2099-12-31"}]}
JSON
