/**
 * Host monitoring rows (migration 0015) to and from their types. A sample's machines are one JSON
 * array in the `machines` column, with short keys and without unknown values, so one row carries a
 * host and all its machines (~120 B a machine). Values are checked before anything is written.
 */
import { ValidationError } from '../../errors/registry.js';
import { fromJson, toJson } from '../json-column.js';
import type { Row } from '../table-driver.js';
import type { HostRollup, HostSample, MachineRollup, MachineSample, MinAvgMax } from '../types.js';

/** A machine as stored in the `machines` JSON of a sample. */
interface StoredMachine { id: string; state: string; vcpus: number; cpu?: number; memKiB: number; maxMemKiB: number }
/** A machine as stored in the `machines` JSON of a rollup. */
interface StoredMachineRollup { id: string; n: number; cpu?: MinAvgMax; memKiB: MinAvgMax }

function finite(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ValidationError(`${what} must be a finite number >= ${min}`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValidationError(`${what} must be a non-negative integer`);
  return v;
}

function checkMachine(m: MachineSample): void {
  if (typeof m !== 'object' || m === null) throw new ValidationError('a machine sample must be an object');
  if (typeof m.machineId !== 'string' || m.machineId === '' || m.machineId.length > 128) throw new ValidationError('a machine sample needs its machine id');
  if (typeof m.state !== 'string' || m.state === '') throw new ValidationError('a machine sample needs a state');
  count(m.vcpus, 'vcpus');
  if (m.cpuUsed !== null) finite(m.cpuUsed, 'cpuUsed');
  count(m.memoryKiB, 'memoryKiB');
  count(m.maxMemoryKiB, 'maxMemoryKiB');
}

export function checkSample(s: HostSample): void {
  if (!Number.isSafeInteger(s.ts) || s.ts <= 0) throw new ValidationError('a sample needs its time (ms since the epoch)');
  if (!Number.isInteger(s.intervalMs) || s.intervalMs <= 0 || s.intervalMs > 2_147_483_647) throw new ValidationError('a sample needs its interval (ms)');
  count(s.cpus, 'cpus');
  count(s.memoryKiB, 'memoryKiB');
  if (s.guestCpuUsed !== null) finite(s.guestCpuUsed, 'guestCpuUsed');
  count(s.guestMemoryKiB, 'guestMemoryKiB');
  if (s.load1 !== null) finite(s.load1, 'load1');
  if (typeof s.domains !== 'object' || s.domains === null || Array.isArray(s.domains)) throw new ValidationError('a sample needs its domain counts by state');
  if (!Array.isArray(s.machines)) throw new ValidationError('a sample needs its machines (a list)');
  for (const [state, n] of Object.entries(s.domains)) count(n, `domains.${state}`);
  const ids = new Set<string>();
  for (const m of s.machines) {
    checkMachine(m);
    if (ids.has(m.machineId)) throw new ValidationError(`machine ${m.machineId} appears twice in one sample`);
    ids.add(m.machineId);
  }
}

function storedMachine(m: MachineSample): StoredMachine {
  const o: StoredMachine = { id: m.machineId, state: m.state, vcpus: m.vcpus, memKiB: m.memoryKiB, maxMemKiB: m.maxMemoryKiB };
  if (m.cpuUsed !== null) o.cpu = m.cpuUsed;
  return o;
}

/**
 * The columns of a sample. `withNulls`: unknown values as null columns (host_latest, overwritten: a
 * left-out column would keep the previous sample's value); without, left out (host_samples: a new row
 * each time, so nothing to clear and no null cell, i.e. no tombstone, written).
 */
export function sampleColumns(s: HostSample, withNulls: boolean): Row {
  const row: Row = {
    ts: s.ts, interval_ms: s.intervalMs, cpus: s.cpus, memory_kib: s.memoryKiB, guest_memory_kib: s.guestMemoryKiB,
    domains: toJson(s.domains), machines: toJson(s.machines.map(storedMachine)),
  };
  if (s.guestCpuUsed !== null || withNulls) row.guest_cpu_used = s.guestCpuUsed;
  if (s.load1 !== null || withNulls) row.load1 = s.load1;
  return row;
}

export function machinesOf(v: Row['machines']): MachineSample[] {
  return fromJson<StoredMachine[]>(v, 'sample machines', []).map((m) => ({
    machineId: m.id, state: m.state, vcpus: m.vcpus, cpuUsed: m.cpu ?? null, memoryKiB: m.memKiB, maxMemoryKiB: m.maxMemKiB,
  }));
}

export function sampleOf(hostId: string, r: Row): HostSample {
  return {
    hostId, ts: r.ts as number, intervalMs: r.interval_ms as number, cpus: r.cpus as number, memoryKiB: r.memory_kib as number,
    guestCpuUsed: (r.guest_cpu_used as number | null) ?? null, guestMemoryKiB: r.guest_memory_kib as number, load1: (r.load1 as number | null) ?? null,
    domains: fromJson<Record<string, number>>(r.domains, 'sample domains', {}), machines: machinesOf(r.machines),
  };
}

function checkMinAvgMax(v: MinAvgMax | null, what: string): void {
  if (v === null) return;
  finite(v.min, `${what}.min`);
  finite(v.avg, `${what}.avg`);
  finite(v.max, `${what}.max`);
  if (!(v.min <= v.avg && v.avg <= v.max)) throw new ValidationError(`${what}: min <= avg <= max`);
}

export function checkRollup(r: HostRollup): void {
  if (!Number.isSafeInteger(r.hour) || r.hour <= 0) throw new ValidationError('a rollup needs its hour (hours since the epoch)');
  count(r.samples, 'samples');
  if (!(r.firstTs >= r.hour * 3_600_000 && r.lastTs >= r.firstTs && r.lastTs < (r.hour + 1) * 3_600_000)) throw new ValidationError('a rollup\'s samples must lie in its hour');
  count(r.cpus, 'cpus');
  count(r.memoryKiB, 'memoryKiB');
  checkMinAvgMax(r.guestCpuUsed, 'guestCpuUsed');
  checkMinAvgMax(r.guestMemoryKiB, 'guestMemoryKiB');
  checkMinAvgMax(r.load1, 'load1');
  for (const m of r.machines) {
    count(m.samples, 'machine samples');
    checkMinAvgMax(m.cpuUsed, `${m.machineId}.cpuUsed`);
    checkMinAvgMax(m.memoryKiB, `${m.machineId}.memoryKiB`);
  }
}

/** Every column, unknown ones null: a rewrite of the same key must not keep an older rewrite's value. */
export function rollupColumns(r: HostRollup): Row {
  const stored: StoredMachineRollup[] = r.machines.map((m) => ({ id: m.machineId, n: m.samples, ...(m.cpuUsed ? { cpu: m.cpuUsed } : {}), memKiB: m.memoryKiB }));
  return {
    samples: r.samples, first_ts: r.firstTs, last_ts: r.lastTs, cpus: r.cpus, memory_kib: r.memoryKiB,
    cpu_min: r.guestCpuUsed?.min ?? null, cpu_avg: r.guestCpuUsed?.avg ?? null, cpu_max: r.guestCpuUsed?.max ?? null,
    mem_min: Math.round(r.guestMemoryKiB.min), mem_avg: r.guestMemoryKiB.avg, mem_max: Math.round(r.guestMemoryKiB.max),
    load_min: r.load1?.min ?? null, load_avg: r.load1?.avg ?? null, load_max: r.load1?.max ?? null,
    machines: toJson(stored),
  };
}

function triple(min: Row[string], avg: Row[string], max: Row[string]): MinAvgMax | null {
  return min === null || avg === null || max === null ? null : { min: min as number, avg: avg as number, max: max as number };
}

export function rollupOf(hostId: string, r: Row): HostRollup {
  const machines: MachineRollup[] = fromJson<StoredMachineRollup[]>(r.machines, 'rollup machines', []).map((m) => ({
    machineId: m.id, samples: m.n, cpuUsed: m.cpu ?? null, memoryKiB: m.memKiB,
  }));
  return {
    hostId, hour: r.hour as number, samples: r.samples as number, firstTs: r.first_ts as number, lastTs: r.last_ts as number,
    cpus: r.cpus as number, memoryKiB: r.memory_kib as number,
    guestCpuUsed: triple(r.cpu_min, r.cpu_avg, r.cpu_max),
    guestMemoryKiB: triple(r.mem_min, r.mem_avg, r.mem_max) ?? { min: 0, avg: 0, max: 0 },
    load1: triple(r.load_min, r.load_avg, r.load_max), machines,
  };
}
