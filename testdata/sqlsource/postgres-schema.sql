-- An ERP's receivables as a merchant might keep them in PostgreSQL:
-- customers identified by their document number, invoices with a total and
-- the balance still owed, and the payments applied to them. The tests load
-- this file into a schema of their own, then the seed rows below.

CREATE TABLE customers (
    id         serial PRIMARY KEY,
    document   varchar(20) NOT NULL UNIQUE, -- cédula / NIT, digits only
    name       text        NOT NULL,
    email      text
);

CREATE TABLE invoices (
    id              serial PRIMARY KEY,
    number          varchar(30)    NOT NULL UNIQUE,
    customer_id     integer        NOT NULL REFERENCES customers (id),
    concept         text           NOT NULL,
    total           numeric(20, 2) NOT NULL,
    balance         numeric(20, 2) NOT NULL,
    currency        char(3)        NOT NULL DEFAULT 'COP',
    due_date        date,
    min_payment_pct numeric(5, 2),           -- a minimum first payment, in percent
    allow_comments  boolean        NOT NULL DEFAULT false,
    tags            text[],                  -- the merchant's own references
    branch          text,                    -- not an Efipay field: goes to metadata
    extra           jsonb                    -- free-form data: becomes metadata
);

CREATE TABLE payments (
    id             serial PRIMARY KEY,
    transaction_id text           NOT NULL UNIQUE, -- Efipay's: makes the write-back idempotent
    invoice_id     integer        NOT NULL REFERENCES invoices (id),
    amount         numeric(20, 2) NOT NULL,
    paid_at        timestamptz    NOT NULL,
    status         text           NOT NULL,
    method         text
);

-- Invoices imported from the ERP before this one: every field is text, as
-- the old system exported it, and some of it is broken.
CREATE TABLE legacy_invoices (
    number      text PRIMARY KEY,
    document    text NOT NULL,
    payer       text,
    concept     text,
    amount_text text,
    due_text    text,
    comments    text
);

INSERT INTO customers (id, document, name, email) VALUES
    (1, '1020304050', 'María Fernanda Gómez', 'maria@example.com'),
    (2, '900123456',  'Ferretería El Tornillo SAS', NULL),
    (3, '52111222',   'Cliente Al Día', NULL);
SELECT setval('customers_id_seq', 3);

INSERT INTO invoices (number, customer_id, concept, total, balance, currency, due_date, min_payment_pct, allow_comments, tags, branch, extra) VALUES
    ('FV-1000', 1, 'Cuota de administración enero',   120000.00,         0.00, 'COP', '2030-01-31', NULL,  false, NULL, 'Bogotá', NULL),
    ('FV-1001', 1, 'Cuota de administración febrero', 1234567890123456.78, 150000.50, 'COP', '2030-12-31', NULL, false, '{obra-12,"lote 3"}', 'Bogotá', '{"seller": "ana", "zone": 4}'),
    ('FV-1002', 1, 'Servicio de mantenimiento',         99999999.99, 99999999.99, 'COP', NULL,         30.00, true,  NULL, NULL, NULL),
    ('FE-2001', 2, 'Tornillería importada',              5000.10,     4999.99, 'USD', '2030-06-15', NULL,  false, '{}', 'Medellín', NULL),
    ('FV-3001', 3, 'Pagada',                            10000.00,        0.00, 'COP', NULL,         NULL,  false, NULL, NULL, NULL);

INSERT INTO legacy_invoices (number, document, payer, concept, amount_text, due_text, comments) VALUES
    ('L-1', '1020304050', 'María Fernanda Gómez', 'Saldo migrado 2019', '12.345,67', '2024-02-30', 'quizás'),
    ('L-2', '1020304050', 'María Fernanda Gómez', 'Saldo migrado 2020', '45000.00',  '2030-03-01', 'si');
