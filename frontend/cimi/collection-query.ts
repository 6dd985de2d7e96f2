/**
 * Collection reads: $filter, $orderby, $first, $last, $select, evaluated while iterating the store a
 * page at a time, never holding the whole collection.
 *
 * - Positions are 1-based and apply after filtering and ordering.
 * - What a read costs is bounded, never proportional to a tenant's history (docs/api-costs.md):
 *   without $orderby the scan stops once the window is full and `countLimit` further matches have
 *   been counted; any read stops after examining `maxScan` stored members. When a scan stops early,
 *   `count` is the number matched so far (a lower bound) and the collection says `countCapped: true`.
 *   $orderby needs every member: past `maxScan` it is a 400 asking to narrow the query.
 *   Between store pages the scan yields to the event loop, so one large read never holds up others.
 * - No $last: the window is $first .. $first + defaultPageSize - 1. A window is never longer than
 *   maxPageSize: $last beyond $first + maxPageSize - 1 is cut there. The collection's `next`
 *   operation (when more members match) gives the following window.
 * - With $orderby the members up to $last are kept in a sorted buffer of at most $last entries;
 *   $last (after the default) may then be at most maxOrderedWindow (else 400).
 */
import type { Request } from 'express';
import { BadQueryError } from '../../errors/registry.js';
import type { FrontendConfig } from '../config.js';
import type { FilterExpr } from './filter-ast.js';
import { evalFilter } from './filter-eval.js';
import { parseFilter } from './filter-parser.js';
import { resourceUri } from './uris.js';

export interface OrderKey { attr: string; desc: boolean }

export interface CollectionQuery {
  filter: FilterExpr | null;
  orderBy: OrderKey[];
  first: number;
  last: number;
  /** null: every attribute. */
  select: string[] | null;
  /** Matches counted beyond the window before the count is given as a lower bound. */
  countLimit: number;
  /** Stored members examined at most by one read. */
  maxScan: number;
}

const ATTR = /^[A-Za-z_][A-Za-z0-9_]*$/;

function single(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadQueryError(`${name} must be given once`);
  return v;
}

function position(v: string, name: string): number {
  if (v.length > 32 || !/^\d{1,9}$/.test(v.trim()) || Number(v) < 1) throw new BadQueryError(`${name} must be a positive integer (1-based position), got '${v}'`);
  return Number(v);
}

/** Longest $orderby or $select accepted (characters); longer is a 400 before any parsing. */
export const MAX_LIST_PARAM_LENGTH = 1024;

/** attr[:asc|:desc] (or attr asc|desc), comma-separated. Linear: split and compare, no backtracking pattern. */
export function parseOrderBy(src: string): OrderKey[] {
  if (src.length > MAX_LIST_PARAM_LENGTH) throw new BadQueryError(`$orderby is longer than ${MAX_LIST_PARAM_LENGTH} characters`, { parameter: '$orderby' });
  const keys: OrderKey[] = [];
  let offset = 0;
  for (const part of src.split(',')) {
    const p = part.trim();
    let cut = 0;
    while (cut < p.length && p[cut] !== ':' && p[cut] !== ' ' && p[cut] !== '\t') cut++;
    const attr = p.slice(0, cut);
    let rest = p.slice(cut).trim();
    if (rest.startsWith(':')) rest = rest.slice(1).trim();
    const dir = rest.toLowerCase();
    if (!ATTR.test(attr) || (dir !== '' && dir !== 'asc' && dir !== 'desc') || (rest === '' && cut < p.length && p[cut] === ':')) {
      throw new BadQueryError(`$orderby: expected attr[:asc|:desc] at position ${offset + 1}`, { parameter: '$orderby', position: offset + 1 });
    }
    keys.push({ attr, desc: dir === 'desc' });
    offset += part.length + 1;
  }
  return keys;
}

