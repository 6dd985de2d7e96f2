/**
 * Volumes on the bus (migration 0011, docs/volumes.md). Writers: the frontend owns the spec columns
 * (name .. attachment, desired_state; every change a compare-and-set on `generation`) and sets host_id
 * once, under that same compare-and-set, when the volume is first attached; the agent of that host
 * owns status. volumes_by_host is the copy each agent polls (like machines_by_host); machine_volumes
 * is a machine's volumes sub-collection, one partition per machine.
 *
 * An attach writes its machine_volumes row first, then the volume row (compare-and-set); a detach
 * the volume row first, then removes the row. A row left over by a failure in between is not an
 * attachment: readers keep only rows the volume row confirms (attachment.id), see machineVolumes().
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, UnavailableError, UnknownOutcomeError, ValidationError } from '../../errors/registry.js';
import { checkHostId } from './hosts.js';
import { checkId, newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { HostVolume, MachineVolumeRef, Page, Volume, VolumeAttachment, VolumeSpec, VolumeStatus } from '../types.js';
import { QuotaStore } from './quotas.js';

export interface NewVolume {
  /** A new id chosen by the caller (the frontend charges the quota under it first). */
  id?: string;
  tenant: string;
  name: string;
  description?: string;
  properties?: Record<string, string>;
  spec: VolumeSpec;
  /** What the tenant's volume quota was charged (GiB); left out: not charged, its purge releases nothing. */
  quotaGiB?: number;
}

export interface VolumeChange {
  desiredState?: 'DELETED';
  name?: string;
  description?: string;
  properties?: Record<string, string>;
  /** null: detach. */
  attachment?: VolumeAttachment | null;
  /** Only while the volume has no host (its first attach). */
  hostId?: string;
}

const NAME_MAX = 255;

function checkText(v: string, what: string, max: number): void {
  if (typeof v !== 'string') throw new ValidationError(`${what} must be a string`);
  if (v.length > max) throw new ValidationError(`${what} is longer than ${max} characters`);
}

function checkSpec(s: VolumeSpec): void {
  if (!Number.isSafeInteger(s.capacityKiB) || s.capacityKiB < 1) throw new ValidationError('volume capacity must be a positive integer of KiB');
  if (s.format !== 'qcow2' && s.format !== 'raw') throw new ValidationError("volume format must be 'qcow2' or 'raw'");
}

function rowToVolume(r: Row): Volume {
  return {
    id: r.id as string,
    tenant: r.tenant as string,
    name: (r.name as string) ?? '',
    description: (r.description as string) ?? '',
    properties: fromJson<Record<string, string>>(r.properties, 'volume properties', {}),
    spec: fromJson<VolumeSpec>(r.spec, 'volume spec', null as unknown as VolumeSpec),
    desiredState: (r.desired_state as Volume['desiredState']) ?? 'AVAILABLE',
    generation: (r.generation as number) ?? 1,
    attachment: fromJson<VolumeAttachment | null>(r.attachment, 'volume attachment', null),
    created: r.created as number,
    updated: r.updated as number,
    hostId: (r.host_id as string) ?? null,
    status: fromJson<VolumeStatus | null>(r.status, 'volume status', null),
  };
}

function rowToHostVolume(r: Row): HostVolume {
  return {
    hostId: r.host_id as string,
    volumeId: r.volume_id as string,
    tenant: r.tenant as string,
    spec: fromJson<VolumeSpec>(r.spec, 'host volume spec', null as unknown as VolumeSpec),
    desiredState: (r.desired_state as HostVolume['desiredState']) ?? 'AVAILABLE',
    generation: r.generation as number,
    attachment: fromJson<VolumeAttachment | null>(r.attachment, 'host volume attachment', null),
  };
}

export class VolumeStore {
  private readonly quotas: QuotaStore;
  constructor(private readonly d: TableDriver) { this.quotas = new QuotaStore(d); }

