/**
 * A MachineCreate body resolved into what store.machines.create needs: the MachineSpec built from
 * the configuration and image (by reference into the catalog or inline), the initial state, and the
 * name/description/properties. Everything is checked here, before anything is written.
 */
import { ForbiddenError, ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import { newId } from '../schema/ids.js';
import type { MachineSpec } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { hrefId, optBase64, optEnum, optObject, optStringMap, rejectUnknownFields, type Body } from './body-fields.js';
import {
  INITIAL_STATES, USER_DATA_MAX_BYTES, commonFields, parseConfigBody, parseImageBody,
  type ConfigDoc, type ImageDoc, type InitialState, type TemplateDoc,
} from './catalog-bodies.js';
import { findVisible } from './catalog-lookup.js';
import type { MachineLimits } from './config.js';
import type { FleetBounds } from './fleet-bounds.js';

/** What bounds a create: the operator's per-machine limits and the fleet's largest hosts. */
export interface CreateBounds { limits: MachineLimits; fleet: FleetBounds }

export interface ResolvedCreate {
  name: string;
  description: string;
  properties: Record<string, string>;
  spec: MachineSpec;
  initialState: InitialState;
}

async function resolveConfig(store: BusStore, who: Principal, v: Body | string, label: string, limits: MachineLimits): Promise<ConfigDoc> {
  if (typeof v === 'string' || v.href !== undefined) {
    const id = typeof v === 'string' ? v : hrefId(v, 'machineConfigs', label);
    const item = await findVisible(store, 'machineConfig', id, who);
    if (!item) throw new ValidationError(`${label}: no such MachineConfiguration`, { field: label });
    return item.body as unknown as ConfigDoc;
  }
  const doc = parseConfigBody(v, label).doc;
  // An operator's published configurations are the operator's call; a tenant's inline one is bounded.
  if (!isAdmin(who)) checkInlineConfig(doc, label, limits);
  return doc;
}

function checkInlineConfig(doc: ConfigDoc, label: string, l: MachineLimits): void {
  if (!l.tenantInlineConfig) throw new ForbiddenError(`${label}: this cloud takes machine configurations by href only; pick one from /api/machineConfigs`);
  const over = (field: string, what: string) => new ValidationError(`${label}.${field}: at most ${what} per machine in this cloud`, { field: `${label}.${field}` });
  if (doc.cpu > l.maxCpu) throw over('cpu', `${l.maxCpu} vCPUs`);
  if (doc.memory > l.maxMemoryKiB) throw over('memory', `${l.maxMemoryKiB} KiB`);
  if (doc.disks.length > l.maxDisks) throw over('disks', `${l.maxDisks} disks`);
  doc.disks.forEach((d, i) => {
    if (d.capacity > l.maxDiskKiB) throw over(`disks[${i}].capacity`, `${l.maxDiskKiB} KiB`);
    if (!l.diskFormats.includes(d.format)) throw new ValidationError(`${label}.disks[${i}].format must be one of ${l.diskFormats.join(', ')}`, { field: `${label}.disks[${i}].format` });
  });
}

/** Refuses a machine that no host of its architecture could hold (it could never be placed). */
async function checkFitsSomeHost(spec: MachineSpec, label: string, fleet: FleetBounds): Promise<void> {
  const sizes = await fleet.sizes(spec.cpuArch);
  if (sizes === null) return;
  if (sizes === 'none') throw new ValidationError(`${label}: this cloud has no hosts for ${spec.cpuArch} machines`, { field: label });
  // One host must have both the CPUs and the memory: the largest CPU count and the largest memory may be on different hosts.
  if (!sizes.some((s) => spec.cpu <= s.cpus && spec.memoryKiB <= s.memoryKiB)) {
    const cpus = sizes.reduce((m, s) => Math.max(m, s.cpus), 0);
    const memory = sizes.reduce((m, s) => Math.max(m, s.memoryKiB), 0);
    const what = spec.cpu > cpus ? `${spec.cpu} vCPUs` : spec.memoryKiB > memory ? `${spec.memoryKiB} KiB of memory` : `${spec.cpu} vCPUs with ${spec.memoryKiB} KiB of memory`;
    throw new ValidationError(`${label}: ${what} is more than any host in this cloud has; this machine could never start`, { field: label });
  }
}

async function resolveImage(store: BusStore, who: Principal, v: Body | string, label: string): Promise<{ id: string; name: string; doc: ImageDoc }> {
  if (typeof v === 'string' || v.href !== undefined) {
    const id = typeof v === 'string' ? v : hrefId(v, 'machineImages', label);
    const item = await findVisible(store, 'machineImage', id, who);
    if (!item) throw new ValidationError(`${label}: no such MachineImage`, { field: label });
    return { id: item.id, name: item.name, doc: item.body as unknown as ImageDoc };
  }
  // An inline image names a file on the hypervisor host: only operators may do that, or a tenant
  // could boot a guest from any file there (another machine's disk, a block device).
  if (!isAdmin(who)) throw new ForbiddenError(`${label}: only administrators may give an image inline; refer to a MachineImage by href`);
  const { name, doc } = parseImageBody(v, label);
  return { id: newId(), name, doc };
}

export async function resolveMachineCreate(store: BusStore, who: Principal, body: Body, bounds: CreateBounds): Promise<ResolvedCreate> {
  rejectUnknownFields(body, ['machineTemplate', 'requirements'], 'MachineCreate');
  const { name, description, properties } = commonFields(body, 'MachineCreate');
  const requirements = optStringMap(body, 'requirements', 'MachineCreate.requirements') ?? {};
  const tpl = optObject(body, 'machineTemplate', 'MachineCreate.machineTemplate');
  if (!tpl) throw new ValidationError('MachineCreate.machineTemplate is required', { field: 'MachineCreate.machineTemplate' });
  const where = 'machineTemplate';
  rejectUnknownFields(tpl, ['href', 'machineConfig', 'machineImage', 'initialState', 'userData'], where);
  // Check the inline fields' types before any lookup.
  const cfgIn = optObject(tpl, 'machineConfig', `${where}.machineConfig`);
  const imgIn = optObject(tpl, 'machineImage', `${where}.machineImage`);
  const stateIn = optEnum(tpl, 'initialState', INITIAL_STATES, `${where}.initialState`);
  const userDataIn = optBase64(tpl, 'userData', USER_DATA_MAX_BYTES, `${where}.userData`);

  let base: TemplateDoc | null = null;
  if (tpl.href !== undefined) {
    const item = await findVisible(store, 'machineTemplate', hrefId(tpl, 'machineTemplates', where), who);
    if (!item) throw new ValidationError(`${where}: no such MachineTemplate`, { field: where });
    base = item.body as unknown as TemplateDoc;
  }
  const cfgSrc = cfgIn ?? base?.machineConfig;
  const imgSrc = imgIn ?? base?.machineImage;
  if (cfgSrc === undefined) throw new ValidationError(`${where}.machineConfig is required`, { field: `${where}.machineConfig` });
  if (imgSrc === undefined) throw new ValidationError(`${where}.machineImage is required`, { field: `${where}.machineImage` });
  const config = await resolveConfig(store, who, cfgSrc, `${where}.machineConfig`, bounds.limits);
  const image = await resolveImage(store, who, imgSrc, `${where}.machineImage`);
  if (image.doc.cpuArch !== config.cpuArch) {
    throw new ValidationError(`${where}.machineImage is for ${image.doc.cpuArch} but the configuration is ${config.cpuArch}`, { field: `${where}.machineImage` });
  }
  const spec: MachineSpec = {
    cpu: config.cpu,
    memoryKiB: config.memory,
    cpuArch: config.cpuArch,
    image: {
      id: image.id, name: image.name, format: image.doc.format, location: image.doc.imageLocation,
      initrd: image.doc.initrd ?? null, cmdline: image.doc.kernelCmdline ?? null, cpuArch: image.doc.cpuArch,
    },
    disks: config.disks.map((d) => ({ capacityKiB: d.capacity, format: d.format })),
    userData: userDataIn ?? base?.userData ?? null,
    requirements,
  };
  await checkFitsSomeHost(spec, `${where}.machineConfig`, bounds.fleet);
  return { name, description, properties, spec, initialState: stateIn ?? base?.initialState ?? 'STARTED' };
}
