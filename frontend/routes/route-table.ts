/**
 * Declaring a route: marks the template for metrics, mounts the handlers per method (POST and PUT
 * behind the media-type rule of request-body.ts), and answers any other method with 405 and an
 * Allow header.
 */
import type { RequestHandler, Router } from 'express';
import { MethodNotAllowedError } from '../../errors/registry.js';
import { requireCimiMediaType } from '../cimi/request-body.js';
import { markRoute } from '../request-context.js';

export type Methods = Partial<Record<'get' | 'post' | 'put' | 'delete', RequestHandler>>;

export function defineRoute(router: Router, mountedAt: string, path: string, methods: Methods): void {
  const route = router.route(path);
  route.all(markRoute(mountedAt + path));
  const allow: string[] = [];
  const mediaType = requireCimiMediaType();
  for (const [m, h] of Object.entries(methods) as [keyof Methods, RequestHandler][]) {
    if (m === 'post' || m === 'put') route[m](mediaType, h);
    else route[m](h);
    allow.push(m.toUpperCase());
    if (m === 'get') allow.push('HEAD');
  }
  route.all((_req, res, next) => {
    res.setHeader('Allow', allow.join(', '));
    next(new MethodNotAllowedError(`method not allowed here; allowed: ${allow.join(', ')}`));
  });
}
