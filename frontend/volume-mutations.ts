/**
 * The frontend's writes to volumes (docs/volumes.md): create (quota charged first), delete, attach
 * and detach. Each changes the spec (generation + 1, a compare-and-set), then records a Job and an
 * event. Every check comes before the first write, so a refused request writes nothing.
 */
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import { isId, newId } from '../schema/ids.js';
import type { VolumeQuotaExceeded } from '../schema/store/quotas.js';
import type { Job, Machine, MachineVolumeRef, Volume, VolumeAttachment, VolumeSpec } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import type { Body } from './body-fields.js';
import { findVisible } from './catalog-lookup.js';
import type { MachineLimits } from './config.js';
import { displayState } from './machine-view.js';
import { parseVolumeCreate, VOLUME_DEVICE, type VolumeConfigDoc, type VolumeTemplateDoc } from './volume-bodies.js';
import { volumeState } from './volume-view.js';

const KIB_PER_GIB = 1024 * 1024;

/** What a volume is charged: its capacity in GiB, rounded up. */
export function volumeGiB(capacityKiB: number): number {
  return Math.ceil(capacityKiB / KIB_PER_GIB);
}

export function volumeQuotaMessage(e: VolumeQuotaExceeded): string {
  if (e.quota === 'volumes') return `quota exceeded: volumes ${e.used} of ${e.limit} in use, this volume needs 1`;
  return `quota exceeded: volume storage ${e.used} GiB of ${e.limit} GiB in use, this volume needs ${e.need} GiB`;
}

/** The caller's volume, or 404 (unknown, malformed id, or another tenant's). */
export async function loadVolume(store: BusStore, id: string, who: Principal): Promise<Volume> {
  const v = isId(id) ? await store.volumes.get(id) : null;
  if (!v || v.tenant !== who.tenant) throw new NotFoundError(`no volume ${id}`);
  return v;
}

export interface ResolvedVolumeCreate { name: string; description: string; properties: Record<string, string>; spec: VolumeSpec }

export async function resolveVolumeCreate(store: BusStore, who: Principal, body: Body, limits: MachineLimits): Promise<ResolvedVolumeCreate> {
  const c = parseVolumeCreate(body);
  let cfg: VolumeConfigDoc;
  let configId = c.configId;
  if (c.templateId !== null) {
    const t = await findVisible(store, 'volumeTemplate', c.templateId, who);
    if (!t) throw new ValidationError('VolumeCreate.volumeTemplate: no such VolumeTemplate', { field: 'VolumeCreate.volumeTemplate' });
    configId = (t.body as unknown as VolumeTemplateDoc).volumeConfig;
  }
  if (configId !== null) {
    const item = await findVisible(store, 'volumeConfig', configId, who);
    if (!item) throw new ValidationError(`VolumeCreate.volumeTemplate${c.templateId ? '' : '.volumeConfig'}: no such VolumeConfiguration`, { field: 'VolumeCreate.volumeTemplate' });
    cfg = item.body as unknown as VolumeConfigDoc;
  } else {
    cfg = c.inlineConfig!;
    // An operator's published configurations are the operator's call; a tenant's inline one is bounded.
    if (!isAdmin(who)) {
      const label = 'VolumeCreate.volumeTemplate.volumeConfig';
      if (!limits.tenantInlineConfig) throw new ForbiddenError(`${label}: this cloud takes volume configurations by href only; pick one from /api/volumeConfigs`);
      if (cfg.capacity > limits.maxDiskKiB) throw new ValidationError(`${label}.capacity: at most ${limits.maxDiskKiB} KiB per volume in this cloud`, { field: `${label}.capacity` });
      if (!limits.diskFormats.includes(cfg.format)) throw new ValidationError(`${label}.format must be one of ${limits.diskFormats.join(', ')}`, { field: `${label}.format` });
    }
  }
  return {
    name: c.name, description: c.description, properties: c.properties,
    spec: { capacityKiB: cfg.capacity, format: cfg.format, configId, templateId: c.templateId },
  };
}

