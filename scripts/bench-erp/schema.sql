-- The ERP of the benchmark: testdata/sqlsource/postgres-schema.sql (the ERP the
-- worked example testdata/erp-config/sql-postgres.yaml reads) at a merchant's
-- size: 100,000 customers and 1,000,000 invoices, about one in five with a
-- balance still owed. Deterministic (setseed), in a schema of its own,
-- erp_bench, dropped and made again on each run of this file.
--
--   psql "$RECAUDA_TEST_POSTGRES_DSN" -v ON_ERROR_STOP=1 -f scripts/bench-erp/schema.sql
--
-- (go run ./scripts/bench-erp runs it itself when the schema is missing.)

DROP SCHEMA IF EXISTS erp_bench CASCADE;
CREATE SCHEMA erp_bench;
SET search_path = erp_bench;

CREATE TABLE customers (
    id         serial PRIMARY KEY,
    document   varchar(20) NOT NULL UNIQUE, -- cédula / NIT, digits only
    name       text        NOT NULL,
    email      text
);

CREATE TABLE invoices (
    id              serial PRIMARY KEY,
    number          varchar(30)    NOT NULL,
    customer_id     integer        NOT NULL,
    concept         text           NOT NULL,
    total           numeric(20, 2) NOT NULL,
    balance         numeric(20, 2) NOT NULL,
    currency        char(3)        NOT NULL DEFAULT 'COP',
    due_date        date,
    min_payment_pct numeric(5, 2),
    allow_comments  boolean        NOT NULL DEFAULT false,
    tags            text[],
    branch          text,
    extra           jsonb
);

CREATE TABLE payments (
    id             serial PRIMARY KEY,
    transaction_id text           NOT NULL UNIQUE,
    invoice_id     integer        NOT NULL,
    amount         numeric(20, 2) NOT NULL,
    paid_at        timestamptz    NOT NULL,
    status         text           NOT NULL,
    method         text
);

SELECT setseed(0.4242);

-- Documents are 8 or 9 digits, unique, not in the order of id.
INSERT INTO customers (id, document, name, email)
SELECT g,
       (10000000 + (g::bigint * 7919) % 1999990000)::text,
       (ARRAY['María Fernanda', 'Carlos Andrés', 'Luz Marina', 'Juan Sebastián', 'Ana Lucía',
              'Jorge Enrique', 'Paula Andrea', 'Luis Fernando'])[1 + g % 8]
         || ' ' ||
       (ARRAY['Gómez Rojas', 'Rodríguez Pérez', 'Castaño Ospina', 'Restrepo Londoño',
              'Martínez Díaz', 'Vargas Suárez', 'Moreno Castro', 'Herrera Ríos'])[1 + (g / 8) % 8],
       CASE WHEN g % 3 = 0 THEN 'cliente' || g || '@example.co' END
FROM generate_series(1, 100000) AS g;
SELECT setval('customers_id_seq', 100000);

-- Invoices land on customers at random (10 each on average, like a real
-- ledger, not in customer order), 20 % still owe something: the whole total
-- or what is left after a partial payment, due in the next 12 months.
INSERT INTO invoices (id, number, customer_id, concept, total, balance, currency, due_date,
                      min_payment_pct, allow_comments, tags, branch, extra)
SELECT g,
       'FV-' || g,
       1 + floor(random() * 100000)::int,
       (ARRAY['Cuota de administración', 'Servicio de mantenimiento', 'Matrícula semestral',
              'Suscripción anual', 'Mercancía a crédito'])[1 + g % 5] || ' ' || (g % 12 + 1) || '/2026',
       total,
       CASE WHEN open THEN CASE WHEN g % 4 = 0 THEN round(total / 2, 2) ELSE total END ELSE 0 END,
       'COP',
       CASE WHEN open THEN current_date + 1 + floor(random() * 365)::int
            ELSE current_date - 1 - floor(random() * 365)::int END,
       CASE WHEN g % 10 = 0 THEN 30.00 END,
       g % 7 = 0,
       CASE WHEN g % 5 = 0 THEN ARRAY['obra-' || (g % 50), 'lote ' || (g % 9)] END,
       (ARRAY['Bogotá', 'Medellín', 'Cali', 'Barranquilla'])[1 + g % 4],
       CASE WHEN g % 6 = 0 THEN jsonb_build_object('seller', 'vendedor-' || (g % 20), 'zone', g % 9) END
FROM (
    SELECT g, random() < 0.2 AS open, round((10000 + random() * 2000000)::numeric, 2) AS total
    FROM generate_series(1, 1000000) AS g
) AS s;
SELECT setval('invoices_id_seq', 1000000);

-- The indexes a merchant has: keys, the foreign key, the invoice number.
ALTER TABLE invoices ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE invoices ADD CONSTRAINT invoices_number_key UNIQUE (number);
CREATE INDEX invoices_customer_id ON invoices (customer_id);
ALTER TABLE payments ADD FOREIGN KEY (invoice_id) REFERENCES invoices (id);

ANALYZE customers;
ANALYZE invoices;
