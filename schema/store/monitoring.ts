/**
 * Host monitoring on the bus (migration 0015, docs/data-model.md "Host monitoring"): per host and
 * interval ONE sample row carrying the host and all its machines (host_samples, per host and hour),
 * the same sample overwriting the host's row in host_latest, and one rollup per host and hour
 * (host_rollups, per host and day). No reader scans history: the latest is a point read (or a scan of
 * one small row per host), a range reads the hour partitions it covers, a machine's range reads its
 * host's partitions and keeps that machine's entries.
 */
import { ValidationError } from '../../errors/registry.js';
import { collectPages } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { HostRollup, HostSample, MachineSample, Page } from '../types.js';
import { checkHostId } from './hosts.js';
import { checkRollup, checkSample, rollupColumns, rollupOf, sampleColumns, sampleOf } from './monitoring-rows.js';
import { readNewestFirst } from './time-buckets.js';

export const HOUR_MS = 3_600_000;
/** The tables' default TTLs (0015); a write may give a shorter one (tests). */
export const SAMPLE_TTL_SECONDS = 172_800;
export const ROLLUP_TTL_SECONDS = 7_776_000;
/** A sample older than this many of its intervals is stale: its agent has stopped writing. */
export const STALE_AFTER_INTERVALS = 3;

export interface MonitoringWriteOptions { ttlSeconds?: number }
export interface TimeWindow { since: number; until: number }
export interface MachinePoint { ts: number; intervalMs: number; machine: MachineSample }

export function hourOf(ts: number): number { return Math.floor(ts / HOUR_MS); }
export function dayOfHour(hour: number): number { return Math.floor(hour / 24); }

/**
 * How old a sample is, and whether it is stale (older than three of its intervals). Nothing ever
 * freshens a host whose agent stopped: its last sample keeps its own time.
 */
export function freshness(s: Pick<HostSample, 'ts' | 'intervalMs'>, now: number): { ageMs: number; stale: boolean } {
  const ageMs = now - s.ts;
  return { ageMs, stale: ageMs > STALE_AFTER_INTERVALS * s.intervalMs };
}

function checkWindow(w: TimeWindow, maxMs: number, what: string): void {
  if (!Number.isSafeInteger(w.since) || !Number.isSafeInteger(w.until) || !(w.until > w.since) || w.until - w.since > maxMs) {
    throw new ValidationError(`${what} window must be positive and at most ${maxMs / HOUR_MS} hours`);
  }
}

export class MonitoringStore {
  constructor(private readonly d: TableDriver) {}

  /** The sample as ONE row of host_samples: the host and all its machines in one write. */
  async putSample(s: HostSample, opts: MonitoringWriteOptions = {}): Promise<void> {
    checkHostId(s.hostId);
    checkSample(s);
    await this.d.put('host_samples', { host_id: s.hostId, hour: hourOf(s.ts), ...sampleColumns(s, false) }, opts);
  }

  /** The sample as the host's row of host_latest (overwritten; unknown values written as null). */
  async putLatest(s: HostSample, opts: MonitoringWriteOptions = {}): Promise<void> {
    checkHostId(s.hostId);
    checkSample(s);
    await this.d.put('host_latest', { host_id: s.hostId, ...sampleColumns(s, true) }, opts);
  }

  /** The host's newest sample, with its machines: one partition read. Null when none (or expired). */
  async latest(hostId: string): Promise<HostSample | null> {
    checkHostId(hostId);
    const r = await this.d.get('host_latest', { host_id: hostId });
    return r && r.ts !== null ? sampleOf(hostId, r) : null;
  }

