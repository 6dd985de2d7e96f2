/** Time-ordered UUIDs (version 7 layout): sortable by creation, usable as libvirt domain UUIDs. */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors/registry.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function newId(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isId(s: unknown): s is string {
  return typeof s === 'string' && UUID.test(s);
}

export function checkId(s: unknown, what = 'id'): string {
  if (!isId(s)) throw new ValidationError(`${what} must be a UUID`);
  return s;
}
