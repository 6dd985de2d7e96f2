/**
 * Usage reports (docs/data-model.md, "Accounting"): a tenant's usage over [from, to), in total and
 * per machine, from the usage records whose period starts in the range. Streams: one (tenant, day)
 * partition at a time, a page of records at a time, into running totals per machine; a month of
 * 1,000 machines never sits in memory as records.
 *
 * What a report says, per machine and in total:
 * - machine-hours observed in each state, and observed / unobserved hours: a period the agent did
 *   not watch in full (it was down, stalled, or the period has no record at all between two that
 *   do) is unobserved, never filled in; such stretches are listed as gaps;
 * - vCPU-hours and GiB-hours allocated: the machine's size times its observed hours (its capacity
 *   stays claimed on the host in every state);
 * - CPU-hours used: CPU time the guest actually ran.
 */
import { ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import { dayOf } from '../schema/store/telemetry.js';
import type { DailyGap, DailyUsage } from '../schema/store/usage-daily.js';
import type { UsageRecord } from '../schema/types.js';

const DAY_MS = 86_400_000;
/** The longest range one report covers. */
export const MAX_REPORT_DAYS = 400;
/** Gaps listed per machine at most (the rest are counted). */
export const MAX_GAPS_PER_MACHINE = 100;
/** A period observed to within this many seconds of its length counts as fully observed. */
const OBSERVED_TOLERANCE_S = 1;

export interface UsageTotals {
  records: number;
  observedHours: number;
  unobservedHours: number;
  machineHoursByState: Record<string, number>;
  vcpuHours: number;
  gibHours: number;
  cpuHoursUsed: number;
}

export interface UsageGap { from: number; to: number; unobservedHours: number }

export interface MachineUsage {
  machineId: string;
  totals: UsageTotals;
  /** Stretches not (fully) observed, between the machine's first and last record in the range. */
  gaps: UsageGap[];
  /** Gaps beyond MAX_GAPS_PER_MACHINE, counted only. */
  moreGaps: number;
}

export interface TenantUsage {
  tenant: string;
  from: number;
  to: number;
  machines: number;
  totals: UsageTotals;
  byMachine?: MachineUsage[];
  /** Per UTC day of the range (by=day): a machine's gap with no record at all counts on the day its next record starts. */
  byDay?: DayUsage[];
}

export interface DayUsage { day: string; totals: UsageTotals }

export interface UsageQuery {
  tenant: string;
  from: number;
  to: number;
  byMachine: boolean;
  /** Totals per UTC day too. */
  byDay?: boolean;
  /** Read (and write, when missing) the daily rollups of whole, settled days (default true). */
  rollups?: boolean;
  /** Now, for which days are settled (tests). */
  now?: number;
}

/** A day's records are final this long after it ends (agents write a period's last sample just after it). */
export const ROLLUP_GRACE_MS = 3_600_000;

export function checkRange(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0) throw new ValidationError('from and to must be times (ISO 8601 or ms since the epoch)');
  if (to <= from) throw new ValidationError('to must be after from');
  if (to - from > MAX_REPORT_DAYS * DAY_MS) throw new ValidationError(`a usage report covers at most ${MAX_REPORT_DAYS} days`);
}

const hours = (seconds: number) => Math.round((seconds / 3600) * 1e6) / 1e6;

interface TotalsParts {
  records: number; observed: number; unobserved: number; byState: Iterable<[string, number]>;
  vcpuSeconds: number; gibSeconds: number; cpuSeconds: number;
}

class Totals implements TotalsParts {
  records = 0;
  observed = 0;
  unobserved = 0;
  byState = new Map<string, number>();
  vcpuSeconds = 0;
  gibSeconds = 0;
  cpuSeconds = 0;

  add(u: UsageRecord): void {
    this.records++;
    const observed = Math.min(u.observedSeconds, u.periodSeconds);
    this.observed += observed;
    this.unobserved += u.periodSeconds - observed;
    for (const [state, s] of Object.entries(u.stateSeconds)) this.byState.set(state, (this.byState.get(state) ?? 0) + s);
    this.vcpuSeconds += u.vcpus * observed;
    this.gibSeconds += (u.memoryKiB / 1048576) * observed;
    this.cpuSeconds += u.cpuSeconds;
  }

