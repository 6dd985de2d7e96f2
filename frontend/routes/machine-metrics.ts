/**
 * GET /machines/:id/metrics (Skybus extension, docs/monitoring-api.md): a machine's samples in a time
 * range, paged, or its hourly rollups (resolution=hour), read from its host's partitions. The
 * machine's tenant reads it (another tenant gets the 404 the machine routes give); admins any machine.
 * The range covers the host the machine is bound to now: what it ran on before an HA restart is not included.
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { isId } from '../../schema/ids.js';
import type { Machine } from '../../schema/types.js';
import { isAdmin, principalOf } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { memberUrl, skybusUri } from '../cimi/uris.js';
import { loadMachine } from '../machine-mutations.js';
import { machinePointView, machineRollupView } from '../metrics-points.js';
import { nextPageHref, parseMetricsQuery } from '../metrics-window.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function machineMetricsRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/machines/:id/metrics', {
    get: async (req, res) => {
      const who = principalOf(res);
      const id = req.params.id as string;
      let m: Machine | null;
      if (isAdmin(who)) {
        m = isId(id) ? await store.machines.get(id) : null;
        if (!m) throw new NotFoundError(`no machine ${id}`);
      } else {
        m = await loadMachine(store, id, who);
      }
      const q = parseMetricsQuery(req, Date.now());
      const base = baseUrl(req, config);
      const self = `${memberUrl(base, 'machines', m.id)}/metrics`;
      const body: Record<string, unknown> = {
        resourceURI: skybusUri('MachineMetrics'), id: self, machine: { href: memberUrl(base, 'machines', m.id) },
        from: new Date(q.window.since).toISOString(), to: new Date(q.window.until).toISOString(), resolution: q.resolution,
      };
      if (!m.hostId) {
        body.samples = [];
      } else if (q.resolution === 'hour') {
        const rollups = await store.monitoring.rollups(m.hostId, q.window);
        body.samples = rollups.flatMap((h) => h.machines.filter((x) => x.machineId === m.id).map((x) => machineRollupView(h.hour, x)));
      } else {
        const page = await store.monitoring.machineSamples(m.hostId, m.id, q.window, { limit: q.limit, pageState: q.page });
        body.samples = page.items.map(machinePointView);
        if (page.pageState) body.next = { href: nextPageHref(self, q, page.pageState) };
      }
      body.count = (body.samples as unknown[]).length;
      sendCimi(req, res, 200, body);
    },
  });
  return r;
}
