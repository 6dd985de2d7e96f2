/**
 * A time in a query (usage reports, metrics ranges): milliseconds since the epoch, or ISO 8601 as a
 * date (2026-12-01, midnight UTC) or a date-time (2026-12-01T06:00:00Z). Anything else is a 400.
 */
import { BadQueryError } from '../errors/registry.js';

export function queryInstant(v: unknown, name: string): number {
  if (typeof v !== 'string' || v === '') throw new BadQueryError(`${name} is required (ISO 8601 or ms since the epoch)`);
  const t = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}(T|$)/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(t) || t <= 0) throw new BadQueryError(`${name} must be ISO 8601 (2026-12-01 or 2026-12-01T00:00:00Z) or ms since the epoch, not '${v.slice(0, 40)}'`);
  return t;
}
