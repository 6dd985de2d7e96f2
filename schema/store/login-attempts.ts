/**
 * Login attempts in the bus (migration 0005), for throttling that holds across every frontend.
 * An attempt is a row written before the check it stands for; its rank (how many attempts on the
 * same subject came before it within the window) decides whether the check may run. Concurrent
 * attempts all write first and read after, so two of them can never both miss each other: at most
 * `limit` checks run per window, whatever the burst (give or take the clock skew between frontends,
 * which orders rows by their writers' clocks).
 */
import { newId } from '../ids.js';
import type { TableDriver } from '../table-driver.js';

const HOUR_MS = 3_600_000;

export interface AttemptRank {
  /** Attempts on the subject within the window before this one. */
  before: number;
  /** When the oldest of those leaves the window (ms since epoch), or null when there are none. */
  oldestExpiresAt: number | null;
}

export class LoginAttemptStore {
  constructor(private readonly d: TableDriver) {}

  /**
   * Records an attempt on `subject` at `now` and ranks it among the attempts of the last
   * `windowMs` (at most one hour). Reads at most `limit` rows per hour partition: a rank of
   * `limit` means "at least limit before it".
   */
  async record(subject: string, now: number, windowMs: number, limit: number): Promise<AttemptRank> {
    const id = newId(now);
    const hour = Math.floor(now / HOUR_MS);
    await this.d.put('login_attempts', { subject, hour, ts: now, id });
    const from = now - Math.min(windowMs, HOUR_MS);
    const hours = Math.floor(from / HOUR_MS) === hour ? [hour] : [hour - 1, hour];
    let before = 0;
    let oldest: number | null = null;
    for (const h of hours) {
      if (before >= limit) break;
      const page = await this.d.select('login_attempts', { subject, hour: h }, { limit: limit - before + 1, range: { gte: from, lt: now + 1 } });
      for (const r of page.rows) {
        const ts = r.ts as number;
        if (ts > now || (ts === now && (r.id as string) >= id)) continue; // ours, or after ours
        before++;
        oldest ??= ts;
        if (before >= limit) break;
      }
    }
    return { before, oldestExpiresAt: oldest === null ? null : oldest + windowMs };
  }

  async rememberAddress(account: string, address: string, now: number): Promise<void> {
    await this.d.put('login_known_addresses', { account, address, seen: now });
  }

  async isKnownAddress(account: string, address: string): Promise<boolean> {
    const r = await this.d.get('login_known_addresses', { account, address });
    return r !== null && r.seen !== null;
  }
}
