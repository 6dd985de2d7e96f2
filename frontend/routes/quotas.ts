/**
 * Quotas, a Skybus extension resource (docs/identity.md, "Quotas"):
 *   GET /quota              the caller's tenant: limits and use
 *   GET /quotas             admins: every tenant with a quota row
 *   GET /quotas/:tenant     admins: one tenant (unlimited and unused when it has no row)
 *   PUT /quotas/:tenant     admins: set limits {machines, cpu, memoryMiB} (null / "unlimited" clears one) -> 200
 */
import { Router } from 'express';
import { ValidationError } from '../../errors/registry.js';
import { checkTenantName } from '../../schema/store/accounts.js';
import { principalOf, requireAdmin } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { API_PREFIX, SKYBUS_NS } from '../cimi/uris.js';
import { parseQuotaBody, quotaView } from '../quota-view.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function quotaRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  const tenantUrl = (base: string, t: string) => `${base}${API_PREFIX}/quotas/${encodeURIComponent(t)}`;

  defineRoute(r, mountedAt, '/quota', {
    get: async (req, res) => {
      const who = principalOf(res);
      const q = await store.quotas.get(who.tenant);
      sendCimi(req, res, 200, quotaView(q, `${baseUrl(req, config)}${API_PREFIX}/quota`));
    },
  });

  defineRoute(r, mountedAt, '/quotas', {
    get: async (req, res) => {
      requireAdmin(res);
      const base = baseUrl(req, config);
      const quotas = (await store.quotas.list()).map((q) => quotaView(q, tenantUrl(base, q.tenant)));
      sendCimi(req, res, 200, { resourceURI: `${SKYBUS_NS}/QuotaCollection`, id: `${base}${API_PREFIX}/quotas`, count: quotas.length, quotas });
    },
  });

  defineRoute(r, mountedAt, '/quotas/:tenant', {
    get: async (req, res) => {
      requireAdmin(res);
      const tenant = checkTenantName(req.params.tenant);
      const q = await store.quotas.get(tenant);
      sendCimi(req, res, 200, quotaView(q, tenantUrl(baseUrl(req, config), tenant)));
    },
    put: async (req, res) => {
      requireAdmin(res);
      const tenant = checkTenantName(req.params.tenant);
      const base = baseUrl(req, config);
      const body = readCimiBody(req, 'Quota');
      const limits = parseQuotaBody(body, /xml/i.test(req.get('content-type') ?? ''));
      if (body.tenant !== undefined && body.tenant !== tenant) throw new ValidationError('Quota.tenant does not match the URL', { field: 'tenant' });
      if (body.id !== undefined && body.id !== tenantUrl(base, tenant)) throw new ValidationError('Quota.id does not match the URL', { field: 'id' });
      const q = await store.quotas.setLimits(tenant, limits);
      sendCimi(req, res, 200, quotaView(q, tenantUrl(base, tenant)));
    },
  });
  return r;
}
