/**
 * Pure placement decisions: filter the hosts a machine may go to, then weigh them by policy.
 * No I/O here, so the invariants are property-tested directly.
 */
import type { Host, MachineSpec, NicSpec } from '../schema/types.js';
import type { PlacementPolicy } from './config.js';
import { compilePolicy, defaultPolicy, type CompiledPolicy, type HostFacts } from './policy.js';

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

/** One host's fate for one machine (explain): the filter that rejected it, or its score. */
export interface HostVerdict {
  hostId: string; filter: string | null; why: string | null; score: number | null; group: string | null;
  /** Home to the machine's placer (ownership.ts): tried before hosts that are not, whatever their score. */
  home: boolean;
}

/** What the placer knows beyond the hosts (all optional: absent means "no such constraint"). */
export interface PlacementContext {
  /** The machine's tenant (affinity groups are per tenant). */
  tenant?: string;
  /** The host the machine's affinity group is anchored on (null: no member placed yet). */
  affinityHost?: string | null;
  /** Machines claimed per host within the policy's limit window (limits.perHost). */
  recentClaims?: ReadonlyMap<string, number>;
  /** Hosts home to the machine's owning placer (ownership.ts) come first; absent: every host is home. */
  home?: (hostId: string) => boolean;
  /** Host load from monitoring, 0..1 (weigher load-aware; absent: allocation is used instead). */
  load?: ReadonlyMap<string, { cpu: number; memory: number }>;
}

function gib(kib: number): string {
  const g = kib / (1024 * 1024);
  return g >= 1 ? `${Number(g.toFixed(1))} GiB` : `${Math.round(kib / 1024)} MiB`;
}

/** Machines claimed per host since `since` (limits.perHost), from the host rows: every placer's claims. */
export function recentClaims(hosts: Iterable<Host>, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const h of hosts) {
    let n = 0;
    for (const a of Object.values(h.allocations)) if ((a.at ?? 0) >= since) n++;
    if (n > 0) out.set(h.id, n);
  }
  return out;
}

/** The allocation tag of a machine in an affinity group (host rows carry it: anti-affinity re-checks it under the claim's compare-and-set). */
export function groupTag(tenant: string, group: string): string {
  return `${tenant}/${group}`;
}

/** What expressions read of a host for this machine (placement/policy.ts HostFacts). */
export function hostFacts(h: Host, spec: MachineSpec, r: Ratios, load: { cpu: number; memory: number } | null): HostFacts {
  const cap = capacityOf(h, r);
  return {
    id: h.id, name: h.name, arch: h.arch, labels: h.labels, cpu: h.cpus, memory: h.memoryKiB,
    used: { cpu: h.usedCpus, memory: h.usedMemoryKiB }, free: { cpu: cap.cpus - h.usedCpus, memory: cap.memoryKiB - h.usedMemoryKiB },
    machines: Object.keys(h.allocations).length, load, machine: { cpu: spec.cpu, memory: spec.memoryKiB },
  };
}

/**
 * Every host's verdict for the machine under the policy, in filter order, and the ones that pass
 * weighed (higher score first). Pure: chooseHosts, explain and the property tests share it.
 */
