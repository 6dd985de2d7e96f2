/**
 * Host monitoring (docs/data-model.md, "Host monitoring"): every monitorIntervalMs, one reading of
 * libvirt (node info, every domain's info) becomes one HostSample (host-sample.ts) and goes to the bus
 * as ONE host_samples row carrying the host and all its machines, plus the host's host_latest row.
 * Once an hour is over, its rollup is computed from that hour's stored samples (hourly-rollup.ts) and
 * written under its own key: a restarted agent rewrites the previous hour's, never adds one.
 *
 * Level-triggered and failure-tolerant: only the agent holding the host's lease writes; a failed
 * sample write is kept (a few intervals' worth) and sent again next interval before the new one, a
 * failed latest write is overtaken by the next, a failed rollup stays due. Nothing here throws into
 * the agent. A libvirt reading that fails or hangs (bounded by the agent's call guard) gives no
 * sample at all: nothing is made up for an interval that was not observed.
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import { hourOf, SAMPLE_TTL_SECONDS } from '../schema/store/monitoring.js';
import type { HostSample } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { CpuReading } from './cpu-rate.js';
import { errorText } from './error-text.js';
import { loadAverageFor } from './host-load.js';
import { buildHostSample } from './host-sample.js';
import { rollupHour } from './hourly-rollup.js';
import type { LibvirtCallGuard } from './libvirt-call-guard.js';
import type { DomainSnapshot, NodeSummary } from './libvirt-host.js';

/** Samples kept for a resend while the bus does not take them (one minute at the default interval). */
export const MAX_BACKLOG = 6;
const CALL_KEY = '(monitor)';

export interface HostMonitorDeps {
  store: BusStore;
  config: AgentConfig;
  host: { nodeInfo(): Promise<NodeSummary>; listDomains(): Promise<DomainSnapshot[]> };
  calls: LibvirtCallGuard;
  log: Logger;
  /** Wall clock for sample times (tests move it). */
  now: () => number;
  /** True while this agent may write for its host (it holds the lease and is not fenced). */
  mayWrite: () => boolean;
  /** The host's 1-minute load average, or null (default: host-load.ts by the libvirt URI). */
  loadAverage?: () => number | null;
  /** Shorter TTLs (tests). */
  ttl?: { samplesSeconds?: number; rollupsSeconds?: number };
  /** Interval durations and bus write latencies (skybus_agent_sample_seconds, skybus_bus_write_seconds). */
  metrics?: SkybusMetrics;
}

export interface MonitorTick {
  /** Why nothing was sampled, if nothing was. */
  skipped?: 'not-lease-holder' | 'libvirt';
  sample?: HostSample;
  /** host_samples rows written this interval (resent ones included). */
  samplesWritten: number;
  latestWritten: boolean;
  /** Samples still waiting for the bus. */
  backlog: number;
  /** Hours whose rollup was written this interval. */
  rollupsWritten: number[];
}

