/**
 * Self-fencing (docs/lifecycle.md, "Host loss, fencing and HA restart"). A watchdog on its own timer,
 * apart from the reconcile cycle (a cycle can hang on the very bus that is gone): once no heartbeat
 * has reached the bus for fenceAfterMs, the agent destroys (or pauses, by policy) its guests in
 * fenceScope — by default the highly available ones, the only ones placement restarts elsewhere —
 * and acts on nothing until a heartbeat is written again under the lease. Placement waits that
 * window, plus a fencing budget and a clock-skew allowance, past the last heartbeat before it starts
 * any of them on another host: so a host cut off from the bus never runs a guest that runs elsewhere.
 *
 * The clock's base is the `renewed` of the last heartbeat that was written (the value placement
 * reads), or the process start when none was: a fresh agent that never reaches the bus fences too.
 * Which guests are HA: the machines the last cycle read, and the <skybus:ha> mark in each domain's
 * metadata (an agent restarted while the bus is gone has read nothing yet).
 */
import type { Logger } from '../observability/logger.js';
import type { AgentConfig } from './config.js';
import { metadataHighlyAvailable } from './domain-xml.js';
import { errorText } from './error-text.js';
import type { LibvirtHost } from './libvirt-host.js';

export interface FencedGuest { machineId: string; domain: string; action: 'destroy' | 'pause'; ok: boolean; error?: string }
export interface FenceRecord { at: number; sinceHeartbeatMs: number; guests: FencedGuest[] }

/** Whether the fencing window has passed (pure). */
export function fenceDue(now: number, lastHeartbeat: number, fenceAfterMs: number): boolean {
  return now - lastHeartbeat > fenceAfterMs;
}

export class SelfFencing {
  private base: number;
  private fencedAt: number | null = null;
  private pending: FenceRecord | null = null;
  private ha = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: AgentConfig,
    private readonly host: LibvirtHost,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.base = now();
  }

  /** Fenced, and no heartbeat written since: the agent must not act. */
  get fenced(): boolean { return this.fencedAt !== null; }
  /** When it last fenced (null: not fenced now). Carried by the next heartbeat. */
  get since(): number | null { return this.fencedAt; }

  /** The machines the last cycle read that are highly available. */
  setHighlyAvailable(ids: Iterable<string>): void { this.ha = new Set([...ids].map((i) => i.toLowerCase())); }

  /** A heartbeat carrying `renewed` reached the bus: the window starts again, and fencing is over. */
  heartbeatWritten(renewed: number): void {
    this.base = Math.max(this.base, renewed);
    if (this.fencedAt !== null) this.log.warn({ fencedAt: this.fencedAt }, 'heartbeat written again: fencing over, acting again');
    this.fencedAt = null;
  }

  /** The fencing done while the bus was gone, once (for the events the agent then writes). */
  takeRecord(): FenceRecord | null {
    const r = this.pending;
    this.pending = null;
    return r;
  }

  start(): void {
    if (this.timer) return;
    const every = Math.max(50, Math.min(500, Math.floor(this.config.fenceAfterMs / 10)));
    this.timer = setInterval(() => { void this.check(); }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One watchdog tick: fence when the window has passed and it has not fenced yet. */
  check(): Promise<void> {
    if (this.running) return this.running;
    const now = this.now();
    if (this.fencedAt !== null || !fenceDue(now, this.base, this.config.fenceAfterMs)) return Promise.resolve();
    this.fencedAt = now;
    this.running = this.fence(now).finally(() => { this.running = null; });
    return this.running;
  }

  private async fence(now: number): Promise<void> {
    const sinceHeartbeatMs = now - this.base;
    const action = this.config.fenceAction;
    this.log.error({ sinceHeartbeatMs, fenceAfterMs: this.config.fenceAfterMs, action, scope: this.config.fenceScope },
      'no heartbeat reached the bus within the fencing window: fencing guests, not acting until the lease is held again');
    const guests: FencedGuest[] = [];
    let domains: Awaited<ReturnType<LibvirtHost['listDomains']>> = [];
    try { domains = await this.host.listDomains(); } catch (e) { this.log.error({ err: errorText(e) }, 'fencing: could not list domains'); }
    for (const d of domains) {
      if (!d.name.startsWith(this.config.domainPrefix)) continue;
      if (d.state !== 'running' && d.state !== 'paused' && d.state !== 'shuttingdown' && d.state !== 'pmsuspended') continue;
      if (action === 'pause' && d.state === 'paused') continue;
      if (this.config.fenceScope === 'ha' && !this.ha.has(d.uuid.toLowerCase())) {
        const xml = await this.host.xml(d.uuid).catch(() => '');
        if (!metadataHighlyAvailable(xml)) continue;
      }
      try {
        if (action === 'destroy') await this.host.destroy(d.uuid); else await this.host.suspend(d.uuid);
        guests.push({ machineId: d.uuid, domain: d.name, action, ok: true });
        this.log.error({ machineId: d.uuid, domain: d.name, action }, 'guest fenced');
      } catch (e) {
        guests.push({ machineId: d.uuid, domain: d.name, action, ok: false, error: errorText(e) });
        this.log.error({ machineId: d.uuid, domain: d.name, err: errorText(e) }, 'could not fence guest');
      }
    }
    this.pending = { at: now, sinceHeartbeatMs, guests: [...(this.pending?.guests ?? []), ...guests] };
  }
}
