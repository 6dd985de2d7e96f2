/**
 * Monitoring: every metricsEveryMs, a MetricSample per machine with a domain (machine_metrics: state,
 * CPU time and percentage, memory), and its accounting record (accounting.ts).
 */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { HostMachine, MachineState } from '../schema/types.js';
import { Accounting } from './accounting.js';
import type { AgentConfig } from './config.js';
import { errorText } from './error-text.js';
import type { DomainSnapshot } from './libvirt-host.js';

export class UsageSampler {
  private readonly cpuPrev = new Map<string, { ts: number; cpuNs: number }>();
  private readonly accounting: Accounting;
  private lastSampleAt = 0;

  constructor(private readonly store: BusStore, private readonly config: AgentConfig, private readonly log: Logger) {
    this.accounting = new Accounting(store, config);
  }

  /**
   * Sample when metricsEveryMs has passed since the last time. machines: this cycle's (not being
   * deleted); snapshots: their domains; stateOf: the state last reported for a machine.
   */
  async sampleIfDue(now: number, machines: HostMachine[], snapshots: ReadonlyMap<string, DomainSnapshot>, stateOf: (machineId: string) => MachineState | null): Promise<void> {
    if (now - this.lastSampleAt < this.config.metricsEveryMs) return;
    this.lastSampleAt = now;
    await this.sample(now, machines, snapshots, stateOf).catch((e) => this.log.warn({ err: errorText(e) }, 'monitoring failed'));
  }

  /** The machine was deleted: drop what is kept for it. */
  forget(machineId: string): void {
    this.cpuPrev.delete(machineId);
    this.accounting.forget(machineId);
  }

  private async sample(now: number, machines: HostMachine[], snapshots: ReadonlyMap<string, DomainSnapshot>, stateOf: (machineId: string) => MachineState | null): Promise<void> {
    for (const m of machines) {
      const snap = snapshots.get(m.machineId);
      if (!snap) continue;
      const state = stateOf(m.machineId) ?? 'CREATING';
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
        await this.accounting.record(m, snap, state, now);
      } catch (e) {
        this.log.warn({ machineId: m.machineId, err: errorText(e) }, 'monitoring sample not recorded');
      }
    }
  }
}
