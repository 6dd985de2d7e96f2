/**
 * The frontend's view of host health (schema/host-health.ts), per host, read on demand and kept a
 * couple of seconds: three point reads (host row, lease, heartbeat) per host a machine view names,
 * shared by concurrent requests. Stateless across frontends: each derives the same answer from the bus.
 */
import type { BusStore } from '../schema/bus-store.js';
import { hostCondition, type HostCondition, type HostLivenessPolicy } from '../schema/host-health.js';

const KEEP_MS = 2_000;

export class HostConditions {
  private readonly cache = new Map<string, { at: number; value: Promise<HostCondition | null> }>();

  constructor(private readonly store: BusStore, readonly policy: HostLivenessPolicy, private readonly now: () => number = Date.now) {}

  /** The host's condition now (null: no such host registered). */
  of(hostId: string): Promise<HostCondition | null> {
    const t = this.now();
    const hit = this.cache.get(hostId);
    if (hit && t - hit.at < KEEP_MS) return hit.value;
    const value = this.read(hostId, t);
    this.cache.set(hostId, { at: t, value });
    value.catch(() => this.cache.delete(hostId));
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    return value;
  }

  private async read(hostId: string, t: number): Promise<HostCondition | null> {
    const [host, lease, hb] = await Promise.all([this.store.hosts.get(hostId), this.store.hosts.leaseOf(hostId), this.store.hosts.heartbeatOf(hostId)]);
    if (!host) return null;
    return hostCondition(host, lease, hb, t, this.policy);
  }
}