export function judgeHosts(spec: MachineSpec, hosts: Host[], alive: ReadonlySet<string>, policy: CompiledPolicy, ctx: PlacementContext = {}): { verdicts: HostVerdict[]; filters: Filter[]; summaries: Record<string, string> } {
  const need = { cpus: spec.cpu, memoryKiB: spec.memoryKiB };
  const reqs = Object.entries(spec.requirements ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  // A machine's networks are requirements too: only hosts in a host group of every one of them.
  const nics = spec.networkInterfaces ?? [];
  const nets = quotedList(nics.map((n) => n.networkName || n.network));
  const plural = new Set(nics.map((n) => n.network)).size === 1 ? '' : 's';
  const noRoom = `no capacity for ${need.cpus} vCPU${need.cpus === 1 ? '' : 's'} and ${gib(need.memoryKiB)} of memory right now`;
  const aff = spec.affinity && ctx.tenant !== undefined ? { ...spec.affinity, tag: groupTag(ctx.tenant, spec.affinity.group) } : null;
  const limits = policy.doc.limits;
  const summaries: Record<string, string> = {
    alive: 'no host is available right now', enabled: 'no host is available right now',
    arch: `no host for ${spec.cpuArch} machines is available`, labels: `no available host meets the requirements (${reqs})`,
    network: `no available host is on network${plural} ${nets}`,
    policy: 'no available host meets this cloud\'s placement requirements', limit: 'hosts are busy placing other machines: waiting',
    affinity: `the host of affinity group '${aff?.group ?? ''}' has no room`, 'anti-affinity': `every available host already runs a machine of anti-affinity group '${aff?.group ?? ''}'`,
    cpu: noRoom, memory: noRoom,
  };
  const facts = (h: Host) => hostFacts(h, spec, policy.ratiosOf(h), ctx.load?.get(h.id) ?? null);
  const filters: Filter[] = [
    { name: 'alive', pass: (h) => alive.has(h.id), why: 'not alive' },
    { name: 'enabled', pass: (h) => h.state === 'ENABLED', why: 'disabled' },
    { name: 'arch', pass: (h) => h.arch === spec.cpuArch, why: `not ${spec.cpuArch}` },
    { name: 'labels', pass: (h) => Object.entries(spec.requirements ?? {}).every(([k, v]) => h.labels[k] === v), why: 'without the required labels' },
    { name: 'network', pass: (h) => nics.every((n) => onNetwork(h, n)), why: `not on network${plural} ${nets}` },
    ...(policy.requirement ? [{ name: 'policy', pass: (h: Host) => policy.requirement!(facts(h)), why: `not meeting the policy's requirements (${policy.doc.requirements})` }] : []),
    ...(aff?.type === 'affinity' && ctx.affinityHost ? [{ name: 'affinity', pass: (h: Host) => h.id === ctx.affinityHost, why: `not the host of affinity group '${aff.group}'` }] : []),
    ...(aff?.type === 'anti-affinity' ? [{ name: 'anti-affinity', pass: (h: Host) => !Object.values(h.allocations).some((a) => a.group === aff.tag), why: `already running a machine of anti-affinity group '${aff.group}'` }] : []),
    ...(limits.perHost !== null && ctx.recentClaims ? [{ name: 'limit', pass: (h: Host) => (ctx.recentClaims!.get(h.id) ?? 0) < limits.perHost!, why: `with ${limits.perHost} machines placed in the last ${limits.windowSeconds} s` }] : []),
    { name: 'cpu', pass: (h) => h.usedCpus + need.cpus <= capacityOf(h, policy.ratiosOf(h)).cpus, why: `without ${need.cpus} free CPUs` },
    { name: 'memory', pass: (h) => h.usedMemoryKiB + need.memoryKiB <= capacityOf(h, policy.ratiosOf(h)).memoryKiB, why: `without ${need.memoryKiB} KiB free memory` },
  ];
  const allocationLoad = (h: Host) => {
    const cap = capacityOf(h, policy.ratiosOf(h));
    return Math.max(h.usedCpus / cap.cpus, h.usedMemoryKiB / cap.memoryKiB);
  };
  const score = (h: Host): number => {
    switch (policy.doc.weigher) {
      case 'packing': return allocationLoad(h);
      case 'striping': return -allocationLoad(h);
      case 'load-aware': {
        const l = ctx.load?.get(h.id);
        return l ? -Math.max(l.cpu, l.memory) : -allocationLoad(h);
      }
      case 'rank': {
        const v = policy.rank ? policy.rank(facts(h)) : 0;
        return Number.isFinite(v) ? v : 0;
      }
    }
  };
  const verdicts = hosts.map((h): HostVerdict => {
    const failed = filters.find((f) => !f.pass(h));
    return { hostId: h.id, filter: failed?.name ?? null, why: failed?.why ?? null, score: failed ? null : score(h), group: policy.groupOf(h)?.name ?? null, home: ctx.home ? ctx.home(h.id) : true };
  });
  return { verdicts, filters, summaries };
}

/**
 * Hosts the machine can go to, best first. When none, `reason` says which filter removed the last
 * hosts, e.g. "0 of 5 hosts: 2 not alive, 3 without 4 free CPUs", and `summary` says the same
 * from the tenant's side, after the filter that removed the last candidate.
 */
export function placeOn(spec: MachineSpec, hosts: Host[], alive: ReadonlySet<string>, policy: CompiledPolicy, ctx: PlacementContext = {}, top = Infinity): Choice {
  const { verdicts, filters, summaries } = judgeHosts(spec, hosts, alive, policy, ctx);
  const byId = new Map(hosts.map((h) => [h.id, h]));
  let passed = verdicts.filter((v) => v.filter === null);
  // A placer only ever tries the first few: keep the best `top` without sorting a whole fleet.
  if (passed.length > top * 4) passed = bestOf(passed, top);
  if (passed.length === 0) {
    if (hosts.length === 0) return { candidates: [], reason: 'no hosts registered', summary: 'no host is available right now' };
    const removed: string[] = [];
    let emptiedBy: string | null = null;
    for (const f of filters) {
      const n = verdicts.filter((v) => v.filter === f.name).length;
      if (n > 0) { removed.push(`${n} ${f.why}`); emptiedBy = f.name; }
    }
    return { candidates: [], reason: `0 of ${hosts.length} hosts fit: ${removed.join(', ')}`, summary: summaries[emptiedBy ?? 'alive'] ?? null };
  }
  passed.sort(better);
  return { candidates: passed.map((v) => byId.get(v.hostId)!), reason: null, summary: null };
}

/** Placement order: home hosts first, then higher score, then host id. */
export const better = (a: HostVerdict, b: HostVerdict) => (Number(b.home) - Number(a.home)) || (b.score! - a.score!) || (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0);

/** The `k` best verdicts (by score, then id), in one pass. */
function bestOf(vs: HostVerdict[], k: number): HostVerdict[] {
  const out: HostVerdict[] = [];
  for (const v of vs) {
    if (out.length === k && better(v, out[k - 1]!) >= 0) continue;
    let i = out.length === k ? k - 1 : out.length;
    if (out.length === k) out.pop();
    out.push(v);
    for (i = out.length - 1; i > 0 && better(out[i]!, out[i - 1]!) < 0; i--) [out[i], out[i - 1]] = [out[i - 1]!, out[i]!];
  }
  return out;
}

/** placeOn under a built-in policy of one weigher and one pair of ratios (start-up settings, tests). */
export function chooseHosts(spec: MachineSpec, hosts: Host[], alive: ReadonlySet<string>, weigher: PlacementPolicy, r: Ratios): Choice {
  return placeOn(spec, hosts, alive, compilePolicy(defaultPolicy(r, weigher), 0, null));
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
