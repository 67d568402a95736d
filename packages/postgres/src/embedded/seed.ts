import type { Logger } from '@trellis/server';
import pg from 'pg';
import { readGrantsSql, revokeDeniedFunctionsSql, safeRoleSql } from '../role-check.js';

/** The role the plugin uses on the embedded database: USAGE and SELECT on `public`, nothing more. */
export const EMBEDDED_READER = 'trellis_reader';

/**
 * Creates (or brings up to date) the reader role of the embedded database, as
 * its superuser: the README's safe role, plus the catalog functions of the
 * deny-list revoked from PUBLIC. Runs at every start, so older data folders get it too.
 */
export async function provisionReader(base: pg.ClientConfig, password: string | undefined, log: Logger): Promise<void> {
  const admin = new pg.Client({ ...base, database: DEMO_DATABASE });
  await admin.connect();
  try {
    const options = { role: EMBEDDED_READER, database: DEMO_DATABASE, ...(password !== undefined && { password }) };
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [EMBEDDED_READER]);
    await admin.query(rowCount === 0 ? safeRoleSql(options) : readGrantsSql(options));
    await admin.query(revokeDeniedFunctionsSql());
    log.debug({ role: EMBEDDED_READER }, 'embedded PostgreSQL: read-only role ready');
  } finally {
    await admin.end();
  }
}

/** The demo schema a fresh embedded database starts with: a small shop. */
export const DEMO_DATABASE = 'trellis_demo';

export const DEMO_SEED_SQL = `
CREATE TABLE customers (
  id serial PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  country char(2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'People who buy things';

CREATE TABLE products (
  id serial PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  price numeric(10, 2) NOT NULL CHECK (price >= 0)
);

CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
  ordered_at date NOT NULL DEFAULT current_date
);
CREATE INDEX orders_customer_idx ON orders (customer_id);

CREATE TABLE order_items (
  order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id integer NOT NULL REFERENCES products (id),
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id)
);

INSERT INTO customers (name, email, country) VALUES
  ('Ada Lovelace', 'ada@example.com', 'GB'),
  ('Grace Hopper', 'grace@example.com', 'US'),
  ('Katherine Johnson', 'katherine@example.com', 'US'),
  ('Emmy Noether', 'emmy@example.com', 'DE');

INSERT INTO products (sku, name, price) VALUES
  ('TEA-01', 'Earl Grey, 100 g', 6.50),
  ('MUG-01', 'Enamel mug', 12.00),
  ('NB-A5', 'Notebook, A5 dotted', 9.90);

INSERT INTO orders (customer_id, status, ordered_at) VALUES
  (1, 'shipped', '2026-01-12'), (2, 'paid', '2026-02-03'), (2, 'new', '2026-03-21'), (4, 'cancelled', '2026-03-22');

INSERT INTO order_items (order_id, product_id, quantity) VALUES
  (1, 1, 2), (1, 2, 1), (2, 3, 3), (3, 1, 1), (4, 2, 2);

CREATE VIEW order_totals AS
  SELECT o.id AS order_id, c.name AS customer, o.status, sum(p.price * i.quantity) AS total
    FROM orders o JOIN customers c ON c.id = o.customer_id
    JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
   GROUP BY o.id, c.name, o.status;

ANALYZE;
`;

/** Creates the demo database and its schema when the database does not exist yet. */
export async function seedDemo(base: pg.ClientConfig, log: Logger): Promise<void> {
  const admin = new pg.Client({ ...base, database: 'postgres' });
  await admin.connect();
  let created = false;
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEMO_DATABASE]);
    if (rowCount === 0) {
      await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
      created = true;
    }
  } finally {
    await admin.end();
  }
  if (!created) return;
  const demo = new pg.Client({ ...base, database: DEMO_DATABASE });
  await demo.connect();
  try {
    await demo.query(`BEGIN; ${DEMO_SEED_SQL}; COMMIT;`);
    log.info({ database: DEMO_DATABASE }, 'seeded the demo schema');
  } finally {
    await demo.end();
  }
}
