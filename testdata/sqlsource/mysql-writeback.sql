-- Records a payment once per Efipay transaction, in two statements that
-- recauda-bridge runs in one transaction. The INSERT does nothing when the
-- transaction_id is already there (ON DUPLICATE KEY UPDATE with a no-op; an
-- INSERT IGNORE works too but also hides other errors), and the UPDATE only
-- applies a payment whose "applied" flag is still 0, so a second delivery of
-- the same transaction changes nothing.
-- CAST keeps the amount a DECIMAL: MySQL would do arithmetic on a string
-- parameter in floating point.
INSERT INTO payments (transaction_id, invoice_id, amount, paid_at, status, method)
SELECT :transaction_id, i.id, CAST(:amount AS DECIMAL(20, 2)), :paid_at, :status, :payment_method
FROM invoices i
JOIN customers c ON c.id = i.customer_id
WHERE i.number = :ref_payment
  AND c.document = :id_number
ON DUPLICATE KEY UPDATE transaction_id = transaction_id;

UPDATE invoices i
JOIN payments p ON p.invoice_id = i.id
SET i.balance = i.balance - p.amount,
    p.applied = 1
WHERE p.transaction_id = :transaction_id
  AND p.applied = 0;
