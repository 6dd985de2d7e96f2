/**
 * Machine configurations, images, templates and credentials: small, admin- or user-written documents.
 * A captured image's outcome (docs/capture.md) is written by an agent into a row of its own in the
 * same table, partition 'machineImageStatus' with the image's id: the frontend alone writes the
 * image's row, the agent alone its status row (one writer each, like a machine's spec and status).
 */
import { ConflictError, ValidationError } from '../../errors/registry.js';
import { checkId, newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import { CATALOG_KINDS, type CatalogItem, type CatalogKind, type ImageStatus } from '../types.js';

/** The partition of the agents' capture outcomes; not a kind clients see. */
export const IMAGE_STATUS_KIND = 'machineImageStatus';

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
    if (!r || r.body === null) return null;
    const item = rowToItem(r);
    if (kind === 'machineImage') item.status = await this.imageStatus(id);
    return item;
  }

  async list(kind: CatalogKind): Promise<CatalogItem[]> {
    const rows = await collectPages((pageState) => this.d.select('catalog', { kind: checkKind(kind) }, { limit: 1000, pageState }));
    const items = rows.filter((r) => r.body !== null).map(rowToItem);
    if (kind === 'machineImage') {
      const statuses = await collectPages((pageState) => this.d.select('catalog', { kind: IMAGE_STATUS_KIND }, { limit: 1000, pageState }));
      const byId = new Map(statuses.filter((r) => r.body !== null).map((r) => [r.id as string, fromJson<ImageStatus | null>(r.body, 'image status', null)]));
      for (const i of items) i.status = byId.get(i.id) ?? null;
    }
    return items;
  }

  async remove(kind: CatalogKind, id: string): Promise<void> {
    await this.d.remove('catalog', { kind: checkKind(kind), id: checkId(id) });
    if (kind === 'machineImage') await this.d.remove('catalog', { kind: IMAGE_STATUS_KIND, id });
  }

  /** A captured image's outcome, as its agent wrote it (null: none yet). */
  async imageStatus(id: string): Promise<ImageStatus | null> {
    const r = await this.d.get('catalog', { kind: IMAGE_STATUS_KIND, id: checkId(id) });
    return r && r.body !== null ? fromJson<ImageStatus | null>(r.body, 'image status', null) : null;
  }

  /**
   * The agent's write: a capture's outcome. False (nothing written) when the image's row is gone:
   * it was deleted while the copy ran, and the caller throws the copy away.
   */
  async setImageStatus(id: string, tenant: string | null, status: ImageStatus, now = Date.now()): Promise<boolean> {
    checkId(id);
    if (!(await this.d.get('catalog', { kind: 'machineImage', id }))) return false;
    await this.d.put('catalog', { kind: IMAGE_STATUS_KIND, id, name: '', tenant, body: toJson(status), created: now, updated: now });
    // Deleted in the meantime: take the status back out, so no status row outlives its image.
    if (!(await this.d.get('catalog', { kind: 'machineImage', id }))) {
      await this.d.remove('catalog', { kind: IMAGE_STATUS_KIND, id });
      return false;
    }
    return true;
  }
}
