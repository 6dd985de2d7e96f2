/**
 * Explain / dry-run (docs/placement.md): for a machine (placed, waiting or unschedulable) or a
 * hypothetical spec, every host with the filter that rejected it or its score, under the policy in
 * force or a proposed one, and the host the placer would pick now. Reads the bus; writes nothing.
 * The verdicts come from the same judgeHosts the placer uses, so explain agrees with placement.
 */
import type { BusStore } from '../schema/bus-store.js';
import { isAgentLease } from '../schema/host-health.js';
import type { MachineSpec } from '../schema/types.js';
import { better, judgeHosts, placeOn, recentClaims, type HostVerdict, type PlacementContext } from './choose-host.js';
import { isHomeHost, machineOwner } from './ownership.js';
import { loadFromSamples, loadNote } from './host-load-view.js';
import type { CompiledPolicy } from './policy.js';

export interface Explanation {
  policyVersion: number;
  weigher: string;
  /** Where the placer would put it now (null: nowhere fits). */
  chosen: string | null;
  /** The live placer that owns the machine (null: a hypothetical spec, or no placer running). */
  placer: string | null;
  reason: string | null;
  /** Every host: rejected by a filter (and why), or passing with its score; best first, then rejected by id. */
  hosts: HostVerdict[];
  notes: string[];
}

/**
 * `machineId` (an existing machine) names its owning placer, whose home hosts come first; without
 * it (a hypothetical spec) hosts are ranked by score alone.
 */
export async function explainPlacement(store: BusStore, spec: MachineSpec, tenant: string, policy: CompiledPolicy, opts: { machineId?: string; now?: number } = {}): Promise<Explanation> {
  const now = opts.now ?? Date.now();
  const [hosts, leases, services, samples] = await Promise.all([store.hosts.list(), store.hosts.leases(), store.services.list('placement'), store.monitoring.latestAll()]);
  const load = loadFromSamples(samples, now);
  const alive = new Set(leases.filter(isAgentLease).map((l) => l.hostId));
  const placers = services.map((s) => s.instanceId);
  const owner = opts.machineId ? machineOwner(opts.machineId, placers) : null;
  const ctx: PlacementContext = { tenant, recentClaims: recentClaims(hosts, now - policy.doc.limits.windowSeconds * 1000), load };
  if (owner && policy.doc.homeHosts) ctx.home = (h) => isHomeHost(h, placers, owner);
  if (spec.affinity?.type === 'affinity') ctx.affinityHost = await store.placementPolicies.anchorOf(tenant, spec.affinity.group);
  const { verdicts } = judgeHosts(spec, hosts, alive, policy, ctx);
  const choice = placeOn(spec, hosts, alive, policy, ctx);
  verdicts.sort((a, b) => {
    if ((a.filter === null) !== (b.filter === null)) return a.filter === null ? -1 : 1;
    if (a.filter === null) return better(a, b);
    return a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0;
  });
  const notes: string[] = [];
  if (owner && placers.length > 1 && policy.doc.homeHosts) notes.push(`${placers.length} placers share the fleet: this machine is placer ${owner}'s, and hosts home to it are tried first (then by score)`);
  if (policy.doc.weigher === 'load-aware') notes.push(loadNote(hosts.map((h) => h.id), load));
  if (policy.version === 0) notes.push('no policy stored yet: the built-in policy from the placers\' start-up settings');
  return { policyVersion: policy.version, weigher: policy.doc.weigher, chosen: choice.candidates[0]?.id ?? null, placer: owner, reason: choice.reason, hosts: verdicts, notes };
}
