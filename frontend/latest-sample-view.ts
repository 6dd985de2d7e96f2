/**
 * The latest monitoring sample as the API shows it (docs/monitoring-api.md): a machine's entry of its
 * host's host_latest row, or the host's own figures. Staleness comes from freshness() (the sample's
 * own time against three of its intervals) and from the host's health: a sample of a host that is
 * not up is never presented as current, whatever its age. Nothing here invents a value.
 */
import type { HostCondition } from '../schema/host-health.js';
import { freshness } from '../schema/store/monitoring.js';
import type { HostSample } from '../schema/types.js';

type Health = HostCondition['health'] | null;

function age(s: HostSample, health: Health, now: number): { timestamp: string; stale: boolean; ageSeconds: number } {
  const f = freshness(s, now);
  return { timestamp: new Date(s.ts).toISOString(), stale: f.stale || (health !== null && health !== 'up'), ageSeconds: Math.max(0, Math.round(f.ageMs / 1000)) };
}

/** The machine's entry in its host's latest sample; null when the sample does not name it. */
export function machineLatestSample(s: HostSample | null, machineId: string, health: Health, now: number): Record<string, unknown> | null {
  const m = s?.machines.find((x) => x.machineId === machineId);
  if (!s || !m) return null;
  return { ...age(s, health, now), state: m.state, cpuUsed: m.cpuUsed, cpu: m.vcpus, memory: m.memoryKiB, maxMemory: m.maxMemoryKiB };
}

/** The host's use in its latest sample (not its allocation: hostView has that). */
export function hostLatestSample(s: HostSample, health: Health, now: number): Record<string, unknown> {
  return {
    ...age(s, health, now), intervalMs: s.intervalMs, cpuUsed: s.guestCpuUsed, memoryUsed: s.guestMemoryKiB, load1: s.load1,
    domains: { ...s.domains }, machines: s.machines.length,
  };
}
