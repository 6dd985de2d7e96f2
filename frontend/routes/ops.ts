/** Unauthenticated operational endpoints: /healthz (can the bus be read?) and /metrics (Prometheus). */
import { Router } from 'express';
import type { SkybusMetrics } from '../../observability/metrics.js';
import { requestLog } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const PROBE_ID = '00000000-0000-7000-8000-000000000000';

export function opsRoutes(deps: RouteDeps, metrics: SkybusMetrics): Router {
  const r = Router();
  defineRoute(r, '', '/healthz', {
    get: async (_req, res) => {
      try {
        await deps.store.catalog.get('machineConfig', PROBE_ID);
        res.status(200).json({ status: 'ok', store: deps.store.kind });
      } catch (e) {
        requestLog(res).warn({ err: e }, 'health check: store read failed');
        res.status(503).json({ status: 'unavailable' });
      }
    },
  });
  defineRoute(r, '', '/metrics', {
    get: async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  });
  return r;
}
