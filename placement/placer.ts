/**
 * The placement loop. Level-triggered: each cycle reads what needs a host now (recent request
 * buckets, plus a periodic full scan of unplaced machines), decides for all of them at once
 * (batch-plan.ts), claims capacity with one compare-and-set per host and binds with one conditional
 * batch per binding partition (place-batch.ts); a lost claim re-reads and re-decides. Several
 * placers share the work by binding shard and home hosts (ownership.ts) and stay correct when their
 * views differ: the claim and the binding are both conditional. Affinity groups that still need an
 * anchor are placed one machine at a time (placeOne).
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import { isAgentLease } from '../schema/host-health.js';
import { PLACEMENT_BUCKET_MS } from '../schema/store/machines.js';
import type { Host, HostSample, Machine } from '../schema/types.js';
import { mapLimited } from '../schema/bounded-parallel.js';
import { backoffMs, groupTag, placeOn, recentClaims, type PlacementContext } from './choose-host.js';
import type { PlacementConfig } from './config.js';
import { HaRestart } from './ha-restart.js';
import { loadFromSamples, type HostLoad } from './host-load-view.js';
import { expressionEngine } from './expression-engine.js';
import type { CompiledPolicy, ExpressionEngine } from './policy.js';
import { PolicySource } from './policy-source.js';
import { isHomeHost, machineOwner } from './ownership.js';
import { placeBatch, type Waiting } from './place-batch.js';
import { unplacedDeadline } from './unplaced-deadline.js';
import { DELETED_BEFORE_PLACEMENT, releaseLeakedClaims } from './leaked-claims.js';
import { PlacerMembership } from './placer-membership.js';

export { DELETED_BEFORE_PLACEMENT } from './leaked-claims.js';
/** A machine waiting this long is taken by any placer, whoever owns it by hash. */
const TAKEOVER_MS = 20_000;

interface Due { at: number; attempt: number; firstSeen: number }

export interface CycleReport {
  examined: number;
  placed: number;
  unschedulable: number;
  /** Host compare-and-sets lost. */
  conflicts: number;
  /** Machines that had to be planned again because a compare-and-set was lost. */
  retries: number;
}

export class Placer {
  private readonly due = new Map<string, Due>();
  /** Machines known placed, with when to forget them (after their request buckets are out of the window). */
  private readonly done = new Map<string, number>();
  private hosts = new Map<string, Host>();
  private alive = new Set<string>();
  private lastFullScan = 0;
  private cycle = 0;
  private hostsReadInCycle = -1;
  /** The hosts' load from their latest monitoring samples (host-load-view.ts), read every loadRefreshMs. */
  private load = new Map<string, HostLoad>();
  private samples: HostSample[] = [];
  private loadReadAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly membership: PlacerMembership;
  private readonly log: Logger;
  private readonly ha: HaRestart;
  private readonly policies: PolicySource;
  /** This placer's own recent claims (limits.global). */
  private readonly claimTimes: number[] = [];

  constructor(private readonly deps: { store: BusStore; config: PlacementConfig; log: Logger; metrics: SkybusMetrics; engine?: ExpressionEngine }) {
    this.log = deps.log.child({ module: 'placement', instance: deps.config.instanceId });
    this.policies = new PolicySource(deps.store, deps.config, deps.engine ?? expressionEngine, this.log);
    this.ha = new HaRestart({ ...deps, policy: () => this.policies.current });
    this.membership = new PlacerMembership(deps.store, deps.config.instanceId, { policy: deps.config.policy });
  }

  /** The policy in force (the version last read from the bus). */
  get policy(): CompiledPolicy { return this.policies.current; }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      if (!this.running) return;
      let busy = false;
      try {
        const r = await this.runOnce();
        busy = r.examined > 0;
      } catch (e) {
        this.log.error({ err: e }, 'placement cycle failed');
      }
      if (this.running) this.timer = setTimeout(tick, busy ? 10 : this.deps.config.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.membership.withdraw();
  }

  private async gather(now: number): Promise<void> {
    const { store, config } = this.deps;
    const nowBucket = Math.floor(now / PLACEMENT_BUCKET_MS);
    const deep = this.cycle % 20 === 0;
    const from = nowBucket - (deep ? config.lookbackBuckets : 1);
    for (let b = from; b <= nowBucket; b++) {
      for (const r of await store.machines.placementRequests(b)) {
        if (this.done.has(r.machineId)) continue;
        const cur = this.due.get(r.machineId);
        if (!cur || r.attempt > cur.attempt) this.due.set(r.machineId, { at: r.requested, attempt: r.attempt, firstSeen: cur?.firstSeen ?? now });
      }
    }
    if (now - this.lastFullScan >= config.fullResyncMs) {
      this.lastFullScan = now;
      const bound = new Map<string, string | null>();
      let pageState: string | null = null;
      do {
        const page = await store.machines.scan({ limit: 500, pageState });
        for (const m of page.items) {
          bound.set(m.id, m.hostId);
          if ((m.hostId === null || m.hostId === DELETED_BEFORE_PLACEMENT) && !this.due.has(m.id)) this.due.set(m.id, { at: now, attempt: m.placement?.attempts ?? 0, firstSeen: now });
        }
        pageState = page.pageState;
      } while (pageState);
      await this.refreshHosts();
      await releaseLeakedClaims(this.deps.store, this.hosts.values(), bound, this.log);
    }
    for (const [id, until] of this.done) if (until < now) this.done.delete(id);
  }

