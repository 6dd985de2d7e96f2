/**
 * A machine's volumes sub-collection (CIMI MachineVolumeCollection, docs/volumes.md):
 *   GET    /machines/:id/volumes          members `machineVolumes` ($filter $first $last $orderby $select)
 *   POST   /machines/:id/volumes          MachineVolume {volume: {href}, initialLocation?: "vdc"} -> attach:
 *                                         202, Location, CIMI-Job-URI, MachineVolume body; 409 when the
 *                                         volume is elsewhere (attached, another host) or the machine not placed
 *   GET    /machines/:id/volumes/:mvid    one MachineVolume
 *   DELETE /machines/:id/volumes/:mvid    detach (machine STOPPED) -> 202, CIMI-Job-URI, Job body
 * Another tenant's machine is 404, as on every machine route.
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { principalOf } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { memberUrl } from '../cimi/uris.js';
import { jobView } from '../job-view.js';
import { loadMachine } from '../machine-mutations.js';
import { baseUrl } from '../request-context.js';
import { parseMachineVolume } from '../volume-bodies.js';
import { attachVolume, detachVolume } from '../volume-mutations.js';
import { machineVolumeUrl, machineVolumeView } from '../volume-view.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function machineVolumeRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/machines/:id/volumes', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const m = await loadMachine(store, req.params.id as string, who);
      const q = parseCollectionQuery(req, config);
      const items = await store.volumes.machineVolumes(m.id);
      async function* pages() { yield items; }
      const result = await runCollectionQuery(pages(), q, (x) => machineVolumeView(x.ref, x.volume, base));
      const id = `${memberUrl(base, 'machines', m.id)}/volumes`;
      sendCimi(req, res, 200, collectionBody({ type: 'MachineVolumeCollection', id, member: 'machineVolumes', result, q, addHref: id, next: nextWindowQuery(req, q, result.count) }));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const m = await loadMachine(store, req.params.id as string, who);
      const { volumeId, device } = parseMachineVolume(readCimiBody(req, 'MachineVolume'));
      const { ref, volume, job } = await attachVolume(store, who, m, volumeId, device);
      res.setHeader('Location', machineVolumeUrl(base, m.id, ref.id));
      res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
      sendCimi(req, res, 202, machineVolumeView(ref, volume, base));
    },
  });
  defineRoute(r, mountedAt, '/machines/:id/volumes/:mvid', {
    get: async (req, res) => {
      const who = principalOf(res);
      const m = await loadMachine(store, req.params.id as string, who);
      const found = (await store.volumes.machineVolumes(m.id)).find((x) => x.ref.id === req.params.mvid);
      if (!found) throw new NotFoundError(`no MachineVolume ${req.params.mvid as string} on machine ${m.id}`);
      sendCimi(req, res, 200, machineVolumeView(found.ref, found.volume, baseUrl(req, config)));
    },
    delete: async (req, res) => {
      const who = principalOf(res);
      const m = await loadMachine(store, req.params.id as string, who);
      const job = await detachVolume(store, who, m, req.params.mvid as string);
      const body = jobView(job, baseUrl(req, config));
      res.setHeader('CIMI-Job-URI', body.id as string);
      sendCimi(req, res, 202, body);
    },
  });
  return r;
}
