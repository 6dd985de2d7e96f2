/**
 * VolumeConfiguration, VolumeTemplate, VolumeCreate and MachineVolume bodies (docs/volumes.md):
 * validated from requests into what store.catalog / store.volumes keep, and the catalog items'
 * CIMI representations. Everything is checked here, before anything is written.
 */
import { ValidationError } from '../errors/registry.js';
import type { CatalogItem } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { hrefId, optEnum, optObject, optString, rejectUnknownFields, reqInt, type Body } from './body-fields.js';
import { commonFields, DISK_FORMATS } from './catalog-bodies.js';
import { memberUrl, resourceUri } from './cimi/uris.js';

/** Smallest and largest volume an administrator may publish (KiB): 1 MiB .. 16 TiB. */
export const VOLUME_MIN_KIB = 1024;
export const VOLUME_MAX_KIB = 2 ** 34;

export type VolumeFormat = (typeof DISK_FORMATS)[number];
export interface VolumeConfigDoc { description: string; properties: Record<string, string>; capacity: number; format: VolumeFormat }
export interface VolumeTemplateDoc { description: string; properties: Record<string, string>; volumeConfig: string }

export function parseVolumeConfigBody(body: Body, where = 'VolumeConfiguration'): { name: string; doc: VolumeConfigDoc } {
  rejectUnknownFields(body, ['capacity', 'format', 'type'], where);
  const { name, description, properties } = commonFields(body, where);
  const capacity = reqInt(body, 'capacity', VOLUME_MIN_KIB, VOLUME_MAX_KIB, `${where}.capacity`);
  const format = optEnum(body, 'format', DISK_FORMATS, `${where}.format`) ?? 'qcow2';
  // CIMI's `type` is a URI naming the kind of storage; Skybus has one kind (a file on the host).
  optString(body, 'type', 512, `${where}.type`);
  return { name, doc: { description, properties, capacity, format } };
}

/** A stored template names its configuration by href only; the caller checks it exists. VolumeImages are not served. */
export function parseVolumeTemplateBody(body: Body, where = 'VolumeTemplate'): { name: string; doc: VolumeTemplateDoc } {
  rejectUnknownFields(body, ['volumeConfig', 'volumeImage'], where);
  const { name, description, properties } = commonFields(body, where);
  if (body.volumeImage !== undefined) throw new ValidationError(`${where}.volumeImage: this cloud serves no VolumeImages (volumes start empty)`, { field: `${where}.volumeImage` });
  const cfg = optObject(body, 'volumeConfig', `${where}.volumeConfig`);
  if (!cfg) throw new ValidationError(`${where}.volumeConfig is required`, { field: `${where}.volumeConfig` });
  return { name, doc: { description, properties, volumeConfig: hrefId(cfg, 'volumeConfigs', `${where}.volumeConfig`) } };
}

/** What a VolumeCreate names before any lookup: a template by href, or a configuration by href or inline. */
export interface VolumeCreateBody {
  name: string;
  description: string;
  properties: Record<string, string>;
  templateId: string | null;
  configId: string | null;
  inlineConfig: VolumeConfigDoc | null;
}

export function parseVolumeCreate(body: Body): VolumeCreateBody {
  const where = 'VolumeCreate';
  rejectUnknownFields(body, ['volumeTemplate'], where);
  const { name, description, properties } = commonFields(body, where);
  const tpl = optObject(body, 'volumeTemplate', `${where}.volumeTemplate`);
  if (!tpl) throw new ValidationError(`${where}.volumeTemplate is required`, { field: `${where}.volumeTemplate` });
  const label = `${where}.volumeTemplate`;
  if (tpl.href !== undefined) {
    rejectUnknownFields(tpl, ['href'], label);
    return { name, description, properties, templateId: hrefId(tpl, 'volumeTemplates', label), configId: null, inlineConfig: null };
  }
  rejectUnknownFields(tpl, ['volumeConfig', 'volumeImage'], label);
  if (tpl.volumeImage !== undefined) throw new ValidationError(`${label}.volumeImage: this cloud serves no VolumeImages (volumes start empty)`, { field: `${label}.volumeImage` });
  const cfg = optObject(tpl, 'volumeConfig', `${label}.volumeConfig`);
  if (!cfg) throw new ValidationError(`${label} needs an href or a volumeConfig`, { field: label });
  if (cfg.href !== undefined) {
    rejectUnknownFields(cfg, ['href'], `${label}.volumeConfig`);
    return { name, description, properties, templateId: null, configId: hrefId(cfg, 'volumeConfigs', `${label}.volumeConfig`), inlineConfig: null };
  }
  return { name, description, properties, templateId: null, configId: null, inlineConfig: parseVolumeConfigBody(cfg, `${label}.volumeConfig`).doc };
}

/** Guest device names a volume may take: vdb .. vdz (vda is a machine's root disk). */
export const VOLUME_DEVICE = /^vd[b-z]$/;

/** A MachineVolume body: {volume: {href}, initialLocation?}. */
export function parseMachineVolume(body: Body): { volumeId: string; device: string | null } {
  const where = 'MachineVolume';
  rejectUnknownFields(body, ['volume', 'initialLocation'], where);
  const ref = optObject(body, 'volume', `${where}.volume`);
  if (!ref) throw new ValidationError(`${where}.volume is required ({href} of a Volume)`, { field: `${where}.volume` });
  rejectUnknownFields(ref, ['href'], `${where}.volume`);
  const volumeId = hrefId(ref, 'volumes', `${where}.volume`);
  const loc = optString(body, 'initialLocation', 16, `${where}.initialLocation`);
  if (loc !== undefined && !VOLUME_DEVICE.test(loc)) throw new ValidationError(`${where}.initialLocation must be a virtio device name vdb .. vdz`, { field: `${where}.initialLocation` });
  return { volumeId, device: loc ?? null };
}

const TYPES = { volumeConfig: 'VolumeConfiguration', volumeTemplate: 'VolumeTemplate' } as const;
const COLLS = { volumeConfig: 'volumeConfigs', volumeTemplate: 'volumeTemplates' } as const;

/** The CIMI representation of a VolumeConfiguration or VolumeTemplate. */
export function volumeCatalogView(item: CatalogItem, base: string, who: Principal): Record<string, unknown> {
  const kind = item.kind as 'volumeConfig' | 'volumeTemplate';
  const id = memberUrl(base, COLLS[kind], item.id);
  const b = item.body;
  const view: Record<string, unknown> = {
    resourceURI: resourceUri(TYPES[kind]), id, name: item.name, description: b.description ?? '',
    created: new Date(item.created).toISOString(), updated: new Date(item.updated).toISOString(), properties: b.properties ?? {},
  };
  if (kind === 'volumeConfig') Object.assign(view, { format: b.format, capacity: b.capacity });
  else view.volumeConfig = { href: memberUrl(base, 'volumeConfigs', b.volumeConfig as string) };
  const canDelete = isAdmin(who) && (item.tenant === null || item.tenant === who.tenant);
  view.operations = canDelete ? [{ rel: 'delete', href: id }] : [];
  return view;
}
