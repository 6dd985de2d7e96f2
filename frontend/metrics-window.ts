/**
 * The query of a metrics range (GET /machines/:id/metrics, /hosts/:id/metrics; docs/monitoring-api.md):
 *   from, to     ISO 8601 or ms since the epoch; to defaults to now, from to one hour before to
 *   resolution   'sample' (default: every stored sample, at most 48 hours, paged) or 'hour' (hourly
 *                rollups, at most 91 days, not paged)
 *   limit        samples per page (1..1000, default 360); page: the `next` link's continuation
 * Anything else, or a value it cannot read, is a 400.
 */
import type { Request } from 'express';
import { BadQueryError } from '../errors/registry.js';
import { queryInstant } from './query-time.js';
import { HOUR_MS, SAMPLE_TTL_SECONDS, type TimeWindow } from '../schema/store/monitoring.js';

export type Resolution = 'sample' | 'hour';
export interface MetricsQuery { window: TimeWindow; resolution: Resolution; limit: number; page: string | null }

const KNOWN = new Set(['from', 'to', 'resolution', 'limit', 'page']);
const MAX_SAMPLE_MS = SAMPLE_TTL_SECONDS * 1000;
const MAX_ROLLUP_MS = 91 * 24 * HOUR_MS;

function single(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) throw new BadQueryError(`${name} must be given once, as a short text`);
  return v;
}

export function parseMetricsQuery(req: Request, now: number): MetricsQuery {
  for (const k of Object.keys(req.query)) if (!KNOWN.has(k)) throw new BadQueryError(`unknown query parameter '${k}'; known: ${[...KNOWN].join(', ')}`);
  const r = single(req, 'resolution') ?? 'sample';
  if (r !== 'sample' && r !== 'hour') throw new BadQueryError("resolution must be 'sample' or 'hour'");
  const toText = single(req, 'to');
  const fromText = single(req, 'from');
  const until = toText === undefined ? now : queryInstant(toText, 'to');
  const since = fromText === undefined ? until - HOUR_MS : queryInstant(fromText, 'from');
  if (!(until > since)) throw new BadQueryError('from must be before to');
  const max = r === 'hour' ? MAX_ROLLUP_MS : MAX_SAMPLE_MS;
  if (until - since > max) {
    throw new BadQueryError(r === 'hour' ? 'a range of hourly rollups is at most 91 days' : 'a range of samples is at most 48 hours; use resolution=hour for longer ones');
  }
  const limitText = single(req, 'limit');
  const limit = limitText === undefined ? 360 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadQueryError('limit must be an integer 1..1000');
  const page = single(req, 'page') ?? null;
  if (page !== null && r === 'hour') throw new BadQueryError('hourly rollups are not paged');
  return { window: { since, until }, resolution: r, limit, page };
}

/** The link to the next page: this request's query with `page` replaced. */
export function nextPageHref(path: string, q: MetricsQuery, page: string): string {
  const p = new URLSearchParams({ from: String(q.window.since), to: String(q.window.until), resolution: q.resolution, limit: String(q.limit), page });
  return `${path}?${p.toString()}`;
}
