/**
 * Remembers, for a few minutes, that a password matched a stored hash, so a client sending Basic
 * credentials on every request pays the slow KDF once, not per request. An entry is keyed by an
 * HMAC (per-process random key) of name, password and the stored hash: a changed password (new hash)
 * misses at once; the user row is still read on every request, so disabling a user takes effect
 * at once too. Bounded in size and age.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class VerifiedCredentials {
  private readonly key = randomBytes(32);
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 10_000, private readonly ttlMs = 5 * 60_000) {}

  private digest(name: string, password: string, storedHash: string): string {
    return createHmac('sha256', this.key).update(name).update('\0').update(password).update('\0').update(storedHash).digest('base64');
  }

  has(name: string, password: string, storedHash: string, now = Date.now()): boolean {
    const k = this.digest(name, password, storedHash);
    const until = this.seen.get(k);
    if (until === undefined) return false;
    if (until < now) { this.seen.delete(k); return false; }
    return true;
  }

  add(name: string, password: string, storedHash: string, now = Date.now()): void {
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(this.digest(name, password, storedHash), now + this.ttlMs);
  }
}
