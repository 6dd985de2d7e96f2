/**
 * What the load-aware weigher (and expressions' `load`) read of the hosts' monitoring (migration
 * 0015): each host's latest sample, when it is fresh, turned into a 0..1 share of the host — CPU as
 * the busy vCPUs of its guests (or, before the agent has two readings, the load average) over its
 * CPUs, memory as its guests' memory over its memory. A host with no fresh sample is absent: the
 * weigher falls back to its allocation and explain says so. Pure.
 */
import { freshness } from '../schema/store/monitoring.js';
import type { HostSample } from '../schema/types.js';

export type HostLoad = { cpu: number; memory: number };

export function loadFromSamples(samples: readonly HostSample[], now: number): Map<string, HostLoad> {
  const out = new Map<string, HostLoad>();
  for (const s of samples) {
    if (freshness(s, now).stale || s.cpus <= 0 || s.memoryKiB <= 0) continue;
    const busy = s.guestCpuUsed ?? s.load1;
    if (busy === null || !Number.isFinite(busy)) continue;
    out.set(s.hostId, { cpu: Math.max(0, busy) / s.cpus, memory: Math.max(0, s.guestMemoryKiB) / s.memoryKiB });
  }
  return out;
}

/** Explain's note for the load-aware weigher: how many hosts were weighed by a sample, and which were not. */
export function loadNote(hostIds: readonly string[], load: ReadonlyMap<string, HostLoad>): string {
  const missing = hostIds.filter((id) => !load.has(id));
  if (missing.length === 0) return `load-aware: all ${hostIds.length} hosts weighed by their latest monitoring sample (least loaded first)`;
  const named = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length - 5} more)` : '');
  return `load-aware: ${hostIds.length - missing.length} of ${hostIds.length} hosts weighed by their latest monitoring sample; ${missing.length} without a fresh one (${named}) weighed by allocation instead (least allocated first)`;
}