async function record(store: BusStore, who: Principal, v: Volume, action: string, expectedState: string, previous: string, now: number, extra: Record<string, unknown> = {}): Promise<Job> {
  const job = await store.jobs.create({
    tenant: who.tenant, targetId: v.id, targetType: 'Volume', action, state: 'RUNNING', progress: 0,
    statusMessage: 'accepted', returnCode: 0, targetGeneration: v.generation, expectedState,
  }, now);
  await store.telemetry.appendEvent({
    tenant: who.tenant, ts: now, type: action === 'create' ? 'access' : 'state', severity: 'low', outcome: 'Pending', resource: v.id,
    content: { resource: v.id, resName: v.name, resType: 'Volume', operation: action, initiator: who.name, state: expectedState, previous, job: job.id, ...extra },
  });
  return job;
}

/** Charges the tenant's volume quota first (403 over quota); a volume write that fails gives it back. */
export async function createVolume(store: BusStore, who: Principal, r: ResolvedVolumeCreate, now = Date.now()): Promise<{ volume: Volume; job: Job }> {
  const id = newId(now);
  const gib = volumeGiB(r.spec.capacityKiB);
  const charged = await store.quotas.chargeVolume(who.tenant, id, gib);
  if (!charged.ok) throw new ForbiddenError(volumeQuotaMessage(charged.exceeded));
  let volume: Volume;
  try {
    volume = await store.volumes.create({ id, tenant: who.tenant, name: r.name, description: r.description, properties: r.properties, spec: r.spec, quotaGiB: gib }, now);
  } catch (e) {
    await store.volumes.abandonCreate({ id, tenant: who.tenant }, gib).catch(() => undefined);
    throw e;
  }
  const job = await record(store, who, volume, 'create', 'AVAILABLE', 'NONE', now);
  return { volume, job };
}

/** The machine the volume is attached to, when it still exists (a purged machine leaves a stale attachment). */
async function attachedMachine(store: BusStore, v: Volume): Promise<Machine | null> {
  if (!v.attachment) return null;
  const m = await store.machines.get(v.attachment.machineId);
  return m && m.tenant === v.tenant ? m : null;
}

/** 409 while attached to a machine; a volume on no host is purged at once, otherwise its agent removes the file. */
export async function deleteVolume(store: BusStore, who: Principal, v: Volume, now = Date.now()): Promise<Job> {
  if (v.desiredState === 'DELETED') throw new InvalidStateError(`cannot delete volume ${v.id}: it is DELETING`, { state: 'DELETING' });
  const m = await attachedMachine(store, v);
  if (m) throw new InvalidStateError(`cannot delete volume ${v.id}: it is attached to machine ${m.id} (${v.attachment!.device}); detach it first`, { state: volumeState(v), machine: m.id });
  const previous = volumeState(v);
  const after = await store.volumes.updateSpec(v.id, v.generation, { desiredState: 'DELETED', ...(v.attachment ? { attachment: null } : {}) }, now);
  if (v.attachment) await store.volumes.removeMachineVolume(v.attachment.machineId, v.attachment.id).catch(() => undefined);
  const job = await record(store, who, after, 'delete', 'DELETED', previous, now);
  // Never on a host: there is no file to remove and no agent to do it.
  if (!after.hostId) await store.volumes.purge(after);
  return job;
}

/** Devices a machine's own extra disks take (vdb, vdc, ... after the root disk vda). */
function diskDevices(m: Machine): string[] {
  return (m.spec.disks ?? []).map((_d, i) => `vd${String.fromCharCode('b'.charCodeAt(0) + i)}`);
}

function freeDevice(taken: Set<string>): string | null {
  for (let c = 'b'.charCodeAt(0); c <= 'z'.charCodeAt(0); c++) {
    const d = `vd${String.fromCharCode(c)}`;
    if (!taken.has(d)) return d;
  }
  return null;
}

/**
 * Attach (docs/volumes.md): the machine must be on a host (a volume takes its first machine's host),
 * and a volume already on a host can only go to machines on that host (no shared storage): 409 with
 * the reason otherwise. Takes effect in the domain's definition: the guest sees it from its next boot.
 */
