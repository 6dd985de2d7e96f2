/** Time-ordered UUIDs (version 7 layout): sortable by creation, usable as libvirt domain UUIDs. */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors/registry.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMs = -1;
let counter = 0;

/**
 * A v7 UUID for `now`. Ids made in this process in the same millisecond keep their creation order:
 * the 12 bits after the version hold a counter (RFC 9562, method 1), so "in creation order" lists
 * sorted by id do not shuffle ids made within one millisecond. The rest is random.
 */
export function newId(now = Date.now()): string {
  const b = randomBytes(16);
  let ms = now;
  if (now === lastMs || (now < lastMs && lastMs - now < 10)) {
    // Same millisecond (or a clock that stepped back a little): next counter value, carrying into ms.
    ms = lastMs;
    counter++;
    if (counter > 0xfff) { ms = ++lastMs; counter = 0; }
  } else if (now > lastMs) {
    lastMs = now;
    counter = 0;
  }
  b.writeUIntBE(ms, 0, 6);
  if (ms === lastMs) {
    b[6] = 0x70 | ((counter >> 8) & 0x0f);
    b[7] = counter & 0xff;
  } else {
    b[6] = (b[6] & 0x0f) | 0x70; // an explicit time in the past: random, as before
  }
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
