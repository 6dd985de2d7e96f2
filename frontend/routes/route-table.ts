/**
 * Declaring a route: marks the template for metrics, mounts the handlers per method behind the role
 * the route table (route-roles.ts) declares for it (and POST and PUT behind the media-type rule of
 * request-body.ts), and answers any other method with 405 and an Allow header.
 */
import type { RequestHandler, Router } from 'express';
import { MethodNotAllowedError } from '../../errors/registry.js';
import { principalOf, requireAdmin } from '../auth/authenticator.js';
import { requireCimiMediaType } from '../cimi/request-body.js';
import { markRoute } from '../request-context.js';
import { roleOf, type Role } from './route-roles.js';

export type Methods = Partial<Record<'get' | 'post' | 'put' | 'delete', RequestHandler>>;

/** Enforces a role before the handler. 'public' and 'metrics' (routes/ops.ts decides) pass through. */
function enforce(role: Role): RequestHandler {
  return (_req, res, next) => {
    try {
      if (role === 'user') principalOf(res);
      else if (role === 'admin') requireAdmin(res);
      next();
    } catch (e) {
      next(e);
    }
  };
}

export function defineRoute(router: Router, mountedAt: string, path: string, methods: Methods): void {
  const template = mountedAt + path;
  const route = router.route(path);
  route.all(markRoute(template));
  const allow: string[] = [];
  const mediaType = requireCimiMediaType();
  for (const [m, h] of Object.entries(methods) as [keyof Methods, RequestHandler][]) {
    const guard = enforce(roleOf(template, m));
    if (m === 'post' || m === 'put') route[m](guard, mediaType, h);
    else route[m](guard, h);
    allow.push(m.toUpperCase());
    if (m === 'get') allow.push('HEAD');
  }
  route.all((_req, res, next) => {
    res.setHeader('Allow', allow.join(', '));
    next(new MethodNotAllowedError(`method not allowed here; allowed: ${allow.join(', ')}`));
  });
}