export async function attachVolume(store: BusStore, who: Principal, m: Machine, volumeId: string, device: string | null, now = Date.now()): Promise<{ ref: MachineVolumeRef; volume: Volume; job: Job }> {
  const v = isId(volumeId) ? await store.volumes.get(volumeId) : null;
  if (!v || v.tenant !== who.tenant) throw new ValidationError('MachineVolume.volume: no such Volume', { field: 'MachineVolume.volume' });
  if (v.desiredState === 'DELETED') throw new InvalidStateError(`cannot attach volume ${v.id}: it is DELETING`, { state: 'DELETING' });
  if (m.desiredState === 'DELETED') throw new InvalidStateError(`cannot attach a volume to machine ${m.id}: it is DELETING`, { state: 'DELETING' });
  const holder = await attachedMachine(store, v);
  if (holder) throw new ConflictError(`volume ${v.id} is already attached to machine ${holder.id}${holder.id === m.id ? ' (this one)' : ''}; detach it first`, { machine: holder.id });
  if (!m.hostId) throw new InvalidStateError(`cannot attach volume ${v.id}: machine ${m.id} is not on a host yet (it is ${displayState(m)}); a volume lives on its machine's host, attach it once the machine is placed`, { state: displayState(m) });
  if (v.hostId && v.hostId !== m.hostId) {
    const where = isAdmin(who) ? ` (volume on ${v.hostId}, machine on ${m.hostId})` : '';
    throw new ConflictError(`volume ${v.id} lives on another host than machine ${m.id}${where}: Skybus has no shared storage yet, a volume can only be attached to machines on its own host`, { reason: 'host' });
  }
  const taken = new Set([...diskDevices(m), ...(await store.volumes.machineVolumes(m.id)).map((x) => x.ref.device)]);
  if (device !== null && taken.has(device)) throw new ConflictError(`device ${device} is already in use on machine ${m.id}; pick another initialLocation or leave it out`, { field: 'MachineVolume.initialLocation' });
  const dev = device ?? freeDevice(taken);
  if (dev === null || !VOLUME_DEVICE.test(dev)) throw new ConflictError(`machine ${m.id} has no free device name left (vdb .. vdz)`);
  const attachment: VolumeAttachment = { id: newId(now), machineId: m.id, device: dev, created: now };
  const ref: MachineVolumeRef = { machineId: m.id, id: attachment.id, volumeId: v.id, device: dev, created: now };
  const previous = volumeState(v);
  // A stale attachment (its machine purged) leaves a row in that machine's partition: drop it.
  if (v.attachment) await store.volumes.removeMachineVolume(v.attachment.machineId, v.attachment.id).catch(() => undefined);
  // The sub-collection row first: it counts only once the volume row confirms it (store/volumes.ts).
  await store.volumes.putMachineVolume(ref);
  let after: Volume;
  try {
    after = await store.volumes.updateSpec(v.id, v.generation, { attachment, ...(v.hostId ? {} : { hostId: m.hostId }) }, now);
  } catch (e) {
    await store.volumes.removeMachineVolume(m.id, ref.id).catch(() => undefined);
    throw e;
  }
  const job = await record(store, who, after, 'attach', 'AVAILABLE', previous, now, { machine: m.id, device: dev });
  return { ref, volume: after, job };
}

/**
 * Detach: only from a STOPPED machine (Skybus attaches and detaches in the domain's definition, so a
 * running guest would keep using the volume until it stops: docs/volumes.md).
 */
export async function detachVolume(store: BusStore, who: Principal, m: Machine, mvId: string, now = Date.now()): Promise<Job> {
  const found = isId(mvId) ? (await store.volumes.machineVolumes(m.id)).find((x) => x.ref.id === mvId) : undefined;
  if (!found) throw new NotFoundError(`no MachineVolume ${mvId} on machine ${m.id}`);
  const shown = displayState(m);
  if (m.desiredState !== 'STOPPED' || shown !== 'STOPPED') {
    throw new InvalidStateError(`cannot detach volume ${found.volume.id} from machine ${m.id}: it is ${shown} (desired state ${m.desiredState}); stop the machine first (volumes are detached from the domain definition, a running guest would keep using it)`, { state: shown });
  }
  const v = found.volume;
  const after = await store.volumes.updateSpec(v.id, v.generation, { attachment: null }, now);
  await store.volumes.removeMachineVolume(m.id, mvId);
  return record(store, who, after, 'detach', 'AVAILABLE', volumeState(v), now, { machine: m.id, device: found.ref.device });
}