  /** Every host's newest sample, a page at a time (a scan of one row per host), in no order. */
  async latestPage(opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<HostSample>> {
    const page = await this.d.scan('host_latest', { limit: opts.limit ?? 500, pageState: opts.pageState });
    return { items: page.rows.filter((r) => r.ts !== null).map((r) => sampleOf(r.host_id as string, r)), pageState: page.pageState };
  }

  /** Every host's newest sample (placement's load-aware weigher, the fleet view). */
  async latestAll(): Promise<HostSample[]> {
    const rows = await collectPages((pageState) => this.d.scan('host_latest', { limit: 500, pageState }));
    return rows.filter((r) => r.ts !== null).map((r) => sampleOf(r.host_id as string, r));
  }

  private async sampleRows(hostId: string, w: TimeWindow, opts: { limit?: number; pageState?: string | null }): Promise<{ rows: Row[]; pageState: string | null }> {
    checkHostId(hostId);
    checkWindow(w, SAMPLE_TTL_SECONDS * 1000, 'sample');
    return readNewestFirst({ oldest: hourOf(w.since), newest: hourOf(w.until - 1) }, opts.limit ?? 360, opts.pageState,
      (hour, inner, limit) => this.d.select('host_samples', { host_id: hostId, hour }, { range: { gte: w.since, lt: w.until }, limit, pageState: inner }));
  }

  /** The host's samples with ts in [since, until), newest first, at full resolution, paged (at most 2 days: the TTL keeps no more). */
  async samples(hostId: string, w: TimeWindow, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<HostSample>> {
    const page = await this.sampleRows(hostId, w, opts);
    return { items: page.rows.map((r) => sampleOf(hostId, r)), pageState: page.pageState };
  }

  /** Every sample of one host-hour (one partition), newest first: what its rollup is computed from. */
  async hourSamples(hostId: string, hour: number): Promise<HostSample[]> {
    checkHostId(hostId);
    if (!Number.isSafeInteger(hour) || hour <= 0) throw new ValidationError('hour must be hours since the epoch');
    const rows = await collectPages((pageState) => this.d.select('host_samples', { host_id: hostId, hour }, { limit: 1000, pageState }));
    return rows.map((r) => sampleOf(hostId, r));
  }

  /**
   * One machine's samples in [since, until) on the given host (the machine row's host_id), newest
   * first: the host's partitions read and filtered, no per-machine index (docs/data-model.md). `limit`
   * bounds the host rows read, so a page may hold fewer points (none where the machine was absent).
   */
  async machineSamples(hostId: string, machineId: string, w: TimeWindow, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<MachinePoint>> {
    const page = await this.sampleRows(hostId, w, opts);
    const items: MachinePoint[] = [];
    for (const r of page.rows) {
      const s = sampleOf(hostId, r);
      const machine = s.machines.find((m) => m.machineId === machineId);
      if (machine) items.push({ ts: s.ts, intervalMs: s.intervalMs, machine });
    }
    return { items, pageState: page.pageState };
  }

  /** The hour's rollup: its key is (host, day, hour), so writing it again overwrites, never adds. */
  async putRollup(r: HostRollup, opts: MonitoringWriteOptions = {}): Promise<void> {
    checkHostId(r.hostId);
    checkRollup(r);
    await this.d.put('host_rollups', { host_id: r.hostId, day: dayOfHour(r.hour), hour: r.hour, ...rollupColumns(r) }, opts);
  }

  async rollup(hostId: string, hour: number): Promise<HostRollup | null> {
    checkHostId(hostId);
    const r = await this.d.get('host_rollups', { host_id: hostId, day: dayOfHour(hour), hour });
    return r && r.samples !== null ? rollupOf(hostId, r) : null;
  }

  /** The host's rollups of the hours starting in [since, until), newest first (at most 91 days). */
  async rollups(hostId: string, w: TimeWindow): Promise<HostRollup[]> {
    checkHostId(hostId);
    checkWindow(w, 91 * 24 * HOUR_MS, 'rollup');
    const first = Math.ceil(w.since / HOUR_MS);
    const last = Math.ceil(w.until / HOUR_MS) - 1;
    if (last < first) return [];
    const out: HostRollup[] = [];
    let pageState: string | null = null;
    do {
      const page: { rows: Row[]; pageState: string | null } = await readNewestFirst({ oldest: dayOfHour(first), newest: dayOfHour(last) }, 1000, pageState,
        (day, inner, limit) => this.d.select('host_rollups', { host_id: hostId, day }, { range: { gte: first, lt: last + 1 }, limit, pageState: inner }));
      out.push(...page.rows.map((r) => rollupOf(hostId, r)));
      pageState = page.pageState;
    } while (pageState);
    return out;
  }
}
