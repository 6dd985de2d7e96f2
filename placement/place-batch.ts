/**
 * One placer cycle's batch (docs/placement.md, "Binding"): plan every waiting machine at once
 * (batch-plan.ts), claim what each host gets with ONE compare-and-set on its generation, bind the
 * claimed machines with one conditional batch per binding partition, then copy the bindings onto
 * the machines and their hosts' partitions with plain writes. A lost claim re-reads that host and
 * re-plans only its machines; a machine someone else bound first gives its claim back and adopts
 * the binding it found. Exactly once: a machine's capacity is claimed on many hosts at most for a
 * moment, and bound to one.
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import { mapLimited } from '../schema/bounded-parallel.js';
import { bindingShardOf, type Binding, type BindingRequest } from '../schema/store/placement-bindings.js';
import type { Host, Machine, PlacementInfo } from '../schema/types.js';
import { planBatch, type PlanItem } from './batch-plan.js';
import { groupTag, recentClaims, type PlacementContext } from './choose-host.js';
import type { CompiledPolicy } from './policy.js';

export interface BatchEnv {
  store: BusStore;
  log: Logger;
  metrics: SkybusMetrics;
  instanceId: string;
  /** The placer's view of the fleet: updated here with what every claim returns. */
  hosts: Map<string, Host>;
  alive: ReadonlySet<string>;
  policy: CompiledPolicy;
  /** Whether a host is home to a machine's owner (ownership.ts). */
  home: (hostId: string, owner: string | null) => boolean;
  /** The live placer that owns a machine. */
  ownerOf: (machineId: string) => string | null;
  load?: PlacementContext['load'];
  /**
   * Several placers share the fleet by home hosts: a machine planned onto a host that is not its
   * owner's home waits one round (the owners claim their own hosts first) and that host is read
   * again before its compare-and-set, so a near-full fleet costs plain reads, not lost claims.
   */
  spillLate?: boolean;
  /** Rounds of claim conflicts before a machine waits for the next cycle. */
  maxClaimRounds: number;
  /** Claims in flight at once. */
  inFlight: number;
}

export interface Waiting { machine: Machine; attempt: number }

export type Outcome =
  | { kind: 'placed'; hostId: string }
  | { kind: 'unschedulable'; reason: string; summary: string }
  /** Every round lost its claim: try again next cycle. */
  | { kind: 'contended' }
  /** Another placer bound it first (its binding is adopted). */
  | { kind: 'lost'; hostId: string };

export interface BatchReport {
  outcomes: Map<string, Outcome>;
  /** Compare-and-sets lost (one per host batch). */
  conflicts: number;
  /** Machines re-planned because their host's compare-and-set was lost. */
  retries: number;
  claims: number;
  bindingBatches: number;
}

interface Claimed { w: Waiting; hostId: string; claimId: string }

/** Each machine's claim on a host of the view, if it holds one (a binding that failed after its claim). */
function heldClaims(hosts: Map<string, Host>, ids: Set<string>): Map<string, { hostId: string; claimId: string }> {
  const out = new Map<string, { hostId: string; claimId: string }>();
  for (const h of hosts.values()) {
    for (const [mid, a] of Object.entries(h.allocations)) if (ids.has(mid)) out.set(mid, { hostId: h.id, claimId: a.claimId });
  }
  return out;
}

