/**
 * Which catalog items MachineTemplates name (by id): such an item's DELETE is refused (409), so its
 * representation does not advertise `delete` (a client never follows an operation into a refusal).
 */
import type { BusStore } from '../schema/bus-store.js';
import type { CatalogKind } from '../schema/types.js';

const FIELD: Partial<Record<CatalogKind, 'machineConfig' | 'machineImage' | 'credential'>> = {
  machineConfig: 'machineConfig', machineImage: 'machineImage', credential: 'credential',
};

/** The ids of `kind` items some MachineTemplate names (empty for kinds no template names). */
export async function namedByTemplates(store: BusStore, kind: CatalogKind): Promise<Set<string>> {
  const field = FIELD[kind];
  if (!field) return new Set();
  const templates = await store.catalog.list('machineTemplate');
  return new Set(templates.map((t) => t.body[field]).filter((v): v is string => typeof v === 'string'));
}
