/**
 * A machine's EventLog (CIMI: every resource may link an EventLog whose `events` collection holds
 * that resource's events), read from events_by_resource (one partition per machine and day).
 *   GET /machines/:id/eventLog          EventLog: targetResource, events {href}; $expand=events
 *                                       (or *) inlines the first window of the collection
 *   GET /machines/:id/eventLog/events   EventCollection, newest first ($filter $first $last
 *                                       $orderby $select, `next` operation)
 *   GET /machines/:id/eventLog/events/:eventId   one Event, at its id: read from the resource's
 *                                       partition at the time its (time-ordered) id carries; the
 *                                       caller's tenant's only, and still readable after the
 *                                       machine is gone (like the day collection)
 * The machine must be the caller's (else 404, like a missing one); once it is deleted its log is 404
 * too, while its events stay readable in the tenant's day collection (/events?day=) until the TTL.
 * Events are shown through eventView: host identities only to admins.
 */
import { Router, type Request, type Response } from 'express';
import type { BusStore } from '../../schema/bus-store.js';
import { NotFoundError } from '../../errors/registry.js';
import { isId } from '../../schema/ids.js';
import type { Machine } from '../../schema/types.js';
import { principalOf, type Principal } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { expands } from '../cimi/sub-collection.js';
import { memberUrl, resourceUri } from '../cimi/uris.js';
import type { FrontendConfig } from '../config.js';
import { loadMachine } from '../machine-mutations.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { eventView } from './events.js';
import { defineRoute } from './route-table.js';

const DAY_MS = 86_400_000;
/** What events_by_resource keeps (its TTL, schema/cql/0008_events_by_resource.cql). */
export const EVENT_RETENTION_DAYS = 30;
/** Clock difference tolerated between the writers of events (agents, frontends) and this reader. */
const SKEW_MS = 3_600_000;

/** The span of a machine's log worth reading now: from its creation (at most the retention back) to now. */
export function eventWindow(m: Pick<Machine, 'created'>, now: number): { since: number; until: number } {
  const until = now + SKEW_MS;
  const since = Math.min(Math.max(m.created - SKEW_MS, now - EVENT_RETENTION_DAYS * DAY_MS), until - 1);
  return { since, until };
}

export function eventLogUrl(base: string, machineId: string): string {
  return `${memberUrl(base, 'machines', machineId)}/eventLog`;
}

async function eventCollection(store: BusStore, config: FrontendConfig, req: Request, m: Machine, who: Principal, base: string): Promise<Record<string, unknown>> {
  const q = parseCollectionQuery(req, config);
  const window = eventWindow(m, Date.now());
  const pages = storePages(async (pageState) => {
    const page = await store.telemetry.eventsOfResource(m.id, window, { limit: 500, pageState });
    // Defence in depth: a machine's log holds only its tenant's events.
    return { items: page.items.filter((e) => e.tenant === m.tenant), pageState: page.pageState };
  });
  const result = await runCollectionQuery(pages, q, (e) => eventView(e, base, who));
  const id = `${eventLogUrl(base, m.id)}/events`;
  return collectionBody({ type: 'EventCollection', id, member: 'events', result, q, next: nextWindowQuery(req, q, result.count) });
}

export function eventLogRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  const machineOf = (req: Request, res: Response) => loadMachine(store, req.params.id as string, principalOf(res));
  defineRoute(r, mountedAt, '/machines/:id/eventLog', {
    get: async (req, res) => {
      const who = principalOf(res);
      const m = await machineOf(req, res);
      const base = baseUrl(req, config);
      const id = eventLogUrl(base, m.id);
      const body: Record<string, unknown> = {
        resourceURI: resourceUri('EventLog'), id, name: `${m.name} events`, description: `events of machine ${m.name}`,
        created: new Date(m.created).toISOString(), updated: new Date(m.updated).toISOString(), properties: {},
        targetResource: { href: memberUrl(base, 'machines', m.id) },
        events: expands(req, 'events') ? await eventCollection(store, config, req, m, who, base) : { href: `${id}/events` },
        retentionDays: EVENT_RETENTION_DAYS, // Skybus extension: events older than this are gone
        operations: [],
      };
      sendCimi(req, res, 200, body);
    },
  });
  defineRoute(r, mountedAt, '/machines/:id/eventLog/events', {
    get: async (req, res) => {
      const m = await machineOf(req, res);
      sendCimi(req, res, 200, await eventCollection(store, config, req, m, principalOf(res), baseUrl(req, config)));
    },
  });
  defineRoute(r, mountedAt, '/machines/:id/eventLog/events/:eventId', {
    get: async (req, res) => {
      const who = principalOf(res);
      const machineId = req.params.id as string;
      const eventId = req.params.eventId as string;
      const missing = () => new NotFoundError(`no event ${eventId.slice(0, 64)}`);
      if (!isId(machineId) || !isId(eventId)) throw missing();
      // A v7 id starts with its creation time in milliseconds (schema/ids.ts), which is the event's ts.
      const ts = Number.parseInt(eventId.replace(/-/g, '').slice(0, 12), 16);
      const page = await store.telemetry.eventsOfResource(machineId, { since: ts, until: ts + 1 }, { limit: 100 });
      const e = page.items.find((x) => x.id === eventId && x.tenant === who.tenant);
      if (!e) throw missing();
      sendCimi(req, res, 200, eventView(e, baseUrl(req, config), who));
    },
  });
  return r;
}
