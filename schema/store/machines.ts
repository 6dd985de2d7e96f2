/**
 * Machines on the bus. Writers: the frontend owns the spec columns (conditional on generation), the
 * placement owns host_id and placement, the agent owns status. host_id is copied from the machine's
 * placement binding (placement-bindings.ts: decided once, many machines per lightweight transaction)
 * by a write that carries the binding's time, and moved later only by a conditional write (HA restart).
 * machines_by_host is the copy of the spec each agent polls; placement_requests is a time-bucketed
 * log of machines to place (rows expire, never deleted).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, UnavailableError, UnknownOutcomeError, ValidationError } from '../../errors/registry.js';
import { checkId, newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { DesiredState, HostMachine, Machine, MachineSpec, MachineStatus, Page, PlacementInfo } from '../types.js';
import { mapLimited } from '../bounded-parallel.js';
import { NetworkStore } from './networks.js';
import { PlacementBindingStore, type Binding } from './placement-bindings.js';
import { QuotaStore, type QuotaCharge } from './quotas.js';

export const PLACEMENT_BUCKET_MS = 60_000;

export interface NewMachine {
  /** A new id chosen by the caller (the frontend charges the tenant's quota under it first). */
  id?: string;
  tenant: string;
  name: string;
  description?: string;
  properties?: Record<string, string>;
  spec: MachineSpec;
  desiredState: DesiredState;
  /**
   * What the caller charged the tenant's quota for this machine (quotas.charge), written with it so
   * purge can give exactly that back. Left out: the machine is not charged and its purge releases nothing.
   */
  quota?: QuotaCharge;
}

export interface SpecChange {
  desiredState?: DesiredState;
  restartSeq?: number;
  name?: string;
  description?: string;
  properties?: Record<string, string>;
  /** A new spec document (a capture request, spec.capture: frontend/machine-capture.ts). */
  spec?: MachineSpec;
}

const NAME_MAX = 255;

function checkText(v: string, what: string, max: number): void {
  if (typeof v !== 'string') throw new ValidationError(`${what} must be a string`);
  if (v.length > max) throw new ValidationError(`${what} is longer than ${max} characters`);
}

function rowToMachine(r: Row): Machine {
  const status = fromJson<MachineStatus | null>(r.status, 'machine status', null);
  return {
    id: r.id as string,
    tenant: r.tenant as string,
    name: (r.name as string) ?? '',
    description: (r.description as string) ?? '',
    properties: fromJson<Record<string, string>>(r.properties, 'machine properties', {}),
    spec: fromJson<MachineSpec>(r.spec, 'machine spec', null as unknown as MachineSpec),
    desiredState: r.desired_state as DesiredState,
    restartSeq: (r.restart_seq as number) ?? 0,
    generation: (r.generation as number) ?? 1,
    created: r.created as number,
    updated: r.updated as number,
    hostId: (r.host_id as string) ?? null,
    placement: fromJson<PlacementInfo | null>(r.placement, 'machine placement', null),
    status: status ?? { state: 'CREATING', observedGeneration: 0, observedRestartSeq: 0, converged: false, error: null, hostId: null, updatedAt: r.created as number },
  };
}

function rowToHostMachine(r: Row): HostMachine {
  return {
    hostId: r.host_id as string,
    machineId: r.machine_id as string,
    tenant: r.tenant as string,
    name: (r.name as string) ?? '',
    spec: fromJson<MachineSpec>(r.spec, 'host machine spec', null as unknown as MachineSpec),
    desiredState: r.desired_state as DesiredState,
    restartSeq: (r.restart_seq as number) ?? 0,
    generation: r.generation as number,
  };
}

/** The row of the host's partition that carries the machine's spec to its agent. */
function hostCopy(m: Machine): Row {
  return {
    host_id: m.hostId, machine_id: m.id, tenant: m.tenant, name: m.name, spec: toJson(m.spec),
    desired_state: m.desiredState, restart_seq: m.restartSeq, generation: m.generation,
  };
}

/** The networks a spec names, each once. */
export function networkIdsOf(spec: Pick<MachineSpec, 'networkInterfaces'> | null | undefined): string[] {
  return [...new Set((spec?.networkInterfaces ?? []).map((n) => n.network))];
}

