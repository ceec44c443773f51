-- An ERP's receivables in SQLite. SQLite has no exact decimal type (a
-- NUMERIC column turns 150000.50 into the float 150000.5), so money is kept
-- in integer cents and the query turns it into decimal text.

CREATE TABLE customers (
    id       INTEGER PRIMARY KEY,
    document TEXT NOT NULL UNIQUE, -- cédula / NIT, digits only
    name     TEXT NOT NULL
);

CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY,
    number         TEXT    NOT NULL UNIQUE,
    customer_id    INTEGER NOT NULL REFERENCES customers (id),
    concept        TEXT    NOT NULL,
    balance_cents  INTEGER NOT NULL,
    currency       TEXT    NOT NULL DEFAULT 'COP',
    due_date       DATE,              -- go-sqlite3 reads DATE columns as time.Time
    discount_pct   REAL,              -- a float column: read with strconv's shortest form
    discount_until TEXT,
    ask_address    TEXT,              -- 'si' / 'no', as the ERP writes it
    tags           TEXT               -- references, separated by |
);

CREATE TABLE payments (
    id             INTEGER PRIMARY KEY,
    transaction_id TEXT    NOT NULL UNIQUE, -- Efipay's: makes the write-back idempotent
    invoice_id     INTEGER NOT NULL REFERENCES invoices (id),
    amount_cents   INTEGER NOT NULL,
    paid_at        TEXT    NOT NULL,
    status         TEXT    NOT NULL
);

-- The ERP applies a payment to its invoice when the payment row is inserted;
-- a payment that is not inserted (a repeated transaction) changes nothing.
CREATE TRIGGER payments_apply AFTER INSERT ON payments
BEGIN
    UPDATE invoices SET balance_cents = balance_cents - NEW.amount_cents WHERE id = NEW.invoice_id;
END;

-- A payment marked reversed is owed again.
CREATE TRIGGER payments_reverse AFTER UPDATE OF status ON payments
WHEN NEW.status = 'reversed' AND OLD.status <> 'reversed'
BEGIN
    UPDATE invoices SET balance_cents = balance_cents + NEW.amount_cents WHERE id = NEW.invoice_id;
END;

INSERT INTO customers (id, document, name) VALUES
    (1, '1020304050', 'María Fernanda Gómez'),
    (2, '900123456',  'Ferretería El Tornillo SAS');

INSERT INTO invoices (number, customer_id, concept, balance_cents, currency, due_date, discount_pct, discount_until, ask_address, tags) VALUES
    ('FV-1001', 1, 'Cuota de administración febrero', 15000050, 'COP', '2030-12-31', 10.5, '2030-06-30', 'si', 'obra-12 | lote 3'),
    ('FV-1002', 1, 'Servicio de mantenimiento',       9999999999, 'COP', NULL, NULL, NULL, NULL, NULL),
    ('FV-1003', 1, 'Pagada',                          0, 'COP', NULL, NULL, NULL, 'no', NULL),
    ('FE-2001', 2, 'Tornillería importada',           499999, 'USD', '2030-06-15', NULL, NULL, 'no', NULL);
