/**
 * PURE: when a machine whose action keeps failing is tried again. After n failed attempts in a row the
 * next one waits min(2^(n-1) x intervalMs, backoffMaxMs): 1, 2, 4, ... cycles, or as much time,
 * whichever comes first (a hand-driven or quick cycle counts as one; a slow cycle must not stretch the
 * wait past the cap). The first retry is the next cycle, as without back-off. The loop itself never
 * slows down: only the action is skipped, status is still written every cycle.
 */
export interface Backoff {
  /** Failed attempts in a row. */
  failures: number;
  /** The cycle (the agent's count) and the time of the last failed attempt. */
  cycle: number;
  at: number;
}

export interface BackoffPolicy {
  intervalMs: number;
  maxMs: number;
}

/** How long after the last of `failures` failed attempts the next one is due. */
export function backoffDelay(failures: number, p: BackoffPolicy): { cycles: number; ms: number } {
  if (failures <= 0) return { cycles: 0, ms: 0 };
  const ms = Math.min(p.maxMs, p.intervalMs * 2 ** Math.min(failures - 1, 40));
  return { cycles: Math.max(1, Math.ceil(ms / p.intervalMs)), ms };
}

/** May the action be attempted in this cycle? (null: nothing failed, always.) */
export function actionDue(b: Backoff | null, cycle: number, now: number, p: BackoffPolicy): boolean {
  if (!b || b.failures <= 0) return true;
  const d = backoffDelay(b.failures, p);
  return cycle - b.cycle >= d.cycles || now - b.at >= d.ms;
}

/** The back-off after one more failed attempt (an attempt that succeeded resets it: null). */
export function afterFailure(b: Backoff | null, cycle: number, now: number): Backoff {
  return { failures: (b?.failures ?? 0) + 1, cycle, at: now };
}
