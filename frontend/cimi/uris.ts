/** CIMI schema URIs and the API's paths. */
export const CIMI_NS = 'http://schemas.dmtf.org/cimi/1';
export const CIMI_BASE = `${CIMI_NS}/`;
export const SKYBUS_NS = 'urn:skybus:cimi-extensions:1';

export function resourceUri(type: string): string {
  return CIMI_BASE + type;
}

/** A Skybus extension type's resourceURI (types DSP0263 does not define: ApiKey, Quota, AuditEvent). */
export function skybusUri(type: string): string {
  return `${SKYBUS_NS}/${type}`;
}

export function actionUri(action: string): string {
  return `${CIMI_BASE}action/${action}`;
}

/**
 * Collection segment under /api (the CloudEntryPoint's link name), the CIMI type of its members, of
 * the collection, and the name of the collection's member array. DSP0263 names the member array
 * after the member *type* (plural, lower camel case), not after the entry point's link: the
 * MachineConfigurationCollection linked as `machineConfigs` holds `machineConfigurations`.
 * Skybus-only collections follow the same rule in Skybus's namespace.
 */
export const COLLECTIONS = {
  machines: { member: 'Machine', collection: 'MachineCollection', members: 'machines' },
  machineConfigs: { member: 'MachineConfiguration', collection: 'MachineConfigurationCollection', members: 'machineConfigurations' },
  machineImages: { member: 'MachineImage', collection: 'MachineImageCollection', members: 'machineImages' },
  machineTemplates: { member: 'MachineTemplate', collection: 'MachineTemplateCollection', members: 'machineTemplates' },
  /** A tenant's own SSH public keys (docs/guest-data.md). */
  credentials: { member: 'Credential', collection: 'CredentialCollection', members: 'credentials' },
  /** Operator-defined networks (docs/networks.md). */
  networks: { member: 'Network', collection: 'NetworkCollection', members: 'networks' },
  volumes: { member: 'Volume', collection: 'VolumeCollection', members: 'volumes' },
  volumeConfigs: { member: 'VolumeConfiguration', collection: 'VolumeConfigurationCollection', members: 'volumeConfigurations' },
  volumeTemplates: { member: 'VolumeTemplate', collection: 'VolumeTemplateCollection', members: 'volumeTemplates' },
  jobs: { member: 'Job', collection: 'JobCollection', members: 'jobs' },
  events: { member: 'Event', collection: 'EventCollection', members: 'events' },
  /** DSP0263 ResourceMetadata: what Skybus serves per resource type (routes/resource-metadata.ts). */
  resourceMetadata: { member: 'ResourceMetadata', collection: 'ResourceMetadataCollection', members: 'resourceMetadata' },
  /** Skybus extension: the caller's API keys (docs/identity.md). */
  apiKeys: { member: 'ApiKey', collection: 'ApiKeyCollection', members: 'apiKeys' },
  /** Skybus extension, admins only: the audit trail (docs/identity.md). */
  auditEvents: { member: 'AuditEvent', collection: 'AuditEventCollection', members: 'auditEvents' },
  /** Skybus extension, admins only: hosts and their health (docs/lifecycle.md, host loss). */
  hosts: { member: 'Host', collection: 'HostCollection', members: 'hosts' },
} as const;
export type CollectionName = keyof typeof COLLECTIONS;

export const API_PREFIX = '/api';

export function collectionUrl(base: string, c: CollectionName): string {
  return `${base}${API_PREFIX}/${c}`;
}

export function memberUrl(base: string, c: CollectionName, id: string): string {
  return `${base}${API_PREFIX}/${c}/${id}`;
}