  /** A machine's day from its rollup (schema/store/usage-daily.ts). */
  addDay(d: DailyUsage): void {
    this.accumulate({
      records: d.records, observed: d.observedSeconds, unobserved: d.unobservedSeconds, byState: Object.entries(d.stateSeconds),
      vcpuSeconds: d.vcpuSeconds, gibSeconds: d.gibSeconds, cpuSeconds: d.cpuSeconds,
    });
  }

  /** Whole periods with no record at all. */
  addMissing(seconds: number): void {
    this.unobserved += seconds;
  }

  merge(o: Totals): void {
    this.accumulate(o);
  }

  /** These totals less earlier ones of the same accumulation (a day's share of a running sum). */
  since(earlier: Totals): Totals {
    const d = new Totals();
    d.accumulate(this);
    d.accumulate(earlier, -1);
    for (const [k, v] of d.byState) if (Math.abs(v) < 1e-6) d.byState.delete(k);
    return d;
  }

  /** The one place the fields are combined. */
  private accumulate(o: TotalsParts, sign = 1): void {
    this.records += sign * o.records;
    this.observed += sign * o.observed;
    this.unobserved += sign * o.unobserved;
    for (const [k, v] of o.byState) this.byState.set(k, (this.byState.get(k) ?? 0) + sign * v);
    this.vcpuSeconds += sign * o.vcpuSeconds;
    this.gibSeconds += sign * o.gibSeconds;
    this.cpuSeconds += sign * o.cpuSeconds;
  }

  view(): UsageTotals {
    return {
      records: this.records, observedHours: hours(this.observed), unobservedHours: hours(this.unobserved),
      machineHoursByState: Object.fromEntries([...this.byState].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, hours(v)])),
      vcpuHours: hours(this.vcpuSeconds), gibHours: hours(this.gibSeconds), cpuHoursUsed: hours(this.cpuSeconds),
    };
  }
}

class MachineAcc {
  readonly totals = new Totals();
  /** Unobserved stretches, seconds kept exact until the view. */
  readonly gaps: DailyGap[] = [];
  moreGaps = 0;
  firstStart: number | null = null;
  /** End of the last record seen (records arrive in period order). */
  lastEnd: number | null = null;

  add(u: UsageRecord): void {
    const start = u.periodStart;
    const len = u.periodSeconds * 1000;
    this.missingUntil(start);
    this.totals.add(u);
    const unobserved = u.periodSeconds - Math.min(u.observedSeconds, u.periodSeconds);
    if (unobserved > OBSERVED_TOLERANCE_S) this.gap(start, start + len, unobserved);
    this.firstStart ??= start;
    this.lastEnd = Math.max(this.lastEnd ?? 0, start + len);
  }

  /** A whole day of this machine from its rollup, in day order with the records. */
  addDay(d: DailyUsage): void {
    this.missingUntil(d.firstStart);
    this.totals.addDay(d);
    for (const g of d.gaps) this.gap(g.from, g.to, g.seconds);
    this.moreGaps += d.moreGaps;
    this.firstStart ??= d.firstStart;
    this.lastEnd = Math.max(this.lastEnd ?? 0, d.lastEnd);
  }

  /** Periods between the last record and one starting at `start` had no record: unobserved. */
  private missingUntil(start: number): void {
    if (this.lastEnd === null || start <= this.lastEnd) return;
    this.totals.addMissing((start - this.lastEnd) / 1000);
    this.gap(this.lastEnd, start, (start - this.lastEnd) / 1000);
  }

  private gap(from: number, to: number, seconds: number): void {
    const last = this.gaps.at(-1);
    if (last && last.to === from) {
      last.to = to;
      last.seconds += seconds;
      return;
    }
    if (this.gaps.length >= MAX_GAPS_PER_MACHINE) { this.moreGaps++; return; }
    this.gaps.push({ from, to, seconds });
  }