export function parseSelect(src: string): string[] | null {
  if (src.length > MAX_LIST_PARAM_LENGTH) throw new BadQueryError(`$select is longer than ${MAX_LIST_PARAM_LENGTH} characters`, { parameter: '$select' });
  const parts = src.split(',').map((s) => s.trim());
  if (parts.length === 1 && parts[0] === '*') return null;
  let offset = 0;
  for (const p of src.split(',')) {
    if (!ATTR.test(p.trim())) throw new BadQueryError(`$select: expected an attribute name or * at position ${offset + 1}`, { parameter: '$select', position: offset + 1 });
    offset += p.length + 1;
  }
  return parts;
}

export function parseCollectionQuery(req: Request, cfg: FrontendConfig): CollectionQuery {
  const filterSrc = single(req, '$filter');
  const orderSrc = single(req, '$orderby');
  const firstSrc = single(req, '$first');
  const lastSrc = single(req, '$last');
  const selectSrc = single(req, '$select');
  const filter = filterSrc !== undefined && filterSrc.trim() !== '' ? parseFilter(filterSrc) : null;
  const orderBy = orderSrc !== undefined && orderSrc.trim() !== '' ? parseOrderBy(orderSrc) : [];
  const first = firstSrc !== undefined ? position(firstSrc, '$first') : 1;
  let last = lastSrc !== undefined ? position(lastSrc, '$last') : first + cfg.defaultPageSize - 1;
  if (last < first) throw new BadQueryError(`$last (${last}) must not be less than $first (${first})`);
  last = Math.min(last, first + cfg.maxPageSize - 1);
  if (orderBy.length > 0 && last > cfg.maxOrderedWindow) {
    throw new BadQueryError(`with $orderby, $last may be at most ${cfg.maxOrderedWindow}`);
  }
  const select = selectSrc !== undefined && selectSrc.trim() !== '' ? parseSelect(selectSrc) : null;
  return { filter, orderBy, first, last, select, countLimit: cfg.countLimit, maxScan: cfg.maxScan };
}

function rank(v: unknown): [number, number | string] {
  if (v === undefined || v === null) return [2, 0];
  if (typeof v === 'number') return [0, v];
  if (typeof v === 'boolean') return [0, v ? 1 : 0];
  return [1, typeof v === 'string' ? v : JSON.stringify(v)];
}

/** Compares two representations by the order keys; missing values sort last either way. */
export function compareBy(keys: OrderKey[], a: Record<string, unknown>, b: Record<string, unknown>): number {
  for (const k of keys) {
    const [ra, va] = rank(a[k.attr]);
    const [rb, vb] = rank(b[k.attr]);
    if (ra !== rb) return ra - rb;
    if (ra === 2) continue;
    const c = va < vb ? -1 : va > vb ? 1 : 0;
    if (c !== 0) return k.desc ? -c : c;
  }
  return 0;
}

export interface CollectionResult<T> {
  count: number;
  members: T[];
  /** true: the scan stopped at a cost limit and `count` is a lower bound. */
  countCapped: boolean;
}

/**
 * Runs the query over pages of stored items (in the collection's natural order), turning them into
 * representations with `view`. Without $filter and $orderby only the window's members are viewed
 * (a view may cost a read, e.g. settling a Job): counting the rest needs no view.
 */
