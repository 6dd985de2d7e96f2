/**
 * Pure placement decisions: filter the hosts a machine may go to, then weigh them by policy.
 * No I/O here, so the invariants are property-tested directly.
 */
import type { Host, MachineSpec } from '../schema/types.js';
import type { PlacementPolicy } from './config.js';

export interface Ratios { cpuAllocationRatio: number; ramAllocationRatio: number }

export function capacityOf(h: Host, r: Ratios): { cpus: number; memoryKiB: number } {
  return { cpus: Math.floor(h.cpus * r.cpuAllocationRatio), memoryKiB: Math.floor(h.memoryKiB * r.ramAllocationRatio) };
}

export function fits(h: Host, need: { cpus: number; memoryKiB: number }, r: Ratios): boolean {
  const cap = capacityOf(h, r);
  return h.usedCpus + need.cpus <= cap.cpus && h.usedMemoryKiB + need.memoryKiB <= cap.memoryKiB;
}

type Filter = { name: string; pass: (h: Host) => boolean; why: string };

export interface Choice { candidates: Host[]; reason: string | null }

/**
 * Hosts the machine can go to, best first. When none, `reason` says which filter removed the last
 * hosts, e.g. "0 of 5 hosts: 2 not alive, 3 without 4 free CPUs".
 */
export function chooseHosts(spec: MachineSpec, hosts: Host[], alive: ReadonlySet<string>, policy: PlacementPolicy, r: Ratios): Choice {
  const need = { cpus: spec.cpu, memoryKiB: spec.memoryKiB };
  const filters: Filter[] = [
    { name: 'alive', pass: (h) => alive.has(h.id), why: 'not alive' },
    { name: 'enabled', pass: (h) => h.state === 'ENABLED', why: 'disabled' },
    { name: 'arch', pass: (h) => h.arch === spec.cpuArch, why: `not ${spec.cpuArch}` },
    { name: 'labels', pass: (h) => Object.entries(spec.requirements ?? {}).every(([k, v]) => h.labels[k] === v), why: 'without the required labels' },
    { name: 'cpu', pass: (h) => h.usedCpus + need.cpus <= capacityOf(h, r).cpus, why: `without ${need.cpus} free CPUs` },
    { name: 'memory', pass: (h) => h.usedMemoryKiB + need.memoryKiB <= capacityOf(h, r).memoryKiB, why: `without ${need.memoryKiB} KiB free memory` },
  ];
  let left = hosts;
  const removed: string[] = [];
  for (const f of filters) {
    const kept = left.filter(f.pass);
    if (kept.length < left.length) removed.push(`${left.length - kept.length} ${f.why}`);
    left = kept;
  }
  if (left.length === 0) {
    return { candidates: [], reason: hosts.length === 0 ? 'no hosts registered' : `0 of ${hosts.length} hosts fit: ${removed.join(', ')}` };
  }
  const load = (h: Host) => {
    const cap = capacityOf(h, r);
    return Math.max(h.usedCpus / cap.cpus, h.usedMemoryKiB / cap.memoryKiB);
  };
  const sorted = [...left].sort((a, b) => {
    const d = policy === 'packing' ? load(b) - load(a) : load(a) - load(b);
    return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return { candidates: sorted, reason: null };
}

/** Exponential back-off for a machine that fits nowhere. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Which live placer owns a machine: a stable hash over the sorted instance list. */
export function ownerOf(machineId: string, placers: string[]): string | null {
  if (placers.length === 0) return null;
  let h = 0x811c9dc5;
  for (let i = 0; i < machineId.length; i++) { h ^= machineId.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return [...placers].sort()[h % placers.length];
}
