/**
 * MachineConfiguration, MachineImage and MachineTemplate bodies: validated from requests into the
 * documents kept in store.catalog, and turned back into CIMI representations.
 */
import { ValidationError } from '../errors/registry.js';
import type { CatalogItem, CatalogKind } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import { isAdmin } from './auth/authenticator.js';
import {
  checkText, hrefId, optBase64, optBoolean, optEnum, optObject, optString, optStringMap, rejectUnknownFields, reqInt, type Body,
} from './body-fields.js';
import type { ImageCondition } from './captured-image.js';
import { memberUrl, resourceUri, type CollectionName } from './cimi/uris.js';

export const USER_DATA_MAX_BYTES = 64 * 1024;
export const INITIAL_STATES = ['STARTED', 'STOPPED'] as const;
export type InitialState = (typeof INITIAL_STATES)[number];
/** What a machine starts as when neither the create nor its template says (DSP0263 capability DefaultInitialState). */
export const DEFAULT_INITIAL_STATE: InitialState = 'STARTED';
export const IMAGE_FORMATS = ['qcow2', 'raw', 'kernel'] as const;
/** Disk formats the agent creates (qemu-img); a configuration may name no other. */
export const DISK_FORMATS = ['qcow2', 'raw'] as const;

export interface ConfigDoc { description: string; properties: Record<string, string>; cpu: number; memory: number; cpuArch: string; disks: { capacity: number; format: string }[] }
export interface ImageDoc { description: string; properties: Record<string, string>; imageLocation: string; format: (typeof IMAGE_FORMATS)[number]; initrd: string | null; kernelCmdline: string | null; cpuArch: string }
export interface TemplateDoc { description: string; properties: Record<string, string>; machineConfig: string; machineImage: string; initialState: InitialState; userData: string | null; /** A Credential id (absent on older templates). */ credential?: string | null; /** HA (docs/lifecycle.md; absent: false). */ highlyAvailable?: boolean }

/** Common parts: name, description, properties. */
export function commonFields(body: Body, where: string): { name: string; description: string; properties: Record<string, string> } {
  return {
    name: optString(body, 'name', 255, `${where}.name`) ?? '',
    description: optString(body, 'description', 4096, `${where}.description`, 'multiline') ?? '',
    properties: optStringMap(body, 'properties', `${where}.properties`) ?? {},
  };
}

function cpuArch(body: Body, label: string): string | undefined {
  const v = optString(body, 'cpuArch', 32, label);
  if (v !== undefined && !/^[a-z0-9_]+$/.test(v)) throw new ValidationError(`${label} must be lower-case letters, digits and _`, { field: label });
  return v;
}

function location(v: unknown, label: string): string {
  const s = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Body).href : v;
  if (typeof s !== 'string' || s.length === 0) throw new ValidationError(`${label} must be an absolute path or a URL`, { field: label });
  if (s.length > 2048) throw new ValidationError(`${label} is longer than 2048 characters`, { field: label });
  checkText(s, label);
  if (s.startsWith('/')) {
    if (s.split('/').includes('..')) throw new ValidationError(`${label} may not contain '..'`, { field: label });
    return s;
  }
  let u: URL;
  try { u = new URL(s); } catch { throw new ValidationError(`${label} must be an absolute path or a URL`, { field: label }); }
  if (!['http:', 'https:', 'file:', 'ftp:'].includes(u.protocol)) throw new ValidationError(`${label} must be an http(s), ftp or file URL`, { field: label });
  return s;
}

