// Package file is an ERP source that reads a merchant's pending charges from
// one JSON or CSV file, follows its changes without a restart, and appends
// the payments it is told about to a journal file beside it.
//
// It suits a merchant whose ERP can export a file (or who keeps a
// spreadsheet): the export replaces the file, the bridge serves the new
// content within a fraction of a second.
//
// # Formats
//
// The extension of Config.Path decides the format, in any case: .json or .csv.
// Both may start with a UTF-8 byte order mark.
//
// A .json file is Efipay's own answer shape, all customers together:
//
//	{"payments": [ {"recauda_information": {...}, "advanced_options": {...} }, ... ]}
//
// A lookup returns the items whose recauda_information.id_number is the asked
// one. id_number and ref_payment may be JSON strings or integers.
// advanced_options.result_urls is ignored: the bridge sends its own webhook.
//
// A .csv file has one charge per row and a header row naming the columns, in
// any order and any case. The separator is ',' or ';' (Colombian Excel
// exports), detected from the header line; an Excel "sep=;" first line is
// honoured. Cells are trimmed. The columns are named after Efipay's fields:
//
//	column                    required  Efipay field                                 content
//	ref_payment               yes       recauda_information.ref_payment              unique reference of the charge
//	id_number                 yes       recauda_information.id_number                customer's identification, digits
//	payer_name                yes       recauda_information.payer_name               5..191 characters
//	description               yes       recauda_information.description              4..191 characters
//	amount                    yes       recauda_information.amount                   decimal, '.' as decimal point, no thousands separators (e.g. 1250000.50)
//	currency_type             yes       recauda_information.currency_type            COP, USD or EUR
//	limit_date                no        advanced_options.limit_date                  YYYY-MM-DD, last day to pay
//	advance_type              no        recauda_information.advance.type             Valor Minimo or Porcentaje Minimo
//	advance_value             no        recauda_information.advance.value            decimal; required when advance_type is set
//	references                no        advanced_options.references                  up to 2 references separated by '|' (the bridge adds ref_payment as the 3rd)
//	picture                   no        advanced_options.picture                     image URL, at most 250 characters
//	has_comments              no        advanced_options.has_comments                true/false, 1/0, si/sí/no, yes (any case); empty is false
//	comments_label            no        advanced_options.comments_label              at most 100 characters
//	discount_type             no        advanced_options.discount.type               Porcentaje or Valor
//	discount_value            no        advanced_options.discount.value              decimal; required when a discount column is set
//	discount_before_on        no        advanced_options.discount.before_on          YYYY-MM-DD
//	delivery_type             no        advanced_options.delivery_service.type       Gratis or Con Valor
//	delivery_value            no        advanced_options.delivery_service.value      decimal; empty is 0
//	request_address_delivery  no        advanced_options.request_address_delivery    true/false, 1/0, si/sí/no, yes (any case); empty is not said
//	metadata                  no        recauda_information.metadata                 a JSON object, quoted as CSV requires: "{""plan"":""oro""}"
//
// Any other column is passed to Efipay in metadata, under its header name, as
// a string (empty cells are left out; a key of the metadata column wins). A
// column with an empty header name is ignored. In a semicolon file an amount
// may also use a decimal comma (1250000,50).
//
// # Broken records
//
// The file is rejected as a whole only when it cannot be read, is not JSON
// with a top-level "payments" array, or (CSV) has no header row, repeats a
// column or lacks a required one. At start-up that is an error from New; on a
// later change the last good content keeps being served, the reason is logged
// at error level, and Check fails until the file is fixed.
//
// A record whose field cannot be read (amount "abc", has_comments "maybe",
// metadata that is not a JSON object) is still returned, with the problem in
// erp.Charge.Defects (Efipay's field path and a message naming the item or
// line), so the bridge holds it back with a reason. Records that share a
// ref_payment all get a Defect, since Efipay keeps one recauda per
// ref_payment. A record is skipped, with a logged warning and counted, when
// it cannot be tied to a customer and a reference: no readable id_number or
// ref_payment, a JSON item that is not an object, a CSV row with a different
// number of fields than the header or broken quoting. Rows whose cells are
// all empty are ignored silently. Field rules (lengths, dates, currencies)
// are not checked here: that is validation's job.
//
// # Reloading
//
// The file's directory is watched (so rename-over saves and ConfigMap
// symlink swaps are seen); after 100 ms without further changes the file is
// read again and, if valid, replaces the served content at once. Lookups use
// an in-memory index by id_number and never wait for a reload.
//
// The content is kept as the file's bytes and, per id_number, where that
// customer's records are in them; a lookup parses those records then (a few
// microseconds for a CSV row, more for a JSON item). Memory so follows the
// file's size: a CSV of 180,000 charges (12 MB) takes about 18 MiB, and
// twice that while a reload is read. A load reads only id_number and
// ref_payment to index; the count of records with defects in its log line
// comes from parsing every record once more, after the new content is
// served.
//
// # Payments journal
//
// RecordPayment appends one JSON object per line (JSON Lines) to
// Config.JournalPath, default Config.Path + ".payments.jsonl", and fsyncs it
// before returning:
//
//	{"transaction_id":"txn-123","ref_payment":"FAC-1001","id_number":"1032456789","amount":"20000","currency_type":"COP","status":"paid","payment_method":"PSE","paid_at":"2026-03-02T10:15:00-05:00"}
//
// amount is an exact decimal string (trailing zeros dropped); status is
// "paid" or "partially_paid"; paid_at is RFC 3339. A transaction id is
// written once: the ids in the journal are loaded at New, and recording one
// again does nothing. Read the
// journal keyed by transaction_id all the same: after a failed fsync the
// retry may write the line a second time. A torn last line (crash during a
// write) is skipped with a warning and ended before the next append. The
// journal does not change the charges file: remove paid charges from the
// next export. One process at a time may use a journal.
//
// RecordReversal appends a line of its own when Efipay reverses a payment
// the journal holds, once per transaction id:
//
//	{"transaction_id":"txn-123","ref_payment":"FAC-1001","id_number":"1032456789","amount":"20000","currency_type":"COP","status":"reversed","payment_method":"PSE","reversed_at":"2026-03-03T09:00:00Z"}
//
// A transaction id then has two lines, told apart by status: key readers on
// (transaction_id, status == "reversed"). The charge is owed again: list it
// in the next export.
package file
