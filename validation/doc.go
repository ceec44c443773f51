// Package validation checks the items of the Efipay lookup answer
// (models.Payment) against every field rule Efipay documents, before they are
// sent. It is the one place those rules live.
//
// A Validator reports each broken rule as a Violation: the field's path inside
// the item in Efipay's JSON names ("recauda_information.amount",
// "advanced_options.references[1]"), a stable rule id, and an English message.
// Rule ids appear in the admin API and in logs, so they never change meaning:
//
//	rule                   field(s)                                          broken when
//	---------------------  ------------------------------------------------  ---------------------------------------------------------------
//	required               description, currency_type, id_number,            the value is empty or missing (ref_payment: also when it is
//	                       payer_name, ref_payment, advance.type,            only whitespace; delivery_service.value: missing while type is
//	                       references[i], result_urls.webhook,               "Con Valor"; has_comments: absent, false is fine)
//	                       delivery_service.type, delivery_service.value,
//	                       discount.before_on, discount.type, has_comments
//	min_length             description (4), id_number (5), payer_name (5)    fewer characters (runes) than the limit
//	max_length             description (191), id_number (20), payer_name     more characters (runes) than the limit
//	                       (191), ref_payment (191), picture (250),
//	                       references[i] (50), comments_label (100)
//	one_of                 currency_type, advance.type,                      not one of the values Efipay accepts (exact case)
//	                       delivery_service.type, discount.type
//	digits                 id_number                                         a character other than the ASCII digits 0-9
//	trimmed                ref_payment                                       leading or trailing whitespace
//	control_characters     description, payer_name, ref_payment,             a control character (C0, newlines and NUL included, DEL or C1)
//	                       references[i], comments_label                     or bytes that are not UTF-8; in ref_payment and references[i]
//	                                                                         also a bidirectional control (U+061C, U+200E, U+200F,
//	                                                                         U+202A-U+202E, U+2066-U+2069)
//	positive               amount, advance.value, discount.value,            the number is 0 or negative (a missing value decodes as 0)
//	                       delivery_service.value ("Con Valor")
//	decimal_places         amount, advance.value, discount.value,            more than 2 decimal places once trailing zeros are dropped
//	                       delivery_service.value                            (10.50 has 1, 12.345 has 3)
//	integer_digits         amount, delivery_service.value                    more than 10 digits before the decimal point
//	amount_min_length      amount                                            the plain decimal (decimal.String(): "999", "9.5") has fewer
//	                                                                         than 4 characters; Efipay documents amount as min:4
//	below_amount           advance.value ("Valor Minimo"),                   the value is not strictly less than recauda_information.amount
//	                       discount.value ("Valor")
//	below_100              advance.value ("Porcentaje Minimo"),              the percentage is not strictly less than 100
//	                       discount.value ("Porcentaje")
//	zero_or_absent         delivery_service.value ("Gratis")                 a value other than 0 on a free delivery
//	json_object_or_array   metadata                                          present, not null, and not a JSON object or array
//	date                   limit_date, discount.before_on                    not "YYYY-MM-DD" or not a real calendar date (2025-02-30)
//	not_before_today       limit_date, discount.before_on                    before today in America/Bogota
//	not_after_limit_date   discount.before_on                                after advanced_options.limit_date (when that is a valid date)
//	max_items              references (3)                                    more items than the limit
//	absolute_url           picture, result_urls.webhook                      not an absolute http or https URL with a host, or it contains
//	                                                                         spaces or control characters
//
// Field paths above are shortened: the ones under recauda_information and
// advanced_options carry that prefix in a Violation.
//
// Each field reports at most one violation: its rules are checked in the
// order of the table's rows for that field (required first, then lengths and
// formats, then the comparisons with other fields) and the first broken one is
// reported. A comparison with another field (below_amount,
// not_after_limit_date) is made only when both fields pass their own rules, so
// one wrong amount does not cascade. An array over max_items is not checked
// item by item. advanced_options set to null means no options: nothing in it
// is checked.
//
// Violations are sorted by Field, then Rule, so a given item always produces
// the same slice.
package validation
