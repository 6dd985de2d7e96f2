/** Checks on request-body fields: each failure is a ValidationError (400) naming the field. */
import { ValidationError } from '../errors/registry.js';
import { describeChar, firstForbiddenChar, type TextKind } from './text-rules.js';

export type Body = Record<string, unknown>;

const MAP_MAX_ENTRIES = 64;
/** Most UTF-8 bytes of all keys and values of one map together. */
export const MAP_MAX_BYTES = 64 * 1024;

/** Refuses text with characters the API never stores (text-rules.ts); names the field. */
export function checkText(v: string, label: string, kind: TextKind = 'line'): string {
  const at = firstForbiddenChar(v, kind);
  if (at >= 0) {
    const allowed = kind === 'line' ? 'control characters (including tab and line breaks)' : 'control characters other than tab and line breaks';
    throw new ValidationError(`${label} contains ${describeChar(v, at)} at position ${at + 1}: ${allowed} are not allowed`, { field: label });
  }
  return v;
}

/** Rejects any field not in `allowed` (resourceURI, name, description and properties are always allowed). */
export function rejectUnknownFields(body: Body, allowed: readonly string[], where: string): void {
  const ok = new Set(['resourceURI', 'name', 'description', 'properties', ...allowed]);
  for (const k of Object.keys(body)) {
    if (!ok.has(k)) throw new ValidationError(`unknown field '${k}' in ${where}`, { field: k });
  }
}

/** A string of at most max characters; single-line unless kind is 'multiline'. */
export function optString(body: Body, field: string, max: number, label = field, kind: TextKind = 'line'): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${label} must be a string`, { field: label });
  if (v.length > max) throw new ValidationError(`${label} is longer than ${max} characters`, { field: label });
  return checkText(v, label, kind);
}

export function reqString(body: Body, field: string, max: number, label = field, kind: TextKind = 'line'): string {
  const v = optString(body, field, max, label, kind);
  if (v === undefined || v === '') throw new ValidationError(`${label} is required`, { field: label });
  return v;
}

export function optInt(body: Body, field: string, min: number, max: number, label = field): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValidationError(`${label} must be an integer`, { field: label });
  if (v < min || v > max) throw new ValidationError(`${label} must be between ${min} and ${max}`, { field: label });
  return v;
}

export function reqInt(body: Body, field: string, min: number, max: number, label = field): number {
  const v = optInt(body, field, min, max, label);
  if (v === undefined) throw new ValidationError(`${label} is required`, { field: label });
  return v;
}

export function optObject(body: Body, field: string, label = field): Body | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(`${label} must be an object`, { field: label });
  return v as Body;
}

/** A string→string map (properties, requirements). */
export function optStringMap(body: Body, field: string, label = field): Record<string, string> | undefined {
  const o = optObject(body, field, label);
  if (o === undefined) return undefined;
  const entries = Object.entries(o);
  if (entries.length > MAP_MAX_ENTRIES) throw new ValidationError(`${label} has more than ${MAP_MAX_ENTRIES} entries`, { field: label });
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 255) throw new ValidationError(`${label} keys must be 1-255 characters`, { field: label });
    checkText(k, `${label} key`);
    if (k === '__proto__') throw new ValidationError(`${label} may not have the key '__proto__'`, { field: label });
    if (typeof v !== 'string') throw new ValidationError(`${label}['${k}'] must be a string`, { field: label });
    if (v.length > 4096) throw new ValidationError(`${label}['${k}'] is longer than 4096 characters`, { field: label });
    checkText(v, `${label}['${k}']`);
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    if (bytes > MAP_MAX_BYTES) throw new ValidationError(`${label} is larger than ${MAP_MAX_BYTES} bytes in all`, { field: label });
    out[k] = v;
  }
  return out;
}

export function optEnum<T extends string>(body: Body, field: string, values: readonly T[], label = field): T | undefined {
  const v = optString(body, field, 64, label);
  if (v === undefined) return undefined;
  const hit = values.find((x) => x.toLowerCase() === v.toLowerCase());
  if (!hit) throw new ValidationError(`${label} must be one of ${values.join(', ')}`, { field: label });
  return hit;
}

/** A boolean: JSON true/false, or the words "true"/"false" (an XML body's text). */
export function optBoolean(body: Body, field: string, label = field): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw new ValidationError(`${label} must be true or false`, { field: label });
}

/** base64 (standard alphabet, padded), at most maxBytes once decoded. */
export function optBase64(body: Body, field: string, maxBytes: number, label = field): string | undefined {
  const v = optString(body, field, Math.ceil(maxBytes / 3) * 4 + 8, label);
  if (v === undefined) return undefined;
  const s = v.replace(/\s+/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new ValidationError(`${label} must be base64`, { field: label });
  if (Buffer.from(s, 'base64').length > maxBytes) throw new ValidationError(`${label} is larger than ${maxBytes} bytes`, { field: label });
  return s;
}

/** The id at the end of an href into collection `segment` (absolute URL, path, or bare id). */
export function hrefId(ref: Body, segment: string, label: string): string {
  const href = ref.href;
  if (typeof href !== 'string') throw new ValidationError(`${label}.href must be a string`, { field: label });
  if (href.length > 2048) throw new ValidationError(`${label}.href is longer than 2048 characters`, { field: label });
  const m = new RegExp(`(?:^|/)${segment}/([^/?#]+)/?$`).exec(href) ?? (/^[0-9a-f-]{36}$/.test(href) ? [href, href] : null);
  if (!m) throw new ValidationError(`${label}.href must reference /api/${segment}/<id>`, { field: label });
  return m[1];
}
