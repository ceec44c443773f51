#!/bin/sh
# Lookup test script: prints flat charges for the ID number it gets as its
# last argument, after checking that stdin carries the same ID number.
set -eu
for last; do :; done
stdin=$(cat)
if [ "$stdin" != "{\"id_number\":\"$last\"}" ]; then
  echo "stdin was $stdin, argument was $last" >&2
  exit 2
fi
echo "looking up charges" >&2
cat <<JSON
{"charges":[
  {"ref_payment":"FAC-1001","id_number":"$last","payer_name":"María Fernanda Gómez","description":"Matrícula 2026-1","amount":3450000,"currency_type":"COP","limit_date":"2026-05-15","references":"EST-1032|SEM-2026-1","has_comments":"no"},
  {"ref_payment":"FAC-1002","id_number":"$last","payer_name":"María Fernanda Gómez","description":"Seguro estudiantil","amount":"tres mil","currency_type":"COP"},
  {"ref_payment":"FAC-9999","id_number":"11111111","payer_name":"Otra Persona","description":"No es suya","amount":1000,"currency_type":"COP"}
]}
JSON
