/**
 * The hypervisor agent: one per host, level-triggered (the shape of a Kubernetes sample-controller or
 * KubeVirt's virt-handler). Every cycle it renews the host lease, reads the host's partition of the
 * bus (machines_by_host) and every libvirt domain, decides ONE action per machine (decide.ts), takes it
 * and writes the machine's status. Nothing is remembered that cannot be re-observed: a restarted agent
 * adopts the domains it finds (by UUID) and carries on without touching healthy guests.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import type { EventRecord, HostMachine, MachineState, MachineStatus } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import {
  decide, isConverged, observedState, rememberAfter, settleMemory,
  type Action, type MachineMemory, type Observed,
} from './decide.js';
import { hasSaveFile, prepareMachineFiles, removeMachineFiles, removeSaveFile } from './disks.js';
import { buildDomainXml, domainName, machinePaths, metadataHost } from './domain-xml.js';
import { LibvirtHost, type DomainSnapshot } from './libvirt-host.js';

export interface AgentDeps {
  store: BusStore;
  config: AgentConfig;
  log?: Logger;
  metrics?: SkybusMetrics;
  /**
   * An already made libvirt host (tests: a "libvirtd" that outlives the agent, since a private
   * test:///<file> host lives as long as its connection). Not closed by stop(). Default: a new
   * connection to config.libvirtUri, closed by stop().
   */
  libvirt?: LibvirtHost;
  /** Clock (tests). */
  now?: () => number;
}

export interface ActionReport { machineId: string; action: Action; ok: boolean; error?: string }

export interface CycleReport {
  /** false: another holder has the host's lease, nothing was done. */
  leaseHeld: boolean;
  machines: number;
  domains: number;
  actions: ActionReport[];
  /** Prefixed domains with no machine row seen this cycle (names). */
  orphans: string[];
  statusWrites: number;
}

interface MachineLocal extends MachineMemory {
  error: string | null;
  lastState: MachineState | null;
}

