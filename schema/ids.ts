/** Time-ordered UUIDs (version 7 layout): sortable by creation, usable as libvirt domain UUIDs. */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors/registry.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMs = -1;
let counter = 0;

/**
 * A v7 UUID for `now`. Consecutive ids made in this process for the same millisecond keep their
 * creation order: the 12 bits after the version hold a counter (RFC 9562, method 1), so "in creation
 * order" lists sorted by id do not shuffle ids made within one millisecond (up to 4,096 of them;
 * beyond that the counter wraps). Any other time starts the counter again. The rest is random.
 */
export function newId(now = Date.now()): string {
  const b = randomBytes(16);
  if (now === lastMs) counter = (counter + 1) & 0xfff;
  else { lastMs = now; counter = 0; }
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
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
