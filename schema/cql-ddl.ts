/**
 * A parser for the subset of CQL DDL Skybus writes in schema/cql: CREATE TABLE and ALTER TABLE ADD.
 * The CQL files are the source of truth; the embedded store builds its tables from what this returns.
 */
import { ValidationError } from '../errors/registry.js';

export type ColumnType = 'text' | 'int' | 'bigint' | 'boolean' | 'timestamp' | 'double';
const COLUMN_TYPES: ReadonlySet<string> = new Set(['text', 'int', 'bigint', 'boolean', 'timestamp', 'double']);

export interface ColumnDef { name: string; type: ColumnType }
export interface TableDef {
  name: string;
  columns: ColumnDef[];
  partitionKey: string[];
  clusteringKey: string[];
  /** Per clustering column; ASC unless the table says otherwise. */
  clusteringOrder: Record<string, 'ASC' | 'DESC'>;
  /** default_time_to_live in seconds, 0 for none. */
  defaultTtl: number;
}
export type DdlStatement =
  | { kind: 'createTable'; table: TableDef; cql: string }
  | { kind: 'addColumn'; table: string; column: ColumnDef; cql: string };

/** Split a CQL file into statements: comments removed, split on semicolons outside quotes. */
export function splitStatements(source: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      cur += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') { quote = c; cur += c; continue; }
    if (c === '-' && source[i + 1] === '-') {
      while (i < source.length && source[i] !== '\n') i++;
      cur += '\n';
      continue;
    }
    if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quote) throw new ValidationError('unterminated quoted string in CQL');
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function ident(s: string, what: string): string {
  const v = s.trim().toLowerCase();
  if (!IDENT.test(v)) throw new ValidationError(`bad ${what} name '${s.trim()}'`);
  return v;
}

/** Split on commas at parenthesis depth 0. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(' || c === '<' || c === '{') depth++;
    if (c === ')' || c === '>' || c === '}') depth--;
    if (c === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function columnType(t: string, col: string): ColumnType {
  const v = t.trim().toLowerCase();
  if (!COLUMN_TYPES.has(v)) throw new ValidationError(`column ${col}: unsupported type '${t.trim()}'`);
  return v as ColumnType;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') { depth--; if (depth === 0) return i; }
  }
  throw new ValidationError('unbalanced parentheses in CQL');
}

export function parseStatement(cql: string): DdlStatement {
  const text = cql.trim().replace(/\s+/g, ' ');
  const create = /^CREATE TABLE (IF NOT EXISTS )?([A-Za-z_][A-Za-z0-9_]*) ?\(/i.exec(text);
  if (create) {
    const name = ident(create[2], 'table');
    const open = create[0].length - 1;
    const close = matchingParen(text, open);
    const body = text.slice(open + 1, close);
    const rest = text.slice(close + 1).trim();
    const columns: ColumnDef[] = [];
    let partitionKey: string[] = [];
    let clusteringKey: string[] = [];
    for (const part of splitTopLevel(body)) {
      const pk = /^PRIMARY KEY ?\((.*)\)$/i.exec(part);
      if (pk) {
        const keys = splitTopLevel(pk[1]);
        if (keys.length === 0) throw new ValidationError(`table ${name}: empty primary key`);
        const first = keys[0];
        partitionKey = first.startsWith('(')
          ? splitTopLevel(first.slice(1, -1)).map((k) => ident(k, 'key'))
          : [ident(first, 'key')];
        clusteringKey = keys.slice(1).map((k) => ident(k, 'key'));
        continue;
      }
      const m = /^([A-Za-z_][A-Za-z0-9_]*) (.+?)( PRIMARY KEY)?$/i.exec(part);
      if (!m) throw new ValidationError(`table ${name}: cannot read column '${part}'`);
      const col = ident(m[1], 'column');
      columns.push({ name: col, type: columnType(m[2], col) });
      if (m[3]) partitionKey = [col];
    }
    if (partitionKey.length === 0) throw new ValidationError(`table ${name}: no primary key`);
    const names = new Set(columns.map((c) => c.name));
    if (names.size !== columns.length) throw new ValidationError(`table ${name}: duplicate column`);
    for (const k of [...partitionKey, ...clusteringKey]) {
      if (!names.has(k)) throw new ValidationError(`table ${name}: key column ${k} is not declared`);
    }
    const clusteringOrder: Record<string, 'ASC' | 'DESC'> = {};
    for (const k of clusteringKey) clusteringOrder[k] = 'ASC';
    const order = /CLUSTERING ORDER BY ?\(([^)]*)\)/i.exec(rest);
    if (order) {
      for (const item of splitTopLevel(order[1])) {
        const [col, dir] = item.split(' ');
        const c = ident(col, 'column');
        if (!(c in clusteringOrder)) throw new ValidationError(`table ${name}: ${c} is not a clustering column`);
        clusteringOrder[c] = (dir ?? 'ASC').toUpperCase() === 'DESC' ? 'DESC' : 'ASC';
      }
    }
    const ttl = /default_time_to_live ?= ?(\d+)/i.exec(rest);
    return {
      kind: 'createTable',
      cql: cql.trim(),
      table: { name, columns, partitionKey, clusteringKey, clusteringOrder, defaultTtl: ttl ? Number(ttl[1]) : 0 },
    };
  }
  const alter = /^ALTER TABLE ([A-Za-z_][A-Za-z0-9_]*) ADD ([A-Za-z_][A-Za-z0-9_]*) ([A-Za-z]+)$/i.exec(text);
  if (alter) {
    const col = ident(alter[2], 'column');
    return { kind: 'addColumn', cql: cql.trim(), table: ident(alter[1], 'table'), column: { name: col, type: columnType(alter[3], col) } };
  }
  throw new ValidationError(`unsupported CQL statement: ${text.slice(0, 60)}`);
}

export function parseDdl(source: string): DdlStatement[] {
  return splitStatements(source).map(parseStatement);
}
