/** Checks rows against their table definition: the same rules, with the same errors, for both stores. */
import { ValidationError } from '../errors/registry.js';
import type { ColumnDef, TableDef } from './cql-ddl.js';
import type { Row, Value } from './table-driver.js';

/** Largest text value a column accepts (bytes of UTF-8). */
export const MAX_TEXT_BYTES = 256 * 1024;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

export function checkValue(table: string, col: ColumnDef, v: Value): void {
  if (v === null) return;
  const where = `${table}.${col.name}`;
  switch (col.type) {
    case 'text':
      if (typeof v !== 'string') throw new ValidationError(`${where} must be a string`, { storeColumn: where });
      if (Buffer.byteLength(v, 'utf8') > MAX_TEXT_BYTES) {
        throw new ValidationError(`${where} is larger than ${MAX_TEXT_BYTES} bytes`, { storeColumn: where });
      }
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < INT_MIN || v > INT_MAX) {
        throw new ValidationError(`${where} must be a 32-bit integer`, { storeColumn: where });
      }
      return;
    case 'bigint':
    case 'timestamp':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ValidationError(`${where} must be an integer`, { storeColumn: where });
      return;
    case 'double':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(`${where} must be a finite number`, { storeColumn: where });
      return;
    case 'boolean':
      if (typeof v !== 'boolean') throw new ValidationError(`${where} must be a boolean`, { storeColumn: where });
      return;
  }
}

export function columnOf(def: TableDef, name: string): ColumnDef {
  const c = def.columns.find((x) => x.name === name);
  if (!c) throw new ValidationError(`${def.name} has no column '${name}'`, { storeColumn: `${def.name}.${name}` });
  return c;
}

/** Validate a row to write: known columns, right types, every key column present and not null. */
export function checkRow(def: TableDef, row: Row, keyColumns: string[] = [...def.partitionKey, ...def.clusteringKey]): void {
  for (const [k, v] of Object.entries(row)) checkValue(def.name, columnOf(def, k), v);
  for (const k of keyColumns) {
    if (row[k] === undefined || row[k] === null) throw new ValidationError(`${def.name}: key column ${k} is required`, { storeColumn: `${def.name}.${k}` });
    if (row[k] === '') throw new ValidationError(`${def.name}: key column ${k} must not be empty`, { storeColumn: `${def.name}.${k}` });
  }
}

export function keyOf(def: TableDef): string[] {
  return [...def.partitionKey, ...def.clusteringKey];
}

export function checkTtl(ttl: number | undefined): void {
  if (ttl === undefined) return;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 630720000) throw new ValidationError('ttl must be a positive number of seconds');
}

/** Write times are microseconds since the epoch: positive safe integers. */
export function checkTimestamp(ts: number | undefined): void {
  if (ts === undefined) return;
  if (!Number.isSafeInteger(ts) || ts <= 0) throw new ValidationError('a write timestamp must be a positive integer of microseconds');
}

/** Every row names the same partition (a conditional batch must stay in one). */
export function samePartition(def: TableDef, rows: Row[]): void {
  const pk = (r: Row) => JSON.stringify(def.partitionKey.map((c) => r[c] ?? null));
  for (const r of rows) checkRow(def, r);
  const first = pk(rows[0]!);
  if (rows.some((r) => pk(r) !== first)) throw new ValidationError(`${def.name}: a conditional batch must stay in one partition`);
  const key = keyOf(def);
  const keys = new Set(rows.map((r) => JSON.stringify(key.map((c) => r[c]))));
  if (keys.size !== rows.length) throw new ValidationError(`${def.name}: a conditional batch names a row twice`);
}
