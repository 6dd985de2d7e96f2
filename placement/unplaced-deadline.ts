/**
 * PURE: placement's deadline for a machine that fits nowhere (docs/lifecycle.md, "Deadlines"). The
 * clock starts at the machine's creation, or, for a machine that had been placed before (its placement
 * info says so), at the first attempt that found it unplaced again. The reason is in the tenant's
 * terms (placement's summary): it reaches the machine's state, its Job and its event log.
 */
import type { Machine } from '../schema/types.js';

export interface UnplacedDeadline {
  waitingSince: number;
  /** "not placed within 600 s: <summary>" once past the deadline, else null. */
  error: string | null;
}

export function unplacedDeadline(m: Machine, summary: string, now: number, limitMs: number): UnplacedDeadline {
  const p = m.placement;
  const placedBefore = !!p && p.attempts > 0 && p.reason === null && p.lastAttemptAt !== null;
  const waitingSince = p?.waitingSince ?? (placedBefore ? now : m.created);
  const error = now - waitingSince >= limitMs ? `not placed within ${Number((limitMs / 1000).toFixed(3))} s: ${summary}` : null;
  return { waitingSince, error };
}
