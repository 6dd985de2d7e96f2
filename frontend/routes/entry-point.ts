/**
 * GET /api/cloudEntryPoint: public (no credentials needed), so clients can discover every other URL.
 * Lists the collections Skybus serves, and only those (an optional CIMI collection Skybus does not
 * serve, e.g. systems, volumes, meters, is not linked and its URL is a 404; docs/cimi-conformance.md);
 * `events` is Skybus's day-keyed event collection, `apiKeys` a Skybus extension.
 */
import { Router } from 'express';
import { sendCimi } from '../cimi/negotiate.js';
import { API_PREFIX, collectionUrl, resourceUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function entryPointRoutes(deps: RouteDeps, mountedAt: string): Router {
  const r = Router();
  defineRoute(r, mountedAt, '/cloudEntryPoint', {
    get: (req, res) => {
      const base = baseUrl(req, deps.config);
      sendCimi(req, res, 200, {
        resourceURI: resourceUri('CloudEntryPoint'),
        id: `${base}${API_PREFIX}/cloudEntryPoint`,
        name: 'Skybus',
        description: 'Skybus IaaS cloud controller (CIMI 1.x subset)',
        baseURI: `${base}${API_PREFIX}/`,
        resourceMetadata: { href: collectionUrl(base, 'resourceMetadata') },
        machines: { href: collectionUrl(base, 'machines') },
        machineTemplates: { href: collectionUrl(base, 'machineTemplates') },
        machineConfigs: { href: collectionUrl(base, 'machineConfigs') },
        machineImages: { href: collectionUrl(base, 'machineImages') },
        credentials: { href: collectionUrl(base, 'credentials') },
        networks: { href: collectionUrl(base, 'networks') },
        volumes: { href: collectionUrl(base, 'volumes') },
        volumeConfigs: { href: collectionUrl(base, 'volumeConfigs') },
        volumeTemplates: { href: collectionUrl(base, 'volumeTemplates') },
        jobs: { href: collectionUrl(base, 'jobs') },
        events: { href: collectionUrl(base, 'events') },
        apiKeys: { href: collectionUrl(base, 'apiKeys') },
      });
    },
  });
  return r;
}
