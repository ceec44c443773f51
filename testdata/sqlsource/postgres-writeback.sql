-- Records a payment once per Efipay transaction: the INSERT does nothing when
-- the transaction_id is already there (ON CONFLICT ... DO NOTHING), so its
-- RETURNING is empty and the UPDATE reduces the balance only the first time.
-- The casts tell PostgreSQL the parameters' types inside INSERT ... SELECT.
WITH recorded AS (
    INSERT INTO payments (transaction_id, invoice_id, amount, paid_at, status, method)
    SELECT :transaction_id, i.id, :amount::numeric, :paid_at::timestamptz, :status, :payment_method
    FROM invoices i
    JOIN customers c ON c.id = i.customer_id
    WHERE i.number = :ref_payment
      AND c.document = :id_number
    ON CONFLICT (transaction_id) DO NOTHING
    RETURNING invoice_id, amount
)
UPDATE invoices i
SET balance = i.balance - recorded.amount
FROM recorded
WHERE i.id = recorded.invoice_id;
