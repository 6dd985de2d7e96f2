/**
 * /api/volumes: the tenant's volumes (docs/volumes.md).
 *   GET    /volumes       VolumeCollection, members `volumes` ($filter $first $last $orderby $select)
 *   POST   /volumes       VolumeCreate {volumeTemplate: {href} | {volumeConfig: {href} | {capacity, format}}}
 *                         -> 202, Location, CIMI-Job-URI, Volume body (403 over the volume quota)
 *   GET    /volumes/:id   Volume (404 for unknown, malformed or another tenant's)
 *   DELETE /volumes/:id   -> 202, CIMI-Job-URI, Job body; 409 while attached to a machine
 */
import { Router } from 'express';
import { principalOf } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl } from '../cimi/uris.js';
import { jobView } from '../job-view.js';
import { baseUrl } from '../request-context.js';
import { createVolume, deleteVolume, loadVolume, resolveVolumeCreate } from '../volume-mutations.js';
import { volumeView } from '../volume-view.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const STORE_PAGE = 200;

export function volumeRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/volumes', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.volumes.listByTenant(who.tenant, { limit: STORE_PAGE, pageState }));
      const result = await runCollectionQuery(pages, q, (v) => volumeView(v, base, who));
      const id = collectionUrl(base, 'volumes');
      sendCimi(req, res, 200, collectionBody({ type: 'VolumeCollection', id, member: 'volumes', result, q, addHref: id, next: nextWindowQuery(req, q, result.count) }));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const resolved = await resolveVolumeCreate(store, who, readCimiBody(req, 'VolumeCreate'), config.machineLimits);
      const { volume, job } = await createVolume(store, who, resolved);
      res.setHeader('Location', memberUrl(base, 'volumes', volume.id));
      res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
      sendCimi(req, res, 202, volumeView(volume, base, who));
    },
  });
  defineRoute(r, mountedAt, '/volumes/:id', {
    get: async (req, res) => {
      const who = principalOf(res);
      const v = await loadVolume(store, req.params.id as string, who);
      sendCimi(req, res, 200, volumeView(v, baseUrl(req, config), who));
    },
    delete: async (req, res) => {
      const who = principalOf(res);
      const v = await loadVolume(store, req.params.id as string, who);
      const job = await deleteVolume(store, who, v);
      const body = jobView(job, baseUrl(req, config));
      res.setHeader('CIMI-Job-URI', body.id as string);
      sendCimi(req, res, 202, body);
    },
  });
  return r;
}
