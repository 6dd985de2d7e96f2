/**
 * /api/networks: operator-defined networks (docs/networks.md).
 *   GET    /networks       NetworkCollection (member `networks`; $filter $first $last $orderby $select)
 *   POST   /networks       NetworkCreate -> 201 + Location (admins)
 *   GET    /networks/:id   Network (404 for unknown, malformed, or not visible)
 *   DELETE /networks/:id   -> 200 (admins); 409 while a machine names it
 */
import { Router } from 'express';
import { ConflictError, NotFoundError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';
import { isId } from '../../schema/ids.js';
import type { Network } from '../../schema/types.js';
import { isAdmin, principalOf, requireAdmin, type Principal } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl } from '../cimi/uris.js';
import { networkReadableBy, networkView, networkVisibleTo, parseNetworkCreate } from '../network-bodies.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

/** The network if the caller may use it, else null (unknown, malformed id, another tenant's). */
export async function findVisibleNetwork(store: BusStore, id: string, who: Principal): Promise<Network | null> {
  if (!isId(id)) return null;
  const n = await store.networks.get(id);
  return n && networkVisibleTo(n, who) ? n : null;
}

/** The network if the caller may read it (admins: any), else null. */
async function findReadableNetwork(store: BusStore, id: string, who: Principal): Promise<Network | null> {
  if (!isId(id)) return null;
  const n = await store.networks.get(id);
  return n && networkReadableBy(n, who) ? n : null;
}

export function networkRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/networks', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      // An operator's short list (store.networks.list scans it in pages of 1000), oldest first.
      const items = (await store.networks.list()).filter((n) => networkReadableBy(n, who)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      async function* pages() { yield items; }
      const result = await runCollectionQuery(pages(), q, (n) => networkView(n, base, who));
      const id = collectionUrl(base, 'networks');
      sendCimi(req, res, 200, collectionBody({ type: 'NetworkCollection', id, member: 'networks', result, q, addHref: isAdmin(who) ? id : null, next: nextWindowQuery(req, q, result.count) }));
    },
    post: async (req, res) => {
      const who = requireAdmin(res);
      const base = baseUrl(req, config);
      const n = await store.networks.create(parseNetworkCreate(readCimiBody(req, 'NetworkCreate')));
      res.setHeader('Location', memberUrl(base, 'networks', n.id));
      sendCimi(req, res, 201, networkView(n, base, who));
    },
  });
  defineRoute(r, mountedAt, '/networks/:id', {
    get: async (req, res) => {
      const who = principalOf(res);
      const n = await findReadableNetwork(store, req.params.id as string, who);
      if (!n) throw new NotFoundError(`no Network ${req.params.id as string}`);
      sendCimi(req, res, 200, networkView(n, baseUrl(req, config), who));
    },
    delete: async (req, res) => {
      const who = requireAdmin(res);
      const n = await findReadableNetwork(store, req.params.id as string, who);
      if (!n) throw new NotFoundError(`no Network ${req.params.id as string}`);
      const users = await store.networks.remove(n.id);
      if (users.length > 0) {
        const more = users.length >= 100 ? ' (at least)' : '';
        const shown = users.slice(0, 10).map((u) => `${u.machineId} (tenant ${u.tenant})`).join(', ');
        throw new ConflictError(`Network ${n.id} is used by ${users.length}${more} machine${users.length === 1 ? '' : 's'}: ${shown}${users.length > 10 ? ', ...' : ''}; delete them first`, { machines: users.map((u) => u.machineId) });
      }
      res.status(200).end();
    },
  });
  return r;
}
