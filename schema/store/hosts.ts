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
export type ClaimAllResult = { ok: true; host: Host; claimIds: Map<string, string> } | { ok: false; host: Host | null; reason: 'conflict' | 'already-allocated' | 'gone' };
export interface ClaimNeed { cpus: number; memoryKiB: number; group?: string; at?: number }

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
  async claim(seen: Host, machineId: string, need: ClaimNeed): Promise<ClaimResult> {
    const r = await this.claimAll(seen, [{ machineId, need }]);
    return r.ok ? { ok: true, host: r.host, claimId: r.claimIds.get(machineId)! } : r;
  }

  /**
   * Claim capacity for several machines on one host in ONE compare-and-set on its generation (a
   * placer batches what it decided for the same host): all of them or none.
   */
  async claimAll(seen: Host, items: { machineId: string; need: ClaimNeed }[]): Promise<ClaimAllResult> {
    if (items.some((i) => seen.allocations[i.machineId])) return { ok: false, host: seen, reason: 'already-allocated' };
    const allocations = { ...seen.allocations };
    const claimIds = new Map<string, string>();
    let usedCpus = seen.usedCpus;
    let usedMemoryKiB = seen.usedMemoryKiB;
    for (const { machineId, need } of items) {
      const claimId = randomUUID();
      claimIds.set(machineId, claimId);
      allocations[machineId] = { cpus: need.cpus, memoryKiB: need.memoryKiB, claimId, ...(need.group ? { group: need.group } : {}), ...(need.at ? { at: need.at } : {}) };
      usedCpus += need.cpus;
      usedMemoryKiB += need.memoryKiB;
    }
    const row: Row = { id: seen.id, generation: seen.generation + 1, used_cpus: usedCpus, used_memory_kib: usedMemoryKiB, allocations: toJson(allocations), updated: Date.now() };
    let applied: boolean;
    try {
      ({ applied } = await this.d.cas('hosts', row, { if: { generation: seen.generation } }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      const now = await this.get(seen.id, { serial: true });
      const [first] = items;
      applied = !!first && now?.allocations[first.machineId]?.claimId === claimIds.get(first.machineId);
    }
    // What we wrote is what the row now holds: no need to read it back.
    if (applied) {
      return { ok: true, claimIds, host: { ...seen, generation: seen.generation + 1, usedCpus, usedMemoryKiB, allocations, updated: row.updated as number } };
    }
    return { ok: false, host: await this.get(seen.id, { serial: true }), reason: 'conflict' };
  }

  /**
   * Give back a machine's capacity. Exactly once: it only subtracts while the allocation is present
   * (and, with claimId, only that claim's allocation). Returns whether this call released it.
   */
  async release(hostId: string, machineId: string, claimId?: string): Promise<boolean> {
    return (await this.releaseAll(hostId, [{ machineId, claimId }])).has(machineId);
  }

  /** release() for several machines of one host in one compare-and-set; the machines this call released. */
  async releaseAll(hostId: string, items: { machineId: string; claimId?: string }[]): Promise<Set<string>> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(hostId, { serial: i > 0 });
      if (!cur) return new Set();
      const allocations = { ...cur.allocations };
      const gone = new Set<string>();
      let cpus = 0;
      let mem = 0;
      for (const { machineId, claimId } of items) {
        const a = cur.allocations[machineId];
        if (!a || (claimId && a.claimId !== claimId)) continue;
        delete allocations[machineId];
        gone.add(machineId);
        cpus += a.cpus;
        mem += a.memoryKiB;
      }
      if (gone.size === 0) return gone;
      let applied: boolean;
      try {
        ({ applied } = await this.d.cas('hosts', {
          id: hostId, generation: cur.generation + 1, used_cpus: cur.usedCpus - cpus,
          used_memory_kib: cur.usedMemoryKiB - mem, allocations: toJson(allocations), updated: Date.now(),
        }, { if: { generation: cur.generation } }));
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        const after = await this.get(hostId, { serial: true });
        applied = !!after && after.generation === cur.generation + 1 && [...gone].every((m) => !after.allocations[m]);
      }
      if (applied) return gone;
    }
    throw new ConflictError(`host ${hostId}: too much contention to release ${items.length} allocation(s)`);
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