  private async refreshHosts(): Promise<void> {
    this.hostsReadInCycle = this.cycle;
    const [hosts, leases] = await Promise.all([this.deps.store.hosts.list(), this.deps.store.hosts.leases()]);
    this.hosts = new Map(hosts.map((h) => [h.id, h]));
    this.alive = new Set(leases.filter(isAgentLease).map((l) => l.hostId));
  }

  /** The latest samples, one small row per host; on failure the last ones stay (and go stale by their own time). */
  private async refreshLoad(now: number): Promise<void> {
    if (now - this.loadReadAt < this.deps.config.loadRefreshMs) return;
    this.loadReadAt = now;
    try {
      this.samples = await this.deps.store.monitoring.latestAll();
    } catch (e) {
      this.log.warn({ err: e }, 'could not read the hosts\' monitoring samples; weighing by the last ones read');
    }
    this.load = loadFromSamples(this.samples, now);
  }

  async runOnce(now = Date.now()): Promise<CycleReport> {
    this.cycle++;
    const report: CycleReport = { examined: 0, placed: 0, unschedulable: 0, conflicts: 0, retries: 0 };
    await this.membership.refresh(now);
    await this.policies.refresh().catch((e) => this.log.warn({ err: e }, 'could not read the placement policy; keeping the one in force'));
    // Highly available machines of down hosts first: they are running nowhere.
    await this.ha.runIfDue(now, this.membership.placers).catch((e) => this.log.warn({ err: e }, 'HA restart check failed'));
    await this.gather(now);
    const me = this.deps.config.instanceId;
    const mine = [...this.due.entries()].filter(([id, d]) => d.at <= now
      && (machineOwner(id, this.membership.placers) === me || now - d.firstSeen >= TAKEOVER_MS));
    if (mine.length === 0) return report;
    // One read of the fleet per cycle (the full resync may have just made it).
    if (this.hostsReadInCycle !== this.cycle) await this.refreshHosts();
    await this.refreshLoad(now);
    mine.sort((a, b) => a[1].at - b[1].at);
    report.examined = mine.length;
    const machines = await mapLimited(mine, this.deps.config.parallelism, ([id]) => this.deps.store.machines.get(id).catch((e: unknown) => e as Error));
    const batch: Waiting[] = [];
    const single: { m: Machine; d: Due }[] = [];
    await mapLimited(mine, 16, async ([id, d], i) => {
      const m = machines[i];
      try {
        if (m instanceof Error) throw m;
        if (await this.settled(id, m, now)) return;
        if (m!.spec.affinity?.type === 'affinity') single.push({ m: m!, d });
        else batch.push({ machine: m!, attempt: d.attempt });
      } catch (e) {
        this.log.warn({ err: e, machineId: id }, 'placement attempt failed; will retry');
        this.due.set(id, { ...d, at: now + this.deps.config.backoffBaseMs });
      }
    });
    await this.placeAll(batch, now, report);
    // Affinity groups, one machine at a time (their anchor is decided by the first member).
    for (const { m, d } of single) {
      try {
        await this.placeOne(m, d, now, report);
      } catch (e) {
        this.log.warn({ err: e, machineId: m.id }, 'placement attempt failed; will retry');
        this.due.set(m.id, { ...d, at: now + this.deps.config.backoffBaseMs });
      }
    }
    return report;
  }

  /** Machines that need no host (gone, deleted before placement, already bound): settled here, true. */
  private async settled(id: string, m: Machine | null, now: number): Promise<boolean> {
    const { store } = this.deps;
    if (!m) { this.finish(id, now); return true; }
    if (m.hostId === DELETED_BEFORE_PLACEMENT) { await store.machines.purge(m); this.finish(id, now); return true; }
    if (m.hostId !== null) {
      // Bound, but the agent never saw it: the spec copy may have failed to reach the host's partition.
      if (m.status.observedGeneration === 0) await store.machines.mirrorUntilStable(m.id, m.hostId);
      this.finish(id, now);
      return true;
    }
    if (m.desiredState === 'DELETED') {
      await store.machines.assignHost(id, DELETED_BEFORE_PLACEMENT, undefined, this.deps.config.instanceId);
      const after = await store.machines.get(id);
      if (after?.hostId === DELETED_BEFORE_PLACEMENT) await store.machines.purge(after);
      this.finish(id, now);
      return true;
    }
    return false;
  }

