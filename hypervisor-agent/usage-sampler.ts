/**
 * Accounting's cadence: every metricsEveryMs, each machine with a domain has the CPU time it used
 * counted into its usage record (accounting.ts). Monitoring samples are host-monitor.ts's: one row per
 * host and interval, not one per machine.
 */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { HostMachine, MachineState } from '../schema/types.js';
import { Accounting } from './accounting.js';
import type { AgentConfig } from './config.js';
import { errorText } from './error-text.js';
import type { DomainSnapshot } from './libvirt-host.js';

export class UsageSampler {
  private readonly accounting: Accounting;
  private lastSampleAt = 0;

  constructor(store: BusStore, private readonly config: AgentConfig, private readonly log: Logger) {
    this.accounting = new Accounting(store, config);
  }

  /**
   * Count when metricsEveryMs has passed since the last time. machines: this cycle's (not being
   * deleted); snapshots: their domains; stateOf: the state last reported for a machine.
   */
  async sampleIfDue(now: number, machines: HostMachine[], snapshots: ReadonlyMap<string, DomainSnapshot>, stateOf: (machineId: string) => MachineState | null): Promise<void> {
    if (now - this.lastSampleAt < this.config.metricsEveryMs) return;
    this.lastSampleAt = now;
    for (const m of machines) {
      const snap = snapshots.get(m.machineId);
      if (!snap) continue;
      try {
        await this.accounting.record(m, snap, stateOf(m.machineId) ?? 'CREATING', now);
      } catch (e) {
        this.log.warn({ machineId: m.machineId, err: errorText(e) }, 'usage not recorded');
      }
    }
  }

  /** The machine was deleted: drop what is kept for it. */
  forget(machineId: string): void {
    this.accounting.forget(machineId);
  }
}
