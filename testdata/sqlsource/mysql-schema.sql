-- An ERP's receivables as a merchant might keep them in MySQL or MariaDB:
-- customers identified by their document number, invoices with a total and
-- the balance still owed, and the payments applied to them. The tests load
-- this file into a database of their own.

CREATE TABLE customers (
    id       INT AUTO_INCREMENT PRIMARY KEY,
    document VARCHAR(20)  NOT NULL UNIQUE, -- cédula / NIT, digits only
    name     VARCHAR(191) NOT NULL,
    email    VARCHAR(191)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE invoices (
    id              INT AUTO_INCREMENT PRIMARY KEY,
    number          VARCHAR(30)    NOT NULL UNIQUE,
    customer_id     INT            NOT NULL,
    concept         VARCHAR(191)   NOT NULL,
    total           DECIMAL(20, 2) NOT NULL,
    balance         DECIMAL(20, 2) NOT NULL,
    currency        CHAR(3)        NOT NULL DEFAULT 'COP',
    due_date        DATE,
    min_payment_pct DECIMAL(5, 2),          -- a minimum first payment, in percent
    allow_comments  TINYINT(1)     NOT NULL DEFAULT 0,
    tags            VARCHAR(191),           -- the merchant's own references, separated by |
    branch          VARCHAR(100),           -- not an Efipay field: goes to metadata
    extra           JSON,                   -- free-form data: becomes metadata
    FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE payments (
    id             INT AUTO_INCREMENT PRIMARY KEY,
    transaction_id VARCHAR(100)   NOT NULL UNIQUE, -- Efipay's: makes the write-back idempotent
    invoice_id     INT            NOT NULL,
    amount         DECIMAL(20, 2) NOT NULL,
    paid_at        DATETIME(6)    NOT NULL,
    status         VARCHAR(30)    NOT NULL,
    method         VARCHAR(50),
    applied        TINYINT(1)     NOT NULL DEFAULT 0, -- set once the balance was reduced
    FOREIGN KEY (invoice_id) REFERENCES invoices (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Invoices imported from the ERP before this one: every field is text, as
-- the old system exported it, and some of it is broken.
CREATE TABLE legacy_invoices (
    number      VARCHAR(30) PRIMARY KEY,
    document    VARCHAR(20) NOT NULL,
    payer       VARCHAR(191),
    concept     VARCHAR(191),
    amount_text VARCHAR(50),
    due_text    VARCHAR(50),
    comments    VARCHAR(50)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO customers (id, document, name, email) VALUES
    (1, '1020304050', 'María Fernanda Gómez', 'maria@example.com'),
    (2, '900123456',  'Ferretería El Tornillo SAS', NULL),
    (3, '52111222',   'Cliente Al Día', NULL);

INSERT INTO invoices (number, customer_id, concept, total, balance, currency, due_date, min_payment_pct, allow_comments, tags, branch, extra) VALUES
    ('FV-1000', 1, 'Cuota de administración enero',   120000.00,         0.00, 'COP', '2030-01-31', NULL,  0, NULL, 'Bogotá', NULL),
    ('FV-1001', 1, 'Cuota de administración febrero', 1234567890123456.78, 150000.50, 'COP', '2030-12-31', NULL, 0, 'obra-12|lote 3', 'Bogotá', '{"seller": "ana", "zone": 4}'),
    ('FV-1002', 1, 'Servicio de mantenimiento',         99999999.99, 99999999.99, 'COP', NULL,         30.00, 1,  NULL, NULL, NULL),
    ('FE-2001', 2, 'Tornillería importada',              5000.10,     4999.99, 'USD', '2030-06-15', NULL,  0, '', 'Medellín', NULL),
    ('FV-3001', 3, 'Pagada',                            10000.00,        0.00, 'COP', NULL,         NULL,  0, NULL, NULL, NULL);

INSERT INTO legacy_invoices (number, document, payer, concept, amount_text, due_text, comments) VALUES
    ('L-1', '1020304050', 'María Fernanda Gómez', 'Saldo migrado 2019', '12.345,67', '2024-02-30', 'quizás'),
    ('L-2', '1020304050', 'María Fernanda Gómez', 'Saldo migrado 2020', '45000.00',  '2030-03-01', 'si');
