/**
 * The Skybus frontend: the CIMI API over the bus. Stateless: every request reads and writes the store.
 *
 *   /healthz, /metrics                 unauthenticated
 *   /api/cloudEntryPoint               public (discovery)
 *   /api/...                           authenticated (deps.auth); see routes/*.ts
 */
import express from 'express';
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import type { Authenticator } from './auth/authenticator.js';
import { responseFormat } from './cimi/negotiate.js';
import { API_PREFIX } from './cimi/uris.js';
import type { FrontendConfig } from './config.js';
import { errorMiddleware, notFoundHandler } from './error-middleware.js';
import { auditTrail } from './audit-trail.js';
import { requestContext } from './request-context.js';
import { auditRoutes } from './routes/audit.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { catalogRoutes } from './routes/catalog.js';
import { credentialRoutes } from './routes/credentials.js';
import type { RouteDeps } from './routes/deps.js';
import { entryPointRoutes } from './routes/entry-point.js';
import { eventLogRoutes } from './routes/event-logs.js';
import { eventRoutes } from './routes/events.js';
import { jobRoutes } from './routes/jobs.js';
import { machineRoutes } from './routes/machines.js';
import { machineVolumeRoutes } from './routes/machine-volumes.js';
import { volumeCatalogRoutes } from './routes/volume-catalog.js';
import { volumeRoutes } from './routes/volumes.js';
import { opsRoutes } from './routes/ops.js';
import { quotaRoutes } from './routes/quotas.js';

export interface FrontendDeps {
  store: BusStore;
  auth: Authenticator;
  log: Logger;
  metrics: SkybusMetrics;
  config: FrontendConfig;
}

export function buildApp(deps: FrontendDeps): express.Express {
  const log = deps.log.child({ module: 'frontend' });
  const rd: RouteDeps = { store: deps.store, config: deps.config, log };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestContext(log, deps.metrics));
  app.use((_req, res, next) => {
    // Responses carry credentials-dependent data: never cached by a proxy or browser, never sniffed.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(auditTrail(deps.store, deps.config.auditTtlDays * 86_400, log.child({ module: 'audit' })));
  app.use(opsRoutes(rd, deps.metrics, deps.auth));

  const api = express.Router();
  api.use((req, _res, next) => { responseFormat(req); next(); }); // 406 before any work
  api.use(entryPointRoutes(rd, API_PREFIX));
  api.use(deps.auth.middleware());
  api.use(express.raw({ type: () => true, limit: deps.config.bodyLimitBytes }));
  api.use(eventLogRoutes(rd, API_PREFIX)); // before /machines/:id/:action (POST only, 405 for GET)
  api.use(machineVolumeRoutes(rd, API_PREFIX)); // volumes (docs/volumes.md): before /machines/:id/:action too
  api.use(machineRoutes(rd, API_PREFIX));
  api.use(volumeRoutes(rd, API_PREFIX));
  api.use(volumeCatalogRoutes(rd, API_PREFIX));
  api.use(catalogRoutes(rd, API_PREFIX));
  api.use(credentialRoutes(rd, API_PREFIX));
  api.use(jobRoutes(rd, API_PREFIX));
  api.use(eventRoutes(rd, API_PREFIX));
  api.use(apiKeyRoutes(rd, API_PREFIX));
  api.use(quotaRoutes(rd, API_PREFIX));
  api.use(auditRoutes(rd, API_PREFIX));
  api.use(notFoundHandler());
  app.use(API_PREFIX, api);

  app.use(notFoundHandler());
  app.use(errorMiddleware(log, () => deps.auth.challenges()));
  return app;
}

export type { FrontendConfig } from './config.js';
export { frontendConfig, frontendConfigFromEnv } from './config.js';
export type { Authenticator, Principal } from './auth/authenticator.js';
export { localBasicAuth } from './auth/local-basic.js';
export { hashPassword, verifyPassword } from './auth/passwords.js';
