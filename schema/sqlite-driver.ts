/**
 * The embedded store's row driver: one durable SQLite file in WAL mode. Tables are built from the
 * CQL definitions; conditional writes are compare-and-set inside an IMMEDIATE transaction, so they
 * are atomic across every process that opens the same file. TTL is an expiry column filtered on
 * every read and purged in the background; explicit write times (Cassandra USING TIMESTAMP) are
 * kept per cell in a hidden column and compared on write.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConflictError, UnavailableError, ValidationError } from '../errors/registry.js';
import type { ColumnType, DdlStatement, TableDef } from './cql-ddl.js';
import { checkRow, checkTimestamp, checkTtl, columnOf, keyOf, samePartition } from './row-codec.js';
import type { CasInsertAllResult, CasResult, Condition, Page, ReadOptions, Row, SelectOptions, TableDriver, Value, WriteOptions } from './table-driver.js';

const SQL_TYPE: Record<ColumnType, string> = {
  text: 'TEXT', int: 'INTEGER', bigint: 'INTEGER', boolean: 'INTEGER', timestamp: 'INTEGER', double: 'REAL',
};
const EXPIRES = '_expires_at';
/**
 * Write times of cells written with an explicit timestamp (WriteOptions.timestamp), as JSON
 * {column: microseconds}; null until the row's first such write. Any later write of such a cell
 * records its own time ("now"), as Cassandra's last-write-wins does.
 */
const WRITTEN = '_written';
const PURGE_EVERY_MS = 60_000;

function q(name: string): string { return `"${name}"`; }

