/**
 * A host's health, PURE, from its registry row, its lease and its heartbeat (docs/lifecycle.md,
 * "Host loss, fencing and HA restart"). The same function answers for the frontend (machine and host
 * views), placement (when an HA machine may start elsewhere) and the CLI (`host list`), so they never
 * disagree on what "down" means.
 *
 *   up           its agent holds the lease now
 *   unreachable  no live lease, last heartbeat less than downAfterMs ago (a blip, an agent restart)
 *   down         no live lease for downAfterMs or more
 *   removed      an admin said it will not come back (`skybus host remove`)
 *
 * HA restart time: an agent fences its HA guests once fenceAfterMs has passed since its last
 * heartbeat (on its own clock; the heartbeat carries the window it uses). Placement may start such a
 * guest elsewhere only once, on its own clock, renewed + fenceAfterMs + fenceBudgetMs (time for the
 * destroy itself) + clockSkewMs (how far the two clocks may disagree) has passed, and never before the
 * host is down. A host with no heartbeat (an agent from before heartbeats) never has its machines
 * restarted elsewhere: nobody knows its fencing window.
 */
import { ConfigError } from '../errors/registry.js';
import type { Host, HostHeartbeat, Lease } from './types.js';

/** The lease holder placement uses while it moves a down host's HA machines (the host's agent then cannot act). */
export const EVACUATION_HOLDER = 'evacuation:';

/** A lease held by the host's own agent (not by an evacuation). */
export function isAgentLease(l: Lease): boolean {
  return !l.holder.startsWith(EVACUATION_HOLDER);
}

export type HostHealth = 'up' | 'unreachable' | 'down' | 'removed';

export interface HostLivenessPolicy {
  /** No live lease for this long: the host is down. */
  downAfterMs: number;
  /** How long a fencing agent may take to destroy or pause its guests once its window has passed. */
  fenceBudgetMs: number;
  /** How far apart two machines' clocks may be. */
  clockSkewMs: number;
}

export interface HostCondition {
  health: HostHealth;
  /** The last heartbeat (agent clock; null: none ever written). */
  lastSeen: number | null;
  /** When an HA machine on it may start elsewhere (null: not while it is up, or never: no heartbeat). */
  haRestartAt: number | null;
}

export const DEFAULT_LIVENESS: HostLivenessPolicy = { downAfterMs: 60_000, fenceBudgetMs: 10_000, clockSkewMs: 2_000 };

export function hostLivenessPolicy(input: Partial<HostLivenessPolicy> = {}): HostLivenessPolicy {
  const p = { ...DEFAULT_LIVENESS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as HostLivenessPolicy;
  for (const k of ['downAfterMs', 'fenceBudgetMs', 'clockSkewMs'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new ConfigError(`host liveness ${k} must be an integer >= 0 (got ${String(p[k])})`);
  }
  if (p.downAfterMs < 1000) throw new ConfigError(`host liveness downAfterMs must be at least 1000 (got ${p.downAfterMs})`);
  return p;
}

function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new ConfigError(`${name} must be a number of seconds (got '${v}')`);
  return Math.round(Number(v) * 1000);
}

/** SKYBUS_HOST_DOWN_AFTER_S, SKYBUS_HOST_FENCE_BUDGET_S, SKYBUS_HOST_CLOCK_SKEW_S (seconds). */
export function hostLivenessFromEnv(env: NodeJS.ProcessEnv = process.env): HostLivenessPolicy {
  return hostLivenessPolicy({
    downAfterMs: envMs(env, 'SKYBUS_HOST_DOWN_AFTER_S'),
    fenceBudgetMs: envMs(env, 'SKYBUS_HOST_FENCE_BUDGET_S'),
    clockSkewMs: envMs(env, 'SKYBUS_HOST_CLOCK_SKEW_S'),
  });
}

export function hostCondition(host: Pick<Host, 'state' | 'registered'> | null, lease: Lease | null, hb: HostHeartbeat | null, now: number, p: HostLivenessPolicy): HostCondition {
  const lastSeen = hb?.renewed ?? null;
  const haRestartAt = hb ? Math.max(hb.renewed + p.downAfterMs, hb.renewed + hb.fenceAfterMs + p.fenceBudgetMs + p.clockSkewMs) : null;
  if (host?.state === 'REMOVED') return { health: 'removed', lastSeen, haRestartAt };
  if (lease && isAgentLease(lease)) return { health: 'up', lastSeen, haRestartAt: null };
  // Never heartbeated: count from its registration, so a host whose agent never came up still goes down.
  const since = lastSeen ?? host?.registered ?? now;
  return { health: now - since >= p.downAfterMs ? 'down' : 'unreachable', lastSeen, haRestartAt };
}

/** The condition's words for people: "down since 12:00:01Z (no heartbeat for 75 s)". */
export function describeCondition(c: HostCondition, now: number): string {
  if (c.health === 'up') return 'up';
  const seen = c.lastSeen === null ? 'no heartbeat ever' : `last heartbeat ${new Date(c.lastSeen).toISOString()} (${Math.round((now - c.lastSeen) / 1000)} s ago)`;
  return `${c.health}: ${seen}`;
}
