/**
 * DSP0263 ResourceMetadata: per resource type Skybus serves, its typeUri, the extension attributes
 * Skybus adds (name, namespace, type, required), the capabilities it can truthfully state, and the
 * actions that exist for the type. Built from the code's own tables (COLLECTIONS, the machine
 * sub-collections, MACHINE_ACTIONS, INITIAL_STATES); the extension attribute lists are checked
 * against the representations by test/unit/frontend/cimi-conformance.test.ts, so they cannot drift.
 */
import { isAdmin, type Principal } from './auth/authenticator.js';
import { DEFAULT_INITIAL_STATE, INITIAL_STATES } from './catalog-bodies.js';
import { actionUri, API_PREFIX, CIMI_BASE, COLLECTIONS, resourceUri, SKYBUS_NS, skybusUri } from './cimi/uris.js';
import { MACHINE_SUB_COLLECTIONS } from './machine-sub-collections.js';
import { MACHINE_ACTIONS } from './machine-view.js';

/** CIMI attribute types (DSP0263 "Data types"). */
export type AttributeType = 'string' | 'integer' | 'boolean' | 'dateTime' | 'map' | 'ref' | 'array' | 'structure';

export interface ExtensionAttribute { name: string; type: AttributeType; required: boolean; /** shown to admins only */ adminOnly?: boolean }

interface TypeEntry {
  type: string;
  /** Skybus-defined types live in Skybus's namespace (their typeUri too). */
  skybus?: boolean;
  attributes: readonly ExtensionAttribute[];
  capabilities?: readonly { name: string; uri: string; description: string; value: string }[];
  /** action names (their URIs are actionUri(name)), POSTed to the resource's operation href */
  actions?: readonly string[];
}

const a = (name: string, type: AttributeType, required = false, adminOnly = false): ExtensionAttribute => ({ name, type, required, ...(adminOnly ? { adminOnly } : {}) });

/** The attributes Skybus adds to each CIMI type's representation, beyond what DSP0263 defines. */
export const EXTENSION_ATTRIBUTES: Readonly<Record<string, readonly ExtensionAttribute[]>> = {
  Machine: [
    a('desiredState', 'string', true), a('generation', 'integer', true), a('observedGeneration', 'integer', true),
    a('requirements', 'map', true), a('imageLocation', 'string'), a('error', 'string'), a('placementReason', 'string'),
    a('statusMessage', 'string'), a('hostId', 'string', false, true), a('highlyAvailable', 'boolean', true), a('hostHealth', 'string'), a('affinity', 'structure'),
    a('latestSample', 'structure'), a('metrics', 'ref'),
  ],
  MachineDisk: [a('format', 'string', true)],
  MachineVolume: [],
  MachineNetworkInterface: [],
  MachineConfiguration: [],
  MachineImage: [a('format', 'string', true), a('cpuArch', 'string', true), a('initrd', 'string'), a('kernelCmdline', 'string')],
  MachineTemplate: [a('highlyAvailable', 'boolean')],
  Credential: [a('publicKey', 'string', true)],
  Job: [a('targetGeneration', 'integer', true), a('expectedState', 'string', true)],
  Event: [a('resource', 'string', true)],
  EventLog: [a('retentionDays', 'integer', true)],
  // Skybus's own types: every attribute beyond the common ones is Skybus's.
  Quota: [a('tenant', 'string', true), a('limits', 'structure', true), a('usage', 'structure', true), a('volumeLimits', 'structure', true), a('volumeUsage', 'structure', true)],
  AuditEvent: [
    a('timestamp', 'dateTime', true), a('actor', 'string', true), a('tenant', 'string'), a('action', 'string', true), a('resource', 'string'),
    a('outcome', 'string', true), a('status', 'integer', true), a('address', 'string'), a('requestId', 'string'),
  ],
  Host: [
    a('state', 'string', true), a('health', 'string', true), a('arch', 'string', true), a('libvirtUri', 'string', true), a('labels', 'map', true),
    a('cpu', 'integer', true), a('memory', 'integer', true), a('usedCpu', 'integer', true), a('usedMemory', 'integer', true), a('machines', 'integer', true),
    a('generation', 'integer', true), a('lastSeen', 'dateTime'), a('fenceAfterMs', 'integer'), a('fencedAt', 'dateTime'), a('haRestartAt', 'dateTime'),
    a('leaseHolder', 'string'), a('lastHeartbeat', 'dateTime'), a('agentVersion', 'string'), a('latestSample', 'structure'), a('metrics', 'ref'),
    a('allocations', 'array'), // one host's view only: the machines placed on it
  ],
  // docs/monitoring-api.md: a time range of samples (or hourly rollups) of one machine or host.
  MachineMetrics: [a('machine', 'ref', true), a('from', 'dateTime', true), a('to', 'dateTime', true), a('resolution', 'string', true), a('count', 'integer', true), a('samples', 'array', true), a('next', 'ref')],
  HostMetrics: [a('host', 'ref', true), a('from', 'dateTime', true), a('to', 'dateTime', true), a('resolution', 'string', true), a('count', 'integer', true), a('samples', 'array', true), a('next', 'ref')],
  ApiKey: [a('state', 'string', true), a('prefix', 'string', true), a('expires', 'dateTime'), a('revoked', 'dateTime'), a('secret', 'string')],
};

