/**
 * The Skybus frontend: the CIMI API over the bus. Stateless: every request reads and writes the store.
 *
 *   /healthz, /metrics                 unauthenticated
 *   /ui/                               the web dashboard's static files (dashboard.ts), public
 *   /api/cloudEntryPoint               public (discovery)
 *   /api/...                           authenticated (deps.auth); see routes/*.ts
 */
import express from 'express';
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import type { Authenticator } from './auth/authenticator.js';
import { responseFormat } from './cimi/negotiate.js';
import { EXTRA_MEDIA_TYPES } from './routes/route-roles.js';
import { API_PREFIX } from './cimi/uris.js';
import type { FrontendConfig } from './config.js';
import { errorMiddleware, notFoundHandler } from './error-middleware.js';
import { dashboardRoutes, fromDashboard } from './dashboard.js';
import { auditTrail } from './audit-trail.js';
import { baseUrl, requestContext } from './request-context.js';
import { RateLimiter } from './rate-limit.js';
import { clientAddress } from './auth/basic-credentials.js';
import { principalOf } from './auth/authenticator.js';
import { newId } from '../schema/ids.js';
import { auditRoutes } from './routes/audit.js';
import { hostRoutes } from './routes/hosts.js';
import { fleetRoutes } from './routes/fleet.js';
import { whoamiRoutes } from './routes/whoami.js';
import { FleetGauges } from './fleet-gauges.js';
import { hostMetricsRoutes } from './routes/host-metrics.js';
import { machineMetricsRoutes } from './routes/machine-metrics.js';
import { placementPolicyRoutes } from './routes/placement-policy.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { catalogRoutes } from './routes/catalog.js';
import { credentialRoutes } from './routes/credentials.js';
import type { RouteDeps } from './routes/deps.js';
import { HostConditions } from './host-conditions.js';
import { entryPointRoutes } from './routes/entry-point.js';
import { eventLogRoutes } from './routes/event-logs.js';
import { eventRoutes } from './routes/events.js';
import { jobRoutes } from './routes/jobs.js';
import { machineSubCollectionRoutes } from './routes/machine-sub-collections.js';
import { machineRoutes } from './routes/machines.js';
import { networkRoutes } from './routes/networks.js';
import { machineVolumeRoutes } from './routes/machine-volumes.js';
import { volumeCatalogRoutes } from './routes/volume-catalog.js';
import { volumeRoutes } from './routes/volumes.js';
import { opsRoutes } from './routes/ops.js';
import { quotaRoutes } from './routes/quotas.js';
import { usageRoutes } from './routes/usage.js';
import { resourceMetadataRoutes } from './routes/resource-metadata.js';

export interface FrontendDeps {
  store: BusStore;
  auth: Authenticator;
  log: Logger;
  metrics: SkybusMetrics;
  config: FrontendConfig;
  /** This frontend's name in the bus (rate-limit rows); a fresh id when not given. */
  instanceId?: string;
  /** The limiter to use (tests drive its clock); built from config.rateLimit when not given. */
  rateLimiter?: RateLimiter;
}

const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export function buildApp(deps: FrontendDeps): express.Express {
  const log = deps.log.child({ module: 'frontend' });
  const fleet = new FleetGauges(deps.store, deps.config.hostLiveness, deps.config.fleetGaugesMinIntervalMs);
  const rd: RouteDeps = { store: deps.store, config: deps.config, log, hostConditions: new HostConditions(deps.store, deps.config.hostLiveness), fleet };
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
  fleet.register(deps.metrics.registry);
  app.use(opsRoutes(rd, deps.metrics, deps.auth));
  app.use(dashboardRoutes());

  const api = express.Router();
  // 406 (no acceptable format) and 400 (malformed Host, from which every URL is built) before any
  // work: a handler that changed the bus must never fail afterwards while writing its answer.
  // A route may serve more media types (EXTRA_MEDIA_TYPES in routes/route-roles.ts: usage as CSV).
  api.use((req, _res, next) => {
    const extra = req.method === 'GET' ? EXTRA_MEDIA_TYPES[API_PREFIX + req.path] : undefined;
    if (!extra?.some((t) => req.accepts(t) === t)) responseFormat(req);
    baseUrl(req, deps.config);
    next();
  });
  api.use(entryPointRoutes(rd, API_PREFIX));
  api.use(deps.auth.middleware());
  const limiter = deps.rateLimiter ?? new RateLimiter(deps.store.rateUsage, deps.config.rateLimit, deps.instanceId ?? newId(), (e) => log.warn({ err: e }, 'rate-limit counts not written'));
  api.use((req, res, next) => {
    // Changes are limited per tenant and per client address across all frontends (rate-limit.ts).
    if (!MUTATING.has(req.method) || !limiter.enabled) { next(); return; }
    limiter.admit(principalOf(res).tenant, clientAddress(req)).then(() => next(), next);
  });
  api.use(express.raw({ type: () => true, limit: deps.config.bodyLimitBytes }));
  api.use(eventLogRoutes(rd, API_PREFIX)); // before /machines/:id/:action (POST only, 405 for GET)
  api.use(machineSubCollectionRoutes(rd, API_PREFIX)); // likewise
  api.use(machineVolumeRoutes(rd, API_PREFIX)); // volumes (docs/volumes.md): before /machines/:id/:action too
  api.use(machineMetricsRoutes(rd, API_PREFIX)); // likewise
  api.use(machineRoutes(rd, API_PREFIX));
  api.use(volumeRoutes(rd, API_PREFIX));
  api.use(volumeCatalogRoutes(rd, API_PREFIX));
  api.use(catalogRoutes(rd, API_PREFIX));
  api.use(credentialRoutes(rd, API_PREFIX));
  api.use(networkRoutes(rd, API_PREFIX));
  api.use(jobRoutes(rd, API_PREFIX));
  api.use(eventRoutes(rd, API_PREFIX));
  api.use(apiKeyRoutes(rd, API_PREFIX));
  api.use(quotaRoutes(rd, API_PREFIX));
  api.use(usageRoutes(rd, API_PREFIX));
  api.use(auditRoutes(rd, API_PREFIX));
  api.use(fleetRoutes(rd, API_PREFIX));
  api.use(whoamiRoutes(rd, API_PREFIX));
  api.use(hostMetricsRoutes(rd, API_PREFIX));
  api.use(hostRoutes(rd, API_PREFIX));
  api.use(placementPolicyRoutes(rd, API_PREFIX));
  api.use(resourceMetadataRoutes(rd, API_PREFIX));
  api.use(notFoundHandler());
  app.use(API_PREFIX, api);

  app.use(notFoundHandler());
  // The dashboard's 401s name the same schemes, marked so that no browser opens its own password dialog.
  app.use(errorMiddleware(log, (req) => fromDashboard(req.headers) ? deps.auth.challenges().map((c) => `Skybus-${c}`) : deps.auth.challenges()));
  return app;
}

export type { FrontendConfig } from './config.js';
export { frontendConfig, frontendConfigFromEnv } from './config.js';
export type { Authenticator, Principal } from './auth/authenticator.js';
export { localBasicAuth } from './auth/local-basic.js';
export { hashPassword, verifyPassword } from './auth/passwords.js';
