/**
 * Admitted-request counts per subject, frontend and one-second slot (migration 0009), shared by
 * every frontend so a rate limit holds across them (frontend/rate-limit.ts decides).
 */
import type { TableDriver } from '../table-driver.js';

const SLOT_MS = 1000;
const MINUTE_SLOTS = 60;

export interface SlotCount { slot: number; frontend: string; count: number }

export class RateUsageStore {
  constructor(private readonly d: TableDriver) {}

  /** Overwrites this frontend's counts for the given slots of one subject (one batch). */
  async write(subject: string, frontend: string, counts: { slot: number; count: number }[]): Promise<void> {
    if (counts.length === 0) return;
    await this.d.putAll(counts.map((c) => ({ table: 'rate_usage', row: { subject, minute: Math.floor(c.slot / MINUTE_SLOTS), slot: c.slot, frontend, count: c.count } })));
  }

  /** Every frontend's counts for the subject in slots [fromSlot, toSlot] (a window of at most 60 s). */
  async read(subject: string, fromSlot: number, toSlot: number): Promise<SlotCount[]> {
    const out: SlotCount[] = [];
    for (let minute = Math.floor(fromSlot / MINUTE_SLOTS); minute <= Math.floor(toSlot / MINUTE_SLOTS); minute++) {
      let pageState: string | null = null;
      do {
        const page = await this.d.select('rate_usage', { subject, minute }, { limit: 1000, pageState, range: { gte: fromSlot, lt: toSlot + 1 } });
        for (const r of page.rows) out.push({ slot: r.slot as number, frontend: r.frontend as string, count: r.count as number });
        pageState = page.pageState;
      } while (pageState);
    }
    return out;
  }
}

export const RATE_SLOT_MS = SLOT_MS;
