/** The points of a metrics range as the API shows them (docs/monitoring-api.md): samples and hourly rollups. */
import type { MachinePoint } from '../schema/store/monitoring.js';
import { HOUR_MS } from '../schema/store/monitoring.js';
import type { HostRollup, HostSample, MachineRollup } from '../schema/types.js';

const iso = (t: number) => new Date(t).toISOString();

export function machinePointView(p: MachinePoint): Record<string, unknown> {
  const m = p.machine;
  return { timestamp: iso(p.ts), intervalMs: p.intervalMs, state: m.state, cpu: m.vcpus, cpuUsed: m.cpuUsed, memory: m.memoryKiB, maxMemory: m.maxMemoryKiB };
}

export function machineRollupView(hour: number, m: MachineRollup): Record<string, unknown> {
  return { hourStart: iso(hour * HOUR_MS), samples: m.samples, cpuUsed: m.cpuUsed, memory: m.memoryKiB };
}

export function hostPointView(s: HostSample): Record<string, unknown> {
  return {
    timestamp: iso(s.ts), intervalMs: s.intervalMs, cpu: s.cpus, memory: s.memoryKiB, cpuUsed: s.guestCpuUsed, memoryUsed: s.guestMemoryKiB,
    load1: s.load1, domains: { ...s.domains }, machines: s.machines.length,
  };
}

export function hostRollupView(r: HostRollup): Record<string, unknown> {
  return {
    hourStart: iso(r.hour * HOUR_MS), samples: r.samples, firstSample: iso(r.firstTs), lastSample: iso(r.lastTs), cpu: r.cpus, memory: r.memoryKiB,
    cpuUsed: r.guestCpuUsed, memoryUsed: r.guestMemoryKiB, load1: r.load1, machines: r.machines.length,
  };
}