function capability(type: string, name: string, description: string, value: string): { name: string; uri: string; description: string; value: string } {
  return { name, uri: `${CIMI_BASE}capability/${type}/${name}`, description, value };
}

const SKYBUS_TYPES = new Set(['ApiKey', 'AuditEvent', 'Quota', 'Host', 'MachineMetrics', 'HostMetrics']);

/** Every type Skybus serves: the members of its collections, the machine sub-collections' members, EventLog, Quota, the metrics ranges. */
function servedTypes(): TypeEntry[] {
  const names = [
    ...Object.values(COLLECTIONS).map((c) => c.member as string).filter((t) => t !== 'ResourceMetadata'),
    ...MACHINE_SUB_COLLECTIONS.map((s) => s.memberType),
    'EventLog', 'Quota', 'MachineMetrics', 'HostMetrics',
  ];
  return names.map((type) => ({
    type,
    skybus: SKYBUS_TYPES.has(type),
    attributes: EXTENSION_ATTRIBUTES[type] ?? [],
    ...(type === 'Machine' ? {
      capabilities: [
        capability('Machine', 'DefaultInitialState', 'the state a new Machine reaches when the create names none', DEFAULT_INITIAL_STATE),
        capability('Machine', 'InitialStates', 'the states a create may ask a new Machine to reach', INITIAL_STATES.join(',')),
      ],
      actions: MACHINE_ACTIONS,
    } : {}),
    ...(type === 'Job' ? { actions: ['stop'] } : {}),
  }));
}

export function resourceMetadataUrl(base: string, type: string): string {
  return `${base}${API_PREFIX}/resourceMetadata/${type}`;
}

function view(e: TypeEntry, base: string, who: Principal): Record<string, unknown> {
  return {
    resourceURI: resourceUri('ResourceMetadata'),
    id: resourceMetadataUrl(base, e.type),
    name: e.type,
    description: `what Skybus serves of ${e.type}`,
    typeUri: e.skybus ? skybusUri(e.type) : resourceUri(e.type),
    attributes: e.attributes.filter((x) => !x.adminOnly || isAdmin(who)).map((x) => ({ name: x.name, namespace: SKYBUS_NS, type: x.type, required: x.required })),
    capabilities: e.capabilities ?? [],
    actions: (e.actions ?? []).map((name) => ({ name, uri: actionUri(name), method: 'POST', inputMessage: 'application/json', outputMessage: 'application/json' })),
    operations: [],
  };
}

export function resourceMetadataViews(base: string, who: Principal): Record<string, unknown>[] {
  return servedTypes().map((e) => view(e, base, who));
}
