/**
 * GET /hosts/:id/metrics (Skybus extension, admins only; docs/monitoring-api.md): a host's samples in
 * a time range, paged, or its hourly rollups (resolution=hour). 400 for a bad id or query, 404 for an
 * unknown host.
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { checkHostId } from '../../schema/store/hosts.js';
import { requireAdmin } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { memberUrl, skybusUri } from '../cimi/uris.js';
import { hostPointView, hostRollupView } from '../metrics-points.js';
import { nextPageHref, parseMetricsQuery } from '../metrics-window.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

/** The host id from the path: 400 (checkHostId's ValidationError) when it cannot be one, 404 when no such host is registered. */
export async function knownHostId(deps: RouteDeps, id: string): Promise<string> {
  checkHostId(id);
  if (!(await deps.store.hosts.get(id))) throw new NotFoundError(`host ${id} not found`);
  return id;
}

export function hostMetricsRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/hosts/:id/metrics', {
    get: async (req, res) => {
      requireAdmin(res);
      const hostId = await knownHostId(deps, req.params.id as string);
      const q = parseMetricsQuery(req, Date.now());
      const base = baseUrl(req, config);
      const self = `${memberUrl(base, 'hosts', hostId)}/metrics`;
      const body: Record<string, unknown> = {
        resourceURI: skybusUri('HostMetrics'), id: self, host: { href: memberUrl(base, 'hosts', hostId) },
        from: new Date(q.window.since).toISOString(), to: new Date(q.window.until).toISOString(), resolution: q.resolution,
      };
      if (q.resolution === 'hour') {
        body.samples = (await store.monitoring.rollups(hostId, q.window)).map(hostRollupView);
      } else {
        const page = await store.monitoring.samples(hostId, q.window, { limit: q.limit, pageState: q.page });
        body.samples = page.items.map(hostPointView);
        if (page.pageState) body.next = { href: nextPageHref(self, q, page.pageState) };
      }
      body.count = (body.samples as unknown[]).length;
      sendCimi(req, res, 200, body);
    },
  });
  return r;
}
