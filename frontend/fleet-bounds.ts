/**
 * The largest machine any host could ever hold, per CPU architecture, so that a create no host can
 * fit is refused at once instead of waiting forever as unschedulable. Read from the hosts table at
 * most once per `ttlMs` per frontend (a scan of the fleet; 10,000 hosts is one paged read), never
 * per request. Physical size counts (a host's CPUs and memory as its agent reports them), not
 * allocation ratios: those overcommit a host's sum of guests, not one guest beyond the host.
 */
import type { BusStore } from '../schema/bus-store.js';

export interface HostSize { cpus: number; memoryKiB: number }

export class FleetBounds {
  private cached: { at: number; byArch: Map<string, HostSize>; hosts: number } | null = null;
  private loading: Promise<void> | null = null;

  constructor(private readonly store: BusStore, private readonly ttlMs = 30_000, private readonly now: () => number = Date.now) {}

  private async refresh(): Promise<void> {
    const hosts = await this.store.hosts.list();
    const byArch = new Map<string, HostSize>();
    for (const h of hosts) {
      const cur = byArch.get(h.arch) ?? { cpus: 0, memoryKiB: 0 };
      byArch.set(h.arch, { cpus: Math.max(cur.cpus, h.cpus), memoryKiB: Math.max(cur.memoryKiB, h.memoryKiB) });
    }
    this.cached = { at: this.now(), byArch, hosts: hosts.length };
  }

  /**
   * What a machine of `arch` may be at most: null when no host is registered at all (a cloud still
   * being built: nothing to compare with), 'none' when hosts exist but none of that architecture.
   */
  async largest(arch: string): Promise<HostSize | 'none' | null> {
    if (!this.cached || this.now() - this.cached.at > this.ttlMs) {
      this.loading ??= this.refresh().finally(() => { this.loading = null; });
      await this.loading;
    }
    const c = this.cached!;
    if (c.hosts === 0) return null;
    return c.byArch.get(arch) ?? 'none';
  }
}
