/**
 * /api/events?day=YYYY-MM-DD: one UTC day (default today) of the tenant's events, newest first, as
 * an EventCollection ($filter $first $last $orderby $select apply). Advertised in the
 * CloudEntryPoint as `events` (a simplification of CIMI's per-resource eventLogs).
 */
import { Router } from 'express';
import { BadQueryError } from '../../errors/registry.js';
import { dayOf } from '../../schema/store/telemetry.js';
import type { EventRecord } from '../../schema/types.js';
import { isAdmin, principalOf, type Principal } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl, memberUrl, resourceUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

/** Content fields that name the infrastructure (which host, which libvirt domain): admins only. */
const HOST_FIELDS = new Set(['hostId', 'host', 'domain', 'holder']);

export function eventView(e: EventRecord, base: string, who: Principal): Record<string, unknown> {
  const content = isAdmin(who) ? e.content : Object.fromEntries(Object.entries(e.content ?? {}).filter(([k]) => !HOST_FIELDS.has(k)));
  return {
    // Its URL in its machine's EventLog (routes/event-logs.ts), readable until the TTL.
    resourceURI: resourceUri('Event'), id: `${memberUrl(base, 'machines', e.resource)}/eventLog/events/${e.id}`, timestamp: new Date(e.ts).toISOString(),
    type: e.type, severity: e.severity, outcome: e.outcome, resource: memberUrl(base, 'machines', e.resource), content,
  };
}

export function eventRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/events', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const dayParam = (req.query as Record<string, unknown>).day;
      // A real calendar day: Date.parse rolls 2024-02-30 over to March 1 instead of failing.
      if (dayParam !== undefined && (typeof dayParam !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dayParam) || Number.isNaN(Date.parse(dayParam)) || dayOf(Date.parse(dayParam)) !== dayParam)) {
        throw new BadQueryError('day must be a date YYYY-MM-DD');
      }
      const day = (dayParam as string | undefined) ?? dayOf(Date.now());
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.telemetry.events(who.tenant, day, { limit: 500, pageState }));
      const result = await runCollectionQuery(pages, q, (e) => eventView(e, base, who));
      const id = `${collectionUrl(base, 'events')}?day=${day}`;
      const next = nextWindowQuery(req, q, result.count);
      sendCimi(req, res, 200, collectionBody({ type: 'EventCollection', id, member: 'events', result, q, next, nextBase: collectionUrl(base, 'events') }));
    },
  });
  return r;
}
