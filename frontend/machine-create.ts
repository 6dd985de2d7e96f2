/**
 * A MachineCreate body resolved into what store.machines.create needs: the MachineSpec built from
 * the configuration and image (by reference into the catalog or inline), the initial state, and the
 * name/description/properties. Everything is checked here, before anything is written.
 */
import { ForbiddenError, ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import { newId } from '../schema/ids.js';
import type { DiskSpec, MachineSpec } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { hrefId, optBase64, optBoolean, optEnum, optObject, optString, optStringMap, rejectUnknownFields, type Body } from './body-fields.js';
import {
  DEFAULT_INITIAL_STATE, INITIAL_STATES, USER_DATA_MAX_BYTES, commonFields, parseConfigBody, parseImageBody,
  type ConfigDoc, type ImageDoc, type InitialState, type TemplateDoc,
} from './catalog-bodies.js';
import { findVisible } from './catalog-lookup.js';
import { imageCondition } from './captured-image.js';
import { KERNEL_CMDLINE_MAX_BYTES, kernelCmdline } from '../hypervisor-agent/domain-xml.js';
import { parseCredentialTemplate } from './credential-bodies.js';
import { guestUserData } from './nocloud-user-data.js';
import { findOwnCredential } from './routes/credentials.js';
import { resolveNetworkInterfaces } from './machine-nics.js';
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

/** MachineCreate.affinity: {group, type: affinity | anti-affinity} (docs/placement.md). */
function parseAffinity(body: Body): MachineSpec['affinity'] {
  const a = optObject(body, 'affinity', 'MachineCreate.affinity');
  if (!a) return undefined;
  rejectUnknownFields(a, ['group', 'type'], 'MachineCreate.affinity');
  const group = optString(a, 'group', 63, 'MachineCreate.affinity.group');
  if (!group || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(group)) throw new ValidationError('MachineCreate.affinity.group must be 1-63 letters, digits, dot, dash or underscore', { field: 'MachineCreate.affinity.group' });
  const type = optEnum(a, 'type', ['affinity', 'anti-affinity'] as const, 'MachineCreate.affinity.type');
  if (!type) throw new ValidationError('MachineCreate.affinity.type is required: affinity or anti-affinity', { field: 'MachineCreate.affinity.type' });
  return { group, type };
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

/**
 * The SSH keys for the guest: the create's own credential (the caller's tenant's, by href, or
 * inline) replaces the template's (which its administrator chose; read whatever tenant owns it).
 */
async function credentialKeys(store: BusStore, who: Principal, credIn: Body | undefined, inlineKey: string | null, base: TemplateDoc | null, label: string): Promise<string[]> {
  if (inlineKey !== null) return [inlineKey];
  if (credIn !== undefined) {
    const item = await findOwnCredential(store, hrefId(credIn, 'credentials', label), who);
    if (!item) throw new ValidationError(`${label}: no such Credential`, { field: label });
    return [item.body.publicKey as string];
  }
  if (base?.credential) {
    const item = await store.catalog.get('credential', base.credential);
    if (!item) throw new ValidationError(`${label}: the template's Credential no longer exists`, { field: label });
    return [item.body.publicKey as string];
  }
  return [];
}

/** A kernel image takes its user data on the kernel command line, which has a hard length limit. */
function checkKernelCmdline(spec: MachineSpec, label: string): void {
  if (spec.image?.format !== 'kernel') return;
  const bytes = Buffer.byteLength(kernelCmdline(spec.image.cmdline, spec.userData));
  if (bytes > KERNEL_CMDLINE_MAX_BYTES) {
    throw new ValidationError(`${label}: a kernel image takes its user data on the kernel command line, which would be ${bytes} bytes, more than the ${KERNEL_CMDLINE_MAX_BYTES} it can hold; give less user data, or use a disk image (its user data travels in SMBIOS)`, { field: label });
  }
}

interface ResolvedImage { id: string; name: string; doc: ImageDoc; disk: { file: string; capacityKiB: number } | null }

async function resolveImage(store: BusStore, who: Principal, v: Body | string, label: string): Promise<ResolvedImage> {
  if (typeof v === 'string' || v.href !== undefined) {
    const id = typeof v === 'string' ? v : hrefId(v, 'machineImages', label);
    const item = await findVisible(store, 'machineImage', id, who);
    if (!item) throw new ValidationError(`${label}: no such MachineImage`, { field: label });
    // A captured image (docs/capture.md) is usable once AVAILABLE; its files are where its agent put them.
    const cond = await imageCondition(store, item);
    if (cond.state !== 'AVAILABLE') {
      throw new ValidationError(`${label}: MachineImage ${item.id} is ${cond.state}${cond.error ? ` (${cond.error})` : ''}; only an AVAILABLE image makes machines`, { field: label });
    }
    const doc = { ...(item.body as unknown as ImageDoc) };
    const st = item.status;
    if (st?.location) doc.imageLocation = st.location;
    const disk = st?.disk ? { file: st.disk, capacityKiB: st.virtualSizeKiB ?? 0 } : null;
    return { id: item.id, name: item.name, doc, disk };
  }
  // An inline image names a file on the hypervisor host: only operators may do that, or a tenant
  // could boot a guest from any file there (another machine's disk, a block device).
  if (!isAdmin(who)) throw new ForbiddenError(`${label}: only administrators may give an image inline; refer to a MachineImage by href`);
  const { name, doc } = parseImageBody(v, label);
  return { id: newId(), name, doc, disk: null };
}

/**
 * A captured kernel image's disk becomes the machine's first disk (a qcow2 overlay on it, at least
 * as large as the captured disk); the configuration's first disk, if any, gives way to it.
 */
function withImageDisk(disks: DiskSpec[], disk: ResolvedImage['disk']): DiskSpec[] {
  if (!disk) return disks;
  const first: DiskSpec = { capacityKiB: Math.max(disk.capacityKiB, disks[0]?.capacityKiB ?? 0, 1), format: 'qcow2', source: disk.file };
  return [first, ...disks.slice(1)];
}

export async function resolveMachineCreate(store: BusStore, who: Principal, body: Body, bounds: CreateBounds): Promise<ResolvedCreate> {
  rejectUnknownFields(body, ['machineTemplate', 'requirements', 'affinity'], 'MachineCreate');
  const affinity = parseAffinity(body);
  const { name, description, properties } = commonFields(body, 'MachineCreate');
  const requirements = optStringMap(body, 'requirements', 'MachineCreate.requirements') ?? {};
  const tpl = optObject(body, 'machineTemplate', 'MachineCreate.machineTemplate');
  if (!tpl) throw new ValidationError('MachineCreate.machineTemplate is required', { field: 'MachineCreate.machineTemplate' });
  const where = 'machineTemplate';
  rejectUnknownFields(tpl, ['href', 'machineConfig', 'machineImage', 'initialState', 'userData', 'credential', 'networkInterfaces', 'highlyAvailable'], where);
  // Check the inline fields' types before any lookup.
  const cfgIn = optObject(tpl, 'machineConfig', `${where}.machineConfig`);
  const imgIn = optObject(tpl, 'machineImage', `${where}.machineImage`);
  const stateIn = optEnum(tpl, 'initialState', INITIAL_STATES, `${where}.initialState`);
  const userDataIn = optBase64(tpl, 'userData', USER_DATA_MAX_BYTES, `${where}.userData`);
  const credIn = optObject(tpl, 'credential', `${where}.credential`);
  const nicsIn = tpl.networkInterfaces;
  const haIn = optBoolean(tpl, 'highlyAvailable', `${where}.highlyAvailable`);
  const inlineKey = credIn && credIn.href === undefined ? parseCredentialTemplate(credIn, `${where}.credential`) : null;

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
      ...(image.disk ? { disk: image.disk.file } : {}),
    },
    disks: withImageDisk(config.disks.map((d) => ({ capacityKiB: d.capacity, format: d.format })), image.disk),
    userData: null,
    requirements,
  };
  if (haIn ?? base?.highlyAvailable ?? false) spec.highlyAvailable = true;
  if (affinity) spec.affinity = affinity;
  const nics = await resolveNetworkInterfaces(store, who, nicsIn, `${where}.networkInterfaces`);
  if (nics.length > 0) spec.networkInterfaces = nics;
  const keys = await credentialKeys(store, who, credIn, inlineKey, base, `${where}.credential`);
  const ownUserData = userDataIn ?? base?.userData ?? null;
  spec.userData = guestUserData(keys, ownUserData);
  checkKernelCmdline(spec, keys.length > 0 && ownUserData === null ? `${where}.credential` : `${where}.userData`);
  await checkFitsSomeHost(spec, `${where}.machineConfig`, bounds.fleet);
  return { name, description, properties, spec, initialState: stateIn ?? base?.initialState ?? DEFAULT_INITIAL_STATE };
}