export async function runCollectionQuery<S, T extends Record<string, unknown>>(pages: AsyncIterable<S[]>, q: CollectionQuery, view: (s: S) => T | Promise<T>): Promise<CollectionResult<T>> {
  const lazy = q.filter === null && q.orderBy.length === 0;
  let count = 0;
  let scanned = 0;
  const windowRaw: S[] = [];
  const kept: T[] = [];
  const enough = q.last + q.countLimit;
  const finish = async (countCapped: boolean): Promise<CollectionResult<T>> => {
    if (lazy) return { count, members: await Promise.all(windowRaw.map(view)), countCapped };
    return { count, members: q.orderBy.length === 0 ? kept : kept.slice(q.first - 1, q.last), countCapped };
  };
  for await (const raw of pages) {
    const page: (S | T)[] = lazy ? raw : await Promise.all(raw.map(view));
    for (const entry of page) {
      if (scanned >= q.maxScan || (q.orderBy.length === 0 && count >= enough)) {
        if (q.orderBy.length > 0) {
          throw new BadQueryError(`$orderby over more than ${q.maxScan} members is refused: narrow the collection with $filter first`, { parameter: '$orderby' });
        }
        return finish(true);
      }
      scanned++;
      if (lazy) {
        count++;
        if (count >= q.first && count <= q.last) windowRaw.push(entry as S);
        continue;
      }
      const item = entry as T;
      if (q.filter && !evalFilter(q.filter, item)) continue;
      count++;
      if (q.orderBy.length === 0) {
        if (count >= q.first && count <= q.last) kept.push(item);
        continue;
      }
      // Sorted buffer of the best `last` members; ties keep arrival order.
      if (kept.length >= q.last && compareBy(q.orderBy, item, kept[kept.length - 1]) >= 0) continue;
      let lo = 0;
      let hi = kept.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareBy(q.orderBy, kept[mid], item) <= 0) lo = mid + 1;
        else hi = mid;
      }
      kept.splice(lo, 0, item);
      if (kept.length > q.last) kept.pop();
    }
  }
  return finish(false);
}

/** Keeps only the selected attributes (always id and resourceURI). */
export function applySelect<T extends Record<string, unknown>>(members: T[], select: string[] | null): Record<string, unknown>[] {
  if (!select) return members;
  return members.map((m) => {
    const out: Record<string, unknown> = {};
    // Own attributes only: $select=constructor must not reach Object.prototype (a function breaks XML).
    for (const k of ['resourceURI', 'id', ...select]) if (Object.hasOwn(m, k) && m[k] !== undefined) out[k] = m[k];
    return out;
  });
}

/** The query string of the window after this one, or null when nothing follows. */
export function nextWindowQuery(req: Request, q: CollectionQuery, count: number): string | null {
  if (q.last >= count) return null;
  const size = q.last - q.first + 1;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    if (typeof v === 'string' && k !== '$first' && k !== '$last') params.set(k, v);
  }
  params.set('$first', String(q.last + 1));
  params.set('$last', String(q.last + size));
  return params.toString().replace(/%24/g, '$');
}

/** Pages from a store lister that takes a pageState. */
export async function* storePages<S>(list: (pageState: string | null) => Promise<{ items: S[]; pageState: string | null }>): AsyncIterable<S[]> {
  let pageState: string | null = null;
  do {
    const page: { items: S[]; pageState: string | null } = await list(pageState);
    yield page.items;
    pageState = page.pageState;
    // The embedded store answers synchronously: let other requests (and the agent) run between pages.
    if (pageState) await new Promise<void>((resolve) => setImmediate(resolve));
  } while (pageState);
}

export interface CollectionParts<T> {
  /** e.g. 'MachineCollection' */
  type: string;
  id: string;
  /** the member array's name, e.g. 'machines' */
  member: string;
  result: CollectionResult<T>;
  q: CollectionQuery;
  /** the href of the 'add' operation, when the caller may add */
  addHref?: string | null;
  /** the query string of the next window (nextWindowQuery), and the collection URL it applies to */
  next: string | null;
  nextBase?: string;
}

/** The CIMI collection representation (count, members after $select, add/next operations). */
export function collectionBody<T extends Record<string, unknown>>(p: CollectionParts<T>): Record<string, unknown> {
  const body: Record<string, unknown> = { resourceURI: resourceUri(p.type), id: p.id, count: p.result.count };
  if (p.result.countCapped) body.countCapped = true;
  body[p.member] = applySelect(p.result.members, p.q.select);
  body.operations = [
    ...(p.addHref ? [{ rel: 'add', href: p.addHref }] : []),
    ...(p.next ? [{ rel: 'next', href: `${p.nextBase ?? p.id}?${p.next}` }] : []),
  ];
  return body;
}
