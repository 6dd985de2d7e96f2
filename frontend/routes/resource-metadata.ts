/**
 * DSP0263 ResourceMetadata (frontend/resource-metadata.ts), linked from the CloudEntryPoint:
 *   GET /resourceMetadata        ResourceMetadataCollection, one member per type Skybus serves
 *                                ($filter $first $last $orderby $select)
 *   GET /resourceMetadata/:id    one type's metadata (its id ends in the type name, e.g. Machine)
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { principalOf } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { subCollectionBody } from '../cimi/sub-collection.js';
import { COLLECTIONS, collectionUrl } from '../cimi/uris.js';
import { resourceMetadataUrl, resourceMetadataViews } from '../resource-metadata.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function resourceMetadataRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { config } = deps;
  const r = Router();
  const c = COLLECTIONS.resourceMetadata;
  defineRoute(r, mountedAt, '/resourceMetadata', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      sendCimi(req, res, 200, await subCollectionBody(req, config, { type: c.collection, id: collectionUrl(base, 'resourceMetadata'), member: c.members, members: resourceMetadataViews(base, who) }));
    },
  });
  defineRoute(r, mountedAt, '/resourceMetadata/:id', {
    get: (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const want = resourceMetadataUrl(base, req.params.id as string);
      const hit = resourceMetadataViews(base, who).find((m) => m.id === want);
      if (!hit) throw new NotFoundError(`no ResourceMetadata for ${(req.params.id as string).slice(0, 64)}`);
      sendCimi(req, res, 200, hit);
    },
  });
  return r;
}
