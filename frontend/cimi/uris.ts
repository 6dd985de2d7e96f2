/** CIMI schema URIs and the API's paths. */
export const CIMI_NS = 'http://schemas.dmtf.org/cimi/1';
export const CIMI_BASE = `${CIMI_NS}/`;
export const SKYBUS_NS = 'urn:skybus:cimi-extensions:1';

export function resourceUri(type: string): string {
  return CIMI_BASE + type;
}

export function actionUri(action: string): string {
  return `${CIMI_BASE}action/${action}`;
}

/** Collection segment under /api, the CIMI type of its members, and of the collection. */
export const COLLECTIONS = {
  machines: { member: 'Machine', collection: 'MachineCollection' },
  machineConfigs: { member: 'MachineConfiguration', collection: 'MachineConfigurationCollection' },
  machineImages: { member: 'MachineImage', collection: 'MachineImageCollection' },
  machineTemplates: { member: 'MachineTemplate', collection: 'MachineTemplateCollection' },
  /** A tenant's own SSH public keys (docs/guest-data.md). */
  credentials: { member: 'Credential', collection: 'CredentialCollection' },
  volumes: { member: 'Volume', collection: 'VolumeCollection' },
  volumeConfigs: { member: 'VolumeConfiguration', collection: 'VolumeConfigurationCollection' },
  volumeTemplates: { member: 'VolumeTemplate', collection: 'VolumeTemplateCollection' },
  jobs: { member: 'Job', collection: 'JobCollection' },
  events: { member: 'Event', collection: 'EventCollection' },
  /** Skybus extension: the caller's API keys (docs/identity.md). */
  apiKeys: { member: 'ApiKey', collection: 'ApiKeyCollection' },
  /** Skybus extension, admins only: the audit trail (docs/identity.md). */
  auditEvents: { member: 'AuditEvent', collection: 'AuditEventCollection' },
} as const;
export type CollectionName = keyof typeof COLLECTIONS;

export const API_PREFIX = '/api';

export function collectionUrl(base: string, c: CollectionName): string {
  return `${base}${API_PREFIX}/${c}`;
}

export function memberUrl(base: string, c: CollectionName, id: string): string {
  return `${base}${API_PREFIX}/${c}/${id}`;
}
