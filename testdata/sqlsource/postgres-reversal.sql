-- Undoes a payment the write-back recorded, once per Efipay transaction: the
-- UPDATE marks it reversed only while it is not, so its RETURNING is empty
-- the second time (and for a payment never recorded), and the balance is
-- owed again only once.
WITH reversed AS (
    UPDATE payments
    SET status = 'reversed'
    WHERE transaction_id = :transaction_id
      AND status <> 'reversed'
    RETURNING invoice_id, amount
)
UPDATE invoices i
SET balance = i.balance + reversed.amount
FROM reversed
WHERE i.id = reversed.invoice_id;