  /** This accumulator as one day's rollup row (it was fed one day's records only). */
  daily(machineId: string): DailyUsage {
    const t = this.totals;
    return {
      machineId, records: t.records, firstStart: this.firstStart ?? 0, lastEnd: this.lastEnd ?? 0, observedSeconds: t.observed, unobservedSeconds: t.unobserved,
      stateSeconds: Object.fromEntries(t.byState), vcpuSeconds: t.vcpuSeconds, gibSeconds: t.gibSeconds, cpuSeconds: t.cpuSeconds,
      gaps: this.gaps.map((g) => ({ ...g })), moreGaps: this.moreGaps,
    };
  }
}

/** Days (YYYY-MM-DD, UTC) whose partitions can hold periods starting in [from, to). */
export function daysOf(from: number, to: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(from / DAY_MS) * DAY_MS; t < to; t += DAY_MS) out.push(dayOf(t));
  return out;
}

async function forEachRecord(store: BusStore, tenant: string, day: string, fn: (u: UsageRecord) => void): Promise<void> {
  let pageState: string | null = null;
  do {
    const page = await store.telemetry.usagePage(tenant, day, { limit: 1000, pageState });
    for (const u of page.items) fn(u);
    pageState = page.pageState;
  } while (pageState);
}

/**
 * A settled day of a tenant as rollup rows: read, or computed from the day's records and written
 * (rows, then the completion row) for the next report.
 */
async function dailyRollup(store: BusStore, tenant: string, day: string): Promise<DailyUsage[]> {
  const stored = await store.usageDaily.get(tenant, day);
  if (stored) return stored;
  const accs = new Map<string, MachineAcc>();
  await forEachRecord(store, tenant, day, (u) => {
    let m = accs.get(u.machineId);
    if (!m) { m = new MachineAcc(); accs.set(u.machineId, m); }
    m.add(u);
  });
  const rows = [...accs].map(([id, m]) => m.daily(id));
  await store.usageDaily.put(tenant, day, rows);
  return rows;
}

function sumOf(machines: Iterable<MachineAcc>): Totals {
  const t = new Totals();
  for (const m of machines) t.merge(m.totals);
  return t;
}

export async function tenantUsage(store: BusStore, q: UsageQuery): Promise<TenantUsage> {
  checkRange(q.from, q.to);
  const now = q.now ?? Date.now();
  const machines = new Map<string, MachineAcc>();
  const accOf = (id: string) => {
    let m = machines.get(id);
    if (!m) { m = new MachineAcc(); machines.set(id, m); }
    return m;
  };
  const days: DayUsage[] = [];
  let before = new Totals();
  const closeDay = (day: string) => {
    if (!q.byDay) return;
    const now = sumOf(machines.values());
    days.push({ day, totals: now.since(before).view() });
    before = now;
  };
  for (const day of daysOf(q.from, q.to)) {
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const whole = dayStart >= q.from && dayStart + DAY_MS <= q.to;
    if (whole && q.rollups !== false && dayStart + DAY_MS + ROLLUP_GRACE_MS <= now) {
      // Machines of a day come in id order, days in order: each machine's days stay in order.
      for (const d of await dailyRollup(store, q.tenant, day)) accOf(d.machineId).addDay(d);
      closeDay(day);
      continue;
    }
    await forEachRecord(store, q.tenant, day, (u) => {
      if (u.periodStart >= q.from && u.periodStart < q.to) accOf(u.machineId).add(u);
    });
    closeDay(day);
  }
  const totals = sumOf(machines.values());
  const out: TenantUsage = { tenant: q.tenant, from: q.from, to: q.to, machines: machines.size, totals: totals.view() };
  if (q.byDay) out.byDay = days;
  if (q.byMachine) {
    out.byMachine = [...machines].sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([machineId, m]) => ({ machineId, totals: m.totals.view(), gaps: m.gaps.map((g): UsageGap => ({ from: g.from, to: g.to, unobservedHours: hours(g.seconds) })), moreGaps: m.moreGaps }));
  }
  return out;
}

/** Every tenant with usage on a day of the range (usage_tenants), in name order. */
export async function tenantsWithUsage(store: BusStore, from: number, to: number): Promise<string[]> {
  checkRange(from, to);
  const all = new Set<string>();
  for (const day of daysOf(from, to)) for (const t of await store.telemetry.usageTenants(day)) all.add(t);
  return [...all].sort();
}