export class MachineStore {
  private readonly quotas: QuotaStore;
  private readonly networks: NetworkStore;
  readonly bindings: PlacementBindingStore;
  constructor(private readonly d: TableDriver) { this.quotas = new QuotaStore(d); this.networks = new NetworkStore(d); this.bindings = new PlacementBindingStore(d); }

  async create(m: NewMachine, now = Date.now()): Promise<Machine> {
    checkText(m.tenant, 'tenant', NAME_MAX);
    if (!m.tenant) throw new ValidationError('tenant is required');
    checkText(m.name, 'name', NAME_MAX);
    checkText(m.description ?? '', 'description', 4096);
    const id = m.id === undefined ? newId(now) : checkId(m.id, 'machine id');
    const status: MachineStatus = { state: 'CREATING', observedGeneration: 0, observedRestartSeq: 0, converged: false, error: null, hostId: null, updatedAt: now };
    const row: Row = {
      id, tenant: m.tenant, name: m.name, description: m.description ?? '', properties: toJson(m.properties ?? {}),
      spec: toJson(m.spec), desired_state: m.desiredState, restart_seq: 0, generation: 1, created: now, updated: now,
      placement: null, status: toJson(status),
    };
    // host_id is not written here: only copies of the binding (with its time) and moves write it.
    // quota_release is never written here: only the release's compare-and-set writes it.
    if (m.quota) Object.assign(row, { quota_cpus: m.quota.cpus, quota_memory_kib: m.quota.memoryKiB });
    // The networks it names learn of it first (a network delete then sees it); a network gone or being
    // deleted refuses the create here, before the machine exists (the caller abandons the create).
    for (const net of networkIdsOf(m.spec)) await this.networks.attach(net, id, m.tenant, now);
    await this.d.putAll([
      { table: 'machines', row },
      { table: 'machines_by_tenant', row: { tenant: m.tenant, id, name: m.name, created: now } },
    ]);
    await this.requestPlacement(id, now, 0);
    return rowToMachine({ ...row, host_id: null });
  }

  async get(id: string, opts: { serial?: boolean } = {}): Promise<Machine | null> {
    const r = await this.d.get('machines', { id: checkId(id, 'machine id') }, opts);
    return r && r.spec !== null && r.tenant !== null ? rowToMachine(r) : null;
  }

