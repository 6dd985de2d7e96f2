/**
 * The Cassandra store's row driver: cassandra-driver with prepared statements, LOCAL_QUORUM by
 * default, lightweight transactions only through cas(), which is never marked idempotent and never
 * retried: a CAS write timeout surfaces as UnknownOutcomeError so the caller re-reads.
 */
import cassandra from 'cassandra-driver';
import { SkybusRetryPolicy } from './cassandra-retry.js';
import { UnavailableError, UnknownOutcomeError, ValidationError, isSkybusError } from '../errors/registry.js';
import type { DdlStatement, TableDef } from './cql-ddl.js';
import { checkRow, checkTimestamp, checkTtl, keyOf, samePartition } from './row-codec.js';
import type { CasInsertAllResult, CasResult, Condition, Page, ReadOptions, Row, SelectOptions, TableDriver, Value, WriteOptions } from './table-driver.js';

export interface CassandraOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** e.g. {class: 'SimpleStrategy', replication_factor: 1} or {class: 'NetworkTopologyStrategy', dc1: 3} */
  replication: Record<string, string | number>;
  consistency: 'ONE' | 'LOCAL_ONE' | 'QUORUM' | 'LOCAL_QUORUM' | 'ALL';
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
}

const { types } = cassandra;
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Seconds a client is told to wait before retrying a request the ring could not take. */
const RETRY_AFTER_S = 2;

/**
 * A driver error as a Skybus error. Client messages never name tables or nodes (`what` goes to the
 * logs through details.storeOperation); an unavailable ring is a 503 with Retry-After.
 */
