/**
 * /api/auditEvents (Skybus extension, admins only): the audit trail, newest first, over a time range.
 *   GET /auditEvents?since=ISO&until=ISO   default: the last 24 hours; at most 31 days per read
 * $filter (e.g. actor='alice' and outcome='failure'), $first, $last, $select apply; the read walks
 * hour partitions newest first and is bounded like every collection read (docs/api-costs.md).
 */
import { Router } from 'express';
import { BadQueryError } from '../../errors/registry.js';
import type { AuditEvent } from '../../schema/store/audit.js';
import { requireAdmin } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl, skybusUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const DAY_MS = 86_400_000;
const MAX_RANGE_MS = 31 * DAY_MS;

function time(v: unknown, name: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'string' || v.length > 40 || Number.isNaN(Date.parse(v))) throw new BadQueryError(`${name} must be an ISO-8601 time, e.g. 2026-12-01T10:00:00Z`, { parameter: name });
  return Date.parse(v);
}

export function auditView(e: AuditEvent): Record<string, unknown> {
  return {
    resourceURI: skybusUri('AuditEvent'), id: `urn:skybus:audit:${e.id}`, timestamp: new Date(e.ts).toISOString(),
    actor: e.actor, tenant: e.tenant, action: e.action, resource: e.resource, outcome: e.outcome, status: e.status,
    address: e.address, requestId: e.requestId,
  };
}

export function auditRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/auditEvents', {
    get: async (req, res) => {
      requireAdmin(res);
      const base = baseUrl(req, config);
      const query = req.query as Record<string, unknown>;
      const until = time(query.until, 'until', Date.now() + 1);
      const since = time(query.since, 'since', until - DAY_MS);
      if (since >= until) throw new BadQueryError('since must be before until', { parameter: 'since' });
      if (until - since > MAX_RANGE_MS) throw new BadQueryError('a read covers at most 31 days: narrow since/until', { parameter: 'since' });
      const q = parseCollectionQuery(req, config);
      const result = await runCollectionQuery(store.audit.between(since, until), q, auditView);
      const id = collectionUrl(base, 'auditEvents');
      const body = collectionBody({ type: 'AuditEventCollection', id, member: 'auditEvents', result, q, next: nextWindowQuery(req, q, result.count) });
      body.resourceURI = skybusUri('AuditEventCollection');
      sendCimi(req, res, 200, body);
    },
  });
  return r;
}