export function parseConfigBody(body: Body, where = 'MachineConfiguration'): { name: string; doc: ConfigDoc } {
  rejectUnknownFields(body, ['cpu', 'memory', 'cpuArch', 'disks'], where);
  const { name, description, properties } = commonFields(body, where);
  const cpu = reqInt(body, 'cpu', 1, 1024, `${where}.cpu`);
  const memory = reqInt(body, 'memory', 1024, 2 ** 34, `${where}.memory`);
  const disksRaw = body.disks ?? [];
  if (!Array.isArray(disksRaw)) throw new ValidationError(`${where}.disks must be an array`, { field: `${where}.disks` });
  if (disksRaw.length > 16) throw new ValidationError(`${where}.disks has more than 16 entries`, { field: `${where}.disks` });
  const disks = disksRaw.map((d: unknown, i) => {
    const label = `${where}.disks[${i}]`;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new ValidationError(`${label} must be an object`, { field: label });
    const disk = d as Body;
    for (const k of Object.keys(disk)) if (k !== 'capacity' && k !== 'format') throw new ValidationError(`unknown field '${k}' in ${label}`, { field: k });
    const format = optEnum(disk, 'format', DISK_FORMATS, `${label}.format`) ?? 'qcow2';
    return { capacity: reqInt(disk, 'capacity', 1, 2 ** 40, `${label}.capacity`), format };
  });
  return { name, doc: { description, properties, cpu, memory, cpuArch: cpuArch(body, `${where}.cpuArch`) ?? 'x86_64', disks } };
}

export function parseImageBody(body: Body, where = 'MachineImage'): { name: string; doc: ImageDoc } {
  rejectUnknownFields(body, ['imageLocation', 'format', 'initrd', 'kernelCmdline', 'cpuArch', 'state', 'type'], where);
  const { name, description, properties } = commonFields(body, where);
  if (body.imageLocation === undefined) throw new ValidationError(`${where}.imageLocation is required`, { field: `${where}.imageLocation` });
  const imageLocation = location(body.imageLocation, `${where}.imageLocation`);
  const format = optEnum(body, 'format', IMAGE_FORMATS, `${where}.format`) ?? 'qcow2';
  const initrd = body.initrd === undefined || body.initrd === null ? null : location(body.initrd, `${where}.initrd`);
  const kernelCmdline = optString(body, 'kernelCmdline', 1024, `${where}.kernelCmdline`) ?? null;
  if (format !== 'kernel' && (initrd !== null || kernelCmdline !== null)) {
    throw new ValidationError(`${where}: initrd and kernelCmdline are only for format 'kernel'`, { field: initrd !== null ? `${where}.initrd` : `${where}.kernelCmdline` });
  }
  optEnum(body, 'state', ['AVAILABLE'], `${where}.state`);
  optEnum(body, 'type', ['IMAGE'], `${where}.type`);
  return { name, doc: { description, properties, imageLocation, format, initrd, kernelCmdline, cpuArch: cpuArch(body, `${where}.cpuArch`) ?? 'x86_64' } };
}

/** A template's references are ids; the caller checks they exist. */
export function parseTemplateBody(body: Body, where = 'MachineTemplate'): { name: string; doc: TemplateDoc } {
  rejectUnknownFields(body, ['machineConfig', 'machineImage', 'initialState', 'userData', 'credential', 'highlyAvailable'], where);
  const { name, description, properties } = commonFields(body, where);
  const highlyAvailable = optBoolean(body, 'highlyAvailable', `${where}.highlyAvailable`) ?? false;
  const cfg = optObject(body, 'machineConfig', `${where}.machineConfig`);
  const img = optObject(body, 'machineImage', `${where}.machineImage`);
  if (!cfg) throw new ValidationError(`${where}.machineConfig is required`, { field: `${where}.machineConfig` });
  if (!img) throw new ValidationError(`${where}.machineImage is required`, { field: `${where}.machineImage` });
  // A stored template names a Credential by href only (the key stays in one place).
  const cred = optObject(body, 'credential', `${where}.credential`);
  return {
    name,
    doc: {
      description, properties,
      machineConfig: hrefId(cfg, 'machineConfigs', `${where}.machineConfig`),
      machineImage: hrefId(img, 'machineImages', `${where}.machineImage`),
      initialState: optEnum(body, 'initialState', INITIAL_STATES, `${where}.initialState`) ?? DEFAULT_INITIAL_STATE,
      userData: optBase64(body, 'userData', USER_DATA_MAX_BYTES, `${where}.userData`) ?? null,
      credential: cred ? hrefId(cred, 'credentials', `${where}.credential`) : null,
      highlyAvailable,
    },
  };
}

