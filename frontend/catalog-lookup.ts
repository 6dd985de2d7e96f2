/** Reading catalog items a caller may see: admin-published (tenant null) or their own tenant's. */
import type { BusStore } from '../schema/bus-store.js';
import { isId } from '../schema/ids.js';
import type { CatalogItem, CatalogKind } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';

export function visibleTo(item: CatalogItem, who: Principal): boolean {
  return item.tenant === null || item.tenant === who.tenant;
}

/** The item, or null when it does not exist, is not visible, or the id is malformed. */
export async function findVisible(store: BusStore, kind: CatalogKind, id: string, who: Principal): Promise<CatalogItem | null> {
  if (!isId(id)) return null;
  const item = await store.catalog.get(kind, id);
  return item && visibleTo(item, who) ? item : null;
}
