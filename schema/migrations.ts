/**
 * The migration runner: applies the numbered CQL files in schema/cql once each, records them in
 * schema_migrations, and serialises concurrent runners with a lease row (a lightweight transaction
 * with a TTL), so any number of processes may call it at start-up.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, UnavailableError } from '../errors/registry.js';
import { parseDdl, type DdlStatement, type TableDef } from './cql-ddl.js';
import { BOOTSTRAP_CQL, type TableDriver } from './table-driver.js';

export interface Migration { version: number; name: string; checksum: string; statements: DdlStatement[] }
export interface MigrationReport { applied: number[]; alreadyApplied: number[] }

const CQL_DIR = fileURLToPath(new URL('../../schema/cql/', import.meta.url));
const LOCK_TTL_S = 120;

export function loadMigrations(dir = CQL_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.cql$/.test(f)).sort();
  const out = files.map((f) => {
    const text = readFileSync(dir + f, 'utf8');
    return {
      version: Number(f.slice(0, 4)),
      name: f.replace(/\.cql$/, ''),
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: parseDdl(text),
    };
  });
  out.forEach((m, i) => { if (m.version !== i + 1) throw new ConfigError(`migration numbers must run 1, 2, 3...: ${m.name}`); });
  return out;
}

async function appliedVersions(driver: TableDriver): Promise<Map<number, string>> {
  const seen = new Map<number, string>();
  let pageState: string | null = null;
  do {
    const page = await driver.scan('schema_migrations', { limit: 1000, pageState });
    for (const r of page.rows) seen.set(r.version as number, r.checksum as string);
    pageState = page.pageState;
  } while (pageState);
  return seen;
}

/** Tell the driver every table's final shape (creations, then the columns later migrations add). */
function defineAll(driver: TableDriver, migrations: Migration[]): void {
  const tables = new Map<string, TableDef>();
  for (const m of migrations) {
    for (const s of m.statements) {
      if (s.kind === 'createTable') tables.set(s.table.name, structuredClone(s.table));
      else tables.get(s.table)?.columns.push(s.column);
    }
  }
  for (const t of tables.values()) driver.define(t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function migrate(driver: TableDriver, opts: { migrations?: Migration[]; waitMs?: number } = {}): Promise<MigrationReport> {
  const migrations = opts.migrations ?? loadMigrations();
  for (const s of parseDdl(BOOTSTRAP_CQL)) await driver.applyDdl(s);
  const check = (applied: Map<number, string>) => {
    for (const m of migrations) {
      const sum = applied.get(m.version);
      if (sum && sum !== m.checksum) throw new ConfigError(`migration ${m.name} was changed after it was applied`);
    }
  };
  let applied = await appliedVersions(driver);
  check(applied);
  if (migrations.every((m) => applied.has(m.version))) {
    defineAll(driver, migrations);
    return { applied: [], alreadyApplied: migrations.map((m) => m.version) };
  }
  const holder = randomUUID();
  const deadline = Date.now() + (opts.waitMs ?? 120_000);
  for (;;) {
    const { applied: got } = await driver.cas('schema_lock', { id: 'migrate', holder, acquired: Date.now() }, { ifNotExists: true }, { ttlSeconds: LOCK_TTL_S });
    if (got) break;
    applied = await appliedVersions(driver);
    if (migrations.every((m) => applied.has(m.version))) {
      check(applied);
      defineAll(driver, migrations);
      return { applied: [], alreadyApplied: migrations.map((m) => m.version) };
    }
    if (Date.now() > deadline) throw new UnavailableError('another process holds the migration lock for too long');
    await sleep(150 + Math.random() * 150);
  }
  try {
    applied = await appliedVersions(driver);
    check(applied);
    const done: number[] = [];
    defineAll(driver, migrations.filter((m) => applied.has(m.version)));
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      for (const s of m.statements) await driver.applyDdl(s);
      await driver.put('schema_migrations', { version: m.version, name: m.name, checksum: m.checksum, applied_at: Date.now() });
      done.push(m.version);
    }
    defineAll(driver, migrations);
    return { applied: done, alreadyApplied: migrations.filter((m) => !done.includes(m.version)).map((m) => m.version) };
  } finally {
    await driver.cas('schema_lock', { id: 'migrate' }, { if: { holder } }, { remove: true }).catch(() => undefined);
  }
}
