/**
 * One host sample from one reading of libvirt (pure): node capacity, every domain's info, and the
 * previous interval's CPU readings. Host figures cover every domain on the host (a guest Skybus does
 * not manage still uses the host); the machines are the domains with the agent's prefix (the domain
 * name is prefix + machine id).
 */
import type { HostSample, MachineSample } from '../schema/types.js';
import { roundRate, vcpusBusy, type CpuReading } from './cpu-rate.js';
import type { DomainSnapshot } from './libvirt-host.js';

export interface SampleInput {
  hostId: string;
  ts: number;
  intervalMs: number;
  node: { cpus: number; memoryKiB: number };
  domains: readonly DomainSnapshot[];
  domainPrefix: string;
  load1: number | null;
  /** The last interval's readings, by domain UUID. */
  previous: ReadonlyMap<string, CpuReading>;
}

export interface SampleOutput {
  sample: HostSample;
  /** This interval's readings, by domain UUID (the next interval's `previous`; vanished domains are gone). */
  readings: Map<string, CpuReading>;
}

export function buildHostSample(input: SampleInput): SampleOutput {
  const readings = new Map<string, CpuReading>();
  const domains: Record<string, number> = {};
  const machines: MachineSample[] = [];
  let guestCpu: number | null = 0;
  let guestMemoryKiB = 0;
  for (const d of input.domains) {
    const reading: CpuReading = { cpuTimeNs: d.cpuTimeNs, atMs: d.observedAtMs, domainId: d.id };
    readings.set(d.uuid, reading);
    const busy = vcpusBusy(input.previous.get(d.uuid), reading, d.vcpus);
    const active = d.id !== null;
    domains[d.state] = (domains[d.state] ?? 0) + 1;
    if (active) guestMemoryKiB += d.memoryKiB;
    // One active domain not known yet and the host's total is not known either: a sum of the others
    // would read as the host being less busy than it is.
    guestCpu = guestCpu === null || busy === null ? null : guestCpu + busy;
    if (d.name.startsWith(input.domainPrefix) && d.name.length > input.domainPrefix.length) {
      machines.push({
        machineId: d.name.slice(input.domainPrefix.length), state: d.state, vcpus: d.vcpus, cpuUsed: roundRate(busy),
        memoryKiB: active ? d.memoryKiB : 0, maxMemoryKiB: d.maxMemoryKiB,
      });
    }
  }
  machines.sort((a, b) => (a.machineId < b.machineId ? -1 : a.machineId > b.machineId ? 1 : 0));
  return {
    sample: {
      hostId: input.hostId, ts: input.ts, intervalMs: input.intervalMs, cpus: input.node.cpus, memoryKiB: input.node.memoryKiB,
      guestCpuUsed: roundRate(guestCpu), guestMemoryKiB, load1: input.load1, domains, machines,
    },
    readings,
  };
}
