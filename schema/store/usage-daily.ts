/**
 * Daily usage rollups (migration 0017, docs/usage.md "Daily rollups"): per (tenant, day) one row per
 * machine with what a report needs of its day, and a completion row written last. Written by
 * reports (frontend/usage-report.ts) once the day is settled; read instead of the day's records.
 */
import { ValidationError } from '../../errors/registry.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';

/** The completion row's machine_id: sorts after every machine id. */
export const DAY_COMPLETE = '~';
const BATCH = 50;

export interface DailyGap { from: number; to: number; seconds: number }

export interface DailyUsage {
  machineId: string;
  records: number;
  firstStart: number;
  lastEnd: number;
  observedSeconds: number;
  unobservedSeconds: number;
  stateSeconds: Record<string, number>;
  vcpuSeconds: number;
  gibSeconds: number;
  cpuSeconds: number;
  gaps: DailyGap[];
  moreGaps: number;
}

function checkDay(day: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ValidationError('day must be YYYY-MM-DD');
}

export class UsageDailyStore {
  constructor(private readonly d: TableDriver) {}

  /** The day's rows, or null when the day was never completed (no completion row). */
  async get(tenant: string, day: string): Promise<DailyUsage[] | null> {
    checkDay(day);
    const rows = await collectPages((pageState) => this.d.select('usage_daily', { tenant, day }, { limit: 1000, pageState }));
    if (rows.at(-1)?.machine_id !== DAY_COMPLETE) return null;
    return rows.slice(0, -1).map((r) => ({
      machineId: r.machine_id as string, records: r.records as number, firstStart: r.first_start as number, lastEnd: r.last_end as number,
      observedSeconds: r.observed_seconds as number, unobservedSeconds: r.unobserved_seconds as number,
      stateSeconds: fromJson<Record<string, number>>(r.state_seconds, 'daily state seconds', {}),
      vcpuSeconds: r.vcpu_seconds as number, gibSeconds: r.gib_seconds as number, cpuSeconds: r.cpu_seconds as number,
      gaps: fromJson<DailyGap[]>(r.gaps, 'daily gaps', []), moreGaps: r.more_gaps as number,
    }));
  }

  /** Write the day's rows (batches within the partition), then the completion row. */
  async put(tenant: string, day: string, machines: DailyUsage[]): Promise<void> {
    checkDay(day);
    const rows: Row[] = machines.map((m) => ({
      tenant, day, machine_id: m.machineId, records: m.records, first_start: m.firstStart, last_end: m.lastEnd,
      observed_seconds: m.observedSeconds, unobserved_seconds: m.unobservedSeconds, state_seconds: toJson(m.stateSeconds),
      vcpu_seconds: m.vcpuSeconds, gib_seconds: m.gibSeconds, cpu_seconds: m.cpuSeconds, gaps: toJson(m.gaps), more_gaps: m.moreGaps,
    }));
    for (let i = 0; i < rows.length; i += BATCH) await this.d.putAll(rows.slice(i, i + BATCH).map((row) => ({ table: 'usage_daily', row })));
    await this.d.put('usage_daily', { tenant, day, machine_id: DAY_COMPLETE, records: machines.reduce((a, m) => a + m.records, 0) });
  }
}
