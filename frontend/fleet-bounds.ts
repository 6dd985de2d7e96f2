/**
 * The sizes of the largest hosts, per CPU architecture, so that a create no single host can fit (in
 * CPUs and memory together) is refused at once instead of waiting forever as unschedulable. Read from the hosts table at
 * most once per `ttlMs` per frontend (a scan of the fleet; 10,000 hosts is one paged read), never
 * per request. Physical size counts (a host's CPUs and memory as its agent reports them), not
 * allocation ratios: those overcommit a host's sum of guests, not one guest beyond the host.
 */
import type { BusStore } from '../schema/bus-store.js';

export interface HostSize { cpus: number; memoryKiB: number }

export class FleetBounds {
  private cached: { at: number; byArch: Map<string, HostSize[]>; hosts: number } | null = null;
  private loading: Promise<void> | null = null;

  constructor(private readonly store: BusStore, private readonly ttlMs = 30_000, private readonly now: () => number = Date.now) {}

  private async refresh(): Promise<void> {
    const hosts = await this.store.hosts.list();
    const all = new Map<string, HostSize[]>();
    for (const h of hosts) {
      const list = all.get(h.arch) ?? [];
      list.push({ cpus: h.cpus, memoryKiB: h.memoryKiB });
      all.set(h.arch, list);
    }
    // Keep only the sizes no other host of the arch covers in both dimensions (the few that matter):
    // a machine fits some host iff it fits one of these.
    const byArch = new Map<string, HostSize[]>();
    for (const [arch, list] of all) {
      list.sort((a, b) => b.cpus - a.cpus || b.memoryKiB - a.memoryKiB);
      const frontier: HostSize[] = [];
      for (const s of list) if (frontier.length === 0 || s.memoryKiB > frontier[frontier.length - 1].memoryKiB) frontier.push(s);
      byArch.set(arch, frontier);
    }
    this.cached = { at: this.now(), byArch, hosts: hosts.length };
  }

  /**
   * The host sizes a machine of `arch` must fit one of (in both CPUs and memory, on the same host):
   * null when no host is registered at all (a cloud still being built: nothing to compare with),
   * 'none' when hosts exist but none of that architecture.
   */
  async sizes(arch: string): Promise<HostSize[] | 'none' | null> {
    if (!this.cached || this.now() - this.cached.at > this.ttlMs) {
      this.loading ??= this.refresh().finally(() => { this.loading = null; });
      await this.loading;
    }
    const c = this.cached!;
    if (c.hosts === 0) return null;
    return c.byArch.get(arch) ?? 'none';
  }
}
