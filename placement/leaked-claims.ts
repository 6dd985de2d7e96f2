/**
 * Capacity held for machines that are gone or bound elsewhere (a placer that died between its claim
 * and the binding) goes back. Claims of unbound machines are left alone: a binding may be in flight.
 */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { Host } from '../schema/types.js';

/** host_id given to a machine deleted before it was placed, so no placer places it afterwards. */
export const DELETED_BEFORE_PLACEMENT = '(deleted)';

/** bound: each scanned machine's host (null: unbound); a machine not in it is read. */
export async function releaseLeakedClaims(store: BusStore, hosts: Iterable<Host>, bound: Map<string, string | null>, log: Logger): Promise<void> {
  for (const h of hosts) {
    for (const [mid, a] of Object.entries(h.allocations)) {
      let hostId = bound.get(mid);
      if (hostId === undefined) {
        const m = await store.machines.get(mid);
        if (m) continue; // created after the scan: nothing to say yet
        hostId = DELETED_BEFORE_PLACEMENT;
      }
      if (hostId !== null && hostId !== h.id) {
        if (await store.hosts.release(h.id, mid, a.claimId)) log.warn({ hostId: h.id, machineId: mid }, 'released a leaked claim');
      }
    }
  }
}
