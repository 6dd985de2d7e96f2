/**
 * Explain / dry-run (docs/placement.md): for a machine (placed, waiting or unschedulable) or a
 * hypothetical spec, every host with the filter that rejected it or its score, under the policy in
 * force or a proposed one, and the host the placer would pick now. Reads the bus; writes nothing.
 * The verdicts come from the same judgeHosts the placer uses, so explain agrees with placement.
 */
import type { BusStore } from '../schema/bus-store.js';
import { isAgentLease } from '../schema/host-health.js';
import type { MachineSpec } from '../schema/types.js';
import { judgeHosts, placeOn, recentClaims, type HostVerdict, type PlacementContext } from './choose-host.js';
import type { CompiledPolicy } from './policy.js';

export interface Explanation {
  policyVersion: number;
  weigher: string;
  /** Where the placer would put it now (null: nowhere fits). */
  chosen: string | null;
  reason: string | null;
  /** Every host: rejected by a filter (and why), or passing with its score; best first, then rejected by id. */
  hosts: HostVerdict[];
  notes: string[];
}

export async function explainPlacement(store: BusStore, spec: MachineSpec, tenant: string, policy: CompiledPolicy, now = Date.now()): Promise<Explanation> {
  const [hosts, leases] = await Promise.all([store.hosts.list(), store.hosts.leases()]);
  const alive = new Set(leases.filter(isAgentLease).map((l) => l.hostId));
  const ctx: PlacementContext = { tenant, recentClaims: recentClaims(hosts, now - policy.doc.limits.windowSeconds * 1000) };
  if (spec.affinity?.type === 'affinity') ctx.affinityHost = await store.placementPolicies.anchorOf(tenant, spec.affinity.group);
  const { verdicts } = judgeHosts(spec, hosts, alive, policy, ctx);
  const choice = placeOn(spec, hosts, alive, policy, ctx);
  verdicts.sort((a, b) => {
    if ((a.filter === null) !== (b.filter === null)) return a.filter === null ? -1 : 1;
    if (a.filter === null) return (b.score! - a.score!) || a.hostId.localeCompare(b.hostId);
    return a.hostId.localeCompare(b.hostId);
  });
  const notes: string[] = [];
  if (policy.doc.weigher === 'load-aware') notes.push('load-aware: no host monitoring samples are read yet, so hosts are weighed by allocation (least allocated first)');
  if (policy.version === 0) notes.push('no policy stored yet: the built-in policy from the placers\' start-up settings');
  return { policyVersion: policy.version, weigher: policy.doc.weigher, chosen: choice.candidates[0]?.id ?? null, reason: choice.reason, hosts: verdicts, notes };
}
