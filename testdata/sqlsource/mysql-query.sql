-- The lookup a merchant writes for the ERP in mysql-schema.sql (MySQL or
-- MariaDB). :id_number is bound by recauda-bridge as a parameter, never
-- concatenated. `references` is a reserved word, hence the backticks.
SELECT i.number                                             AS ref_payment,
       CONCAT('Factura ', i.number, ': ', i.concept)        AS description,
       i.balance                                            AS amount,
       i.currency                                           AS currency_type,
       c.name                                               AS payer_name,
       c.document                                           AS id_number,
       i.due_date                                           AS limit_date,
       CASE WHEN i.min_payment_pct IS NOT NULL
            THEN 'Porcentaje Minimo' END                    AS advance_type,
       i.min_payment_pct                                    AS advance_value,
       i.tags                                               AS `references`,
       i.allow_comments                                     AS has_comments,
       CASE WHEN i.allow_comments = 1 THEN 'Observaciones' END AS comments_label,
       i.extra                                              AS metadata,
       i.branch,                                            -- unknown: goes into metadata
       i.total                                              # unknown: goes into metadata
FROM invoices i
JOIN customers c ON c.id = i.customer_id
WHERE c.document = :id_number
  AND i.balance > 0
ORDER BY i.due_date IS NULL, i.due_date, i.number;
