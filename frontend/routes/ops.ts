/**
 * Operational endpoints: /healthz (can the bus be read? unauthenticated, says nothing else) and
 * /metrics (Prometheus). /metrics shows fleet-wide figures (domains per host, process versions, the
 * fleet gauges of fleet-gauges.ts: hosts by health and state, machines by sampled state), so
 * by default it needs an admin's credentials, as the API does (Prometheus sends them with
 * `basic_auth` or `authorization` in its scrape config); metricsAccess 'public' opens it, for a
 * frontend that listens on a private address only.
 */
import { Router, type RequestHandler } from 'express';
import type { Authenticator } from '../auth/authenticator.js';
import { requireAdmin } from '../auth/authenticator.js';
import type { SkybusMetrics } from '../../observability/metrics.js';
import { requestLog } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const PROBE_ID = '00000000-0000-7000-8000-000000000000';

export function opsRoutes(deps: RouteDeps, metrics: SkybusMetrics, auth: Authenticator): Router {
  const r = Router();
  const authenticate = auth.middleware();
  const adminOnly: RequestHandler = (req, res, next) => {
    if (deps.config.metricsAccess === 'public') { next(); return; }
    authenticate(req, res, (err?: unknown) => {
      if (err) { next(err); return; }
      try { requireAdmin(res); next(); } catch (e) { next(e); }
    });
  };
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
  r.use('/metrics', adminOnly);
  defineRoute(r, '', '/metrics', {
    get: async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  });
  return r;
}
