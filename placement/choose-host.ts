/**
 * Pure placement decisions: filter the hosts a machine may go to, then weigh them by policy.
 * No I/O here, so the invariants are property-tested directly.
 */
import type { Host, MachineSpec, NicSpec } from '../schema/types.js';
import type { PlacementPolicy } from './config.js';

export interface Ratios { cpuAllocationRatio: number; ramAllocationRatio: number }

export function capacityOf(h: Host, r: Ratios): { cpus: number; memoryKiB: number } {
  return { cpus: Math.floor(h.cpus * r.cpuAllocationRatio), memoryKiB: Math.floor(h.memoryKiB * r.ramAllocationRatio) };
}

export function fits(h: Host, need: { cpus: number; memoryKiB: number }, r: Ratios): boolean {
  const cap = capacityOf(h, r);
  return h.usedCpus + need.cpus <= cap.cpus && h.usedMemoryKiB + need.memoryKiB <= cap.memoryKiB;
}

/** The host is in one of the network's host groups (it has every label of one group). */
export function onNetwork(h: Host, nic: NicSpec): boolean {
  return nic.hostGroups.some((g) => Object.entries(g.hostLabels).every(([k, v]) => h.labels[k] === v));
}

function quotedList(names: string[]): string {
  return [...new Set(names)].map((n) => `'${n}'`).join(', ');
}

type Filter = { name: string; pass: (h: Host) => boolean; why: string };

export interface Choice {
  candidates: Host[];
  /** For operators: how many hosts each filter removed. */
  reason: string | null;
  /** For the tenant: what the machine waits for, naming only its own request (never host counts or free capacity). */
  summary: string | null;
}

function gib(kib: number): string {
  const g = kib / (1024 * 1024);
  return g >= 1 ? `${Number(g.toFixed(1))} GiB` : `${Math.round(kib / 1024)} MiB`;
}

/**
 * Hosts the machine can go to, best first. When none, `reason` says which filter removed the last
 * hosts, e.g. "0 of 5 hosts: 2 not alive, 3 without 4 free CPUs", and `summary` says the same
 * from the tenant's side, after the filter that removed the last candidate.
 */
export function chooseHosts(spec: MachineSpec, hosts: Host[], alive: ReadonlySet<string>, policy: PlacementPolicy, r: Ratios): Choice {
  const need = { cpus: spec.cpu, memoryKiB: spec.memoryKiB };
  const reqs = Object.entries(spec.requirements ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  // A machine's networks are requirements too: only hosts in a host group of every one of them.
  const nics = spec.networkInterfaces ?? [];
  const nets = quotedList(nics.map((n) => n.networkName || n.network));
  const plural = new Set(nics.map((n) => n.network)).size === 1 ? '' : 's';
  const noRoom = `no capacity for ${need.cpus} vCPU${need.cpus === 1 ? '' : 's'} and ${gib(need.memoryKiB)} of memory right now`;
  const summaries: Record<string, string> = {
    alive: 'no host is available right now', enabled: 'no host is available right now',
    arch: `no host for ${spec.cpuArch} machines is available`, labels: `no available host meets the requirements (${reqs})`,
    network: `no available host is on network${plural} ${nets}`,
    cpu: noRoom, memory: noRoom,
  };
  const filters: Filter[] = [
    { name: 'alive', pass: (h) => alive.has(h.id), why: 'not alive' },
    { name: 'enabled', pass: (h) => h.state === 'ENABLED', why: 'disabled' },
    { name: 'arch', pass: (h) => h.arch === spec.cpuArch, why: `not ${spec.cpuArch}` },
    { name: 'labels', pass: (h) => Object.entries(spec.requirements ?? {}).every(([k, v]) => h.labels[k] === v), why: 'without the required labels' },
    { name: 'network', pass: (h) => nics.every((n) => onNetwork(h, n)), why: `not on network${plural} ${nets}` },
    { name: 'cpu', pass: (h) => h.usedCpus + need.cpus <= capacityOf(h, r).cpus, why: `without ${need.cpus} free CPUs` },
    { name: 'memory', pass: (h) => h.usedMemoryKiB + need.memoryKiB <= capacityOf(h, r).memoryKiB, why: `without ${need.memoryKiB} KiB free memory` },
  ];
  let left = hosts;
  const removed: string[] = [];
  let emptiedBy: string | null = null;
  for (const f of filters) {
    const kept = left.filter(f.pass);
    if (kept.length < left.length) removed.push(`${left.length - kept.length} ${f.why}`);
    if (kept.length === 0 && left.length > 0) emptiedBy = f.name;
    left = kept;
  }
  if (left.length === 0) {
    if (hosts.length === 0) return { candidates: [], reason: 'no hosts registered', summary: 'no host is available right now' };
    return { candidates: [], reason: `0 of ${hosts.length} hosts fit: ${removed.join(', ')}`, summary: summaries[emptiedBy ?? 'alive'] };
  }
  const load = (h: Host) => {
    const cap = capacityOf(h, r);
    return Math.max(h.usedCpus / cap.cpus, h.usedMemoryKiB / cap.memoryKiB);
  };
  const sorted = [...left].sort((a, b) => {
    const d = policy === 'packing' ? load(b) - load(a) : load(a) - load(b);
    return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return { candidates: sorted, reason: null, summary: null };
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