  async create(v: NewVolume, now = Date.now()): Promise<Volume> {
    checkText(v.tenant, 'tenant', NAME_MAX);
    if (!v.tenant) throw new ValidationError('tenant is required');
    checkText(v.name, 'name', NAME_MAX);
    checkText(v.description ?? '', 'description', 4096);
    checkSpec(v.spec);
    const id = v.id === undefined ? newId(now) : checkId(v.id, 'volume id');
    const row: Row = {
      id, tenant: v.tenant, name: v.name, description: v.description ?? '', properties: toJson(v.properties ?? {}),
      spec: toJson(v.spec), desired_state: 'AVAILABLE', generation: 1, machine_id: null, attachment: null,
      created: now, updated: now, host_id: null, status: null,
    };
    // quota_release is never written here: only the release's compare-and-set writes it.
    if (v.quotaGiB !== undefined) row.quota_gib = v.quotaGiB;
    await this.d.putAll([
      { table: 'volumes', row },
      { table: 'volumes_by_tenant', row: { tenant: v.tenant, id, created: now } },
    ]);
    return rowToVolume(row);
  }

  async get(id: string, opts: { serial?: boolean } = {}): Promise<Volume | null> {
    const r = await this.d.get('volumes', { id: checkId(id, 'volume id') }, opts);
    return r && r.spec !== null && r.tenant !== null ? rowToVolume(r) : null;
  }

