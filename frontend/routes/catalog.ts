/**
 * /api/machineConfigs, /api/machineImages, /api/machineTemplates: admin-published catalog (tenant
 * null) that every authenticated caller reads. GET collection and member for everyone; POST (201,
 * Location) and DELETE (200) for admins only (403 otherwise).
 *
 * Captured images (docs/capture.md): any user POSTs to /api/machineImages a MachineImage whose
 * imageLocation is {href} of one of their machines -> 202, Location (the new image, CREATING),
 * CIMI-Job-URI. Such an image is its tenant's only (other tenants: 404), and its tenant's users may
 * DELETE it.
 */
import { Router } from 'express';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/registry.js';
import type { CatalogKind } from '../../schema/types.js';
import { isAdmin, principalOf, requireAdmin, type Principal } from '../auth/authenticator.js';
import { optEnum, rejectUnknownFields, type Body } from '../body-fields.js';
import { CATALOG_COLLECTIONS, CATALOG_TYPES, catalogView, commonFields, mayDelete, parseConfigBody, parseImageBody, parseTemplateBody } from '../catalog-bodies.js';
import { findVisible, visibleTo } from '../catalog-lookup.js';
import { namedByTemplates } from '../template-references.js';
import { imageCondition } from '../captured-image.js';
import { captureMachine } from '../machine-capture.js';
import { loadMachine } from '../machine-mutations.js';
import type { BusStore } from '../../schema/bus-store.js';
import type { CatalogItem } from '../../schema/types.js';
import { findOwnCredential } from './credentials.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { COLLECTIONS, collectionUrl, memberUrl } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

type Parser = (body: Body) => { name: string; doc: object };

const PARSERS: Record<'machineConfig' | 'machineImage' | 'machineTemplate', Parser> = {
  machineConfig: (b) => parseConfigBody(b),
  machineImage: (b) => parseImageBody(b),
  machineTemplate: (b) => parseTemplateBody(b),
};

/**
 * The machine a MachineImage body names in imageLocation (the CIMI capture form), or null when it
 * names a file: {href} into /machines, or an http(s) URL / API path there.
 */
export function capturedMachineRef(body: Body): string | null {
  const v = body.imageLocation;
  const href = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Body).href : v;
  if (typeof href !== 'string' || href.length > 2048) return null;
  const byRef = typeof v === 'object' || /^https?:\/\//.test(href) || href.startsWith('/api/');
  const m = byRef ? /(?:^|\/)machines\/([^/?#]+)\/?$/.exec(href) : null;
  return m ? m[1]! : null;
}

async function view(store: BusStore, item: CatalogItem, base: string, who: Principal, named: ReadonlySet<string>): Promise<Record<string, unknown>> {
  return catalogView(item, base, who, item.kind === 'machineImage' ? await imageCondition(store, item) : undefined, named.has(item.id));
}

export function catalogRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  for (const kind of ['machineConfig', 'machineImage', 'machineTemplate'] as const satisfies readonly CatalogKind[]) {
    const coll = CATALOG_COLLECTIONS[kind]!;
    const type = CATALOG_TYPES[kind];
    defineRoute(r, mountedAt, `/${coll}`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const base = baseUrl(req, config);
        const q = parseCollectionQuery(req, config);
        // The catalog is small (admin-written); store.catalog.list reads it in pages of 1000.
        const items = (await store.catalog.list(kind)).filter((i) => visibleTo(i, who));
        async function* pages() { yield items; }
        const named = await namedByTemplates(store, kind);
        const result = await runCollectionQuery(pages(), q, (i) => view(store, i, base, who, named));
        const id = collectionUrl(base, coll);
        sendCimi(req, res, 200, collectionBody({ type: `${type}Collection`, id, member: COLLECTIONS[coll].members, result, q, addHref: isAdmin(who) ? id : null, next: nextWindowQuery(req, q, result.count) }));
      },
      post: async (req, res) => {
        const base = baseUrl(req, config);
        const body = readCimiBody(req, type);
        const machineId = kind === 'machineImage' ? capturedMachineRef(body) : null;
        if (machineId !== null) {
          // CIMI capture: any user, of one of their own machines.
          const who = principalOf(res);
          rejectUnknownFields(body, ['imageLocation', 'type', 'state'], 'MachineImage');
          optEnum(body, 'type', ['IMAGE'], 'MachineImage.type');
          optEnum(body, 'state', ['CREATING'], 'MachineImage.state');
          const fields = commonFields(body, 'MachineImage');
          const m = await loadMachine(store, machineId, who);
          const { image, job } = await captureMachine(store, who, m, fields);
          res.setHeader('Location', memberUrl(base, coll, image.id));
          res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
          sendCimi(req, res, 202, catalogView(image, base, who, { state: 'CREATING', error: null }));
          return;
        }
        const who = requireAdmin(res);
        const { name, doc } = PARSERS[kind](body);
        if (kind === 'machineTemplate') {
          const t = doc as { machineConfig: string; machineImage: string; credential: string | null };
          if (!(await findVisible(store, 'machineConfig', t.machineConfig, who))) throw new ValidationError('MachineTemplate.machineConfig: no such MachineConfiguration', { field: 'MachineTemplate.machineConfig' });
          if (!(await findVisible(store, 'machineImage', t.machineImage, who))) throw new ValidationError('MachineTemplate.machineImage: no such MachineImage', { field: 'MachineTemplate.machineImage' });
          if (t.credential !== null && !(await findOwnCredential(store, t.credential, who))) throw new ValidationError('MachineTemplate.credential: no such Credential', { field: 'MachineTemplate.credential' });
        }
        const item = await store.catalog.create(kind, name, null, doc as Record<string, unknown>);
        res.setHeader('Location', memberUrl(base, coll, item.id));
        sendCimi(req, res, 201, catalogView(item, base, who));
      },
    });
    defineRoute(r, mountedAt, `/${coll}/:id`, {
      get: async (req, res) => {
        const who = principalOf(res);
        const item = await findVisible(store, kind, req.params.id as string, who);
        if (!item) throw new NotFoundError(`no ${type} ${req.params.id as string}`);
        sendCimi(req, res, 200, await view(store, item, baseUrl(req, config), who, await namedByTemplates(store, kind)));
      },
      delete: async (req, res) => {
        const who = principalOf(res);
        const item = await findVisible(store, kind, req.params.id as string, who);
        if (!item) throw new NotFoundError(`no ${type} ${req.params.id as string}`);
        // A tenant deletes its own captured images; everything else stays the administrators'.
        if (!mayDelete(item, who)) requireAdmin(res);
        if (kind !== 'machineTemplate') {
          // A template names its configuration and image by id: deleting one would break it.
          const field = kind === 'machineConfig' ? 'machineConfig' : 'machineImage';
          const users = (await store.catalog.list('machineTemplate')).filter((t) => t.body[field] === item.id);
          if (users.length > 0) {
            const names = users.slice(0, 10).map((t) => `'${t.name}' (${memberUrl(baseUrl(req, config), 'machineTemplates', t.id)})`).join(', ');
            throw new ConflictError(`${type} ${item.id} is used by ${users.length} MachineTemplate${users.length === 1 ? '' : 's'}: ${names}${users.length > 10 ? ', ...' : ''}; delete or change them first`, { templates: users.map((t) => t.id) });
          }
        }
        await store.catalog.remove(kind, item.id);
        res.status(200).end();
      },
    });
  }
  return r;
}
