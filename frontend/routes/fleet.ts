/**
 * GET /fleet (Skybus extension, admins only; docs/monitoring-api.md): the fleet at a glance, the same
 * figures as the skybus_fleet_* gauges on /metrics and from the same cached read (fleet-gauges.ts:
 * at most one bus read per interval, one row per host, never a scan of the machines table): hosts by
 * health and by state, machines by the run state their host's latest sample shows.
 */
import { Router } from 'express';
import { sendCimi } from '../cimi/negotiate.js';
import { API_PREFIX, skybusUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

export function fleetRoutes(deps: RouteDeps, mountedAt: string): Router {
  const r = Router();
  defineRoute(r, mountedAt, '/fleet', {
    get: async (req, res) => {
      const c = await deps.fleet.counts();
      const byHealth = new Map<string, number>();
      const byState = new Map<string, number>();
      for (const [k, n] of c.hosts) {
        const [health, state] = k.split('/') as [string, string];
        byHealth.set(health, (byHealth.get(health) ?? 0) + n);
        byState.set(state, (byState.get(state) ?? 0) + n);
      }
      const machines = sorted(c.machines);
      sendCimi(req, res, 200, {
        resourceURI: skybusUri('Fleet'), id: `${baseUrl(req, deps.config)}${API_PREFIX}/fleet`, readAt: new Date(c.at).toISOString(),
        hosts: { count: sum(sorted(byHealth)), byHealth: sorted(byHealth), byState: sorted(byState) },
        machines: { count: sum(machines), byState: machines },
      });
    },
  });
  return r;
}