export async function placeBatch(env: BatchEnv, waiting: Waiting[], now: number): Promise<BatchReport> {
  const { store, policy, metrics } = env;
  const report: BatchReport = { outcomes: new Map(), conflicts: 0, retries: 0, claims: 0, bindingBatches: 0 };
  const claimed: Claimed[] = [];
  let pending = waiting;
  const windowStart = now - policy.doc.limits.windowSeconds * 1000;
  /** Hosts read again this batch before a spilled claim (once each). */
  const readAgain = new Set<string>();
  for (let round = 0; round < env.maxClaimRounds && pending.length > 0; round++) {
    // A machine that holds a claim already (a binding that failed after it, or another placer's
    // claim seen after a conflict) binds with that claim: capacity is never claimed twice on purpose.
    const held = heldClaims(env.hosts, new Set(pending.map((w) => w.machine.id)));
    pending = pending.filter((w) => {
      const c = held.get(w.machine.id);
      if (c) claimed.push({ w, ...c });
      return !c;
    });
    if (pending.length === 0) break;
    const byId = new Map(pending.map((w) => [w.machine.id, w]));
    const items: PlanItem[] = pending.map((w) => ({ id: w.machine.id, tenant: w.machine.tenant, spec: w.machine.spec, owner: env.ownerOf(w.machine.id) }));
    const plan = planBatch(items, env.hosts, env.alive, policy, { recentClaims: recentClaims(env.hosts.values(), windowStart), at: now, home: env.home, ...(env.load ? { load: env.load } : {}) });
    for (const { item, choice } of plan.unplaced) {
      report.outcomes.set(item.id, { kind: 'unschedulable', reason: choice.reason ?? 'no host fits', summary: choice.summary ?? 'waiting for capacity' });
    }
    const retry: Waiting[] = [];
    await mapLimited([...plan.byHost], env.inFlight, async ([hostId, all]) => {
      let its = all;
      let seen = env.hosts.get(hostId)!;
      if (env.spillLate) {
        const spill = its.filter((it) => !env.home(hostId, it.owner ?? null));
        if (spill.length > 0 && round === 0) {
          // Another placer's home host: theirs first; planned again next round.
          its = its.filter((it) => env.home(hostId, it.owner ?? null));
          for (const it of spill) retry.push(byId.get(it.id)!);
        } else if (spill.length > 0 && !readAgain.has(hostId)) {
          readAgain.add(hostId);
          const now2 = await store.hosts.get(hostId);
          if (!now2 || now2.generation !== seen.generation) {
            // It changed since the fleet was read: plan these machines again on what it holds now.
            if (now2) env.hosts.set(hostId, now2); else env.hosts.delete(hostId);
            for (const it of its) retry.push(byId.get(it.id)!);
            return;
          }
          seen = now2;
        }
        if (its.length === 0) return;
      }
      const r = await store.hosts.claimAll(seen, its.map((it) => ({
        machineId: it.id,
        need: { cpus: it.spec.cpu, memoryKiB: it.spec.memoryKiB, at: now, ...(it.spec.affinity ? { group: groupTag(it.tenant, it.spec.affinity.group) } : {}) },
      })));
      report.claims++;
      if (r.ok) {
        env.hosts.set(hostId, r.host);
        for (const it of its) claimed.push({ w: byId.get(it.id)!, hostId, claimId: r.claimIds.get(it.id)! });
        return;
      }
      report.conflicts++;
      report.retries += its.length;
      metrics.claimConflicts.inc();
      if (r.host) env.hosts.set(hostId, r.host); else env.hosts.delete(hostId);
      // Re-planned next round on the fresh view (or bound with the claim found there).
      for (const it of its) retry.push(byId.get(it.id)!);
    });
    pending = retry;
  }
  for (const w of pending) report.outcomes.set(w.machine.id, { kind: 'contended' });
  if (claimed.length === 0) return report;

  const requests: BindingRequest[] = claimed.map((c) => ({ machineId: c.w.machine.id, created: c.w.machine.created, hostId: c.hostId, claimId: c.claimId }));
  const bindings = await store.machines.bindings.bindAll(requests, env.instanceId);
  report.bindingBatches = new Set(requests.map((r) => `${Math.floor(r.created / 86_400_000)}/${bindingShardOf(r.machineId)}`)).size;
  const adopt: { machine: Machine; binding: Binding; placement?: PlacementInfo }[] = [];
  const giveBack = new Map<string, { machineId: string; claimId: string }[]>();
  const placedAt = Date.now();
  for (const c of claimed) {
    const b = bindings.get(c.w.machine.id)!;
    if (b.claimId === c.claimId) {
      adopt.push({ machine: c.w.machine, binding: b, placement: { attempts: c.w.attempt + 1, reason: null, summary: null, lastAttemptAt: now, policyVersion: policy.version, placedAt } });
      report.outcomes.set(c.w.machine.id, { kind: 'placed', hostId: b.hostId });
    } else {
      adopt.push({ machine: c.w.machine, binding: b });
      report.outcomes.set(c.w.machine.id, { kind: 'lost', hostId: b.hostId });
      const g = giveBack.get(c.hostId) ?? [];
      g.push({ machineId: c.w.machine.id, claimId: c.claimId });
      giveBack.set(c.hostId, g);
    }
  }
  await store.machines.adoptBindings(adopt);
  await mapLimited([...giveBack], 16, async ([hostId, items]) => {
    await store.hosts.releaseAll(hostId, items);
    const h = await store.hosts.get(hostId);
    if (h) env.hosts.set(hostId, h);
  });
  return report;
}
