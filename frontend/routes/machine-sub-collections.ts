/**
 * A Machine's sub-collections (frontend/machine-sub-collections.ts), for each entry of the table:
 *   GET /machines/:id/<attribute>             the collection ($filter $first $last $orderby $select)
 *   GET /machines/:id/<attribute>/:memberId   one member, at its id
 * The machine must be the caller's (else 404, like a missing one).
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { principalOf } from '../auth/authenticator.js';
import { sendCimi } from '../cimi/negotiate.js';
import { subCollectionBody } from '../cimi/sub-collection.js';
import { loadMachine } from '../machine-mutations.js';
import { MACHINE_SUB_COLLECTIONS, subCollectionUrl } from '../machine-sub-collections.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function machineSubCollectionRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  for (const s of MACHINE_SUB_COLLECTIONS.filter((x) => !x.ownRoutes)) {
    defineRoute(r, mountedAt, `/machines/:id/${s.attribute}`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const machine = await loadMachine(store, req.params.id as string, who);
        const base = baseUrl(req, config);
        const ctx = { store, machine, base, who };
        const id = subCollectionUrl(base, machine.id, s.attribute);
        sendCimi(req, res, 200, await subCollectionBody(req, config, { type: s.type, id, member: s.member, members: await s.members(ctx), addHref: s.canAdd?.(ctx) ? id : null }));
      },
    });
    defineRoute(r, mountedAt, `/machines/:id/${s.attribute}/:memberId`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const machine = await loadMachine(store, req.params.id as string, who);
        const base = baseUrl(req, config);
        const want = `${subCollectionUrl(base, machine.id, s.attribute)}/${req.params.memberId as string}`;
        const hit = (await s.members({ store, machine, base, who })).find((m) => m.id === want);
        if (!hit) throw new NotFoundError(`no ${s.memberType} ${(req.params.memberId as string).slice(0, 64)} on machine ${machine.id}`);
        sendCimi(req, res, 200, hit);
      },
    });
  }
  return r;
}
