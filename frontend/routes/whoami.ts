/**
 * GET /whoami (Skybus extension): who the credentials belong to, their tenant and roles. The
 * dashboard's login checks the credentials with it and shows admin pages to admins only.
 */
import { Router } from 'express';
import { principalOf } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { API_PREFIX, skybusUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function whoamiRoutes(deps: RouteDeps, mountedAt: string): Router {
  const r = Router();
  defineRoute(r, mountedAt, '/whoami', {
    get: (req, res) => {
      const who = principalOf(res);
      sendCimi(req, res, 200, { resourceURI: skybusUri('Principal'), id: `${baseUrl(req, deps.config)}${API_PREFIX}/whoami`, name: who.name, tenant: who.tenant, roles: [...who.roles] });
    },
  });
  return r;
}