export class SqliteDriver implements TableDriver {
  readonly kind = 'embedded' as const;
  private readonly db: Database.Database;
  private readonly tables = new Map<string, TableDef>();
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly purgeTimer: NodeJS.Timeout;
  /** Clock used for TTL; tests may move it forward. */
  now: () => number = () => Date.now();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path, { timeout: 10_000 });
    } catch (e) {
      throw new UnavailableError(`cannot open the embedded store at ${path}: ${(e as Error).message}`);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.purgeTimer = setInterval(() => this.purgeExpired(), PURGE_EVERY_MS);
    this.purgeTimer.unref();
  }

  private def(table: string): TableDef {
    const d = this.tables.get(table);
    if (!d) throw new ValidationError(`unknown table '${table}'`);
    return d;
  }

  private prep(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) { s = this.db.prepare(sql); this.stmts.set(sql, s); }
    return s;
  }

  define(table: TableDef): void {
    this.tables.set(table.name, table);
    // A file created before write times were kept gets the hidden column on first open.
    const cols = (this.db.prepare(`PRAGMA table_info(${q(table.name)})`).all() as { name: string }[]).map((r) => r.name);
    if (cols.length > 0 && !cols.includes(WRITTEN)) this.db.exec(`ALTER TABLE ${q(table.name)} ADD COLUMN ${WRITTEN} TEXT`);
  }

  private nowMicros(): number { return this.now() * 1000; }

  async applyDdl(stmt: DdlStatement): Promise<void> {
    if (stmt.kind === 'createTable') {
      const t = stmt.table;
      const cols = t.columns.map((c) => `${q(c.name)} ${SQL_TYPE[c.type]}`);
      cols.push(`${EXPIRES} INTEGER`, `${WRITTEN} TEXT`);
      const pk = keyOf(t).map(q).join(', ');
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${q(t.name)} (${cols.join(', ')}, PRIMARY KEY (${pk})) WITHOUT ROWID`);
      this.define(t);
    } else {
      const t = this.def(stmt.table);
      const existing = (this.db.prepare(`PRAGMA table_info(${q(t.name)})`).all() as { name: string }[]).map((r) => r.name);
      if (!existing.includes(stmt.column.name)) {
        this.db.exec(`ALTER TABLE ${q(t.name)} ADD COLUMN ${q(stmt.column.name)} ${SQL_TYPE[stmt.column.type]}`);
      }
      if (!t.columns.some((c) => c.name === stmt.column.name)) t.columns.push(stmt.column);
    }
  }

  /** Run fn inside BEGIN IMMEDIATE: the write lock is taken first, so check-then-write is atomic. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private expiry(def: TableDef, opts?: WriteOptions): number | null {
    checkTtl(opts?.ttlSeconds);
    const ttl = opts?.ttlSeconds ?? def.defaultTtl;
    return ttl > 0 ? this.now() + ttl * 1000 : null;
  }

  private encode(def: TableDef, col: string, v: Value): unknown {
    if (v === null) return null;
    if (columnOf(def, col).type === 'boolean') return v ? 1 : 0;
    return v;
  }

  private decode(def: TableDef, raw: Record<string, unknown>): Row {
    const out: Row = {};
    for (const c of def.columns) {
      const v = raw[c.name];
      if (v === null || v === undefined) out[c.name] = null;
      else if (c.type === 'boolean') out[c.name] = v === 1;
      else out[c.name] = v as Value;
    }
    return out;
  }

  /** Write the row's given columns; a cell that already has a write time gets "now" as its new one. */
  private upsert(def: TableDef, row: Row, opts?: WriteOptions): void {
    checkRow(def, row);
    const cols = Object.keys(row);
    const key = keyOf(def);
    const nonKey = cols.filter((c) => !key.includes(c));
    const all = [...cols, EXPIRES];
    const times = nonKey.map((c) => `'$.${c}', ?`).join(', ');
    const updates = [...nonKey, EXPIRES].map((c) => `${q(c)} = excluded.${q(c)}`)
      .concat(nonKey.length > 0 ? [`${WRITTEN} = json_set(${q(def.name)}.${WRITTEN}, ${times})`] : []).join(', ');
    const sql = `INSERT INTO ${q(def.name)} (${all.map(q).join(', ')}) VALUES (${all.map(() => '?').join(', ')})`
      + ` ON CONFLICT (${key.map(q).join(', ')}) DO UPDATE SET ${updates}`;
    const now = this.nowMicros();
    this.prep(sql).run(...cols.map((c) => this.encode(def, c, row[c])), this.expiry(def, opts), ...nonKey.map(() => now));
  }

  /**
   * A write with its own time: only cells whose recorded time is older take it, and only on a row
   * that exists (Cassandra's tombstone keeps a deleted row deleted; here the row is simply gone).
   */
  private timedWrite(def: TableDef, row: Row, ts: number, opts?: WriteOptions): void {
    checkRow(def, row);
    const key = keyOf(def);
    const raw = this.prep(`SELECT ${WRITTEN} AS w FROM ${q(def.name)} WHERE ${this.keyWhere(def, key)} AND ${this.live()}`)
      .get(...key.map((c) => this.encode(def, c, row[c])), this.now()) as { w: string | null } | undefined;
    if (!raw) return;
    const written = raw.w ? (JSON.parse(raw.w) as Record<string, number>) : {};
    const cols = Object.keys(row).filter((c) => !key.includes(c) && (written[c] ?? 0) < ts);
    if (cols.length === 0) return;
    for (const c of cols) written[c] = ts;
    const sets = [...cols.map((c) => `${q(c)} = ?`), `${WRITTEN} = ?`, `${EXPIRES} = ?`].join(', ');
    this.prep(`UPDATE ${q(def.name)} SET ${sets} WHERE ${this.keyWhere(def, key)}`)
      .run(...cols.map((c) => this.encode(def, c, row[c])), JSON.stringify(written), this.expiry(def, opts), ...key.map((c) => this.encode(def, c, row[c])));
  }

  private write(def: TableDef, row: Row, opts?: WriteOptions): void {
    checkTimestamp(opts?.timestamp);
    if (opts?.timestamp !== undefined) this.timedWrite(def, row, opts.timestamp, opts);
    else this.upsert(def, row, opts);
  }

  async put(table: string, row: Row, opts?: WriteOptions): Promise<void> {
    const def = this.def(table);
    if (opts?.timestamp !== undefined) this.transaction(() => this.write(def, row, opts));
    else this.write(def, row, opts);
  }

  async putAll(writes: { table: string; row: Row; opts?: WriteOptions }[]): Promise<void> {
    for (const w of writes) { checkRow(this.def(w.table), w.row); checkTimestamp(w.opts?.timestamp); }
    this.transaction(() => { for (const w of writes) this.write(this.def(w.table), w.row, w.opts); });
  }

  async casInsertAll(table: string, rows: Row[], opts?: WriteOptions): Promise<CasInsertAllResult> {
    const def = this.def(table);
    if (rows.length === 0) return { applied: true, existing: [] };
    if (opts?.timestamp !== undefined) throw new ValidationError('a conditional write cannot carry its own timestamp');
    samePartition(def, rows);
    checkTtl(opts?.ttlSeconds);
    const key = keyOf(def);
    try {
      return this.transaction(() => {
        const existing = rows.map((r) => this.getRow(def, Object.fromEntries(key.map((k) => [k, r[k]!])))).filter((r): r is Row => r !== null);
        if (existing.length > 0) return { applied: false, existing };
        for (const r of rows) { this.deleteRow(def, r); this.upsert(def, r, opts); }
        return { applied: true, existing: [] };
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new ConflictError(`${table}: store busy, conditional write not applied`);
      throw e;
    }
  }

  private keyWhere(def: TableDef, cols: string[]): string {
    return cols.map((c) => `${q(c)} = ?`).join(' AND ');
  }

  private live(): string { return `(${EXPIRES} IS NULL OR ${EXPIRES} > ?)`; }

  private getRow(def: TableDef, key: Row): Row | null {
    const cols = keyOf(def);
    checkRow(def, key, cols);
    const sql = `SELECT * FROM ${q(def.name)} WHERE ${this.keyWhere(def, cols)} AND ${this.live()}`;
    const raw = this.prep(sql).get(...cols.map((c) => this.encode(def, c, key[c])), this.now()) as Record<string, unknown> | undefined;
    return raw ? this.decode(def, raw) : null;
  }

  async get(table: string, key: Row, _opts?: ReadOptions): Promise<Row | null> {
    return this.getRow(this.def(table), key);
  }

  async cas(table: string, row: Row, cond: Condition, opts?: WriteOptions & { remove?: boolean }): Promise<CasResult> {
    const def = this.def(table);
    if (opts?.timestamp !== undefined) throw new ValidationError('a conditional write cannot carry its own timestamp');
    checkRow(def, row);
    const key: Row = {};
    for (const k of keyOf(def)) key[k] = row[k];
    if ('if' in cond) for (const [k, v] of Object.entries(cond.if)) checkRow(def, { [k]: v }, []);
    try {
      return this.transaction(() => {
        const current = this.getRow(def, key);
        let ok: boolean;
        if ('ifNotExists' in cond) ok = current === null;
        else if ('ifExists' in cond) ok = current !== null;
        // As Cassandra does: a missing row has every column null, so `IF c = null` holds for it.
        else ok = Object.entries(cond.if).every(([k, v]) => (current?.[k] ?? null) === v);
        if (!ok) return { applied: false };
        if (opts?.remove) this.deleteRow(def, key);
        else {
          if ('ifNotExists' in cond) this.deleteRow(def, key); // an expired row must not leak old cells
          this.upsert(def, row, opts);
        }
        return { applied: true };
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new ConflictError(`${table}: store busy, conditional write not applied`);
      throw e;
    }
  }

  private deleteRow(def: TableDef, key: Row): void {
    const cols = keyOf(def);
    this.prep(`DELETE FROM ${q(def.name)} WHERE ${this.keyWhere(def, cols)}`).run(...cols.map((c) => this.encode(def, c, key[c])));
  }

  async remove(table: string, key: Row): Promise<void> {
    const def = this.def(table);
    checkRow(def, key, keyOf(def));
    this.deleteRow(def, key);
  }

  /** Keyset paging: the page state is the last row's key, so a page never re-reads from the start. */
  private page(def: TableDef, where: string[], params: unknown[], orderCols: string[], limit: number, pageState: string | null | undefined): Page<Row> {
    if (!Number.isInteger(limit) || limit <= 0 || limit > 10_000) throw new ValidationError('page size must be 1..10000');
    const dir = (c: string): 'ASC' | 'DESC' => def.clusteringOrder[c] ?? 'ASC';
    const w = [...where];
    const p = [...params];
    if (pageState) {
      let last: Value[];
      try {
        last = JSON.parse(Buffer.from(pageState, 'base64url').toString('utf8')) as Value[];
        if (!Array.isArray(last) || last.length !== orderCols.length) throw new Error('shape');
      } catch {
        throw new ValidationError('invalid page state');
      }
      const ors: string[] = [];
      for (let i = 0; i < orderCols.length; i++) {
        const eq = orderCols.slice(0, i).map((c) => `${q(c)} = ?`);
        const cmp = `${q(orderCols[i])} ${dir(orderCols[i]) === 'DESC' ? '<' : '>'} ?`;
        ors.push(`(${[...eq, cmp].join(' AND ')})`);
        for (let j = 0; j < i; j++) p.push(last[j]);
        p.push(last[i]);
      }
      w.push(`(${ors.join(' OR ')})`);
    }
    w.push(this.live());
    p.push(this.now());
    const order = orderCols.map((c) => `${q(c)} ${dir(c)}`).join(', ');
    const sql = `SELECT * FROM ${q(def.name)} WHERE ${w.join(' AND ')}${order ? ` ORDER BY ${order}` : ''} LIMIT ${limit + 1}`;
    const raws = this.prep(sql).all(...p) as Record<string, unknown>[];
    const more = raws.length > limit;
    const rows = raws.slice(0, limit).map((r) => this.decode(def, r));
    const lastRow = rows[rows.length - 1];
    const next = more && lastRow
      ? Buffer.from(JSON.stringify(orderCols.map((c) => lastRow[c])), 'utf8').toString('base64url')
      : null;
    return { rows, pageState: next };
  }

  async select(table: string, partition: Row, opts: SelectOptions = {}): Promise<Page<Row>> {
    const def = this.def(table);
    checkRow(def, partition, def.partitionKey);
    const where = def.partitionKey.map((c) => `${q(c)} = ?`);
    const params: unknown[] = def.partitionKey.map((c) => this.encode(def, c, partition[c]));
    if (opts.range) {
      const first = def.clusteringKey[0];
      if (!first) throw new ValidationError(`${table} has no clustering column to range over`);
      if (opts.range.gte !== undefined) { checkRow(def, { [first]: opts.range.gte }, []); where.push(`${q(first)} >= ?`); params.push(opts.range.gte); }
      if (opts.range.lt !== undefined) { checkRow(def, { [first]: opts.range.lt }, []); where.push(`${q(first)} < ?`); params.push(opts.range.lt); }
    }
    return this.page(def, where, params, def.clusteringKey, opts.limit ?? 1000, opts.pageState);
  }

  async scan(table: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Row>> {
    const def = this.def(table);
    return this.page(def, [], [], keyOf(def), opts.limit ?? 1000, opts.pageState);
  }

  purgeExpired(): number {
    let n = 0;
    for (const t of this.tables.values()) {
      n += this.db.prepare(`DELETE FROM ${q(t.name)} WHERE ${EXPIRES} IS NOT NULL AND ${EXPIRES} <= ?`).run(this.now()).changes;
    }
    return n;
  }

  /** Raw SQL, for tests that check what reached storage. */
  raw(sql: string, ...params: unknown[]): Record<string, unknown>[] {
    return this.db.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    clearInterval(this.purgeTimer);
    if (this.db.open) this.db.close();
  }
}
