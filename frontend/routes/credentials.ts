/**
 * /api/credentials: a tenant's own Credentials (SSH public keys, docs/guest-data.md).
 *   GET    /credentials       the caller's tenant's credentials ($filter $first $last $orderby $select)
 *   POST   /credentials       CredentialCreate {name, description?, properties?, credentialTemplate: {publicKey}}
 *                             → 201 + Location
 *   GET    /credentials/:id   one (404 for unknown, malformed or another tenant's)
 *                             (409 beyond MAX_CREDENTIALS_PER_TENANT)
 *   DELETE /credentials/:id   → 200; 409 while a MachineTemplate names it. Machines already created
 *                             with it keep the key (it was copied into their user data).
 */
import { Router } from 'express';
import { ConflictError, NotFoundError } from '../../errors/registry.js';
import { isId } from '../../schema/ids.js';
import type { CatalogItem } from '../../schema/types.js';
import { principalOf, type Principal } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl } from '../cimi/uris.js';
import { credentialView, parseCredentialCreate } from '../credential-bodies.js';
import { namedByTemplates } from '../template-references.js';
import { baseUrl } from '../request-context.js';
import type { BusStore } from '../../schema/bus-store.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export const MAX_CREDENTIALS_PER_TENANT = 100;

/** The caller's tenant's credential, or null (missing, malformed id, or another tenant's). */
export async function findOwnCredential(store: BusStore, id: string, who: Principal): Promise<CatalogItem | null> {
  if (!isId(id)) return null;
  const item = await store.catalog.get('credential', id);
  return item && item.tenant === who.tenant ? item : null;
}

export function credentialRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/credentials', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const items = (await store.catalog.list('credential')).filter((i) => i.tenant === who.tenant);
      async function* pages() { yield items; }
      const named = await namedByTemplates(store, 'credential');
      const result = await runCollectionQuery(pages(), q, (i) => credentialView(i, base, who, named.has(i.id)));
      const id = collectionUrl(base, 'credentials');
      sendCimi(req, res, 200, collectionBody({ type: 'CredentialCollection', id, member: 'credentials', result, q, addHref: id, next: nextWindowQuery(req, q, result.count) }));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const { name, doc } = parseCredentialCreate(readCimiBody(req, 'CredentialCreate'));
      const own = (await store.catalog.list('credential')).filter((i) => i.tenant === who.tenant).length;
      // Bounds the catalog's credential partition per tenant (checked, not locked: racing creates may pass it by a few).
      if (own >= MAX_CREDENTIALS_PER_TENANT) throw new ConflictError(`this tenant has ${own} credentials, the most it may have is ${MAX_CREDENTIALS_PER_TENANT}; delete some first`);
      const item = await store.catalog.create('credential', name, who.tenant, doc as unknown as Record<string, unknown>);
      res.setHeader('Location', memberUrl(base, 'credentials', item.id));
      sendCimi(req, res, 201, credentialView(item, base, who));
    },
  });
  defineRoute(r, mountedAt, '/credentials/:id', {
    get: async (req, res) => {
      const who = principalOf(res);
      const item = await findOwnCredential(store, req.params.id as string, who);
      if (!item) throw new NotFoundError(`no Credential ${req.params.id as string}`);
      sendCimi(req, res, 200, credentialView(item, baseUrl(req, config), who, (await namedByTemplates(store, 'credential')).has(item.id)));
    },
    delete: async (req, res) => {
      const who = principalOf(res);
      const item = await findOwnCredential(store, req.params.id as string, who);
      if (!item) throw new NotFoundError(`no Credential ${req.params.id as string}`);
      // A template names its credential by id: deleting it would break the template.
      const users = (await store.catalog.list('machineTemplate')).filter((t) => t.body.credential === item.id);
      if (users.length > 0) {
        const names = users.slice(0, 10).map((t) => `'${t.name}' (${memberUrl(baseUrl(req, config), 'machineTemplates', t.id)})`).join(', ');
        throw new ConflictError(`Credential ${item.id} is used by ${users.length} MachineTemplate${users.length === 1 ? '' : 's'}: ${names}${users.length > 10 ? ', ...' : ''}; delete or change them first`, { templates: users.map((t) => t.id) });
      }
      await store.catalog.remove('credential', item.id);
      res.status(200).end();
    },
  });
  return r;
}
