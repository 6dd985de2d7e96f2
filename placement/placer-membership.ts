/**
 * Which placers are alive (the service registry's placement rows): a placer announces itself at
 * most every ANNOUNCE_EVERY_MS with a TTL and reads the others, and work is shared by that list
 * (ownership.ts). A placer always counts itself, even before its own announcement is readable.
 */
import type { BusStore } from '../schema/bus-store.js';

const ANNOUNCE_EVERY_MS = 5_000;
const SERVICE_TTL_S = 15;

export class PlacerMembership {
  /** The live placers' instance ids, this one included. */
  placers: string[] = [];
  private lastAnnounce = 0;
  private readonly started = Date.now();

  constructor(private readonly store: BusStore, private readonly instanceId: string, private readonly info: Record<string, unknown>) {}

  async refresh(now: number): Promise<void> {
    if (now - this.lastAnnounce < ANNOUNCE_EVERY_MS && this.placers.length > 0) return;
    await this.store.services.announce({ role: 'placement', instanceId: this.instanceId, address: `pid:${process.pid}`, started: this.started, lastSeen: now, info: this.info }, SERVICE_TTL_S);
    this.placers = (await this.store.services.list('placement')).map((s) => s.instanceId);
    if (!this.placers.includes(this.instanceId)) this.placers.push(this.instanceId);
    this.lastAnnounce = now;
  }

  async withdraw(): Promise<void> {
    await this.store.services.withdraw('placement', this.instanceId).catch(() => undefined);
  }
}
