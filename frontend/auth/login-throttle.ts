/**
 * Failed-login throttling that holds across every frontend: the counting lives in the bus
 * (store.loginAttempts, migration 0005), never in one process's memory.
 *
 * Before a password check (the local scrypt hash, or an LDAP bind) may run for `account` from
 * `address`, the attempt is recorded under two subjects and ranked among the last hour's attempts:
 *
 * - per account: at most `perAccount` (default 100) checks an hour, wherever they come from —
 *   except from an address the account logged in from successfully in the last 30 days, which is
 *   still admitted (so a user keeps logging in while somebody elsewhere hammers their name);
 * - per address: at most `perAddress` (default 1,000) checks an hour over all accounts (a spraying
 *   client), known addresses included.
 *
 * Beyond either limit the login is refused before any check with 429 and Retry-After (when the
 * oldest counted attempt leaves the window). Attempts are counted when they would reach a check,
 * not when they fail: a credential the frontend has already verified (cached) costs nothing and is
 * never throttled; refused attempts are recorded too, so an attack that goes on keeps its account
 * throttled for unknown addresses until it stops.
 */
import { createHash } from 'node:crypto';
import { RateLimitedError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';

export interface ThrottleLimits { perAccount: number; perAddress: number; windowMs: number }

export const THROTTLE_DEFAULTS: ThrottleLimits = { perAccount: 100, perAddress: 1000, windowMs: 3_600_000 };

/** A bounded subject key: long or odd names (anything a client sends as a user-id) are hashed. */
function subjectOf(kind: 'account' | 'address', v: string): string {
  const safe = v.length <= 64 && /^[A-Za-z0-9._@:()*-]*$/.test(v);
  return `${kind}:${safe ? v.toLowerCase() : 'sha256:' + createHash('sha256').update(v).digest('hex')}`;
}

export class LoginThrottle {
  constructor(private readonly store: BusStore, readonly limits: ThrottleLimits = THROTTLE_DEFAULTS, private readonly now: () => number = Date.now) {}

  /** Throws RateLimitedError when the check for this attempt must not run. */
  async admit(account: string, address: string): Promise<void> {
    const now = this.now();
    const { perAccount, perAddress, windowMs } = this.limits;
    const [byAccount, byAddress] = await Promise.all([
      this.store.loginAttempts.record(subjectOf('account', account), now, windowMs, perAccount),
      this.store.loginAttempts.record(subjectOf('address', address), now, windowMs, perAddress),
    ]);
    const refuse = (what: string, expiresAt: number | null) => {
      const seconds = Math.max(1, Math.ceil(((expiresAt ?? now + windowMs) - now) / 1000));
      return new RateLimitedError(`too many login attempts ${what}; try again in ${seconds} s`, { retryAfterSeconds: seconds });
    };
    if (byAddress.before >= perAddress) throw refuse('from this address', byAddress.oldestExpiresAt);
    if (byAccount.before >= perAccount && !(await this.store.loginAttempts.isKnownAddress(subjectOf('account', account), address))) {
      throw refuse('for this account', byAccount.oldestExpiresAt);
    }
  }

  /** A check succeeded: the address becomes known for the account. */
  async succeeded(account: string, address: string): Promise<void> {
    await this.store.loginAttempts.rememberAddress(subjectOf('account', account), address, this.now());
  }
}
