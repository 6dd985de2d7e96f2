/**
 * Hosts and their claimed capacity. The host row carries a generation; every change of its usage
 * (a claim by placement, a release by the host's agent) is a compare-and-set on that generation,
 * as OpenStack Placement does with resource-provider generations. Allocations are keyed by machine,
 * so a claim or a release can never be counted twice.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, UnknownOutcomeError, ValidationError } from '../../errors/registry.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { Allocation, Host, HostHeartbeat, Lease } from '../types.js';

export interface HostInventory {
  id: string;
  name: string;
  uri: string;
  arch: string;
  cpus: number;
  memoryKiB: number;
  labels: Record<string, string>;
}

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_CAS_RETRIES = 20;

export function checkHostId(id: unknown): string {
  if (typeof id !== 'string' || !HOST_ID.test(id)) throw new ValidationError('host id must be 1-128 letters, digits, dot, dash or underscore');
  return id;
}

function rowToHost(r: Row): Host {
  return {
    id: r.id as string,
    name: r.name as string,
    uri: r.uri as string,
    arch: r.arch as string,
    cpus: r.cpus as number,
    memoryKiB: r.memory_kib as number,
    labels: fromJson<Record<string, string>>(r.labels, 'host labels', {}),
    state: (r.state as Host['state']) ?? 'ENABLED',
    generation: r.generation as number,
    usedCpus: (r.used_cpus as number) ?? 0,
    usedMemoryKiB: (r.used_memory_kib as number) ?? 0,
    allocations: fromJson<Record<string, Allocation>>(r.allocations, 'host allocations', {}),
    registered: r.registered as number,
    updated: r.updated as number,
  };
}

export type ClaimResult = { ok: true; host: Host; claimId: string } | { ok: false; host: Host | null; reason: 'conflict' | 'already-allocated' | 'gone' };

export class HostStore {
  constructor(private readonly d: TableDriver) {}

  async get(id: string, opts: { serial?: boolean } = {}): Promise<Host | null> {
    const r = await this.d.get('hosts', { id: checkHostId(id) }, opts);
    return r && r.generation !== null ? rowToHost(r) : null;
  }

  async list(): Promise<Host[]> {
    const rows = await collectPages((pageState) => this.d.scan('hosts', { limit: 1000, pageState }));
    return rows.filter((r) => r.generation !== null).map(rowToHost);
  }

  /** Create the host, or bring its inventory up to date (a generation bump, so claims re-check it). */
  async register(inv: HostInventory, now = Date.now()): Promise<Host> {
    checkHostId(inv.id);
    if (!Number.isInteger(inv.cpus) || inv.cpus <= 0) throw new ValidationError('host cpus must be a positive integer');
    if (!Number.isSafeInteger(inv.memoryKiB) || inv.memoryKiB <= 0) throw new ValidationError('host memory must be a positive integer');
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(inv.id, { serial: i > 0 });
      if (!cur) {
        const { applied } = await this.d.cas('hosts', {
          id: inv.id, name: inv.name, uri: inv.uri, arch: inv.arch, cpus: inv.cpus, memory_kib: inv.memoryKiB, labels: toJson(inv.labels),
          state: 'ENABLED', generation: 0, used_cpus: 0, used_memory_kib: 0, allocations: '{}', registered: now, updated: now,
        }, { ifNotExists: true });
        if (applied) return (await this.get(inv.id, { serial: true }))!;
        continue;
      }
      const same = cur.name === inv.name && cur.uri === inv.uri && cur.arch === inv.arch && cur.cpus === inv.cpus
        && cur.memoryKiB === inv.memoryKiB && JSON.stringify(cur.labels) === JSON.stringify(inv.labels);
      if (same) return cur;
      const { applied } = await this.d.cas('hosts', {
        id: inv.id, name: inv.name, uri: inv.uri, arch: inv.arch, cpus: inv.cpus, memory_kib: inv.memoryKiB,
        labels: toJson(inv.labels), generation: cur.generation + 1, updated: now,
      }, { if: { generation: cur.generation } });
      if (applied) return (await this.get(inv.id))!;
    }
    throw new ConflictError(`host ${inv.id}: too much contention to register`);
  }

  async setState(id: string, state: Host['state']): Promise<Host> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(id, { serial: i > 0 });
      if (!cur) throw new NotFoundError(`host ${id} not found`);
      if (cur.state === state) return cur;
      const { applied } = await this.d.cas('hosts', { id, state, generation: cur.generation + 1, updated: Date.now() }, { if: { generation: cur.generation } });
      if (applied) return (await this.get(id))!;
    }
    throw new ConflictError(`host ${id}: too much contention`);
  }

  /**
   * Claim capacity for a machine on a host seen at `seen.generation`: one compare-and-set, no retry
   * here (the caller re-reads and re-decides). A timed-out claim is settled by a serial re-read.
   */
  async claim(seen: Host, machineId: string, need: { cpus: number; memoryKiB: number; group?: string; at?: number }): Promise<ClaimResult> {
    if (seen.allocations[machineId]) return { ok: false, host: seen, reason: 'already-allocated' };
    const claimId = randomUUID();
    const allocation: Allocation = { cpus: need.cpus, memoryKiB: need.memoryKiB, claimId, ...(need.group ? { group: need.group } : {}), ...(need.at ? { at: need.at } : {}) };
    const allocations = { ...seen.allocations, [machineId]: allocation };
    const row: Row = {
      id: seen.id, generation: seen.generation + 1, used_cpus: seen.usedCpus + need.cpus,
      used_memory_kib: seen.usedMemoryKiB + need.memoryKiB, allocations: toJson(allocations), updated: Date.now(),
    };
    let applied: boolean;
    try {
      ({ applied } = await this.d.cas('hosts', row, { if: { generation: seen.generation } }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      const now = await this.get(seen.id, { serial: true });
      applied = now?.allocations[machineId]?.claimId === claimId;
    }
    // What we wrote is what the row now holds: no need to read it back.
    if (applied) {
      return {
        ok: true, claimId,
        host: { ...seen, generation: seen.generation + 1, usedCpus: row.used_cpus as number, usedMemoryKiB: row.used_memory_kib as number, allocations, updated: row.updated as number },
      };
    }
    return { ok: false, host: await this.get(seen.id, { serial: true }), reason: 'conflict' };
  }

  /**
   * Give back a machine's capacity. Exactly once: it only subtracts while the allocation is present
   * (and, with claimId, only that claim's allocation). Returns whether this call released it.
   */
  async release(hostId: string, machineId: string, claimId?: string): Promise<boolean> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(hostId, { serial: i > 0 });
      if (!cur) return false;
      const a = cur.allocations[machineId];
      if (!a || (claimId && a.claimId !== claimId)) return false;
      const allocations = { ...cur.allocations };
      delete allocations[machineId];
      let applied: boolean;
      try {
        ({ applied } = await this.d.cas('hosts', {
          id: hostId, generation: cur.generation + 1, used_cpus: cur.usedCpus - a.cpus,
          used_memory_kib: cur.usedMemoryKiB - a.memoryKiB, allocations: toJson(allocations), updated: Date.now(),
        }, { if: { generation: cur.generation } }));
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        const after = await this.get(hostId, { serial: true });
        applied = !!after && after.generation === cur.generation + 1 && !after.allocations[machineId];
      }
      if (applied) return true;
    }
    throw new ConflictError(`host ${hostId}: too much contention to release ${machineId}`);
  }

  // --- leases: one live agent per host -------------------------------------------------------

  /** Take the host's lease, or keep it if we hold it. False while another holder's lease is live. */
  async acquireLease(hostId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    checkHostId(hostId);
    const now = Date.now();
    const { applied } = await this.d.cas('host_leases', { host_id: hostId, holder, renewed: now }, { ifNotExists: true }, { ttlSeconds });
    if (applied) return true;
    return this.renewLease(hostId, holder, ttlSeconds);
  }

  async renewLease(hostId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    try {
      const { applied } = await this.d.cas('host_leases', { host_id: hostId, holder, renewed: Date.now() }, { if: { holder } }, { ttlSeconds });
      return applied;
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      const r = await this.d.get('host_leases', { host_id: hostId }, { serial: true });
      return r?.holder === holder;
    }
  }

  async releaseLease(hostId: string, holder: string): Promise<void> {
    await this.d.cas('host_leases', { host_id: hostId }, { if: { holder } }, { remove: true });
  }

  async leases(): Promise<Lease[]> {
    const rows = await collectPages((pageState) => this.d.scan('host_leases', { limit: 1000, pageState }));
    return rows.filter((r) => r.holder !== null).map((r) => ({ hostId: r.host_id as string, holder: r.holder as string, renewed: r.renewed as number }));
  }

  // --- heartbeats: liveness that outlives the lease (docs/lifecycle.md, host loss) ------------

  /** The agent's plain overwrite of its host's heartbeat row (no lightweight transaction). */
  async heartbeat(hb: HostHeartbeat): Promise<void> {
    await this.d.put('host_heartbeats', {
      host_id: checkHostId(hb.hostId), holder: hb.holder, renewed: hb.renewed, fence_after_ms: hb.fenceAfterMs, fenced_at: hb.fencedAt,
    });
  }

  async heartbeats(): Promise<Map<string, HostHeartbeat>> {
    const rows = await collectPages((pageState) => this.d.scan('host_heartbeats', { limit: 1000, pageState }));
    return new Map(rows.filter((r) => r.renewed !== null).map((r) => [r.host_id as string, rowToHeartbeat(r)]));
  }

  async heartbeatOf(hostId: string): Promise<HostHeartbeat | null> {
    const r = await this.d.get('host_heartbeats', { host_id: checkHostId(hostId) });
    return r && r.renewed !== null ? rowToHeartbeat(r) : null;
  }

  /** The lease row of one host (null: nobody holds it now). */
  async leaseOf(hostId: string, opts: { serial?: boolean } = {}): Promise<Lease | null> {
    const r = await this.d.get('host_leases', { host_id: checkHostId(hostId) }, opts);
    return r && r.holder !== null ? { hostId, holder: r.holder as string, renewed: r.renewed as number } : null;
  }
}

function rowToHeartbeat(r: Row): HostHeartbeat {
  return {
    hostId: r.host_id as string, holder: (r.holder as string) ?? '', renewed: Number(r.renewed),
    fenceAfterMs: Number(r.fence_after_ms ?? 0), fencedAt: r.fenced_at === null || r.fenced_at === undefined ? null : Number(r.fenced_at),
  };
}
