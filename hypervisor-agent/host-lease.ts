/**
 * The host's registration, its lease (one acting agent per host) and the agent's service heartbeat.
 * The lease is renewed at the start of every cycle; actions are taken only while it surely holds.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { AgentConfig } from './config.js';
import { errorText } from './error-text.js';
import type { LibvirtHost } from './libvirt-host.js';
import { skybusVersion } from '../observability/skybus-version.js';

export interface LeaseRenewal {
  /** This process holds the lease now. */
  held: boolean;
  /** Held now but not before: what this process remembers of the host may be stale. */
  gained: boolean;
  /** The `renewed` of the heartbeat this renewal wrote (null: none was due, or it failed). */
  heartbeat: number | null;
}

/** What the lease needs to know of self-fencing (fencing.ts). */
export interface FencingState { readonly fenced: boolean; readonly since: number | null }

export class HostLease {
  /** This process's identity as the lease holder and service instance. */
  readonly holder: string;
  private registered = false;
  private isHeld = false;
  private safeUntil = 0;
  private lastAnnounceAt = 0;
  private lastHeartbeatAt = 0;
  private removed = false;
  private readonly startedAt: number;

  constructor(
    private readonly store: BusStore,
    private readonly config: AgentConfig,
    private readonly host: LibvirtHost,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly fencing: FencingState = { fenced: false, since: null },
  ) {
    this.holder = `${config.hostId}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.startedAt = now();
  }

  get held(): boolean { return this.isHeld; }
  /** An admin removed this host (`skybus host remove`): the agent does not act on it. */
  get hostRemoved(): boolean { return this.removed; }

  /** Publish the host and its libvirt capacity (and labels) on the bus. */
  async register(): Promise<void> {
    if (!this.host.connected) await this.host.connect();
    const node = await this.host.nodeInfo();
    const registered = await this.store.hosts.register({
      id: this.config.hostId,
      name: this.host.domainType === 'test' ? this.config.hostId : node.hostname,
      uri: this.config.libvirtUri, arch: node.arch, cpus: node.cpus, memoryKiB: node.memoryKiB, labels: this.config.labels,
    }, this.now());
    this.registered = true;
    this.removed = registered.state === 'REMOVED';
    if (this.removed) this.log.error('this host was removed by an admin (skybus host remove): not taking its lease nor acting');
    this.log.info({ cpus: node.cpus, memoryKiB: node.memoryKiB, arch: node.arch }, 'host registered');
  }

  /** Register if not done yet, then renew the lease (or take it if free) and announce the agent. */
  async renew(): Promise<LeaseRenewal> {
    if (!this.registered) await this.register();
    const had = this.isHeld;
    if (!had) {
      // A removed host stays removed until an admin registers it again (its row gone: host remove).
      const row = await this.store.hosts.get(this.config.hostId);
      this.removed = row?.state === 'REMOVED';
      if (!row) await this.register();
      if (this.removed) return { held: false, gained: false, heartbeat: null };
    }
    const renewStart = Date.now();
    const heartbeatValue = this.now();
    const held = had
      ? await this.store.hosts.renewLease(this.config.hostId, this.holder, this.config.leaseTtlSeconds)
      : await this.store.hosts.acquireLease(this.config.hostId, this.holder, this.config.leaseTtlSeconds);
    this.isHeld = held;
    if (!held) {
      if (had) this.log.error('lost the host lease to another holder: not acting until it is free again');
      else this.log.warn('the host lease is held by another live agent: waiting');
      return { held: false, gained: false, heartbeat: null };
    }
    if (!had) this.log.info({ holder: this.holder }, 'host lease acquired');
    // Act only while the lease surely holds: a cycle that outlasts two thirds of it stops acting
    // until the next renewal, so a standby agent that took over never races this one.
    this.safeUntil = renewStart + (this.config.leaseTtlSeconds * 1000 * 2) / 3;
    await this.announce();
    const heartbeat = await this.heartbeatIfDue(heartbeatValue, !had);
    return { held: true, gained: !had, heartbeat };
  }

  /**
   * The host's heartbeat (host_heartbeats), every third of the lease TTL, at once after gaining the
   * lease or while fenced: `renewed` is when the renewal it follows started, the base of the fencing
   * clock on both sides (fencing.ts, schema/host-health.ts).
   */
  private async heartbeatIfDue(renewed: number, force: boolean): Promise<number | null> {
    if (!force && !this.fencing.fenced && renewed - this.lastHeartbeatAt < (this.config.leaseTtlSeconds * 1000) / 3) return null;
    try {
      await this.store.hosts.heartbeat({
        hostId: this.config.hostId, holder: this.holder, renewed, fenceAfterMs: this.config.fenceAfterMs, fencedAt: this.fencing.since,
      });
      this.lastHeartbeatAt = renewed;
      return renewed;
    } catch (e) {
      this.log.warn({ err: errorText(e) }, 'heartbeat write failed');
      return null;
    }
  }

  /** False once the cycle has outlasted the safe part of the lease renewed at its start. */
  safeToAct(): boolean {
    return Date.now() < this.safeUntil;
  }

  /** How much of the safe part of the lease is left (0 once outlasted). */
  safeRemainingMs(): number {
    return Math.max(0, this.safeUntil - Date.now());
  }

  /** The agent's heartbeat in the service registry, at most every third of the lease TTL. */
  private async announce(): Promise<void> {
    const now = this.now();
    if (now - this.lastAnnounceAt < (this.config.leaseTtlSeconds * 1000) / 3) return;
    this.lastAnnounceAt = now;
    await this.store.services.announce({
      role: 'agent', instanceId: this.holder, address: this.config.hostId, started: this.startedAt, lastSeen: now,
      info: { hostId: this.config.hostId, libvirtUri: this.config.libvirtUri, domainType: this.host.domainType, pid: process.pid, version: skybusVersion() },
    }, Math.max(this.config.leaseTtlSeconds * 2, 5)).catch((e) => this.log.warn({ err: errorText(e) }, 'service announce failed'));
  }

  /** Give the lease back (if held) and withdraw from the service registry. */
  async release(): Promise<void> {
    if (this.isHeld) {
      await this.store.hosts.releaseLease(this.config.hostId, this.holder).catch((e) => this.log.warn({ err: errorText(e) }, 'could not release the host lease'));
      this.isHeld = false;
    }
    await this.store.services.withdraw('agent', this.holder).catch(() => undefined);
  }
}
