-- Undoes a payment the write-back recorded, once per Efipay transaction: only
-- a payment that was applied and is not reversed yet gives its amount back to
-- the balance, in the same statement that marks it reversed, so a second
-- delivery (or one of a payment never recorded) changes nothing.
UPDATE invoices i
JOIN payments p ON p.invoice_id = i.id
SET i.balance = i.balance + p.amount,
    p.status = 'reversed'
WHERE p.transaction_id = :transaction_id
  AND p.applied = 1
  AND p.status <> 'reversed';
