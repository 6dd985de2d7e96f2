/**
 * /api/events?day=YYYY-MM-DD: one UTC day (default today) of the tenant's events, newest first, as
 * an EventCollection ($filter $first $last $orderby $select apply). Advertised in the
 * CloudEntryPoint as `events` (a simplification of CIMI's per-resource eventLogs).
 */
import { Router } from 'express';
import { BadQueryError } from '../../errors/registry.js';
import { dayOf } from '../../schema/store/telemetry.js';
import type { EventRecord } from '../../schema/types.js';
import { principalOf } from '../auth/authenticator.js';
import { applySelect, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl, memberUrl, resourceUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function eventView(e: EventRecord, base: string): Record<string, unknown> {
  return {
    resourceURI: resourceUri('Event'), id: `urn:skybus:event:${e.id}`, timestamp: new Date(e.ts).toISOString(),
    type: e.type, severity: e.severity, outcome: e.outcome, resource: memberUrl(base, 'machines', e.resource), content: e.content,
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
      if (dayParam !== undefined && (typeof dayParam !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dayParam) || Number.isNaN(Date.parse(dayParam)))) {
        throw new BadQueryError('day must be a date YYYY-MM-DD');
      }
      const day = (dayParam as string | undefined) ?? dayOf(Date.now());
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.telemetry.events(who.tenant, day, { limit: 500, pageState }), (e) => eventView(e, base));
      const { count, members } = await runCollectionQuery(pages, q);
      const id = `${collectionUrl(base, 'events')}?day=${day}`;
      const next = nextWindowQuery(req, q, count);
      sendCimi(req, res, 200, {
        resourceURI: resourceUri('EventCollection'), id, count, events: applySelect(members, q.select),
        operations: next ? [{ rel: 'next', href: `${collectionUrl(base, 'events')}?${next}` }] : [],
      });
    },
  });
  return r;
}
