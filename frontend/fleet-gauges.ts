/**
 * The fleet on the frontend's /metrics (docs/monitoring-api.md): hosts by health and state, machines
 * by the run state their agents last sampled. Read from the bus at most once per
 * fleetGaugesMinIntervalMs, whatever the scrape rate or the number of scrapers; a scrape inside the
 * interval gets the figures of the last read. The sources are one row per host (hosts, leases,
 * heartbeats, host_latest): never a scan of the machines table. So a machine is counted where its
 * host's latest sample names it: unplaced machines are not in it, and the machines of a host whose
 * sample is stale (or whose host is not up) count as state "unknown".
 */
import { Gauge, type Registry } from 'prom-client';
import type { BusStore } from '../schema/bus-store.js';
import { hostCondition, type HostLivenessPolicy } from '../schema/host-health.js';
import { freshness } from '../schema/store/monitoring.js';

/** hosts: by `${health}/${state}`; machines: by sampled run state; at: when they were read. */
export interface FleetCounts { hosts: Map<string, number>; machines: Map<string, number>; at: number }

const HOSTS = 'skybus_fleet_hosts';
const MACHINES = 'skybus_fleet_machines';

export class FleetGauges {
  private last: { at: number; counts: Promise<FleetCounts> } | null = null;
  /** Bus reads made (tests: two scrapes inside the interval make one). */
  reads = 0;

  constructor(private readonly store: BusStore, private readonly policy: HostLivenessPolicy, private readonly minIntervalMs: number,
    private readonly now: () => number = Date.now) {}

  /** Registers the two gauges (replacing any of the same name: one app per registry). */
  register(registry: Registry): void {
    for (const n of [HOSTS, MACHINES]) registry.removeSingleMetric(n);
    const fleet = this;
    new Gauge({
      name: HOSTS, help: 'Hosts by health (up, unreachable, down, removed) and state (ENABLED, DISABLED, REMOVED), read from the bus at most once per min interval',
      labelNames: ['health', 'state'] as const, registers: [registry],
      async collect() {
        this.reset();
        for (const [k, n] of (await fleet.counts()).hosts) { const [health, state] = k.split('/') as [string, string]; this.set({ health, state }, n); }
      },
    });
    new Gauge({
      name: MACHINES, help: 'Machines by the run state in their host\'s latest sample ("unknown": stale sample or host not up); unplaced machines not counted',
      labelNames: ['state'] as const, registers: [registry],
      async collect() {
        this.reset();
        for (const [state, n] of (await fleet.counts()).machines) this.set({ state }, n);
      },
    });
  }

  /** The figures, read again only once the interval has passed since the last read. */
  counts(): Promise<FleetCounts> {
    const t = this.now();
    if (this.last && t - this.last.at < this.minIntervalMs) return this.last.counts;
    const counts = this.read(t);
    this.last = { at: t, counts };
    counts.catch(() => { if (this.last?.counts === counts) this.last = null; });
    return counts;
  }

  private async read(t: number): Promise<FleetCounts> {
    this.reads++;
    const [hosts, leases, beats, latest] = await Promise.all([this.store.hosts.list(), this.store.hosts.leases(), this.store.hosts.heartbeats(), this.store.monitoring.latestAll()]);
    const leaseOf = new Map(leases.map((l) => [l.hostId, l]));
    const healthOf = new Map<string, string>();
    const out: FleetCounts = { hosts: new Map(), machines: new Map(), at: t };
    const add = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
    for (const h of hosts) {
      const c = hostCondition(h, leaseOf.get(h.id) ?? null, beats.get(h.id) ?? null, t, this.policy);
      healthOf.set(h.id, c.health);
      add(out.hosts, `${c.health}/${h.state}`);
    }
    for (const s of latest) {
      if (!healthOf.has(s.hostId)) continue; // a sample of a host no longer registered
      const current = !freshness(s, t).stale && healthOf.get(s.hostId) === 'up';
      for (const m of s.machines) add(out.machines, current ? m.state : 'unknown');
    }
    return out;
  }
}
