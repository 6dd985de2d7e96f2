/**
 * Accounting (docs/data-model.md, "Accounting"): one usage record per machine per aligned period of
 * accountingPeriodSeconds, overwritten in place under its key (never a counter), with the CPU time
 * used in it and the seconds of it observed in each state. The time between two samples counts, in
 * the state seen at the first, only when they are at most maxGap apart; a longer silence (the agent
 * was down, stalled or had no lease) counts nowhere, so a report shows it as a gap instead of
 * inventing it. A record is continued (not restarted from zero) after an agent restart or a lease
 * takeover, and a CPU counter that went down (guest restarted) counts from zero again.
 */
import type { BusStore } from '../schema/bus-store.js';
import { dayOf } from '../schema/store/telemetry.js';
import type { HostMachine, UsageRecord } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { DomainSnapshot } from './libvirt-host.js';

interface OpenPeriod {
  periodStart: number;
  cpuUsedNs: number;
  stateSeconds: Record<string, number>;
  /** The last sample: its time, the CPU counter and the state then. */
  lastAt: number;
  lastCpuNs: number;
  lastState: string;
}

/** What one interval between two samples adds to the periods it spans (pure; exported for tests). */
export function splitInterval(from: number, to: number, periodMs: number): { periodStart: number; ms: number }[] {
  const out: { periodStart: number; ms: number }[] = [];
  for (let t = from; t < to;) {
    const periodStart = Math.floor(t / periodMs) * periodMs;
    const end = Math.min(to, periodStart + periodMs);
    out.push({ periodStart, ms: end - t });
    t = end;
  }
  return out;
}

export class Accounting {
  private readonly open = new Map<string, OpenPeriod>();
  /** `day/tenant` already noted in usage_tenants by this process. */
  private readonly noted = new Set<string>();

  constructor(private readonly store: BusStore, private readonly config: AgentConfig) {}

  /** The longest silence between two samples still counted as observed. */
  get maxGapMs(): number {
    return Math.max(3 * this.config.metricsEveryMs, 30_000);
  }

  /** Count the time and CPU since the last sample and write the records of the periods it touched. */
  async record(m: HostMachine, snap: DomainSnapshot, state: string, now: number): Promise<void> {
    const periodMs = this.config.accountingPeriodSeconds * 1000;
    const periodStart = Math.floor(now / periodMs) * periodMs;
    let u = this.open.get(m.machineId);
    if (!u || now < u.lastAt) {
      // First sample in this process (agent restart, lease takeover) or a clock that went back:
      // continue the stored record of this period rather than overwrite it with a smaller count,
      // and count nothing for the time before (nobody observed it).
      const stored = await this.store.telemetry.usageOf(m.tenant, m.machineId, periodStart);
      u = { periodStart, cpuUsedNs: stored ? stored.cpuSeconds * 1e9 : 0, stateSeconds: { ...(stored?.stateSeconds ?? {}) }, lastAt: now, lastCpuNs: snap.cpuTimeNs, lastState: state };
      this.open.set(m.machineId, u);
      await this.put(this.usageRecord(m, u, state));
      return;
    }
    // CPU used since the last sample; a counter that went down means the guest was restarted.
    const cpuDelta = Math.max(0, snap.cpuTimeNs >= u.lastCpuNs ? snap.cpuTimeNs - u.lastCpuNs : snap.cpuTimeNs);
    const elapsed = now - u.lastAt;
    if (elapsed <= this.maxGapMs) {
      for (const part of splitInterval(u.lastAt, now, periodMs)) {
        if (part.periodStart !== u.periodStart) await this.turnPeriod(m, u, part.periodStart);
        u.stateSeconds[u.lastState] = (u.stateSeconds[u.lastState] ?? 0) + part.ms / 1000;
        u.cpuUsedNs += elapsed > 0 ? cpuDelta * (part.ms / elapsed) : 0;
      }
    }
    // A longer silence counts nowhere (nor the CPU used in it): the open period is written as it
    // stands and the current one opens with nothing observed yet.
    if (u.periodStart !== periodStart) await this.turnPeriod(m, u, periodStart);
    u.lastAt = now;
    u.lastCpuNs = snap.cpuTimeNs;
    u.lastState = state;
    await this.put(this.usageRecord(m, u, state));
  }

  private async put(r: UsageRecord): Promise<void> {
    await this.store.telemetry.putUsage(r);
    const day = dayOf(r.periodStart);
    const key = `${day}/${r.tenant}`;
    if (!this.noted.has(key)) {
      await this.store.telemetry.noteUsageTenant(day, r.tenant);
      if (this.noted.size >= 10_000) this.noted.clear(); // bounded; forgetting costs one idempotent write
      this.noted.add(key);
    }
  }

  /** Write the open period as it stands and open the one starting at `next`. */
  private async turnPeriod(m: HostMachine, u: OpenPeriod, next: number): Promise<void> {
    await this.put(this.usageRecord(m, u, u.lastState));
    u.periodStart = next;
    u.cpuUsedNs = 0;
    u.stateSeconds = {};
  }

  forget(machineId: string): void {
    this.open.delete(machineId);
  }

  private usageRecord(m: HostMachine, u: OpenPeriod, state: string): UsageRecord {
    const stateSeconds = Object.fromEntries(Object.entries(u.stateSeconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    return {
      tenant: m.tenant, machineId: m.machineId, periodStart: u.periodStart, periodSeconds: this.config.accountingPeriodSeconds,
      hostId: this.config.hostId, state, vcpus: m.spec.cpu, memoryKiB: m.spec.memoryKiB, cpuSeconds: Math.max(0, u.cpuUsedNs) / 1e9,
      stateSeconds, observedSeconds: Math.round(Object.values(stateSeconds).reduce((a, b) => a + b, 0) * 1000) / 1000,
    };
  }
}