const SYSTEM_TENANT = 'system';

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class HypervisorAgent {
  readonly config: AgentConfig;
  /** This process's identity as the lease holder and service instance. */
  readonly holder: string;
  private readonly store: BusStore;
  private readonly log: Logger;
  private readonly metrics: SkybusMetrics | undefined;
  private readonly host: LibvirtHost;
  private readonly ownsHost: boolean;
  private readonly now: () => number;

  private readonly local = new Map<string, MachineLocal>();
  /** machineId -> the status last written by this process (without updatedAt). */
  private readonly written = new Map<string, string>();
  private readonly orphanSeen = new Map<string, number>();
  private readonly cpuPrev = new Map<string, { ts: number; cpuNs: number }>();
  /** Per machine: the accounting period open now, CPU time counted in it, and the last counter value seen. */
  private readonly usage = new Map<string, { periodStart: number; cpuUsedNs: number; lastCpuNs: number }>();
  private lastSnapshots = new Map<string, DomainSnapshot>();
  private lastMachines: HostMachine[] = [];

  private registered = false;
  private leaseHeld = false;
  private leaseSafeUntil = 0;
  private cycles = 0;
  private lastMetricsAt = 0;
  private lastAnnounceAt = 0;
  private readonly startedAt: number;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> | null = null;

  constructor(deps: AgentDeps) {
    this.store = deps.store;
    this.config = deps.config;
    this.metrics = deps.metrics;
    this.now = deps.now ?? Date.now;
    this.holder = `${deps.config.hostId}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = (deps.log ?? silentLogger()).child({ component: 'hypervisor-agent', hostId: deps.config.hostId });
    this.host = deps.libvirt ?? new LibvirtHost(deps.config.libvirtUri);
    this.ownsHost = !deps.libvirt;
    this.startedAt = this.now();
  }

  get hasLease(): boolean { return this.leaseHeld; }
  get libvirt(): LibvirtHost { return this.host; }

  /** Connect, register the host, take the lease if free, then reconcile every intervalMs until stop(). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.host.connect();
    await this.register();
    await mkdir(this.config.workDir, { recursive: true });
    await this.cycleSafely();
    this.schedule();
  }

  /** Stop the loop, wait for the cycle in flight, give the lease back, withdraw from the registry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    if (this.leaseHeld) {
      await this.store.hosts.releaseLease(this.config.hostId, this.holder).catch((e) => this.log.warn({ err: msg(e) }, 'could not release the host lease'));
      this.leaseHeld = false;
    }
    await this.store.services.withdraw('agent', this.holder).catch(() => undefined);
    if (this.ownsHost) await this.host.close();
    this.log.info('agent stopped');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.cycleSafely().then(() => this.schedule());
    }, this.config.intervalMs);
  }

  private async cycleSafely(): Promise<void> {
    try { await this.runOnce(); } catch (e) { this.log.error({ err: msg(e) }, 'reconcile cycle failed; retrying next cycle'); }
  }

  private async register(): Promise<void> {
    if (!this.host.connected) await this.host.connect();
    const node = await this.host.nodeInfo();
    await this.store.hosts.register({
      id: this.config.hostId,
      name: this.host.domainType === 'test' ? this.config.hostId : node.hostname,
      uri: this.config.libvirtUri, arch: node.arch, cpus: node.cpus, memoryKiB: node.memoryKiB, labels: this.config.labels,
    }, this.now());
    this.registered = true;
    this.log.info({ cpus: node.cpus, memoryKiB: node.memoryKiB, arch: node.arch }, 'host registered');
  }

  /** One reconcile cycle (also what the loop runs). Serialized: concurrent calls wait for each other. */
  runOnce(): Promise<CycleReport> {
    const prev = this.inFlight ?? Promise.resolve();
    const p = prev.catch(() => undefined).then(() => this.cycle());
    this.inFlight = p.catch(() => undefined);
    return p;
  }

  private async cycle(): Promise<CycleReport> {
    const t0 = process.hrtime.bigint();
    const report: CycleReport = { leaseHeld: false, machines: 0, domains: 0, actions: [], orphans: [], statusWrites: 0 };
    if (!this.host.connected) await this.host.connect();
    if (!this.registered) await this.register();

    const had = this.leaseHeld;
    const renewStart = Date.now();
    const held = had
      ? await this.store.hosts.renewLease(this.config.hostId, this.holder, this.config.leaseTtlSeconds)
      : await this.store.hosts.acquireLease(this.config.hostId, this.holder, this.config.leaseTtlSeconds);
    this.leaseHeld = held;
    if (!held) {
      if (had) this.log.error('lost the host lease to another holder: not acting until it is free again');
      else this.log.warn('the host lease is held by another live agent: waiting');
      this.forget();
      return report;
    }
    if (!had) {
      this.log.info({ holder: this.holder }, 'host lease acquired');
      this.forget();
    }
    report.leaseHeld = true;
    // Act only while the lease surely holds: a cycle that outlasts two thirds of it stops acting
    // until the next renewal, so a standby agent that took over never races this one.
    this.leaseSafeUntil = renewStart + (this.config.leaseTtlSeconds * 1000 * 2) / 3;
    await this.announce();

    this.cycles++;
    if (this.cycles % this.config.fullResyncEvery === 0) this.written.clear();

    const [machines, domains] = await Promise.all([this.store.machines.listOnHost(this.config.hostId), this.listDomainsOrReconnect()]);
    report.machines = machines.length;
    const byUuid = new Map<string, DomainSnapshot>();
    const byName = new Map<string, DomainSnapshot>();
    for (const d of domains) {
      if (!d.name.startsWith(this.config.domainPrefix)) continue; // not ours: never touched
      byUuid.set(d.uuid, d);
      byName.set(d.name, d);
    }
    report.domains = byUuid.size;
    const claimed = new Set<string>();
    const snapshots = new Map<string, DomainSnapshot>();
    let outlasted = false;
    for (const m of machines) {
      claimed.add(domainName(this.config.domainPrefix, m.machineId));
      claimed.add(m.machineId.toLowerCase());
      if (outlasted || Date.now() >= this.leaseSafeUntil) {
        if (!outlasted) this.log.warn('this cycle outlasted the safe part of the host lease: the rest waits for the next renewal');
        outlasted = true;
        continue;
      }
      try {
        const snap = await this.reconcileMachine(m, byUuid, byName, report);
        if (snap) snapshots.set(m.machineId, snap);
      } catch (e) {
        // Isolated: one machine's failure (even writing its status) never stops the others.
        this.log.error({ machineId: m.machineId, err: msg(e) }, 'machine reconcile failed');
      }
    }
    for (const d of byUuid.values()) {
      if (outlasted) break;
      if (claimed.has(d.name) || claimed.has(d.uuid)) continue;
      try { await this.handleOrphan(d, report); } catch (e) { this.log.error({ domain: d.name, err: msg(e) }, 'orphan handling failed'); }
    }
    for (const name of [...this.orphanSeen.keys()]) if (!byName.has(name)) this.orphanSeen.delete(name);
    this.lastSnapshots = snapshots;
    this.lastMachines = machines.filter((m) => m.desiredState !== 'DELETED');

    const now = this.now();
    if (now - this.lastMetricsAt >= this.config.metricsEveryMs) {
      this.lastMetricsAt = now;
      await this.monitor(now).catch((e) => this.log.warn({ err: msg(e) }, 'monitoring failed'));
    }
    this.metrics?.agentDomains.set({ host: this.config.hostId }, snapshots.size);
    this.metrics?.loopSeconds.observe({ loop: 'agent' }, Number(process.hrtime.bigint() - t0) / 1e9);
    return report;
  }

  /**
   * A dead connection (libvirtd restarted) is dropped so the next cycle reconnects. Not for test://
   * URIs: a private test host lives and dies with its connection.
   */
  private async listDomainsOrReconnect(): Promise<DomainSnapshot[]> {
    try {
      return await this.host.listDomains();
    } catch (e) {
      if (this.ownsHost && this.host.domainType !== 'test') {
        this.log.error({ err: msg(e) }, 'libvirt connection failed; reconnecting next cycle');
        await this.host.close();
      }
      throw e;
    }
  }

  /** Lease (re)gained or lost: what this process thinks it wrote or did may be stale. */
  private forget(): void {
    this.written.clear();
    this.local.clear();
  }

  private async announce(): Promise<void> {
    const now = this.now();
    if (now - this.lastAnnounceAt < (this.config.leaseTtlSeconds * 1000) / 3) return;
    this.lastAnnounceAt = now;
    await this.store.services.announce({
      role: 'agent', instanceId: this.holder, address: this.config.hostId, started: this.startedAt, lastSeen: now,
      info: { hostId: this.config.hostId, libvirtUri: this.config.libvirtUri, domainType: this.host.domainType, pid: process.pid },
    }, Math.max(this.config.leaseTtlSeconds * 2, 5)).catch((e) => this.log.warn({ err: msg(e) }, 'service announce failed'));
  }

  /** The memory for a machine first seen by this process, seeded from the status on the bus. */
  private async localFor(m: HostMachine): Promise<MachineLocal> {
    let l = this.local.get(m.machineId);
    if (l) return l;
    const row = await this.store.machines.get(m.machineId);
    const st = row?.status;
    const mine = st && st.hostId === this.config.hostId;
    l = {
      shutdownRequestedAt: null,
      restartedSeq: mine ? st.observedRestartSeq : 0,
      error: mine ? st.error : null,
      lastState: mine ? st.state : null,
    };
    this.local.set(m.machineId, l);
    return l;
  }

  private async observe(machineId: string, snap: DomainSnapshot | null): Promise<Observed | null> {
    if (!snap) return null;
    const off = snap.state === 'shutoff' || snap.state === 'crashed' || snap.state === 'nostate';
    return { state: snap.state, saved: off ? await hasSaveFile(this.config.workDir, machineId) : false };
  }

  private async reconcileMachine(m: HostMachine, byUuid: Map<string, DomainSnapshot>, byName: Map<string, DomainSnapshot>, report: CycleReport): Promise<DomainSnapshot | null> {
    const log = this.log.child({ machineId: m.machineId });
    const l = await this.localFor(m);
    const name = domainName(this.config.domainPrefix, m.machineId);
    let snap = byUuid.get(m.machineId.toLowerCase()) ?? null;
    const impostor = !snap ? byName.get(name) : undefined;
    if (impostor) {
      l.error = `a domain named ${name} exists with another UUID (${impostor.uuid}); not touching it`;
      await this.writeStatus(m, l, 'ERROR', false, report);
      return null;
    }
    let observed = await this.observe(m.machineId, snap);
    Object.assign(l, settleMemory(m, observed, l));
    const now = this.now();
    const action = decide({ desired: m, observed, memory: l, now, stopGraceMs: this.config.stopGraceMs });
    const from = observedState(observed);

    if (action !== 'none') {
      try {
        await this.act(action, m, log);
        Object.assign(l, rememberAfter(action, m, l, now));
        l.error = null;
        this.metrics?.agentActions.inc({ action, outcome: 'ok' });
        report.actions.push({ machineId: m.machineId, action, ok: true });
        log.info({ action, generation: m.generation, desired: m.desiredState }, 'action done');
      } catch (e) {
        l.error = `${action} failed: ${msg(e)}`;
        this.metrics?.agentActions.inc({ action, outcome: 'error' });
        report.actions.push({ machineId: m.machineId, action, ok: false, error: l.error });
        log.warn({ action, err: msg(e) }, 'action failed; retrying next cycle');
      }
      if (action === 'delete' && l.error === null) {
        // Domain and files are gone: finish in the same cycle.
        try {
          await this.finishDelete(m, log);
          report.actions.push({ machineId: m.machineId, action: 'finishDelete', ok: true });
          await this.event(m.tenant, m.machineId, 'DELETED', from, 'delete', true, m.generation);
          return null;
        } catch (e) {
          l.error = `finishDelete failed: ${msg(e)}`;
          report.actions.push({ machineId: m.machineId, action: 'finishDelete', ok: false, error: l.error });
        }
      }
      if (action === 'finishDelete' && l.error === null) {
        await this.event(m.tenant, m.machineId, 'DELETED', from, action, true, m.generation);
        return null;
      }
      snap = await this.host.lookup(m.machineId);
      observed = await this.observe(m.machineId, snap);
      Object.assign(l, settleMemory(m, observed, l));
    }

    const converged = isConverged(m, observed, l);
    if (converged) l.error = null;
    const state: MachineState = observedState(observed) ?? (l.error ? 'ERROR' : 'CREATING');
    if (action !== 'none' || (l.lastState !== null && l.lastState !== state)) {
      await this.event(m.tenant, m.machineId, state, from, action, l.error === null, m.generation, l.error);
    }
    l.lastState = state;
    await this.writeStatus(m, l, state, converged, report);
    return snap;
  }

  private async writeStatus(m: HostMachine, l: MachineLocal, state: MachineState, converged: boolean, report: CycleReport): Promise<void> {
    const status: MachineStatus = {
      state, observedGeneration: m.generation, observedRestartSeq: l.restartedSeq, converged, error: l.error,
      hostId: this.config.hostId, updatedAt: this.now(),
    };
    const key = JSON.stringify({ ...status, updatedAt: 0 });
    if (this.written.get(m.machineId) === key) return; // nothing changed since our last write: spare the bus
    await this.store.machines.setStatus(m.machineId, status);
    this.written.set(m.machineId, key);
    report.statusWrites++;
  }

  private async act(action: Action, m: HostMachine, log: Logger): Promise<void> {
    const id = m.machineId;
    const paths = machinePaths(this.config.workDir, m);
    const xml = (): string => buildDomainXml(m, { domainType: this.host.domainType, prefix: this.config.domainPrefix, workDir: this.config.workDir, hostId: this.config.hostId });
    switch (action) {
      case 'none': return;
      case 'define':
        await prepareMachineFiles(m, this.config.workDir, this.host.domainType);
        await this.host.define(xml());
        return;
      case 'create':
        await prepareMachineFiles(m, this.config.workDir, this.host.domainType);
        await this.host.define(xml());
        await this.host.start(id);
        return;
      case 'start': return this.host.start(id);
      case 'shutdown': return this.host.shutdown(id);
      case 'destroy': return this.host.destroy(id);
      case 'pause': return this.host.suspend(id);
      case 'resume': return this.host.resume(id);
      case 'save': {
        // Written aside then renamed: a half-written file must never look like a SUSPENDED machine.
        await mkdir(paths.dir, { recursive: true });
        const partial = `${paths.saveFile}.partial`;
        await rm(partial, { force: true });
        await this.host.save(id, partial);
        await rename(partial, paths.saveFile);
        return;
      }
      case 'restore':
        await this.host.restore(paths.saveFile);
        await removeSaveFile(this.config.workDir, id);
        return;
      case 'discardSave': return removeSaveFile(this.config.workDir, id);
      case 'restart': return this.host.restart(id);
      case 'delete': {
        const snap = await this.host.lookup(id);
        if (snap) {
          await this.host.destroy(id);
          await this.host.undefine(id);
        }
        await removeMachineFiles(this.config.workDir, id);
        return;
      }
      case 'finishDelete': return this.finishDelete(m, log);
      case 'orphan': return;
    }
  }

  /** Release the claim (exactly once: release only subtracts a present allocation), status DELETED, purge. */
  private async finishDelete(m: HostMachine, log: Logger): Promise<void> {
    const released = await this.store.hosts.release(this.config.hostId, m.machineId);
    await this.store.machines.setStatus(m.machineId, {
      state: 'DELETED', observedGeneration: m.generation, observedRestartSeq: m.restartSeq, converged: true, error: null,
      hostId: this.config.hostId, updatedAt: this.now(),
    });
    await this.store.machines.purge({ id: m.machineId, tenant: m.tenant, hostId: this.config.hostId });
    this.local.delete(m.machineId);
    this.written.delete(m.machineId);
    this.cpuPrev.delete(m.machineId);
    this.usage.delete(m.machineId);
    log.info({ released }, 'machine deleted, claim released, rows purged');
  }

  private async handleOrphan(d: DomainSnapshot, report: CycleReport): Promise<void> {
    const xml = await this.host.xml(d.uuid).catch(() => '');
    const owner = metadataHost(xml);
    if (owner !== null && owner !== this.config.hostId) return; // another host's domain on a shared connection
    const tenant = /<skybus:tenant>([^<]*)<\/skybus:tenant>/.exec(xml)?.[1] ?? SYSTEM_TENANT;
    const seen = (this.orphanSeen.get(d.name) ?? 0) + 1;
    this.orphanSeen.set(d.name, seen);
    report.orphans.push(d.name);
    const log = this.log.child({ domain: d.name, uuid: d.uuid });
    if (seen === 1) {
      log.warn({ policy: this.config.orphanPolicy }, 'orphan domain: it has the Skybus prefix but no machine on this host');
      await this.appendEvent({
        tenant, ts: this.now(), type: 'alarm', severity: 'medium', outcome: 'Warning', resource: d.uuid,
        content: { hostId: this.config.hostId, domain: d.name, reason: 'orphan domain', policy: this.config.orphanPolicy, state: d.state },
      });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'reported' });
    }
    // Destroy only when seen on two cycles in a row: one odd read of the bus must not cost a guest.
    if (this.config.orphanPolicy !== 'destroy' || seen < 2) return;
    try {
      await this.host.destroy(d.uuid);
      await this.host.undefine(d.uuid);
      const id = d.name.slice(this.config.domainPrefix.length);
      if (/^[0-9a-f-]{36}$/i.test(id)) await removeMachineFiles(this.config.workDir, id);
      this.orphanSeen.delete(d.name);
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: true });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'destroyed' });
      log.warn('orphan domain destroyed and undefined');
      await this.appendEvent({
        tenant, ts: this.now(), type: 'state', severity: 'medium', outcome: 'Success', resource: d.uuid,
        content: { hostId: this.config.hostId, domain: d.name, action: 'orphan-destroy' },
      });
    } catch (e) {
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: false, error: msg(e) });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'error' });
      log.error({ err: msg(e) }, 'could not destroy orphan domain');
    }
  }

  private async event(tenant: string, machineId: string, to: MachineState, from: MachineState | null, action: Action, ok: boolean, generation: number, error: string | null = null): Promise<void> {
    await this.appendEvent({
      tenant, ts: this.now(), type: 'state', severity: ok ? 'low' : 'high', outcome: ok ? 'Success' : 'Failure', resource: machineId,
      content: { hostId: this.config.hostId, action, from, to, generation, ...(error ? { error } : {}) },
    });
  }

  private async appendEvent(e: Omit<EventRecord, 'id'>): Promise<void> {
    await this.store.telemetry.appendEvent(e).catch((err) => this.log.warn({ err: msg(err) }, 'event not recorded'));
  }

  /** A MetricSample per machine, and the accounting record of the current aligned period. */
  private async monitor(now: number): Promise<void> {
    const periodMs = this.config.accountingPeriodSeconds * 1000;
    const periodStart = Math.floor(now / periodMs) * periodMs;
    for (const m of this.lastMachines) {
      const snap = this.lastSnapshots.get(m.machineId);
      if (!snap) continue;
      const l = this.local.get(m.machineId);
      const state = l?.lastState ?? 'CREATING';
      const active = snap.state === 'running' || snap.state === 'shuttingdown';
      const prev = this.cpuPrev.get(m.machineId);
      let cpuPercent = 0;
      if (prev && active && now > prev.ts) {
        cpuPercent = ((snap.cpuTimeNs - prev.cpuNs) / ((now - prev.ts) * 1e6 * Math.max(1, snap.vcpus))) * 100;
        cpuPercent = Math.min(100, Math.max(0, Number.isFinite(cpuPercent) ? cpuPercent : 0));
      }
      this.cpuPrev.set(m.machineId, { ts: now, cpuNs: snap.cpuTimeNs });
      try {
        // The test driver reports wall-clock epoch nanoseconds as CPU time (beyond 2^53): deltas above
        // use the raw value, the stored counter is kept a safe integer.
        const cpuTimeNs = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(snap.cpuTimeNs)));
        await this.store.telemetry.putMetric({
          machineId: m.machineId, hostId: this.config.hostId, ts: now, state, cpuTimeNs, cpuPercent: Math.round(cpuPercent * 100) / 100, memoryKiB: snap.memoryKiB,
        });
        let u = this.usage.get(m.machineId);
        if (!u) {
          // First sample in this process: continue the stored record of this period (agent restart,
          // lease takeover) rather than overwrite it with a smaller count.
          const stored = await this.store.telemetry.usageOf(m.tenant, m.machineId, periodStart);
          u = { periodStart, cpuUsedNs: stored ? stored.cpuSeconds * 1e9 : 0, lastCpuNs: snap.cpuTimeNs };
          this.usage.set(m.machineId, u);
        }
        // CPU used since the last sample; a counter that went down means the guest was restarted.
        const delta = snap.cpuTimeNs >= u.lastCpuNs ? snap.cpuTimeNs - u.lastCpuNs : snap.cpuTimeNs;
        u.lastCpuNs = snap.cpuTimeNs;
        u.cpuUsedNs += Math.max(0, delta);
        if (u.periodStart !== periodStart) {
          // close the previous period with what was counted up to now
          await this.store.telemetry.putUsage(this.usageRecord(m, u.periodStart, state, u.cpuUsedNs));
          u.periodStart = periodStart;
          u.cpuUsedNs = 0;
        }
        await this.store.telemetry.putUsage(this.usageRecord(m, periodStart, state, u.cpuUsedNs));
      } catch (e) {
        this.log.warn({ machineId: m.machineId, err: msg(e) }, 'monitoring sample not recorded');
      }
    }
  }

  private usageRecord(m: HostMachine, periodStart: number, state: string, cpuNs: number) {
    return {
      tenant: m.tenant, machineId: m.machineId, periodStart, periodSeconds: this.config.accountingPeriodSeconds,
      hostId: this.config.hostId, state, vcpus: m.spec.cpu, memoryKiB: m.spec.memoryKiB, cpuSeconds: Math.max(0, cpuNs) / 1e9,
    };
  }
}
