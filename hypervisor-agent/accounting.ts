/**
 * Accounting: one usage record per machine per aligned period of accountingPeriodSeconds, with the CPU
 * time used in it. A record is continued (not restarted from zero) after an agent restart or a lease
 * takeover, and a CPU counter that went down (guest restarted) counts from zero again.
 */
import type { BusStore } from '../schema/bus-store.js';
import type { HostMachine, UsageRecord } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { DomainSnapshot } from './libvirt-host.js';

interface OpenPeriod { periodStart: number; cpuUsedNs: number; lastCpuNs: number }

export class Accounting {
  /** Per machine: the accounting period open now, CPU time counted in it, and the last counter value seen. */
  private readonly open = new Map<string, OpenPeriod>();

  constructor(private readonly store: BusStore, private readonly config: AgentConfig) {}

  /** Count the CPU used since the last sample and write the period's record (closing the previous one first). */
  async record(m: HostMachine, snap: DomainSnapshot, state: string, now: number): Promise<void> {
    const periodMs = this.config.accountingPeriodSeconds * 1000;
    const periodStart = Math.floor(now / periodMs) * periodMs;
    let u = this.open.get(m.machineId);
    if (!u) {
      // First sample in this process: continue the stored record of this period (agent restart,
      // lease takeover) rather than overwrite it with a smaller count.
      const stored = await this.store.telemetry.usageOf(m.tenant, m.machineId, periodStart);
      u = { periodStart, cpuUsedNs: stored ? stored.cpuSeconds * 1e9 : 0, lastCpuNs: snap.cpuTimeNs };
      this.open.set(m.machineId, u);
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
  }

  forget(machineId: string): void {
    this.open.delete(machineId);
  }

  private usageRecord(m: HostMachine, periodStart: number, state: string, cpuNs: number): UsageRecord {
    return {
      tenant: m.tenant, machineId: m.machineId, periodStart, periodSeconds: this.config.accountingPeriodSeconds,
      hostId: this.config.hostId, state, vcpus: m.spec.cpu, memoryKiB: m.spec.memoryKiB, cpuSeconds: Math.max(0, cpuNs) / 1e9,
    };
  }
}
