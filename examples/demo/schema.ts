// The demo's tables and dataset: companies with their users (user N, for N up to the number of companies,
// is the admin of company N; the rest are members) and what each role may do, products, a few hundred
// thousand orders, vendors whose analytics aggregate those orders, and zones/rate cards as reference data.
// All in schema `demo`.

import type { SeedSize } from './database.js'

export const SCHEMA = `
drop schema if exists demo cascade;
create schema demo;
create table demo.companies (id int primary key, name text not null);
create table demo.users (id int primary key, company_id int not null references demo.companies, email text not null unique, name text not null, role text not null);
create table demo.permissions (role text not null, permission text not null, primary key (role, permission));
create table demo.vendors (id int primary key, name text not null);
create table demo.products (id int primary key, company_id int not null, vendor_id int not null, name text not null, price_cents int not null, stock int not null, updated_at timestamptz not null default now());
create table demo.orders (id int primary key, company_id int not null, product_id int not null, vendor_id int not null, status text not null, quantity int not null, total_cents int not null, created_at timestamptz not null);
create table demo.zones (id int primary key, name text not null, country text not null);
create table demo.rate_cards (id int primary key, zone_id int not null, weight_kg int not null, price_cents int not null);
`

/** Inserts with generate_series: seconds for the default size, also on PGlite. */
export function SEED({ companies, products, orders }: SeedSize): string {
  return `
insert into demo.companies select g, 'Company ' || g from generate_series(1, ${companies}) g;
insert into demo.users select g, 1 + (g - 1) % ${companies}, 'user' || g || '@demo.test', 'User ' || g, case when g <= ${companies} then 'admin' else 'member' end from generate_series(1, ${companies * 3}) g;
insert into demo.permissions values ('member', 'products:read'), ('member', 'orders:read'), ('admin', 'products:read'), ('admin', 'orders:read'), ('admin', 'products:write'), ('admin', 'orders:write');
insert into demo.vendors select g, 'Vendor ' || g from generate_series(1, 250) g;
insert into demo.products select g, 1 + (g - 1) % ${companies}, 1 + (g - 1) % 250, 'Product ' || g, 100 + (g * 37) % 10000, (g * 13) % 500 from generate_series(1, ${products}) g;
insert into demo.orders select g, 1 + (g - 1) % ${companies}, 1 + (g::bigint * 7919) % ${products}, 1 + (g::bigint * 31) % 250,
  (array['pending','paid','shipped','delivered','cancelled'])[1 + (g / ${companies}) % 5], 1 + g % 5, 500 + (g::bigint * 31) % 50000,
  timestamptz '2026-11-30 00:00:00+00' - (g || ' minutes')::interval from generate_series(1, ${orders}) g;
insert into demo.zones select g, 'Zone ' || g, (array['DE','FR','ES','IT','NL','PL'])[1 + g % 6] from generate_series(1, 40) g;
insert into demo.rate_cards select g, 1 + (g - 1) % 40, 1 + (g - 1) / 40, 300 + g * 11 from generate_series(1, 40 * 30) g;
create sequence demo.order_ids start with ${orders + 1};
create index orders_company_created on demo.orders (company_id, created_at desc);
create index orders_company_status on demo.orders (company_id, status, created_at desc);
create index orders_vendor on demo.orders (vendor_id);
create index orders_product on demo.orders (product_id, created_at desc);
create index products_company on demo.products (company_id);
analyze;
`
}
