/**
 * Events (per tenant and day, and the same events per resource and day: a machine's EventLog) and
 * accounting records (per tenant and day, one idempotent row per machine and period: re-sending
 * overwrites). Monitoring samples are in monitoring.ts (one row per host and interval).
 */
import { ValidationError } from '../../errors/registry.js';
import { newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { EventRecord, Page, UsageRecord } from '../types.js';

const DAY_MS = 86_400_000;

export function dayOf(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

function checkDay(day: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ValidationError('day must be YYYY-MM-DD');
}

export class TelemetryStore {
  constructor(private readonly d: TableDriver) {}

  async appendEvent(e: Omit<EventRecord, 'id'> & { id?: string }): Promise<EventRecord> {
    const ev: EventRecord = { ...e, id: e.id ?? newId(e.ts) };
    const day = dayOf(ev.ts);
    const content = toJson(ev.content);
    // One batch: the tenant's day and the resource's log always hold the same events.
    await this.d.putAll([
      { table: 'events', row: {
        tenant: ev.tenant, day, ts: ev.ts, id: ev.id, type: ev.type, severity: ev.severity, outcome: ev.outcome, resource: ev.resource, content,
      } },
      { table: 'events_by_resource', row: {
        resource_id: ev.resource, day, ts: ev.ts, id: ev.id, tenant: ev.tenant, type: ev.type, severity: ev.severity, outcome: ev.outcome, content,
      } },
    ]);
    return ev;
  }

  /**
   * One resource's events with ts in [since, until), newest first, paged across its day partitions
   * (newest day first; a day with nothing costs one empty read). The window is at most 31 days: the
   * TTL keeps no more. pageState is opaque: the day being read and the driver's state within it.
   */
  async eventsOfResource(resourceId: string, window: { since: number; until: number }, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<EventRecord>> {
    const { since, until } = window;
    if (!(until > since) || until - since > 31 * DAY_MS) throw new ValidationError('event window must be positive and at most 31 days');
    const limit = opts.limit ?? 100;
    const lastDay = Math.floor(since / DAY_MS);
    let day = Math.floor((until - 1) / DAY_MS);
    let inner: string | null = null;
    if (opts.pageState) {
      const cut = opts.pageState.indexOf(':');
      const d = Number(opts.pageState.slice(0, cut < 0 ? undefined : cut));
      if (!Number.isInteger(d) || d > day || d < lastDay) throw new ValidationError('bad event page state');
      day = d;
      inner = cut < 0 || cut === opts.pageState.length - 1 ? null : opts.pageState.slice(cut + 1);
    }
    const items: EventRecord[] = [];
    for (; day >= lastDay; day--, inner = null) {
      const page = await this.d.select('events_by_resource', { resource_id: resourceId, day: dayOf(day * DAY_MS) }, { range: { gte: since, lt: until }, limit: limit - items.length, pageState: inner });
      for (const r of page.rows) {
        items.push({
          tenant: r.tenant as string, ts: r.ts as number, id: r.id as string, type: r.type as EventRecord['type'],
          severity: r.severity as EventRecord['severity'], outcome: r.outcome as EventRecord['outcome'], resource: resourceId,
          content: fromJson<Record<string, unknown>>(r.content, 'event content', {}),
        });
      }
      if (page.pageState) return { items, pageState: `${day}:${page.pageState}` };
      if (items.length >= limit) return { items, pageState: day > lastDay ? `${day - 1}:` : null };
    }
    return { items, pageState: null };
  }

  /** One day of a tenant's events, newest first, paged. */
  async events(tenant: string, day: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<EventRecord>> {
    checkDay(day);
    const page = await this.d.select('events', { tenant, day }, { limit: opts.limit ?? 100, pageState: opts.pageState });
    return {
      items: page.rows.map((r) => ({
        tenant: r.tenant as string, ts: r.ts as number, id: r.id as string, type: r.type as EventRecord['type'],
        severity: r.severity as EventRecord['severity'], outcome: r.outcome as EventRecord['outcome'], resource: r.resource as string,
        content: fromJson<Record<string, unknown>>(r.content, 'event content', {}),
      })),
      pageState: page.pageState,
    };
  }

  async putUsage(u: UsageRecord): Promise<void> {
    await this.d.put('usage_records', {
      tenant: u.tenant, day: dayOf(u.periodStart), machine_id: u.machineId, period_start: u.periodStart, period_seconds: u.periodSeconds,
      host_id: u.hostId, state: u.state, vcpus: u.vcpus, memory_kib: u.memoryKiB, cpu_seconds: u.cpuSeconds,
      state_seconds: toJson(u.stateSeconds), observed_seconds: u.observedSeconds,
    });
  }

  /** One machine's record for one period (null if none yet). */
  async usageOf(tenant: string, machineId: string, periodStart: number): Promise<UsageRecord | null> {
    const r = await this.d.get('usage_records', { tenant, day: dayOf(periodStart), machine_id: machineId, period_start: periodStart });
    if (!r || r.host_id === null) return null;
    return usageOfRow(tenant, r);
  }

  async usage(tenant: string, day: string): Promise<UsageRecord[]> {
    checkDay(day);
    const rows = await collectPages((pageState) => this.d.select('usage_records', { tenant, day }, { limit: 1000, pageState }));
    return rows.filter((r) => r.host_id !== null).map((r) => usageOfRow(tenant, r));
  }

  /** Record that a tenant has usage on a day (idempotent): the admin report's list of tenants. */
  async noteUsageTenant(day: string, tenant: string): Promise<void> {
    checkDay(day);
    await this.d.put('usage_tenants', { day, tenant });
  }

  /** The tenants with usage records on a day, in name order. */
  async usageTenants(day: string): Promise<string[]> {
    checkDay(day);
    const rows = await collectPages((pageState) => this.d.select('usage_tenants', { day }, { limit: 1000, pageState }));
    return rows.map((r) => r.tenant as string);
  }

  /**
   * One (tenant, day) partition of usage records a page at a time, in machine then period order
   * (the clustering order): what reports stream through, never a whole month in memory.
   */
  async usagePage(tenant: string, day: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<UsageRecord>> {
    checkDay(day);
    const page = await this.d.select('usage_records', { tenant, day }, { limit: opts.limit ?? 1000, pageState: opts.pageState ?? null });
    return { items: page.rows.filter((r) => r.host_id !== null).map((r) => usageOfRow(tenant, r)), pageState: page.pageState };
  }
}

/** A stored record; one written before migration 0016 counts as its whole period in its one state. */
function usageOfRow(tenant: string, r: Row): UsageRecord {
  const periodSeconds = r.period_seconds as number;
  const state = r.state as string;
  const legacy = r.observed_seconds === null || r.observed_seconds === undefined;
  return {
    tenant, machineId: r.machine_id as string, periodStart: r.period_start as number, periodSeconds,
    hostId: r.host_id as string, state, vcpus: r.vcpus as number, memoryKiB: r.memory_kib as number, cpuSeconds: r.cpu_seconds as number,
    stateSeconds: legacy ? { [state]: periodSeconds } : fromJson<Record<string, number>>(r.state_seconds, 'usage state seconds', {}),
    observedSeconds: legacy ? periodSeconds : (r.observed_seconds as number),
  };
}