  /** A tenant's machines, a page at a time, in creation order. */
  async listByTenant(tenant: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Machine>> {
    const page = await this.d.select('machines_by_tenant', { tenant }, { limit: opts.limit ?? 100, pageState: opts.pageState });
    const items = await Promise.all(page.rows.map((r) => this.get(r.id as string)));
    return { items: items.filter((m): m is Machine => m !== null), pageState: page.pageState };
  }

  /** Every machine (operators, placement's full resync), a page at a time. */
  async scan(opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Machine>> {
    const page = await this.d.scan('machines', { limit: opts.limit ?? 500, pageState: opts.pageState });
    return { items: page.rows.filter((r) => r.spec !== null && r.tenant !== null).map(rowToMachine), pageState: page.pageState };
  }

  /**
   * Change the spec if nobody else did since `expectedGeneration` (lightweight transaction), then
   * mirror it into the host's partition when the machine is placed.
   */
  async updateSpec(id: string, expectedGeneration: number, change: SpecChange, now = Date.now()): Promise<Machine> {
    checkId(id, 'machine id');
    const changeId = randomUUID();
    const set: Row = { id, generation: expectedGeneration + 1, updated: now, change_id: changeId };
    if (change.desiredState !== undefined) set.desired_state = change.desiredState;
    if (change.restartSeq !== undefined) set.restart_seq = change.restartSeq;
    if (change.name !== undefined) { checkText(change.name, 'name', NAME_MAX); set.name = change.name; }
    if (change.description !== undefined) { checkText(change.description, 'description', 4096); set.description = change.description; }
    if (change.properties !== undefined) set.properties = toJson(change.properties);
    if (change.spec !== undefined) set.spec = toJson(change.spec);
    let applied: boolean;
    try {
      ({ applied } = await this.d.cas('machines', set, { if: { generation: expectedGeneration } }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      // Ours only if the row carries this very change.
      const seen = await this.d.get('machines', { id }, { serial: true });
      applied = seen !== null && seen.change_id === changeId;
      // Not ours and nobody else's either: the store did not take it; the caller may simply retry.
      if (!applied && seen?.generation === expectedGeneration) throw new UnavailableError(`machine ${id}: the store timed out and the change was not applied; try again`, { retryAfterSeconds: 2 });
    }
    if (!applied) {
      // A missing row fails the condition too (its generation is null): say which it was.
      if (!(await this.get(id))) throw new ConflictError(`machine ${id} no longer exists`);
      throw new ConflictError(`machine ${id} was changed by someone else (generation moved past ${expectedGeneration})`);
    }
    const after = await this.get(id);
    if (!after) throw new ConflictError(`machine ${id} no longer exists`);
    if (after.hostId) return (await this.mirrorUntilStable(id, after.hostId, after)) ?? after;
    return after;
  }

  /**
   * Copy the machine's current spec into its host's partition until a re-read shows no newer
   * generation: two writers mirroring concurrently both end by writing the newest spec, so a slow
   * put of an older generation is always followed by a newer one. A machine purged meanwhile has
   * its copy removed again, so a late put never resurrects it on the host.
   */
  async mirrorUntilStable(id: string, hostId: string, known?: Machine): Promise<Machine | null> {
    let m: Machine | null = known ?? null;
    for (let i = 0; i < 10; i++) {
      m ??= await this.get(id);
      if (!m || m.hostId !== hostId) { await this.removeFromHost(hostId, id); return null; }
      await this.mirrorToHost(m);
      const again = await this.get(id);
      if (!again || again.hostId !== hostId) { await this.removeFromHost(hostId, id); return null; }
      if (again.generation === m.generation) return again;
      m = again;
    }
    return this.get(id);
  }

  /** Copy the spec into the host's partition (what the agent polls). */
  async mirrorToHost(m: Machine): Promise<void> {
    if (!m.hostId) return;
    await this.d.put('machines_by_host', hostCopy(m));
  }

  /**
   * Bind an unbound machine to a host, exactly once (placement-bindings.ts), and adopt the binding.
   * True when this call bound it there; false when it was bound already (that binding is adopted) or is gone.
   */
  async assignHost(id: string, hostId: string, claimId: string = randomUUID(), by = 'direct'): Promise<boolean> {
    const cur = await this.get(id);
    if (!cur || cur.hostId !== null) return false;
    const b = (await this.bindings.bindAll([{ machineId: id, created: cur.created, hostId, claimId }], by)).get(id)!;
    await this.adoptBindings([{ machine: cur, binding: b }]);
    return b.claimId === claimId;
  }

  /**
   * Copy bindings onto their machines: host_id written with the binding's time (every copy of one
   * binding is the same write; a move made later always wins), the placement info beside it, then
   * the specs to each host's partition in one batch per host, then a re-read of each machine, so a
   * spec change racing with the binding is never left behind (either the frontend saw the host, or
   * this re-read sees the new spec and mirrors again).
   */
  async adoptBindings(items: { machine: Machine; binding: Binding; placement?: PlacementInfo }[]): Promise<void> {
    await mapLimited(items, 64, ({ machine, binding, placement }) => this.d.putAll([
      { table: 'machines', row: { id: machine.id, host_id: binding.hostId }, opts: { timestamp: binding.version } },
      ...(placement ? [{ table: 'machines', row: { id: machine.id, placement: toJson(placement) } }] : []),
    ]));
    const byHost = new Map<string, Machine[]>();
    for (const { machine, binding } of items) {
      const m = { ...machine, hostId: binding.hostId };
      const g = byHost.get(binding.hostId);
      if (g) g.push(m); else byHost.set(binding.hostId, [m]);
    }
    const batches: Machine[][] = [];
    for (const ms of byHost.values()) for (let i = 0; i < ms.length; i += 50) batches.push(ms.slice(i, i + 50));
    await mapLimited(batches, 32, (ms) => this.d.putAll(ms.map((m) => ({ table: 'machines_by_host', row: hostCopy(m) }))));
    await mapLimited(items, 64, async ({ machine, binding }) => {
      const again = await this.get(machine.id);
      if (again && again.hostId === binding.hostId && again.generation === machine.generation) return;
      await this.mirrorUntilStable(machine.id, binding.hostId, again && again.hostId === binding.hostId ? again : undefined);
    });
  }

  /**
   * Move a machine from a host that is down to another (HA restart, placement/ha-restart.ts):
   * applied only while the row still names `from` (lightweight transaction), then the spec goes to the
   * new host's partition and leaves the old one. The caller holds the old host's lease, so its agent
   * cannot act meanwhile.
   */
  async moveHost(id: string, from: string, to: string): Promise<boolean> {
    const cur = await this.get(id);
    if (!cur || cur.hostId !== from) return false;
    let applied: boolean;
    try {
      // `tenant` is in the condition: a row purged meanwhile must not come back as a ghost.
      ({ applied } = await this.d.cas('machines', { id, host_id: to }, { if: { host_id: from, tenant: cur.tenant } }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      applied = (await this.get(id, { serial: true }))?.hostId === to;
    }
    if (!applied) return false;
    await this.mirrorUntilStable(id, to, { ...cur, hostId: to });
    await this.removeFromHost(from, id);
    return true;
  }

  async setPlacement(id: string, info: PlacementInfo): Promise<void> {
    await this.d.put('machines', { id: checkId(id, 'machine id'), placement: toJson(info) });
  }

  async setStatus(id: string, status: MachineStatus): Promise<void> {
    await this.d.put('machines', { id: checkId(id, 'machine id'), status: toJson(status) });
  }

  /**
   * The machine is gone: its quota charge is released (exactly once: quotas.ts, a flag on this row
   * then the tenant's totals) and its rows go (machine, tenant index, host partition). The release
   * comes first, while the row that records the charge exists: a purge retried after a failure
   * finds the flag set and only completes the decrement if it was not applied.
   */
  async purge(m: Pick<Machine, 'id' | 'tenant' | 'hostId'> & { spec?: Pick<MachineSpec, 'networkInterfaces'> }): Promise<void> {
    await this.quotas.release(m.tenant, m.id);
    // Its network references go while the row that names them is still there (a retried purge finds them again).
    const spec = m.spec ?? (await this.get(m.id))?.spec;
    for (const net of networkIdsOf(spec)) await this.networks.detach(net, m.id);
    // The host's copy goes last: while it exists the agent keeps retrying a purge that failed half-way.
    await this.d.remove('machines_by_tenant', { tenant: m.tenant, id: m.id });
    await this.d.remove('machines', { id: m.id });
    if (m.hostId) await this.d.remove('machines_by_host', { host_id: m.hostId, machine_id: m.id });
  }

  /**
   * A create that threw after its charge: give the charge back (whether or not the machine write
   * reached the bus) and remove whatever did. Once per failed create (quotas.releaseUnwritten).
   */
  async abandonCreate(m: Pick<Machine, 'id' | 'tenant'> & { spec?: Pick<MachineSpec, 'networkInterfaces'> }, charged: QuotaCharge): Promise<void> {
    await this.quotas.releaseUnwritten(m.tenant, m.id, charged);
    for (const net of networkIdsOf(m.spec)) await this.networks.detach(net, m.id);
    await this.d.remove('machines_by_tenant', { tenant: m.tenant, id: m.id });
    await this.d.remove('machines', { id: m.id });
  }

  /** The agent's read: every machine assigned to the host. */
  async listOnHost(hostId: string): Promise<HostMachine[]> {
    const rows = await collectPages((pageState) => this.d.select('machines_by_host', { host_id: hostId }, { limit: 1000, pageState }));
    return rows.filter((r) => r.spec !== null).map(rowToHostMachine);
  }

  async removeFromHost(hostId: string, machineId: string): Promise<void> {
    await this.d.remove('machines_by_host', { host_id: hostId, machine_id: machineId });
  }

  /** Ask placement to look at a machine (at a time, for back-off). */
  async requestPlacement(machineId: string, at: number, attempt: number): Promise<void> {
    await this.d.put('placement_requests', { bucket: Math.floor(at / PLACEMENT_BUCKET_MS), machine_id: machineId, attempt, requested: at });
  }

  async placementRequests(bucket: number): Promise<{ machineId: string; attempt: number; requested: number }[]> {
    const rows = await collectPages((pageState) => this.d.select('placement_requests', { bucket }, { limit: 1000, pageState }));
    return rows.map((r) => ({ machineId: r.machine_id as string, attempt: r.attempt as number, requested: r.requested as number }));
  }
}
