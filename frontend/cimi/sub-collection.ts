/**
 * A resource's sub-collection (DSP0263: a Machine's `disks`, `volumes`, `networkInterfaces`; an
 * EventLog's `events`): the parent links it as {href}, the collection is readable at that href with
 * the same $filter/$select/$first/$last/$orderby handling as a top-level collection
 * (collection-query.ts), and `$expand` on the parent inlines it.
 *
 * A sub-collection's members are few and come from one row (the parent's): they are held in memory.
 */
import type { Request } from 'express';
import type { FrontendConfig } from '../config.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from './collection-query.js';

export interface SubCollectionParts {
  /** the collection's CIMI type, e.g. 'MachineDiskCollection' */
  type: string;
  /** its URL (the parent's href for it) */
  id: string;
  /** the member array's name, e.g. 'disks' */
  member: string;
  /** the members' representations, in the collection's natural order */
  members: Record<string, unknown>[];
  /** the href of the 'add' operation, when the caller may add */
  addHref?: string | null;
}

/** The collection body for a request to the sub-collection's own URL (its query parameters apply). */
export async function subCollectionBody(req: Request, config: FrontendConfig, p: SubCollectionParts): Promise<Record<string, unknown>> {
  const q = parseCollectionQuery(req, config);
  async function* pages() { yield p.members; }
  const result = await runCollectionQuery(pages(), q, (m) => m);
  return collectionBody({ type: p.type, id: p.id, member: p.member, result, q, addHref: p.addHref, next: nextWindowQuery(req, q, result.count) });
}

/**
 * The collection inlined in its parent ($expand): every member in the first window, no query
 * parameters (those of the request belong to the parent).
 */
export async function expandedSubCollection(config: FrontendConfig, p: SubCollectionParts): Promise<Record<string, unknown>> {
  const q = { filter: null, orderBy: [], first: 1, last: config.defaultPageSize, select: null, countLimit: config.countLimit, maxScan: config.maxScan };
  async function* pages() { yield p.members; }
  const result = await runCollectionQuery(pages(), q, (m) => m);
  const next = result.count > q.last ? `$first=${q.last + 1}&$last=${q.last + config.defaultPageSize}` : null;
  return collectionBody({ type: p.type, id: p.id, member: p.member, result, q, addHref: p.addHref, next });
}

/**
 * The attribute names $expand asks for: a comma list, `*` for every expandable attribute.
 * Names are compared exactly (CIMI attribute names are case-sensitive).
 */
export function expandRequest(req: Request): { all: boolean; names: Set<string> } {
  const v = (req.query as Record<string, unknown>).$expand;
  const names = new Set<string>();
  if (typeof v !== 'string') return { all: false, names };
  for (const part of v.slice(0, 1024).split(',')) {
    const p = part.trim();
    if (p) names.add(p);
  }
  return { all: names.has('*'), names };
}

export function expands(req: Request, attribute: string): boolean {
  const e = expandRequest(req);
  return e.all || e.names.has(attribute);
}
