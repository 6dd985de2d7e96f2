/** JSON documents stored in text columns. A document that does not parse is a fault, not a guess. */
import { SkybusError } from '../errors/registry.js';
import type { Value } from './table-driver.js';

export function toJson(v: unknown): string {
  return JSON.stringify(v);
}

export function fromJson<T>(v: Value, what: string, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') throw new SkybusError('INTERNAL', `${what}: stored value is not text`);
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new SkybusError('INTERNAL', `${what}: stored document is not valid JSON`);
  }
}

export async function collectPages<T>(fetch: (pageState: string | null) => Promise<{ rows: T[]; pageState: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let pageState: string | null = null;
  do {
    const page = await fetch(pageState);
    out.push(...page.rows);
    pageState = page.pageState;
  } while (pageState);
  return out;
}
