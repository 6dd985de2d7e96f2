/**
 * An edit (PUT) body as DSP0263 clients send it: often the whole representation they read, changed
 * where they mean to change it. Attributes the server manages are then dropped before the body is
 * validated: `volatile` ones (which change without the client: state, timestamps, generation, links,
 * operations) whatever their value, `fixed` ones (cpu, memory, ...) when they equal the current value;
 * a fixed attribute the client changed is a 400 naming it, never silently ignored.
 */
import { ValidationError } from '../../errors/registry.js';

function isRef(v: unknown): v is { href: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { href?: unknown }).href === 'string';
}

/** Same value as the client read it (XML sends numbers as text; references compare by path). */
function same(a: unknown, b: unknown): boolean {
  if (isRef(a) && isRef(b)) return pathOf(a.href) === pathOf(b.href);
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  if (typeof a === 'object' || typeof b === 'object') return a === b;
  return String(a) === String(b);
}

function pathOf(href: string): string {
  try { return new URL(href, 'http://x').pathname; } catch { return href; }
}

export function dropServerManaged(body: Record<string, unknown>, current: Record<string, unknown>, type: string, opts: { volatile: readonly string[]; fixed: readonly string[] }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (opts.volatile.includes(k)) continue;
    if (opts.fixed.includes(k)) {
      if (!same(v, current[k])) throw new ValidationError(`'${k}' cannot be changed with edit (${type}.${k} is ${JSON.stringify(current[k] ?? null)})`, { field: `${type}.${k}` });
      continue;
    }
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Whether an id a client sent back names this resource (its URL, from any origin, or the bare id). */
export function idNames(id: unknown, url: string, bare: string): boolean {
  return id === bare || (typeof id === 'string' && pathOf(id) === pathOf(url));
}
