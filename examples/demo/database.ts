// The demo's SQL database: embedded PGlite (PostgreSQL compiled to WASM, no server) by default, a real
// PostgreSQL server through `pg` when DATABASE_URL is set. Every query is counted, for the benchmark.

import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { SCHEMA, SEED } from './schema.js'

/** What the routes need of a database: parameterized queries, and counts of what was sent. */
export interface Database {
  /** `pglite (embedded)` or `postgres://host:port/db` without credentials. */
  readonly describe: string
  /** Queries sent since start (or the last `resetCount`). */
  readonly queries: number
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  resetCount(): void
  close(): Promise<void>
}

/** Sizes of the seeded dataset; the defaults are the demo's, tests shrink them. */
export interface SeedSize {
  companies: number
  products: number
  orders: number
}

export const DEFAULT_SIZE: SeedSize = { companies: 100, products: 10_000, orders: 300_000 }

/** Opens (and seeds, when empty) the database DATABASE_URL names, or an embedded one. */
export async function openDatabase(url = process.env.DATABASE_URL, size = DEFAULT_SIZE): Promise<Database> {
  const db = url ? await postgres(url) : await embedded()
  const [{ count } = { count: '0' }] = await db.query<{ count: string }>(
    `select count(*)::text as count from information_schema.tables where table_schema = 'demo' and table_name = 'orders'`,
  )
  const seeded =
    count !== '0' &&
    (await db.query<{ n: string }>('select count(*)::text as n from demo.orders'))[0]!.n ===
      String(size.orders)
  if (!seeded) {
    await db.exec(SCHEMA)
    await db.exec(SEED(size))
  }
  db.resetCount()
  return db
}

interface Connected extends Database {
  exec(sql: string): Promise<void>
}

async function embedded(): Promise<Connected> {
  const lite = new PGlite()
  await lite.waitReady
  let count = 0
  return {
    describe: 'pglite (embedded)',
    get queries() {
      return count
    },
    async query<T>(sql: string, params?: unknown[]) {
      count++
      return (await lite.query<T>(sql, params)).rows
    },
    async exec(sql: string) {
      await lite.exec(sql)
    },
    resetCount() {
      count = 0
    },
    close: () => lite.close(),
  }
}

async function postgres(url: string): Promise<Connected> {
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  await pool.query('select 1')
  const parsed = new URL(url)
  let count = 0
  return {
    describe: `postgres://${parsed.host}${parsed.pathname}`,
    get queries() {
      return count
    },
    async query<T>(sql: string, params?: unknown[]) {
      count++
      return (await pool.query(sql, params)).rows as T[]
    },
    async exec(sql: string) {
      await pool.query(sql)
    },
    resetCount() {
      count = 0
    },
    close: () => pool.end(),
  }
}