export class HostMonitor {
  private readonly log: Logger;
  private readonly loadAverage: () => number | null;
  private readings: ReadonlyMap<string, CpuReading> = new Map();
  private backlog: HostSample[] = [];
  /** Hours with samples (written or found) whose rollup is not written yet. */
  private readonly rollupsDue = new Set<number>();
  private started = false;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: HostMonitorDeps) {
    this.log = deps.log.child({ component: 'host-monitor' });
    this.loadAverage = deps.loadAverage ?? loadAverageFor(deps.config.libvirtUri);
  }

  /** Sample now, then every monitorIntervalMs until stop(). Off when the interval is 0. */
  start(): void {
    if (this.running || this.deps.config.monitorIntervalMs === 0) return;
    this.running = true;
    const loop = () => {
      this.timer = null;
      void this.tick().finally(() => {
        if (this.running) this.timer = setTimeout(loop, this.deps.config.monitorIntervalMs);
      });
    };
    loop();
  }

  /** Stop the loop and wait for the interval in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight.catch(() => undefined);
  }

  /** One interval (what the loop runs; tests call it with their clock). Serialized; never throws. */
  tick(): Promise<MonitorTick> {
    const p = this.inFlight.catch(() => undefined).then(() => this.interval());
    this.inFlight = p.catch(() => undefined);
    return p.catch((e: unknown) => {
      this.log.error({ err: errorText(e) }, 'monitoring interval failed; trying again next interval');
      return { samplesWritten: 0, latestWritten: false, backlog: this.backlog.length, rollupsWritten: [] };
    });
  }

  private async interval(): Promise<MonitorTick> {
    const t0 = process.hrtime.bigint();
    try {
      return await this.sampleAndWrite();
    } finally {
      this.deps.metrics?.agentSampleSeconds.observe({ host: this.deps.config.hostId }, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  /** One bus write, timed by table and outcome. */
  private async timedWrite(table: 'host_samples' | 'host_latest' | 'host_rollups', write: () => Promise<void>): Promise<void> {
    const t0 = process.hrtime.bigint();
    let outcome = 'error';
    try {
      await write();
      outcome = 'ok';
    } finally {
      this.deps.metrics?.busWriteSeconds.observe({ table, outcome }, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  private async sampleAndWrite(): Promise<MonitorTick> {
    const out: MonitorTick = { samplesWritten: 0, latestWritten: false, backlog: this.backlog.length, rollupsWritten: [] };
    if (!this.deps.mayWrite()) { out.skipped = 'not-lease-holder'; return out; }
    const ts = this.deps.now();
    let node: NodeSummary;
    let domains: DomainSnapshot[];
    try {
      ({ node, domains } = await this.deps.calls.run(CALL_KEY, 'monitor', async (step) => {
        step('virNodeGetInfo');
        const n = await this.deps.host.nodeInfo();
        step('virConnectListAllDomains');
        return { node: n, domains: await this.deps.host.listDomains() };
      }));
    } catch (e) {
      this.log.warn({ err: errorText(e) }, 'libvirt could not be read: no sample this interval');
      out.skipped = 'libvirt';
      return out;
    }
    const { sample, readings } = buildHostSample({
      hostId: this.deps.config.hostId, ts, intervalMs: this.deps.config.monitorIntervalMs, node, domains,
      domainPrefix: this.deps.config.domainPrefix, load1: this.loadAverage(), previous: this.readings,
    });
    this.readings = readings;
    out.sample = sample;
    if (!this.started) {
      // A (re)started agent rewrites the previous hour's rollup: the same key, from the stored samples.
      this.rollupsDue.add(hourOf(ts) - 1);
      this.started = true;
    }
    [out.samplesWritten, out.latestWritten] = await Promise.all([this.sendSamples(sample), this.sendLatest(sample)]);
    out.backlog = this.backlog.length;
    out.rollupsWritten = await this.writeDueRollups(hourOf(ts));
    return out;
  }

  private async sendLatest(s: HostSample): Promise<boolean> {
    try {
      await this.timedWrite('host_latest', () => this.deps.store.monitoring.putLatest(s, { ttlSeconds: this.deps.ttl?.samplesSeconds }));
      return true;
    } catch (e) {
      this.log.warn({ err: errorText(e) }, 'latest sample not written; the next interval writes a newer one');
      return false;
    }
  }

  /** The samples not yet on the bus, oldest first, then the new one; stops at the first failure. */
  private async sendSamples(s: HostSample): Promise<number> {
    this.backlog.push(s);
    if (this.backlog.length > MAX_BACKLOG) {
      const dropped = this.backlog.splice(0, this.backlog.length - MAX_BACKLOG);
      this.log.warn({ dropped: dropped.length, oldest: dropped[0]?.ts }, 'the bus has not taken samples for a while: the oldest are dropped (a gap in the history)');
    }
    let written = 0;
    while (this.backlog.length > 0) {
      const next = this.backlog[0]!;
      try {
        await this.timedWrite('host_samples', () => this.deps.store.monitoring.putSample(next, { ttlSeconds: this.deps.ttl?.samplesSeconds }));
      } catch (e) {
        this.log.warn({ err: errorText(e), waiting: this.backlog.length }, 'sample not written; sent again next interval');
        break;
      }
      this.backlog.shift();
      this.rollupsDue.add(hourOf(next.ts));
      written++;
    }
    return written;
  }

  /** Every due hour before the current one whose samples are all on the bus: computed from storage, written. */
  private async writeDueRollups(currentHour: number): Promise<number[]> {
    const done: number[] = [];
    const oldestKept = currentHour - Math.ceil(SAMPLE_TTL_SECONDS / 3600);
    const waiting = new Set(this.backlog.map((b) => hourOf(b.ts)));
    for (const hour of [...this.rollupsDue].sort((a, b) => a - b)) {
      if (hour >= currentHour) continue;
      if (hour < oldestKept) { this.rollupsDue.delete(hour); continue; } // its samples have expired
      if (waiting.has(hour)) continue; // some of its samples are still to be sent
      try {
        const rollup = rollupHour(this.deps.config.hostId, hour, await this.deps.store.monitoring.hourSamples(this.deps.config.hostId, hour));
        if (rollup) {
          await this.timedWrite('host_rollups', () => this.deps.store.monitoring.putRollup(rollup, { ttlSeconds: this.deps.ttl?.rollupsSeconds }));
          done.push(hour);
        }
        this.rollupsDue.delete(hour);
      } catch (e) {
        this.log.warn({ hour, err: errorText(e) }, 'hourly rollup not written; trying again next interval');
      }
    }
    return done;
  }
}