  /** The global throttle (limits.global): how many claims this placer may still make in its window. */
  private budget(now: number): number {
    const { global, windowSeconds } = this.policies.current.doc.limits;
    while (this.claimTimes.length > 0 && this.claimTimes[0]! < now - windowSeconds * 1000) this.claimTimes.shift();
    return global === null ? Infinity : Math.max(0, global - this.claimTimes.length);
  }

  private async placeAll(batch: Waiting[], now: number, report: CycleReport): Promise<void> {
    if (batch.length === 0) return;
    const { config, metrics } = this.deps;
    const { windowSeconds } = this.policies.current.doc.limits;
    const budget = this.budget(now);
    if (budget < batch.length) {
      // Throttled (limits.global): the rest wait for the window to move on.
      const at = (this.claimTimes[0] ?? now) + windowSeconds * 1000;
      for (const w of batch.slice(budget)) this.due.set(w.machine.id, { ...this.dueOf(w.machine.id, w.attempt, now), at });
      batch = batch.slice(0, budget);
    }
    const me = config.instanceId;
    const r = await placeBatch({
      store: this.deps.store, log: this.log, metrics, instanceId: me, hosts: this.hosts, alive: this.alive,
      policy: this.policies.current, home: (h, owner) => !this.policies.current.doc.homeHosts || isHomeHost(h, this.membership.placers, owner ?? me),
      ownerOf: (id) => machineOwner(id, this.membership.placers), maxClaimRounds: config.maxClaimRetries, inFlight: config.parallelism,
      spillLate: this.policies.current.doc.homeHosts && this.membership.placers.length > 1 && config.maxClaimRetries > 1,
      load: this.load,
    }, batch, now);
    report.conflicts += r.conflicts;
    report.retries += r.retries;
    for (const w of batch) {
      const id = w.machine.id;
      const o = r.outcomes.get(id);
      const d = this.dueOf(id, w.attempt, now);
      if (!o || o.kind === 'contended') {
        // Lost every round to other placers: not the machine's fault and not a reason to wait. The
        // next cycle reads the fleet afresh and plans it again.
        metrics.placements.inc({ outcome: 'contended' });
        this.due.set(id, { ...d, at: now });
      } else if (o.kind === 'unschedulable') {
        await this.unschedulable(w.machine, d, o.reason, o.summary, now).catch((e: unknown) => {
          this.log.warn({ err: e, machineId: id }, 'could not record why the machine waits; will retry');
          this.due.set(id, { ...d, at: now + config.backoffBaseMs });
        });
        report.unschedulable++;
      } else if (o.kind === 'placed') {
        this.claimTimes.push(now);
        metrics.placements.inc({ outcome: 'placed' });
        report.placed++;
        this.log.debug({ machineId: id, hostId: o.hostId }, 'placed');
        this.finish(id, now);
      } else {
        metrics.placements.inc({ outcome: 'lost-race' });
        this.finish(id, now);
      }
    }
  }

  private dueOf(id: string, attempt: number, now: number): Due {
    return this.due.get(id) ?? { at: now, attempt, firstSeen: now };
  }

  private finish(id: string, now: number): void {
    this.due.delete(id);
    this.done.set(id, now + (this.deps.config.lookbackBuckets + 2) * PLACEMENT_BUCKET_MS);
  }

