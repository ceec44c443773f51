#!/bin/sh
# Lookup test script answering in Efipay's own shape.
set -eu
for last; do :; done
cat >/dev/null
cat <<JSON
{"payments":[
  {"recauda_information":{"description":"Pago de la cuota de abril","amount":20000,"selected_taxes":null,"currency_type":"COP","id_number":"$last","payer_name":"Juan Pérez","ref_payment":"CUOTA-04","advance":{"type":"Valor Minimo","value":10000},"metadata":{"contract":"K-9"}},
   "advanced_options":{"limit_date":"2026-04-30","references":["K-9"],"has_comments":true,"comments_label":"Observaciones"}},
  {"recauda_information":{"description":"Pago de la cuota de mayo","amount":"veinte mil","currency_type":"COP","id_number":$last,"payer_name":"Juan Pérez","ref_payment":"CUOTA-05"},
   "advanced_options":null}
]}
JSON
