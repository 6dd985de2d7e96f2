/**
 * Rate limits on mutating requests (POST, PUT, DELETE), per tenant and per client address, that
 * hold across every frontend (docs/api-costs.md, "Rate limits"). A sliding window of one-second
 * slots: a request is admitted while the admitted requests of the window — this frontend's, counted
 * in memory, plus every other frontend's, read from the bus — stay under the limit; otherwise it is
 * a 429 with Retry-After (when the oldest counted slot leaves the window).
 *
 * Costs, whatever the request rate: per active subject and second, one small batch write of this
 * frontend's slot counts (flush) and one partition read of the others' (refresh). The price is lag:
 * another frontend's admissions are seen up to one flush + one refresh late, so N frontends may
 * together admit up to about limit + (N - 1) x (their rate x 2 s) in a burst; a steady overload is held
 * at the limit.
 */
import { RateLimitedError } from '../errors/registry.js';
import type { RateUsageStore, SlotCount } from '../schema/store/rate-usage.js';
import { RATE_SLOT_MS } from '../schema/store/rate-usage.js';

export interface RateLimitConfig {
  /** Window length in seconds (1..60). */
  windowSeconds: number;
  /** Mutating requests one tenant may make per window over all frontends; 0 = no limit. */
  perTenant: number;
  /** Mutating requests one client address may make per window over all frontends; 0 = no limit. */
  perClient: number;
}

export const RATE_LIMIT_DEFAULTS: RateLimitConfig = { windowSeconds: 10, perTenant: 2000, perClient: 2000 };

/** How long a cached read of the other frontends' counts is trusted (ms). */
const REFRESH_MS = 1000;

export interface WindowVerdict { admitted: boolean; used: number; retryAfterSeconds: number }

/**
 * Pure: whether one more request fits, given the window's slot counts (local and remote together,
 * any slot outside the window ignored).
 */
export function judgeWindow(counts: Iterable<{ slot: number; count: number }>, nowSlot: number, windowSeconds: number, limit: number): WindowVerdict {
  const first = nowSlot - windowSeconds + 1;
  let used = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const c of counts) {
    if (c.slot < first || c.slot > nowSlot || c.count <= 0) continue;
    used += c.count;
    if (c.slot < oldest) oldest = c.slot;
  }
  if (used < limit) return { admitted: true, used, retryAfterSeconds: 0 };
  // The oldest counted slot leaves the window at the start of slot oldest + windowSeconds.
  const retry = Number.isFinite(oldest) ? Math.max(1, oldest + windowSeconds - nowSlot) : 1;
  return { admitted: false, used, retryAfterSeconds: retry };
}

interface SubjectState {
  /** This frontend's admitted requests per slot. */
  local: Map<number, number>;
  /** Slots changed since the last flush. */
  dirty: Set<number>;
  /** The other frontends' counts, and when they were read. */
  remote: SlotCount[];
  remoteAt: number;
  refreshing: Promise<void> | null;
}

export class RateLimiter {
  private readonly subjects = new Map<string, SubjectState>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: RateUsageStore,
    private readonly config: RateLimitConfig,
    private readonly frontendId: string,
    private readonly onError: (e: unknown) => void = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  get enabled(): boolean { return this.config.perTenant > 0 || this.config.perClient > 0; }

  /** Flushes once a second until stop() (started by the first admission). */
  start(): void {
    if (this.timer || !this.enabled) return;
    this.timer = setInterval(() => { void this.flush().catch(this.onError); }, RATE_SLOT_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch(this.onError);
  }

  private state(subject: string): SubjectState {
    let s = this.subjects.get(subject);
    if (!s) { s = { local: new Map(), dirty: new Set(), remote: [], remoteAt: -Infinity, refreshing: null }; this.subjects.set(subject, s); }
    return s;
  }

  private async refresh(subject: string, s: SubjectState, now: number): Promise<void> {
    if (now - s.remoteAt < REFRESH_MS) return;
    s.refreshing ??= (async () => {
      const nowSlot = Math.floor(now / RATE_SLOT_MS);
      try {
        const rows = await this.store.read(subject, nowSlot - this.config.windowSeconds + 1, nowSlot);
        s.remote = rows.filter((r) => r.frontend !== this.frontendId);
        s.remoteAt = now;
      } finally {
        s.refreshing = null;
      }
    })();
    await s.refreshing;
  }

  /**
   * Admits one mutating request of `tenant` from `client`, or throws RateLimitedError (429) naming
   * which limit it hit. An admitted request is counted against both subjects.
   */
  async admit(tenant: string, client: string, now = this.clock()): Promise<void> {
    const checks: [string, number, string][] = [];
    if (this.config.perTenant > 0) checks.push([`tenant:${tenant}`, this.config.perTenant, `tenant ${tenant}`]);
    if (this.config.perClient > 0) checks.push([`client:${client}`, this.config.perClient, 'this client address']);
    if (checks.length === 0) return;
    this.start();
    const nowSlot = Math.floor(now / RATE_SLOT_MS);
    const states = checks.map(([subject]) => this.state(subject));
    await Promise.all(checks.map(([subject], i) => this.refresh(subject, states[i], now)));
    for (let i = 0; i < checks.length; i++) {
      const [, limit, what] = checks[i];
      const s = states[i];
      const counts = [...s.remote, ...[...s.local].map(([slot, count]) => ({ slot, count }))];
      const v = judgeWindow(counts, nowSlot, this.config.windowSeconds, limit);
      if (!v.admitted) {
        throw new RateLimitedError(`too many changes by ${what}: at most ${limit} requests that change something per ${this.config.windowSeconds} s; try again in ${v.retryAfterSeconds} s`, { retryAfterSeconds: v.retryAfterSeconds });
      }
    }
    for (const s of states) {
      s.local.set(nowSlot, (s.local.get(nowSlot) ?? 0) + 1);
      s.dirty.add(nowSlot);
    }
  }

  /** Writes every changed slot count to the bus and forgets slots that left the window. */
  async flush(now = this.clock()): Promise<void> {
    if (this.flushing) { await this.flushing; }
    this.flushing = (async () => {
      const first = Math.floor(now / RATE_SLOT_MS) - this.config.windowSeconds + 1;
      const writes: Promise<void>[] = [];
      for (const [subject, s] of this.subjects) {
        if (s.dirty.size > 0) {
          const counts = [...s.dirty].map((slot) => ({ slot, count: s.local.get(slot) ?? 0 }));
          s.dirty.clear();
          // A failed write is tried again at the next flush (the counts stay in memory meanwhile).
          writes.push(this.store.write(subject, this.frontendId, counts).catch((e) => { for (const c of counts) s.dirty.add(c.slot); throw e; }));
        }
        for (const slot of s.local.keys()) if (slot < first) s.local.delete(slot);
        if (s.local.size === 0 && s.dirty.size === 0 && now - s.remoteAt > this.config.windowSeconds * RATE_SLOT_MS) this.subjects.delete(subject);
      }
      const results = await Promise.allSettled(writes);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    })();
    try { await this.flushing; } finally { this.flushing = null; }
  }
}
