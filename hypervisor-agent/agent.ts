/**
 * The hypervisor agent: one per host, level-triggered (the shape of a Kubernetes sample-controller or
 * KubeVirt's virt-handler). Every cycle it renews the host lease, reads the host's partition of the
 * bus (machines_by_host) and every libvirt domain, decides ONE action per machine (decide.ts), takes it
 * and writes the machine's status. Nothing is remembered that cannot be re-observed: a restarted agent
 * adopts the domains it finds (by UUID) and carries on without touching healthy guests.
 *
 * This file is only the loop; the parts it composes:
 *   host-lease.ts     registration, lease renewal, heartbeats, "is it still safe to act"
 *   fencing.ts        the self-fencing watchdog: no heartbeat for the fencing window, HA guests go
 *   machine-sync.ts   per machine: observe, decide, act (machine-actions.ts), event, status, finishDelete
 *   orphans.ts        prefixed domains with no machine
 *   usage-sampler.ts  accounting.ts's usage_records
 *   host-monitor.ts   monitoring: one row per host and interval (host + machines), latest, hourly rollups
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import type { AgentConfig } from './config.js';
import { emptyReport, type CycleReport } from './cycle-report.js';
import { indexDomains } from './domain-index.js';
import { domainName } from './domain-xml.js';
import { errorText } from './error-text.js';
import { AgentEvents } from './event-log.js';
import { SelfFencing } from './fencing.js';
import { HostLease } from './host-lease.js';
import { HostMonitor, type HostMonitorDeps, type MonitorTick } from './host-monitor.js';
import { LibvirtCallGuard } from './libvirt-call-guard.js';
import { LibvirtHost, type DomainSnapshot } from './libvirt-host.js';
import { MachineSync } from './machine-sync.js';
import { OrphanDomains } from './orphans.js';
import { UsageSampler } from './usage-sampler.js';
import { VolumeSync } from './volume-sync.js';

export type { ActionReport, CycleReport } from './cycle-report.js';

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
  /** Host monitoring's load probe and TTLs (tests); see host-monitor.ts. */
  monitor?: Pick<HostMonitorDeps, 'loadAverage' | 'ttl'>;
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

  private readonly lease: HostLease;
  private readonly fencing: SelfFencing;
  private readonly events: AgentEvents;
  private readonly machines: MachineSync;
  private readonly orphans: OrphanDomains;
  private readonly sampler: UsageSampler;
  private readonly monitor: HostMonitor;
  private readonly volumes: VolumeSync;
  private readonly calls: LibvirtCallGuard;

  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> | null = null;

  constructor(deps: AgentDeps) {
    this.store = deps.store;
    this.config = deps.config;
    this.metrics = deps.metrics;
    this.now = deps.now ?? Date.now;
    this.log = (deps.log ?? silentLogger()).child({ component: 'hypervisor-agent', hostId: deps.config.hostId });
    this.host = deps.libvirt ?? new LibvirtHost(deps.config.libvirtUri, { callTimeoutMs: deps.config.libvirtCallTimeoutMs });
    this.ownsHost = !deps.libvirt;
    this.fencing = new SelfFencing(this.config, this.host, this.log, this.now);
    this.lease = new HostLease(this.store, this.config, this.host, this.log, this.now, this.fencing);
    this.holder = this.lease.holder;
    const events = new AgentEvents(this.store, this.config.hostId, this.log, this.now);
    this.events = events;
    this.calls = new LibvirtCallGuard(this.config.hostId, this.config.libvirtCallTimeoutMs, this.log);
    this.sampler = new UsageSampler(this.store, this.config, this.log);
    this.machines = new MachineSync({
      store: this.store, config: this.config, host: this.host, events, log: this.log, metrics: this.metrics, now: this.now,
      onPurged: (id) => this.sampler.forget(id),
      calls: this.calls, waitBudgetMs: () => this.lease.safeRemainingMs(),
    });
    this.monitor = new HostMonitor({
      store: this.store, config: this.config, host: this.host, calls: this.calls, log: this.log, now: this.now, metrics: this.metrics,
      mayWrite: () => this.lease.held && !this.fencing.fenced, ...deps.monitor,
    });
    this.volumes = new VolumeSync({ store: this.store, config: this.config, domainType: this.host.domainType, log: this.log, now: this.now, events });
    this.orphans = new OrphanDomains(this.config, this.host, events, this.log, this.metrics, this.now,
      async (id) => { const m = await this.store.machines.get(id); return m ? m.hostId : undefined; });
  }

  get hasLease(): boolean { return this.lease.held; }
  /** Fenced (fencing.ts) and not yet heard on the bus again. */
  get isFenced(): boolean { return this.fencing.fenced; }
  /** The fencing watchdog (tests drive its tick). */
  get fenceWatchdog(): SelfFencing { return this.fencing; }
  get libvirt(): LibvirtHost { return this.host; }

  /** Connect, register the host, take the lease if free, then reconcile every intervalMs until stop(). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.host.connect();
    this.fencing.start();
    await this.lease.register().catch((e) => this.log.error({ err: errorText(e) }, 'could not register the host; retrying every cycle'));
    await mkdir(this.config.workDir, { recursive: true });
    await this.cycleSafely();
    this.schedule();
    this.monitor.start();
  }

  /** Stop the loop, wait for the cycle in flight, give the lease back, withdraw from the registry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.fencing.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    await this.monitor.stop();
    await this.lease.release();
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
    try { await this.runOnce(); } catch (e) { this.log.error({ err: errorText(e) }, 'reconcile cycle failed; retrying next cycle'); }
  }

  /** One monitoring interval by hand (tests; the loop started by start() runs it every monitorIntervalMs). */
  monitorOnce(): Promise<MonitorTick> { return this.monitor.tick(); }

  /** One reconcile cycle (also what the loop runs). Serialized: concurrent calls wait for each other. */
  runOnce(): Promise<CycleReport> {
    const prev = this.inFlight ?? Promise.resolve();
    const p = prev.catch(() => undefined).then(() => this.cycle());
    this.inFlight = p.catch(() => undefined);
    return p;
  }

  private async cycle(): Promise<CycleReport> {
    const t0 = process.hrtime.bigint();
    const report = emptyReport();
    if (!this.host.connected) await this.host.connect();

    const lease = await this.lease.renew();
    if (!lease.held || lease.gained) { this.machines.forget(); this.volumes.forget(); }
    if (!lease.held) return report;
    if (lease.heartbeat !== null) this.fencing.heartbeatWritten(lease.heartbeat);
    // Fenced and not yet heard again: nothing is done until a heartbeat is written under the lease.
    if (this.fencing.fenced) return report;
    report.leaseHeld = true;
    this.machines.startCycle();

    // Read desired (the host's partition of the bus) and observed (libvirt) state.
    const [machines, domainList, volumes] = await Promise.all([
      this.store.machines.listOnHost(this.config.hostId), this.listDomainsOrReconnect(), this.store.volumes.listOnHost(this.config.hostId),
    ]);
    this.fencing.setHighlyAvailable(machines.filter((m) => m.spec.highlyAvailable).map((m) => m.machineId));
    await this.reportFencing(machines);
    // Volumes (docs/volumes.md): files first, so each machine's definition can hold its attached ones.
    const attached = await this.volumes.prepare(volumes);
    for (const m of machines) m.volumes = attached.get(m.machineId) ?? [];
    const domains = indexDomains(domainList, this.config.domainPrefix);
    report.machines = machines.length;
    report.domains = domains.byUuid.size;

    // Each machine: decide, act, write status. Nothing more once the lease is no longer surely held.
    const claimed = new Set<string>();
    const snapshots = new Map<string, DomainSnapshot>();
    let outlasted = false;
    for (const m of machines) {
      claimed.add(domainName(this.config.domainPrefix, m.machineId));
      claimed.add(m.machineId.toLowerCase());
      if (outlasted || !this.lease.safeToAct()) {
        if (!outlasted) this.log.warn('this cycle outlasted the safe part of the host lease: the rest waits for the next renewal');
        outlasted = true;
        continue;
      }
      try {
        const snap = await this.machines.reconcile(m, domains, report);
        if (snap) snapshots.set(m.machineId, snap);
      } catch (e) {
        // Isolated: one machine's failure (even writing its status) never stops the others.
        this.log.error({ machineId: m.machineId, err: errorText(e) }, 'machine reconcile failed');
      }
    }

    if (!outlasted) await this.volumes.finish(volumes, machines.map((m) => m.machineId), (id) => this.machines.definedVolumesOf(id), report);

    // Prefixed domains no machine claimed.
    for (const d of domains.byUuid.values()) {
      if (outlasted) break;
      if (claimed.has(d.name) || claimed.has(d.uuid)) continue;
      try { await this.orphans.handle(d, report); } catch (e) { this.log.error({ domain: d.name, err: errorText(e) }, 'orphan handling failed'); }
    }
    this.orphans.forgetVanished(domains.byName);

    const live = machines.filter((m) => m.desiredState !== 'DELETED');
    await this.sampler.sampleIfDue(this.now(), live, snapshots, (id) => this.machines.lastState(id));
    this.metrics?.agentDomains.set({ host: this.config.hostId }, snapshots.size);
    this.metrics?.loopSeconds.observe({ loop: 'agent' }, Number(process.hrtime.bigint() - t0) / 1e9);
    return report;
  }

  /** The guests fenced while the bus was gone, as events once it is back (one per guest). */
  private async reportFencing(machines: readonly { machineId: string; tenant: string }[]): Promise<void> {
    const rec = this.fencing.takeRecord();
    if (!rec) return;
    const tenantOf = new Map(machines.map((m) => [m.machineId.toLowerCase(), m.tenant]));
    for (const g of rec.guests) {
      await this.events.append({
        tenant: tenantOf.get(g.machineId.toLowerCase()) ?? 'system', ts: rec.at, type: 'alarm', severity: 'high', outcome: g.ok ? 'Warning' : 'Failure', resource: g.machineId,
        content: {
          hostId: this.config.hostId, action: `fence-${g.action}`, reason: `host ${this.config.hostId} had no heartbeat on the bus for ${Math.round(rec.sinceHeartbeatMs / 1000)} s (fencing window ${Math.round(this.config.fenceAfterMs / 1000)} s): guest ${g.action === 'destroy' ? 'destroyed' : 'paused'} so it cannot run twice`,
          ...(g.error ? { error: g.error } : {}),
        },
      });
    }
  }

  /**
   * A dead connection (libvirtd restarted) is dropped so the next cycle reconnects. Not for test://
   * URIs: a private test host lives and dies with its connection.
   */
  private async listDomainsOrReconnect(): Promise<DomainSnapshot[]> {
    try {
      return await this.calls.run('(connection)', 'listDomains', (step) => { step('virConnectListAllDomains'); return this.host.listDomains(); });
    } catch (e) {
      if (this.ownsHost && this.host.domainType !== 'test') {
        this.log.error({ err: errorText(e) }, 'libvirt connection failed; reconnecting next cycle');
        await this.host.close();
        this.calls.forget('(connection)');
      }
      throw e;
    }
  }
}
