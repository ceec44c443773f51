-- The lookup a merchant writes for the ERP in sqlite-schema.sql. Money is
-- kept in cents: printf turns it into exact decimal text. There is no
-- id_number column: the asked ID number is used.
SELECT i.number AS ref_payment,
       'Factura ' || i.number || ': ' || i.concept AS description,
       printf('%d.%02d', i.balance_cents / 100, i.balance_cents % 100) AS amount,
       i.currency AS currency_type,
       c.name AS payer_name,
       i.due_date AS limit_date,
       CASE WHEN i.discount_pct IS NOT NULL THEN 'Porcentaje' END AS discount_type,
       i.discount_pct AS discount_value,
       i.discount_until AS discount_before_on,
       i.ask_address AS request_address_delivery,
       i.tags AS [references],
       'Gratis' AS delivery_type
FROM invoices i
JOIN customers c ON c.id = i.customer_id
WHERE c.document = :id_number AND i.balance_cents > 0
ORDER BY i.number
