-- Undoes a payment the write-back recorded, once per Efipay transaction: the
-- trigger payments_reverse gives the amount back to the invoice when the
-- status becomes 'reversed', and a payment already reversed is not updated.
UPDATE payments SET status = 'reversed'
WHERE transaction_id = :transaction_id AND status <> 'reversed';
