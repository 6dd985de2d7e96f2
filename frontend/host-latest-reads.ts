/**
 * One request's reads of host_latest: each distinct host read once (a point read), however many of
 * the request's machines run there; never a scan. Made per request, so nothing is kept across them.
 */
import type { BusStore } from '../schema/bus-store.js';
import type { HostSample } from '../schema/types.js';

export class HostLatestReads {
  private readonly reads = new Map<string, Promise<HostSample | null>>();

  constructor(private readonly store: BusStore) {}

  of(hostId: string): Promise<HostSample | null> {
    let p = this.reads.get(hostId);
    if (!p) {
      p = this.store.monitoring.latest(hostId);
      this.reads.set(hostId, p);
    }
    return p;
  }
}