export const CATALOG_COLLECTIONS: Record<CatalogKind, CollectionName | null> = {
  machineConfig: 'machineConfigs', machineImage: 'machineImages', machineTemplate: 'machineTemplates', credential: 'credentials',
  volumeConfig: 'volumeConfigs', volumeTemplate: 'volumeTemplates',
};
export const CATALOG_TYPES: Record<string, string> = {
  machineConfig: 'MachineConfiguration', machineImage: 'MachineImage', machineTemplate: 'MachineTemplate', credential: 'Credential',
  volumeConfig: 'VolumeConfiguration', volumeTemplate: 'VolumeTemplate',
};

/** Who may delete an item: admins the published ones and their own tenant's; a tenant its own captured images. */
export function mayDelete(item: CatalogItem, who: Principal): boolean {
  if (item.kind === 'machineImage' && item.tenant !== null && item.tenant === who.tenant) return true;
  return isAdmin(who) && (item.tenant === null || item.tenant === who.tenant);
}

/**
 * The CIMI representation of a catalog item. `image`: a MachineImage's state (captured-image.ts;
 * absent: AVAILABLE, an admin-published image). `namedByTemplate`: a template names it, so it cannot
 * be deleted now (no delete operation is advertised).
 */
export function catalogView(item: CatalogItem, base: string, who: Principal, image?: ImageCondition, namedByTemplate = false): Record<string, unknown> {
  const coll = CATALOG_COLLECTIONS[item.kind]!;
  const id = memberUrl(base, coll, item.id);
  const b = item.body;
  const canDelete = mayDelete(item, who) && !namedByTemplate;
  const view: Record<string, unknown> = {
    resourceURI: resourceUri(CATALOG_TYPES[item.kind]), id, name: item.name, description: b.description ?? '',
    created: new Date(item.created).toISOString(), updated: new Date(item.updated).toISOString(), properties: b.properties ?? {},
  };
  if (item.kind === 'machineConfig') Object.assign(view, { cpu: b.cpu, memory: b.memory, cpuArch: b.cpuArch, disks: b.disks });
  if (item.kind === 'machineImage') {
    const location = item.status?.location ?? b.imageLocation;
    Object.assign(view, { state: image?.state ?? 'AVAILABLE', type: 'IMAGE', format: b.format, cpuArch: b.cpuArch });
    if (location) view.imageLocation = location;
    if (b.initrd) view.initrd = b.initrd;
    if (b.kernelCmdline) view.kernelCmdline = b.kernelCmdline;
    // Skybus extensions for captured images (docs/capture.md).
    const src = b.captured as { machine?: string } | undefined;
    if (src?.machine) view.capturedFrom = { href: memberUrl(base, 'machines', src.machine) };
    if (item.status?.disk) view.disk = item.status.disk;
    if (item.status?.virtualSizeKiB) view.diskCapacity = item.status.virtualSizeKiB;
    if (image?.error) view.statusMessage = image.error;
    if (item.tenant !== null) view.visibility = 'tenant';
  }
  if (item.kind === 'machineTemplate') {
    Object.assign(view, {
      machineConfig: { href: memberUrl(base, 'machineConfigs', b.machineConfig as string) },
      machineImage: { href: memberUrl(base, 'machineImages', b.machineImage as string) },
      initialState: b.initialState,
    });
    if (b.userData) view.userData = b.userData;
    if (b.credential) view.credential = { href: memberUrl(base, 'credentials', b.credential as string) };
  }
  view.operations = canDelete ? [{ rel: 'delete', href: id }] : [];
  return view;
}
