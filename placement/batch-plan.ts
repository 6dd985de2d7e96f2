/**
 * The placer's decision for many machines at once (pure, no I/O). Machines of one shape (same
 * request, same constraints) are judged against the fleet once; then each takes the best host of a
 * priority queue, and only the host it took is judged again. The plan groups machines per host, so
 * one compare-and-set claims all a host gets. The home hosts of the machine's owner (ownership.ts)
 * come first, then score: every placer that looks at a machine ranks hosts the same way.
 */
import type { Host, MachineSpec } from '../schema/types.js';
import { groupTag, judgeHosts, placeOn, type Choice, type PlacementContext } from './choose-host.js';
import type { CompiledPolicy } from './policy.js';

export interface PlanItem {
  id: string;
  tenant: string;
  spec: MachineSpec;
  /** The placer that owns the machine (ownership.ts): its home hosts come first. */
  owner?: string | null;
}

export interface Plan {
  /** Machines per host, in decision order. */
  byHost: Map<string, PlanItem[]>;
  /** Machines that fit nowhere once the ones before them are counted, with the placer's reason. */
  unplaced: { item: PlanItem; choice: Choice }[];
}

export interface PlanOptions {
  /** Claims per host within the policy's limit window (limits.perHost), before this plan. */
  recentClaims: ReadonlyMap<string, number>;
  load?: PlacementContext['load'];
  /** Whether a host is home to a machine's owner (ownership.ts): home hosts are tried first. */
  home?: (hostId: string, owner: string | null) => boolean;
  /** Time stamped on planned allocations (limits window, anti-affinity). */
  at: number;
}

interface Entry { hostId: string; home: boolean; score: number }

const before = (a: Entry, b: Entry) => (a.home !== b.home ? a.home : a.score !== b.score ? a.score > b.score : a.hostId < b.hostId);

/** A binary heap, best entry first. */
class HostQueue {
  private readonly a: Entry[] = [];
  get size(): number { return this.a.length; }
  push(e: Entry): void {
    const a = this.a;
    a.push(e);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Entry | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** The request and constraints that decide where a machine may go (machines with the same key are interchangeable). */
export function shapeKey(item: PlanItem): string {
  const s = item.spec;
  return JSON.stringify([s.cpu, s.memoryKiB, s.cpuArch, s.requirements ?? {}, s.networkInterfaces ?? [], s.affinity ? [item.tenant, s.affinity] : null, item.owner ?? null]);
}

/** The host with the machine's allocation added (what the claim will write). */
function withAllocation(h: Host, item: PlanItem, at: number): Host {
  const group = item.spec.affinity ? groupTag(item.tenant, item.spec.affinity.group) : undefined;
  return {
    ...h, usedCpus: h.usedCpus + item.spec.cpu, usedMemoryKiB: h.usedMemoryKiB + item.spec.memoryKiB,
    allocations: { ...h.allocations, [item.id]: { cpus: item.spec.cpu, memoryKiB: item.spec.memoryKiB, claimId: '(planned)', at, ...(group ? { group } : {}) } },
  };
}

/**
 * Decide hosts for `items` in order (oldest first is the caller's choice). Affinity groups that need
 * an anchor are not for this function: the placer places those one by one.
 */
export function planBatch(items: readonly PlanItem[], hosts: ReadonlyMap<string, Host>, alive: ReadonlySet<string>, policy: CompiledPolicy, opts: PlanOptions): Plan {
  const cur = new Map(hosts);
  const claims = new Map(opts.recentClaims);
  const home = opts.home ?? (() => true);
  const shapes = new Map<string, PlanItem[]>();
  for (const it of items) {
    const k = shapeKey(it);
    const g = shapes.get(k);
    if (g) g.push(it); else shapes.set(k, [it]);
  }
  const plan: Plan = { byHost: new Map(), unplaced: [] };
  for (const group of shapes.values()) {
    const { spec, tenant } = group[0]!;
    const owner = group[0]!.owner ?? null;
    const ctx: PlacementContext = { tenant, recentClaims: claims, home: (h) => home(h, owner), ...(opts.load ? { load: opts.load } : {}) };
    const queue = new HostQueue();
    for (const v of judgeHosts(spec, [...cur.values()], alive, policy, ctx).verdicts) {
      if (v.filter === null) queue.push({ hostId: v.hostId, home: v.home, score: v.score! });
    }
    let nowhere: Choice | null = null;
    for (const item of group) {
      let placed = false;
      while (!nowhere && queue.size > 0) {
        const e = queue.pop()!;
        const h = cur.get(e.hostId)!;
        const [v] = judgeHosts(spec, [h], alive, policy, ctx).verdicts;
        if (!v || v.filter !== null) continue; // full (or limited) now: out of this shape's queue
        if (v.score !== e.score) { queue.push({ ...e, score: v.score! }); continue; } // stale score: requeue
        const next = withAllocation(h, item, opts.at);
        cur.set(h.id, next);
        claims.set(h.id, (claims.get(h.id) ?? 0) + 1);
        const list = plan.byHost.get(h.id);
        if (list) list.push(item); else plan.byHost.set(h.id, [item]);
        // Judged again now that it holds one more: a stale score could let a worse host go first.
        const [after] = judgeHosts(spec, [next], alive, policy, ctx).verdicts;
        if (after && after.filter === null) queue.push({ ...e, score: after.score! });
        placed = true;
        break;
      }
      if (!placed) {
        nowhere ??= placeOn(spec, [...cur.values()], alive, policy, ctx);
        plan.unplaced.push({ item, choice: nowhere });
      }
    }
  }
  return plan;
}
