/** The audit trail (migration 0006): append-only, per hour, newest first, TTL per row. */
import { newId } from '../ids.js';
import type { TableDriver } from '../table-driver.js';
import type { Page } from '../types.js';

const HOUR_MS = 3_600_000;

export interface AuditEvent {
  id: string;
  ts: number;
  /** Who: the authenticated user, or the name a failed login gave ('' when none). */
  actor: string;
  /** The actor's tenant ('' when not authenticated). */
  tenant: string;
  /** 'login', or the request: 'POST /api/machines/:id/:action' */
  action: string;
  /** The path acted on ('' for a login). */
  resource: string;
  outcome: 'success' | 'failure' | 'throttled';
  status: number;
  address: string;
  requestId: string;
}

export function hourOf(ts: number): number {
  return Math.floor(ts / HOUR_MS);
}

export class AuditStore {
  constructor(private readonly d: TableDriver) {}

  async append(e: Omit<AuditEvent, 'id'>, ttlSeconds: number): Promise<AuditEvent> {
    const ev: AuditEvent = { ...e, id: newId(e.ts) };
    await this.d.put('audit_events', {
      hour: hourOf(ev.ts), ts: ev.ts, id: ev.id, actor: ev.actor, tenant: ev.tenant, action: ev.action, resource: ev.resource,
      outcome: ev.outcome, status: ev.status, address: ev.address, request_id: ev.requestId,
    }, { ttlSeconds });
    return ev;
  }

  /** One hour's events, newest first, paged. */
  async hour(hour: number, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<AuditEvent>> {
    const page = await this.d.select('audit_events', { hour }, { limit: opts.limit ?? 500, pageState: opts.pageState });
    return {
      items: page.rows.map((r) => ({
        id: r.id as string, ts: r.ts as number, actor: (r.actor as string | null) ?? '', tenant: (r.tenant as string | null) ?? '',
        action: (r.action as string | null) ?? '', resource: (r.resource as string | null) ?? '', outcome: r.outcome as AuditEvent['outcome'],
        status: (r.status as number | null) ?? 0, address: (r.address as string | null) ?? '', requestId: (r.request_id as string | null) ?? '',
      })),
      pageState: page.pageState,
    };
  }

  /** Events in [from, to), newest first, an hour partition after another (bounded pages, never a scan). */
  async *between(from: number, to: number, pageSize = 500): AsyncIterable<AuditEvent[]> {
    for (let h = hourOf(to - 1); h >= hourOf(from); h--) {
      let pageState: string | null = null;
      do {
        const page: Page<AuditEvent> = await this.hour(h, { limit: pageSize, pageState });
        const inRange = page.items.filter((e) => e.ts >= from && e.ts < to);
        if (inRange.length > 0) yield inRange;
        pageState = page.pageState;
      } while (pageState);
    }
  }
}
