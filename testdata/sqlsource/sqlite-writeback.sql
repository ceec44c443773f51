-- Records a payment once per Efipay transaction: a repeated transaction_id
-- inserts nothing (ON CONFLICT DO NOTHING), so the trigger that applies the
-- payment to the invoice fires only once.
INSERT INTO payments (transaction_id, invoice_id, amount_cents, paid_at, status)
SELECT :transaction_id, i.id, CAST(round(:amount * 100) AS INTEGER), :paid_at, :status
FROM invoices i
JOIN customers c ON c.id = i.customer_id
WHERE i.number = :ref_payment AND c.document = :id_number
ON CONFLICT (transaction_id) DO NOTHING;
