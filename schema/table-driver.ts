/**
 * The narrow row-level interface both stores implement. The typed bus store (bus-store.ts) is written
 * once on top of it, so the embedded and the Cassandra store share every line of domain logic and
 * differ only in how a row reaches storage.
 */
import type { DdlStatement, TableDef } from './cql-ddl.js';

export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;

export interface Page<T> { rows: T[]; pageState: string | null }

export interface WriteOptions {
  /** Seconds to live for the cells written; defaults to the table's default_time_to_live. */
  ttlSeconds?: number;
  /**
   * The write's time in microseconds since the epoch (Cassandra USING TIMESTAMP). Each cell keeps
   * the value of its latest write time, so a late write that carries an old time cannot undo a newer
   * one, and a row deleted after that time stays deleted. Only for rows that exist: the embedded
   * store skips a missing row, and Cassandra's tombstone shadows a deleted one; a column written
   * with a time should only ever be written with one, or by cas() (whose time is "now").
   */
  timestamp?: number;
}

export type Condition =
  | { ifNotExists: true }
  | { ifExists: true }
  /** Equality on columns; null means the column is unset. */
  | { if: Row };

export interface CasResult {
  applied: boolean;
}

export interface CasInsertAllResult {
  applied: boolean;
  /** When not applied: the rows (of those given) that already existed, as stored. */
  existing: Row[];
}

export interface SelectOptions {
  limit?: number;
  pageState?: string | null;
  /** A range on the first clustering column: from (inclusive) and to (exclusive). */
  range?: { gte?: Value; lt?: Value };
}

export interface ReadOptions {
  /** Read through consensus (Cassandra SERIAL): sees every committed lightweight transaction. */
  serial?: boolean;
}

export interface TableDriver {
  readonly kind: 'cassandra' | 'embedded';
  /** Apply one DDL statement (idempotent). */
  applyDdl(stmt: DdlStatement): Promise<void>;
  /** Make the driver aware of a table's definition (after migrations ran). */
  define(table: TableDef): void;
  /** Upsert the given columns of one row (key columns required); other columns are left alone. */
  put(table: string, row: Row, opts?: WriteOptions): Promise<void>;
  /** Several upserts applied together (a logged batch in Cassandra, one transaction in SQLite). */
  putAll(writes: { table: string; row: Row; opts?: WriteOptions }[]): Promise<void>;
  /**
   * A conditional write (lightweight transaction). `row` holds the key and the columns to set;
   * with `remove`, the row is deleted when the condition holds. Never retried blindly: a timeout
   * raises UnknownOutcomeError and the caller re-reads.
   */
  cas(table: string, row: Row, cond: Condition, opts?: WriteOptions & { remove?: boolean }): Promise<CasResult>;
  /**
   * Insert several rows of ONE partition, all or none, only if none of them exists (a conditional
   * batch in Cassandra: one lightweight transaction for all of them). A timeout raises
   * UnknownOutcomeError: the caller re-reads the keys serially.
   */
  casInsertAll(table: string, rows: Row[], opts?: WriteOptions): Promise<CasInsertAllResult>;
  get(table: string, key: Row, opts?: ReadOptions): Promise<Row | null>;
  /** One partition (key = partition key columns), in clustering order, paged. */
  select(table: string, partition: Row, opts?: SelectOptions): Promise<Page<Row>>;
  /** A whole table, paged, in no particular order. */
  scan(table: string, opts?: { limit?: number; pageState?: string | null }): Promise<Page<Row>>;
  /** Delete one row (full primary key). */
  remove(table: string, key: Row): Promise<void>;
  close(): Promise<void>;
}

/** Tables the migration runner needs before any migration exists. */
export const BOOTSTRAP_CQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version int,
  name text,
  checksum text,
  applied_at timestamp,
  PRIMARY KEY (version)
);
CREATE TABLE IF NOT EXISTS schema_lock (
  id text,
  holder text,
  acquired timestamp,
  PRIMARY KEY (id)
);
`;
