/**
 * /api/volumeConfigs and /api/volumeTemplates (docs/volumes.md): the admin-published volume catalog
 * (sizes and formats, and templates naming one), read by every authenticated caller, like the
 * machine catalog (routes/catalog.ts). GET collection and member for everyone; POST (201, Location)
 * and DELETE (200) for admins only. A configuration a template names cannot be deleted (409).
 * Collections as CIMI names them: VolumeConfigurationCollection holds `volumeConfigurations`,
 * VolumeTemplateCollection `volumeTemplates`.
 */
import { Router } from 'express';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/registry.js';
import { isAdmin, principalOf, requireAdmin } from '../auth/authenticator.js';
import { findVisible, visibleTo } from '../catalog-lookup.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import { parseVolumeConfigBody, parseVolumeTemplateBody, volumeCatalogView } from '../volume-bodies.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const KINDS = {
  volumeConfig: { coll: 'volumeConfigs', type: 'VolumeConfiguration', member: 'volumeConfigurations' },
  volumeTemplate: { coll: 'volumeTemplates', type: 'VolumeTemplate', member: 'volumeTemplates' },
} as const;

export function volumeCatalogRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  for (const kind of ['volumeConfig', 'volumeTemplate'] as const) {
    const { coll, type, member } = KINDS[kind];
    defineRoute(r, mountedAt, `/${coll}`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const base = baseUrl(req, config);
        const q = parseCollectionQuery(req, config);
        const items = (await store.catalog.list(kind)).filter((i) => visibleTo(i, who));
        async function* pages() { yield items; }
        const result = await runCollectionQuery(pages(), q, (i) => volumeCatalogView(i, base, who));
        const id = collectionUrl(base, coll);
        sendCimi(req, res, 200, collectionBody({ type: `${type}Collection`, id, member, result, q, addHref: isAdmin(who) ? id : null, next: nextWindowQuery(req, q, result.count) }));
      },
      post: async (req, res) => {
        const who = requireAdmin(res);
        const base = baseUrl(req, config);
        const body = readCimiBody(req, type);
        const { name, doc } = kind === 'volumeConfig' ? parseVolumeConfigBody(body) : parseVolumeTemplateBody(body);
        if (kind === 'volumeTemplate') {
          const cfgId = (doc as { volumeConfig: string }).volumeConfig;
          if (!(await findVisible(store, 'volumeConfig', cfgId, who))) throw new ValidationError('VolumeTemplate.volumeConfig: no such VolumeConfiguration', { field: 'VolumeTemplate.volumeConfig' });
        }
        const item = await store.catalog.create(kind, name, null, doc as unknown as Record<string, unknown>);
        res.setHeader('Location', memberUrl(base, coll, item.id));
        sendCimi(req, res, 201, volumeCatalogView(item, base, who));
      },
    });
    defineRoute(r, mountedAt, `/${coll}/:id`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const item = await findVisible(store, kind, req.params.id as string, who);
        if (!item) throw new NotFoundError(`no ${type} ${req.params.id as string}`);
        sendCimi(req, res, 200, volumeCatalogView(item, baseUrl(req, config), who));
      },
      delete: async (req, res) => {
        const who = requireAdmin(res);
        const item = await findVisible(store, kind, req.params.id as string, who);
        if (!item) throw new NotFoundError(`no ${type} ${req.params.id as string}`);
        if (kind === 'volumeConfig') {
          const users = (await store.catalog.list('volumeTemplate')).filter((t) => t.body.volumeConfig === item.id);
          if (users.length > 0) {
            const names = users.slice(0, 10).map((t) => `'${t.name}' (${memberUrl(baseUrl(req, config), 'volumeTemplates', t.id)})`).join(', ');
            throw new ConflictError(`VolumeConfiguration ${item.id} is used by ${users.length} VolumeTemplate${users.length === 1 ? '' : 's'}: ${names}; delete or change them first`, { templates: users.map((t) => t.id) });
          }
        }
        await store.catalog.remove(kind, item.id);
        res.status(200).end();
      },
    });
  }
  return r;
}