  private async placeOne(m: Machine, d: Due, now: number, report: CycleReport): Promise<void> {
    const { store, config, metrics } = this.deps;
    const id = m.id;
    const policy = this.policies.current;
    const aff = m.spec.affinity ?? null;
    const need = { cpus: m.spec.cpu, memoryKiB: m.spec.memoryKiB, at: now, ...(aff ? { group: groupTag(m.tenant, aff.group) } : {}) };
    const { windowSeconds } = policy.doc.limits;
    if (this.budget(now) < 1) {
      this.due.set(id, { ...d, at: this.claimTimes[0]! + windowSeconds * 1000 });
      return;
    }
    for (let attempt = 0; attempt < config.maxClaimRetries; attempt++) {
      // A claim this machine already holds (a binding that failed after it) is used, never doubled.
      const held = [...this.hosts.values()].find((h) => h.allocations[id]);
      if (held) {
        await this.bind(m, held.id, held.allocations[id].claimId, d, now, report);
        return;
      }
      const owner = machineOwner(id, this.membership.placers) ?? this.deps.config.instanceId;
      const ctx: PlacementContext = { tenant: m.tenant, recentClaims: recentClaims(this.hosts.values(), now - windowSeconds * 1000), load: this.load };
      if (policy.doc.homeHosts) ctx.home = (h) => isHomeHost(h, this.membership.placers, owner);
      if (aff?.type === 'affinity') ctx.affinityHost = await store.placementPolicies.anchorOf(m.tenant, aff.group);
      const choice = placeOn(m.spec, [...this.hosts.values()], this.alive, policy, ctx, 4);
      if (choice.candidates.length === 0) {
        await this.unschedulable(m, d, choice.reason ?? 'no host fits', choice.summary ?? 'waiting for capacity', now);
        report.unschedulable++;
        return;
      }
      const host = choice.candidates[0];
      const claim = await store.hosts.claim(host, id, need);
      if (!claim.ok) {
        report.conflicts++;
        report.retries++;
        metrics.claimConflicts.inc();
        if (claim.host) this.hosts.set(claim.host.id, claim.host); else this.hosts.delete(host.id);
        continue;
      }
      this.hosts.set(claim.host.id, claim.host);
      this.claimTimes.push(now);
      // Affinity: the group's first member anchors it (IF NOT EXISTS); a placer that lost that race
      // gives its claim back and follows the anchor on its next try.
      if (aff?.type === 'affinity' && !ctx.affinityHost) {
        const anchored = await store.placementPolicies.anchor(m.tenant, aff.group, host.id, id, now);
        if (anchored !== host.id) {
          await store.hosts.release(host.id, id, claim.claimId);
          const h = await store.hosts.get(host.id);
          if (h) this.hosts.set(h.id, h);
          continue;
        }
      }
      await this.bind(m, host.id, claim.claimId, d, now, report, policy.version);
      return;
    }
    metrics.placements.inc({ outcome: 'contended' });
    this.due.set(id, { ...d, at: now + config.backoffBaseMs });
  }

  /** Bind the machine to the host it holds a claim on; if another placer bound it first, give the claim back. */
  private async bind(m: Machine, hostId: string, claimId: string, d: Due, now: number, report: CycleReport, policyVersion = this.policies.current.version): Promise<void> {
    const { store, metrics } = this.deps;
    const b = (await store.machines.bindings.bindAll([{ machineId: m.id, created: m.created, hostId, claimId }], this.deps.config.instanceId)).get(m.id)!;
    if (b.claimId === claimId) {
      await store.machines.adoptBindings([{ machine: m, binding: b, placement: { attempts: d.attempt + 1, reason: null, summary: null, lastAttemptAt: now, policyVersion, placedAt: Date.now() } }]);
      metrics.placements.inc({ outcome: 'placed' });
      report.placed++;
      this.log.debug({ machineId: m.id, hostId }, 'placed');
    } else {
      await store.machines.adoptBindings([{ machine: m, binding: b }]);
      await store.hosts.release(hostId, m.id, claimId);
      const h = await store.hosts.get(hostId);
      if (h) this.hosts.set(h.id, h);
      metrics.placements.inc({ outcome: 'lost-race' });
    }
    this.finish(m.id, now);
  }

  private async unschedulable(m: Machine, d: Due, reason: string, summary: string, now: number): Promise<void> {
    const { store, config, metrics } = this.deps;
    const attempt = d.attempt + 1;
    const next = now + backoffMs(attempt, config.backoffBaseMs, config.backoffMaxMs);
    const late = unplacedDeadline(m, summary, now, config.unplacedDeadlineMs);
    await store.machines.setPlacement(m.id, { attempts: attempt, reason, summary, lastAttemptAt: now, waitingSince: late.waitingSince, deadlineError: late.error });
    if (late.error && late.error !== (m.placement?.deadlineError ?? null)) {
      this.log.warn({ machineId: m.id, reason, waitingSince: late.waitingSince }, 'machine not placed within its deadline; still trying');
      // The event is the tenant's to read: their summary only, never the fleet's counts.
      await store.telemetry.appendEvent({
        tenant: m.tenant, ts: now, type: 'state', severity: 'high', outcome: 'Failure', resource: m.id,
        content: { deadline: 'CREATING', limitMs: config.unplacedDeadlineMs, error: late.error },
      }).catch((e: unknown) => this.log.warn({ err: e, machineId: m.id }, 'event not recorded'));
    }
    await store.machines.requestPlacement(m.id, next, attempt);
    this.due.set(m.id, { at: next, attempt, firstSeen: d.firstSeen });
    metrics.placements.inc({ outcome: 'unschedulable' });
    this.log.info({ machineId: m.id, reason, retryInMs: next - now }, 'machine fits nowhere yet');
  }
}
