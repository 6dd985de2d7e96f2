/** Machine configurations, images, templates and credentials: small, admin- or user-written documents. */
import { ConflictError, ValidationError } from '../../errors/registry.js';
import { checkId, newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import { CATALOG_KINDS, type CatalogItem, type CatalogKind } from '../types.js';

function checkKind(kind: string): CatalogKind {
  if (!(CATALOG_KINDS as readonly string[]).includes(kind)) throw new ValidationError(`unknown catalog kind '${kind}'`);
  return kind as CatalogKind;
}

function rowToItem(r: Row): CatalogItem {
  return {
    kind: r.kind as CatalogKind, id: r.id as string, name: r.name as string, tenant: (r.tenant as string) ?? null,
    body: fromJson<Record<string, unknown>>(r.body, 'catalog body', {}), created: r.created as number, updated: r.updated as number,
  };
}

export class CatalogStore {
  constructor(private readonly d: TableDriver) {}

  async create(kind: CatalogKind, name: string, tenant: string | null, body: Record<string, unknown>, now = Date.now()): Promise<CatalogItem> {
    checkKind(kind);
    if (typeof name !== 'string' || name.length > 255) throw new ValidationError('name must be a string of at most 255 characters');
    const item: CatalogItem = { kind, id: newId(now), name, tenant, body, created: now, updated: now };
    const { applied } = await this.d.cas('catalog', { kind, id: item.id, name, tenant, body: toJson(body), created: now, updated: now }, { ifNotExists: true });
    if (!applied) throw new ConflictError('catalog id collision');
    return item;
  }

  async get(kind: CatalogKind, id: string): Promise<CatalogItem | null> {
    const r = await this.d.get('catalog', { kind: checkKind(kind), id: checkId(id) });
    return r && r.body !== null ? rowToItem(r) : null;
  }

  async list(kind: CatalogKind): Promise<CatalogItem[]> {
    const rows = await collectPages((pageState) => this.d.select('catalog', { kind: checkKind(kind) }, { limit: 1000, pageState }));
    return rows.filter((r) => r.body !== null).map(rowToItem);
  }

  async remove(kind: CatalogKind, id: string): Promise<void> {
    await this.d.remove('catalog', { kind: checkKind(kind), id: checkId(id) });
  }
}