  /** A tenant's volumes, a page at a time, in creation order. */
  async listByTenant(tenant: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Volume>> {
    const page = await this.d.select('volumes_by_tenant', { tenant }, { limit: opts.limit ?? 100, pageState: opts.pageState });
    const items = await Promise.all(page.rows.map((r) => this.get(r.id as string)));
    return { items: items.filter((v): v is Volume => v !== null), pageState: page.pageState };
  }

  /**
   * Change the spec if nobody else did since `expectedGeneration` (lightweight transaction), then
   * mirror it into the host's partition. `hostId` is only taken while the row has none.
   */
  async updateSpec(id: string, expectedGeneration: number, change: VolumeChange, now = Date.now()): Promise<Volume> {
    checkId(id, 'volume id');
    const changeId = randomUUID();
    const set: Row = { id, generation: expectedGeneration + 1, updated: now, change_id: changeId };
    if (change.desiredState !== undefined) set.desired_state = change.desiredState;
    if (change.name !== undefined) { checkText(change.name, 'name', NAME_MAX); set.name = change.name; }
    if (change.description !== undefined) { checkText(change.description, 'description', 4096); set.description = change.description; }
    if (change.properties !== undefined) set.properties = toJson(change.properties);
    if (change.attachment !== undefined) {
      set.attachment = change.attachment === null ? null : toJson(change.attachment);
      set.machine_id = change.attachment === null ? null : checkId(change.attachment.machineId, 'machine id');
    }
    const cond: Row = { generation: expectedGeneration };
    if (change.hostId !== undefined) {
      set.host_id = checkHostId(change.hostId);
      cond.host_id = null;
    }
    let applied: boolean;
    try {
      ({ applied } = await this.d.cas('volumes', set, { if: cond }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      const seen = await this.d.get('volumes', { id }, { serial: true });
      applied = seen !== null && seen.change_id === changeId;
      if (!applied && seen?.generation === expectedGeneration) throw new UnavailableError(`volume ${id}: the store timed out and the change was not applied; try again`);
    }
    if (!applied) {
      if (!(await this.get(id))) throw new ConflictError(`volume ${id} no longer exists`);
      throw new ConflictError(`volume ${id} was changed by someone else (generation moved past ${expectedGeneration})`);
    }
    const after = await this.get(id);
    if (!after) throw new ConflictError(`volume ${id} no longer exists`);
    if (after.hostId) return (await this.mirrorUntilStable(id, after.hostId, after)) ?? after;
    return after;
  }

  /** Copy the volume into its host's partition until a re-read shows no newer generation (as machines do). */
  async mirrorUntilStable(id: string, hostId: string, known?: Volume): Promise<Volume | null> {
    let v: Volume | null = known ?? null;
    for (let i = 0; i < 10; i++) {
      v ??= await this.get(id);
      if (!v || v.hostId !== hostId) { await this.d.remove('volumes_by_host', { host_id: hostId, volume_id: id }); return null; }
      await this.d.put('volumes_by_host', {
        host_id: hostId, volume_id: id, tenant: v.tenant, spec: toJson(v.spec), desired_state: v.desiredState,
        generation: v.generation, machine_id: v.attachment?.machineId ?? null, attachment: v.attachment ? toJson(v.attachment) : null,
      });
      const again = await this.get(id);
      if (!again || again.hostId !== hostId) { await this.d.remove('volumes_by_host', { host_id: hostId, volume_id: id }); return null; }
      if (again.generation === v.generation) return again;
      v = again;
    }
    return this.get(id);
  }

  /** The agent's write. */
  async setStatus(id: string, status: VolumeStatus): Promise<void> {
    // IF EXISTS: a status written for a volume purged meanwhile must not make a ghost row.
    await this.d.cas('volumes', { id: checkId(id, 'volume id'), status: toJson(status) }, { ifExists: true });
  }

  /** The agent's read: every volume on the host. */
  async listOnHost(hostId: string): Promise<HostVolume[]> {
    const rows = await collectPages((pageState) => this.d.select('volumes_by_host', { host_id: checkHostId(hostId) }, { limit: 1000, pageState }));
    return rows.filter((r) => r.spec !== null).map(rowToHostVolume);
  }

  /** The first half of an attach: the machine's sub-collection row (an attachment only once the volume row confirms it). */
  async putMachineVolume(ref: MachineVolumeRef): Promise<void> {
    await this.d.put('machine_volumes', { machine_id: checkId(ref.machineId, 'machine id'), id: checkId(ref.id, 'machine volume id'), volume_id: checkId(ref.volumeId, 'volume id'), device: ref.device, created: ref.created });
  }

  async removeMachineVolume(machineId: string, id: string): Promise<void> {
    await this.d.remove('machine_volumes', { machine_id: checkId(machineId, 'machine id'), id: checkId(id, 'machine volume id') });
  }

  /**
   * A machine's attachments: the rows of its partition that their volume confirms (attachment.id).
   * Rows a failed attach or detach left behind are removed on the way.
   */
  async machineVolumes(machineId: string): Promise<{ ref: MachineVolumeRef; volume: Volume }[]> {
    const rows = await collectPages((pageState) => this.d.select('machine_volumes', { machine_id: checkId(machineId, 'machine id') }, { limit: 1000, pageState }));
    const out: { ref: MachineVolumeRef; volume: Volume }[] = [];
    for (const r of rows) {
      const ref: MachineVolumeRef = { machineId, id: r.id as string, volumeId: r.volume_id as string, device: r.device as string, created: r.created as number };
      const volume = await this.get(ref.volumeId);
      if (volume && volume.attachment?.id === ref.id && volume.attachment.machineId === machineId) out.push({ ref, volume });
      else if (!volume || Date.now() - ref.created > 60_000) await this.removeMachineVolume(machineId, ref.id).catch(() => undefined);
    }
    return out;
  }

  /**
   * The volume is gone (its agent removed the file, or it never had a host): its quota charge is
   * released exactly once (quotas.releaseVolume), then its rows go; the host's copy last, so an agent
   * keeps retrying a purge that failed half-way.
   */
  async purge(v: Pick<Volume, 'id' | 'tenant' | 'hostId'>): Promise<void> {
    await this.quotas.releaseVolume(v.tenant, v.id);
    await this.d.remove('volumes_by_tenant', { tenant: v.tenant, id: v.id });
    await this.d.remove('volumes', { id: v.id });
    if (v.hostId) await this.d.remove('volumes_by_host', { host_id: v.hostId, volume_id: v.id });
  }

  /** A create that threw after its charge: give the charge back and remove whatever reached the bus. */
  async abandonCreate(v: Pick<Volume, 'id' | 'tenant'>, chargedGiB: number): Promise<void> {
    await this.quotas.releaseUnwrittenVolume(v.tenant, v.id, chargedGiB);
    await this.d.remove('volumes_by_tenant', { tenant: v.tenant, id: v.id });
    await this.d.remove('volumes', { id: v.id });
  }
}
