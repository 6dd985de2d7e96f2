/**
 * THE route table: every route the frontend serves, per method, with the role it needs. defineRoute
 * (route-table.ts) refuses to mount a route or method that is not declared here, and enforces the
 * role before the handler runs; test/unit/frontend/route-roles.test.ts walks this table, so a new
 * route without a declaration, or one that does not enforce its role, fails the suite.
 *
 *   public   no credentials needed (discovery, health)
 *   user     any authenticated principal, acting within its own tenant
 *   admin    a principal with the admin role
 *   metrics  admin, unless the operator opened /metrics (metricsAccess 'public', routes/ops.ts)
 */
export type Role = 'public' | 'user' | 'admin' | 'metrics';
export type Method = 'get' | 'post' | 'put' | 'delete';

const catalog = { get: 'user', post: 'admin' } as const;
const catalogItem = { get: 'user', delete: 'admin' } as const;

export const ROUTE_ROLES: Readonly<Record<string, Readonly<Partial<Record<Method, Role>>>>> = {
  '/healthz': { get: 'public' },
  '/metrics': { get: 'metrics' },
  '/api/cloudEntryPoint': { get: 'public' },
  '/api/whoami': { get: 'user' },
  '/api/resourceMetadata': { get: 'user' },
  '/api/resourceMetadata/:id': { get: 'user' },
  '/api/machines': { get: 'user', post: 'user' },
  '/api/machines/:id': { get: 'user', put: 'user', delete: 'user', post: 'user' },
  '/api/machines/:id/:action': { post: 'user' },
  '/api/machines/:id/eventLog': { get: 'user' },
  // Monitoring (routes/machine-metrics.ts): the machine's tenant, and admins any machine.
  '/api/machines/:id/metrics': { get: 'user' },
  '/api/machines/:id/eventLog/events': { get: 'user' },
  '/api/machines/:id/eventLog/events/:eventId': { get: 'user' },
  // A Machine's sub-collections (frontend/machine-sub-collections.ts) and their members.
  '/api/machines/:id/disks': { get: 'user' },
  '/api/machines/:id/disks/:memberId': { get: 'user' },
  '/api/machines/:id/networkInterfaces': { get: 'user' },
  '/api/machines/:id/networkInterfaces/:memberId': { get: 'user' },
  '/api/machineConfigs': catalog,
  '/api/machineConfigs/:id': catalogItem,
  // Any user captures (POST naming their machine) and deletes their own captured images; the
  // handlers require admin for everything else (routes/catalog.ts).
  '/api/machineImages': { get: 'user', post: 'user' },
  '/api/machineImages/:id': { get: 'user', delete: 'user' },
  '/api/machineTemplates': catalog,
  '/api/machineTemplates/:id': catalogItem,
  '/api/networks': catalog,
  '/api/networks/:id': catalogItem,
  '/api/machines/:id/volumes': { get: 'user', post: 'user' },
  '/api/machines/:id/volumes/:mvid': { get: 'user', delete: 'user' },
  '/api/volumes': { get: 'user', post: 'user' },
  '/api/volumes/:id': { get: 'user', delete: 'user' },
  '/api/volumeConfigs': catalog,
  '/api/volumeConfigs/:id': catalogItem,
  '/api/volumeTemplates': catalog,
  '/api/volumeTemplates/:id': catalogItem,
  '/api/credentials': { get: 'user', post: 'user' },
  '/api/credentials/:id': { get: 'user', delete: 'user' },
  '/api/jobs': { get: 'user' },
  '/api/jobs/:id': { get: 'user' },
  '/api/jobs/:id/stop': { post: 'user' },
  '/api/events': { get: 'user' },
  '/api/apiKeys': { get: 'user', post: 'user' },
  '/api/apiKeys/:id': { get: 'user', delete: 'user' },
  // Usage reports (routes/usage.ts): a tenant's own; admins any tenant or all.
  '/api/usage': { get: 'user' },
  '/api/quota': { get: 'user' },
  '/api/quotas': { get: 'admin' },
  '/api/quotas/:tenant': { get: 'admin', put: 'admin' },
  '/api/auditEvents': { get: 'admin' },
  // The fleet at a glance (routes/fleet.ts): the figures of the fleet gauges.
  '/api/fleet': { get: 'admin' },
  '/api/hosts': { get: 'admin' },
  '/api/hosts/:id': { get: 'admin' },
  '/api/hosts/:id/enable': { post: 'admin' },
  '/api/hosts/:id/disable': { post: 'admin' },
  '/api/hosts/:id/metrics': { get: 'admin' },
  '/api/placementPolicy': { get: 'admin', put: 'admin' },
  '/api/placementPolicy/explain': { post: 'admin' },
};

/**
 * Media types a GET route serves beyond CIMI's JSON and XML (checked before any work, frontend/app.ts):
 * usage reports also come as CSV (routes/usage.ts).
 */
export const EXTRA_MEDIA_TYPES: Readonly<Record<string, readonly string[]>> = {
  '/api/usage': ['text/csv'],
};

/** The role a route's method needs; throws (at start-up, when the route is mounted) when undeclared. */
export function roleOf(template: string, method: Method): Role {
  const role = ROUTE_ROLES[template]?.[method];
  if (!role) throw new Error(`route ${method.toUpperCase()} ${template} is not declared in frontend/routes/route-roles.ts`);
  return role;
}