export function translate(e: unknown, what: string, operatorFacing = false): Error {
  if (isSkybusError(e)) return e;
  if (operatorFacing) {
    // Start-up (connect, schema): the operator reads this, and needs the addresses and the cause.
    const t = translate(e, what);
    if (isSkybusError(t)) t.message = `${what}: ${t.message} (${(e as { message?: string }).message?.slice(0, 300) ?? ''})`;
    return t;
  }
  const err = e as { name?: string; code?: number; writeType?: string; message?: string; innerErrors?: unknown };
  const details = { retryAfterSeconds: RETRY_AFTER_S, storeOperation: what, cause: err.message?.slice(0, 300) };
  if (err.name === 'ResponseError' && (err.code === types.responseErrorCodes.writeTimeout || err.code === types.responseErrorCodes.readTimeout)) {
    if (err.writeType === 'CAS' || err.writeType === 'cas') return new UnknownOutcomeError('the database did not confirm this change in time, so whether it happened is unknown: read the resource before trying again', details);
    return new UnavailableError('the database did not answer in time (too few replicas responded); try again shortly', details);
  }
  if (err.name === 'ResponseError' && (err.code === types.responseErrorCodes.unavailableException)) {
    return new UnavailableError('the database cannot take requests now: too few replicas are reachable; try again shortly', details);
  }
  // A coordinator too busy, still starting, or failing replicas: the ring cannot take it now.
  if (err.name === 'ResponseError' && [types.responseErrorCodes.overloaded, types.responseErrorCodes.isBootstrapping, types.responseErrorCodes.writeFailure, types.responseErrorCodes.readFailure, types.responseErrorCodes.serverError].includes(err.code as number)) {
    return new UnavailableError('the database cannot take this request now; try again shortly', details);
  }
  if (err.name === 'NoHostAvailableError' || err.name === 'OperationTimedOutError' || err.name === 'BusyConnectionError') {
    return new UnavailableError('the database is unreachable; try again shortly', details);
  }
  if (err.name === 'ResponseError' && err.code === types.responseErrorCodes.invalid) {
    // Skybus builds every statement itself and checks client values before (row-codec), so an
    // invalid request is never the client's fault: never a 400. A coordinator that does not know
    // the keyspace or table yet (schema still spreading) can take it again shortly: 503. Anything
    // else is a Skybus fault: a 500 whose cause goes to the log. The server's text names tables and
    // columns: it is not for clients.
    if (SCHEMA_NOT_KNOWN.test(err.message ?? '')) return new UnavailableError('the database cannot take this request now; try again shortly', details);
    return new StoreFault(`${what}: Cassandra refused the statement as invalid: ${err.message?.slice(0, 300) ?? ''}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Cassandra's words for a keyspace, table or column its coordinator does not know (yet). */
const SCHEMA_NOT_KNOWN = /unconfigured table|does not exist|unknown (keyspace|table|column)|undefined column|cannot be found/i;

/** A statement Skybus built that Cassandra refused: an internal fault (500), never shown to a client. */
export class StoreFault extends Error {
  override readonly name = 'StoreFault';
}

/**
 * Every live node must know a new table before anyone writes to it, or a write coordinated by a
 * node that has not seen it yet fails with "Unknown CF". The driver waits a little after DDL; on a
 * busy ring that is not always enough, so wait here until all nodes report the same schema version.
 */
async function waitForSchemaAgreement(client: cassandra.Client, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // checkSchemaAgreement exists in the driver but is missing from its type definitions.
    const metadata = client.metadata as unknown as { checkSchemaAgreement(): Promise<boolean> };
    if (await metadata.checkSchemaAgreement().catch(() => false)) return;
    if (Date.now() > deadline) throw new UnavailableError('Cassandra nodes do not agree on the schema');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export class CassandraDriver implements TableDriver {
  readonly kind = 'cassandra' as const;
  readonly client: cassandra.Client;
  private readonly tables = new Map<string, TableDef>();
  private readonly consistency: number;

  private constructor(client: cassandra.Client, consistency: number) {
    this.client = client;
    this.consistency = consistency;
  }

  static async connect(o: CassandraOptions): Promise<CassandraDriver> {
    if (!IDENT.test(o.keyspace)) throw new ValidationError(`bad keyspace name '${o.keyspace}'`);
    const base = {
      contactPoints: o.contactPoints,
      localDataCenter: o.localDataCenter,
      authProvider: o.username ? new cassandra.auth.PlainTextAuthProvider(o.username, o.password ?? '') : undefined,
      socketOptions: { readTimeout: o.requestTimeoutMs ?? 12_000, connectTimeout: 5_000 },
      policies: { retry: new SkybusRetryPolicy() },
      queryOptions: {
        consistency: types.consistencies[o.consistency === 'LOCAL_QUORUM' ? 'localQuorum' : o.consistency === 'LOCAL_ONE' ? 'localOne' : o.consistency.toLowerCase() as 'one'],
        serialConsistency: types.consistencies.localSerial,
        prepare: true,
      },
    };
    const admin = new cassandra.Client(base);
    try {
      await admin.connect();
      const repl = Object.entries(o.replication).map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`).join(', ');
      await admin.execute(`CREATE KEYSPACE IF NOT EXISTS ${o.keyspace} WITH replication = {${repl}}`);
      await waitForSchemaAgreement(admin);
    } catch (e) {
      await admin.shutdown().catch(() => undefined);
      throw translate(e, `connect to Cassandra at ${o.contactPoints.join(',')}`, true);
    }
    await admin.shutdown();
    const client = new cassandra.Client({ ...base, keyspace: o.keyspace });
    try {
      await client.connect();
    } catch (e) {
      await client.shutdown().catch(() => undefined);
      throw translate(e, 'connect to keyspace', true);
    }
    return new CassandraDriver(client, base.queryOptions.consistency);
  }

  private def(table: string): TableDef {
    const d = this.tables.get(table);
    if (!d) throw new ValidationError(`unknown table '${table}'`);
    return d;
  }

  define(table: TableDef): void { this.tables.set(table.name, table); }

  async applyDdl(stmt: DdlStatement): Promise<void> {
    try {
      await this.client.execute(stmt.cql, [], { prepare: false });
    } catch (e) {
      const msg = (e as Error).message ?? '';
      if (!(stmt.kind === 'addColumn' && /already exist|conflicts with an existing column/i.test(msg))) throw translate(e, 'apply schema', true);
    }
    await waitForSchemaAgreement(this.client);
    if (stmt.kind === 'createTable') this.define(stmt.table);
    else {
      const t = this.def(stmt.table);
      if (!t.columns.some((c) => c.name === stmt.column.name)) t.columns.push(stmt.column);
    }
  }

  private encode(v: Value, type: string): unknown {
    if (v === null) return null;
    if (type === 'timestamp') return new Date(v as number);
    if (type === 'bigint') return cassandra.types.Long.fromNumber(v as number);
    return v;
  }

  private params(def: TableDef, cols: string[], row: Row): unknown[] {
    return cols.map((c) => this.encode(row[c], def.columns.find((x) => x.name === c)!.type));
  }

  private decode(def: TableDef, r: cassandra.types.Row): Row {
    const out: Row = {};
    for (const c of def.columns) {
      const v = r.get(c.name) as unknown;
      if (v === null || v === undefined) out[c.name] = null;
      else if (v instanceof Date) out[c.name] = v.getTime();
      else if (v instanceof cassandra.types.Long) out[c.name] = v.toNumber();
      else out[c.name] = v as Value;
    }
    return out;
  }

  private insertCql(def: TableDef, cols: string[], ttl: number | undefined, ifNotExists: boolean, timestamp = false): string {
    const using = [...(ttl !== undefined ? [`TTL ${ttl}`] : []), ...(timestamp ? ['TIMESTAMP ?'] : [])];
    return `INSERT INTO ${def.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`
      + `${ifNotExists ? ' IF NOT EXISTS' : ''}${using.length > 0 ? ` USING ${using.join(' AND ')}` : ''}`;
  }

  async put(table: string, row: Row, opts?: WriteOptions): Promise<void> {
    const def = this.def(table);
    checkRow(def, row);
    checkTtl(opts?.ttlSeconds);
    checkTimestamp(opts?.timestamp);
    const cols = Object.keys(row);
    const params = this.params(def, cols, row);
    if (opts?.timestamp !== undefined) params.push(cassandra.types.Long.fromNumber(opts.timestamp));
    try {
      await this.client.execute(this.insertCql(def, cols, opts?.ttlSeconds, false, opts?.timestamp !== undefined), params, { prepare: true, isIdempotent: true, consistency: this.consistency });
    } catch (e) {
      throw translate(e, `write ${table}`);
    }
  }

  async putAll(writes: { table: string; row: Row; opts?: WriteOptions }[]): Promise<void> {
    if (writes.length === 0) return;
    const queries = writes.map((w) => {
      const def = this.def(w.table);
      checkRow(def, w.row);
      checkTtl(w.opts?.ttlSeconds);
      checkTimestamp(w.opts?.timestamp);
      const cols = Object.keys(w.row);
      const params = this.params(def, cols, w.row);
      if (w.opts?.timestamp !== undefined) params.push(cassandra.types.Long.fromNumber(w.opts.timestamp));
      return { query: this.insertCql(def, cols, w.opts?.ttlSeconds, false, w.opts?.timestamp !== undefined), params };
    });
    try {
      await this.client.batch(queries, { prepare: true, logged: true, isIdempotent: true, consistency: this.consistency });
    } catch (e) {
      throw translate(e, 'batch write');
    }
  }

  async cas(table: string, row: Row, cond: Condition, opts?: WriteOptions & { remove?: boolean }): Promise<CasResult> {
    const def = this.def(table);
    if (opts?.timestamp !== undefined) throw new ValidationError('a conditional write cannot carry its own timestamp');
    checkRow(def, row);
    checkTtl(opts?.ttlSeconds);
    const key = keyOf(def);
    const setCols = Object.keys(row).filter((c) => !key.includes(c));
    let query: string;
    let params: unknown[];
    if ('ifNotExists' in cond) {
      if (opts?.remove) throw new ValidationError('remove with IF NOT EXISTS makes no sense');
      const cols = Object.keys(row);
      query = this.insertCql(def, cols, opts?.ttlSeconds, true);
      params = this.params(def, cols, row);
    } else {
      let condSql: string;
      let condParams: unknown[] = [];
      if ('ifExists' in cond) condSql = 'IF EXISTS';
      else {
        const entries = Object.entries(cond.if);
        if (entries.length === 0) throw new ValidationError('empty condition');
        for (const [k, v] of entries) checkRow(def, { [k]: v }, []);
        condSql = 'IF ' + entries.map(([k]) => `${k} = ?`).join(' AND ');
        condParams = entries.map(([k, v]) => this.encode(v, def.columns.find((c) => c.name === k)!.type));
      }
      const where = key.map((c) => `${c} = ?`).join(' AND ');
      if (opts?.remove) {
        query = `DELETE FROM ${def.name} WHERE ${where} ${condSql}`;
        params = [...this.params(def, key, row), ...condParams];
      } else {
        if (setCols.length === 0) throw new ValidationError('a conditional update needs at least one column to set');
        const ttl = opts?.ttlSeconds !== undefined ? ` USING TTL ${opts.ttlSeconds}` : '';
        query = `UPDATE ${def.name}${ttl} SET ${setCols.map((c) => `${c} = ?`).join(', ')} WHERE ${where} ${condSql}`;
        params = [...this.params(def, setCols, row), ...this.params(def, key, row), ...condParams];
      }
    }
    try {
      const rs = await this.client.execute(query, params, { prepare: true, isIdempotent: false, consistency: this.consistency });
      return { applied: rs.first()?.get('[applied]') === true };
    } catch (e) {
      // A client-side timeout means the request was sent and may have been applied.
      if ((e as { name?: string }).name === 'OperationTimedOutError') throw new UnknownOutcomeError('the database did not confirm this change in time, so whether it happened is unknown: read the resource before trying again', { retryAfterSeconds: RETRY_AFTER_S, storeOperation: `conditional write ${table}` });
      throw translate(e, `conditional write ${table}`);
    }
  }

  async casInsertAll(table: string, rows: Row[], opts?: WriteOptions): Promise<CasInsertAllResult> {
    const def = this.def(table);
    if (rows.length === 0) return { applied: true, existing: [] };
    checkTtl(opts?.ttlSeconds);
    if (opts?.timestamp !== undefined) throw new ValidationError('a conditional write cannot carry its own timestamp');
    samePartition(def, rows);
    const queries = rows.map((row) => {
      const cols = Object.keys(row);
      return { query: this.insertCql(def, cols, opts?.ttlSeconds, true), params: this.params(def, cols, row) };
    });
    try {
      const rs = await this.client.batch(queries, { prepare: true, logged: true, isIdempotent: false, consistency: this.consistency });
      if (rs.first()?.get('[applied]') === true) return { applied: true, existing: [] };
    } catch (e) {
      if ((e as { name?: string }).name === 'OperationTimedOutError') throw new UnknownOutcomeError('the database did not confirm this change in time, so whether it happened is unknown: read the resource before trying again', { retryAfterSeconds: RETRY_AFTER_S, storeOperation: `conditional batch ${table}` });
      throw translate(e, `conditional batch ${table}`);
    }
    // Not applied: which rows were there is read back through consensus (rare: a lost race).
    const key = keyOf(def);
    const found = await Promise.all(rows.map((r) => this.get(table, Object.fromEntries(key.map((k) => [k, r[k]])), { serial: true })));
    return { applied: false, existing: found.filter((r): r is Row => r !== null) };
  }

  async get(table: string, key: Row, opts?: ReadOptions): Promise<Row | null> {
    const def = this.def(table);
    const cols = keyOf(def);
    checkRow(def, key, cols);
    try {
      const rs = await this.client.execute(`SELECT * FROM ${def.name} WHERE ${cols.map((c) => `${c} = ?`).join(' AND ')}`,
        this.params(def, cols, key), { prepare: true, isIdempotent: true, consistency: opts?.serial ? types.consistencies.localSerial : this.consistency });
      const r = rs.first();
      return r ? this.decode(def, r) : null;
    } catch (e) {
      const t = translate(e, `read ${table}`);
      // A SERIAL read's Paxos round reports its timeout as a CAS write timeout; a read changes nothing.
      throw t instanceof UnknownOutcomeError ? new UnavailableError('the database did not answer in time (too few replicas responded); try again shortly', t.details) : t;
    }
  }

  private async paged(def: TableDef, query: string, params: unknown[], limit: number, pageState: string | null | undefined): Promise<Page<Row>> {
    if (!Number.isInteger(limit) || limit <= 0 || limit > 10_000) throw new ValidationError('page size must be 1..10000');
    if (pageState && !/^[0-9a-f]+$/i.test(pageState)) throw new ValidationError('invalid page state');
    try {
      const rs = await this.client.execute(query, params, { prepare: true, isIdempotent: true, fetchSize: limit, pageState: pageState ?? undefined, consistency: this.consistency });
      return { rows: rs.rows.map((r) => this.decode(def, r)), pageState: rs.pageState ?? null };
    } catch (e) {
      const err = e as { name?: string; code?: number };
      if (pageState && err.name === 'ResponseError' && (err.code === types.responseErrorCodes.invalid || err.code === types.responseErrorCodes.protocolError)) {
        throw new ValidationError('invalid page state');
      }
      throw translate(e, `read ${def.name}`);
    }
  }

  async select(table: string, partition: Row, opts: SelectOptions = {}): Promise<Page<Row>> {
    const def = this.def(table);
    checkRow(def, partition, def.partitionKey);
    const where = def.partitionKey.map((c) => `${c} = ?`);
    const params = this.params(def, def.partitionKey, partition);
    if (opts.range) {
      const first = def.clusteringKey[0];
      if (!first) throw new ValidationError(`${table} has no clustering column to range over`);
      const type = def.columns.find((c) => c.name === first)!.type;
      if (opts.range.gte !== undefined) { checkRow(def, { [first]: opts.range.gte }, []); where.push(`${first} >= ?`); params.push(this.encode(opts.range.gte, type)); }
      if (opts.range.lt !== undefined) { checkRow(def, { [first]: opts.range.lt }, []); where.push(`${first} < ?`); params.push(this.encode(opts.range.lt, type)); }
    }
    return this.paged(def, `SELECT * FROM ${def.name} WHERE ${where.join(' AND ')}`, params, opts.limit ?? 1000, opts.pageState);
  }

  async scan(table: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Row>> {
    const def = this.def(table);
    return this.paged(def, `SELECT * FROM ${def.name}`, [], opts.limit ?? 1000, opts.pageState);
  }

  async remove(table: string, key: Row): Promise<void> {
    const def = this.def(table);
    const cols = keyOf(def);
    checkRow(def, key, cols);
    try {
      await this.client.execute(`DELETE FROM ${def.name} WHERE ${cols.map((c) => `${c} = ?`).join(' AND ')}`, this.params(def, cols, key), { prepare: true, isIdempotent: true, consistency: this.consistency });
    } catch (e) {
      throw translate(e, `delete ${table}`);
    }
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}
