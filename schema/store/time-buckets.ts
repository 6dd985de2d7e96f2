/**
 * Reading a window newest first across time-bucket partitions (one partition per host and hour, per
 * host and day), paged: the page state is the bucket being read and the driver's state inside it, so
 * a page never re-reads a bucket already returned. A bucket with nothing costs one empty read.
 */
import { ValidationError } from '../../errors/registry.js';
import type { Page, Row } from '../table-driver.js';

export interface BucketWindow {
  /** The oldest and the newest bucket of the window (inclusive). */
  oldest: number;
  newest: number;
}

/** Read one bucket: at most `limit` rows, continuing from `inner` (null: from its start). */
export type ReadBucket = (bucket: number, inner: string | null, limit: number) => Promise<Page<Row>>;

export async function readNewestFirst(w: BucketWindow, limit: number, pageState: string | null | undefined, read: ReadBucket): Promise<Page<Row>> {
  if (!Number.isInteger(limit) || limit <= 0 || limit > 10_000) throw new ValidationError('page size must be 1..10000');
  let bucket = w.newest;
  let inner: string | null = null;
  if (pageState) {
    const cut = pageState.indexOf(':');
    const b = Number(pageState.slice(0, cut < 0 ? undefined : cut));
    if (!Number.isInteger(b) || b > w.newest || b < w.oldest) throw new ValidationError('bad page state');
    bucket = b;
    inner = cut < 0 || cut === pageState.length - 1 ? null : pageState.slice(cut + 1);
  }
  const rows: Row[] = [];
  for (; bucket >= w.oldest; bucket--, inner = null) {
    const page = await read(bucket, inner, limit - rows.length);
    rows.push(...page.rows);
    if (page.pageState) return { rows, pageState: `${bucket}:${page.pageState}` };
    if (rows.length >= limit) return { rows, pageState: bucket > w.oldest ? `${bucket - 1}:` : null };
  }
  return { rows, pageState: null };
}
