/**
 * A Machine's sub-collections (DSP0263): `disks` (MachineDiskCollection), `volumes`
 * (MachineVolumeCollection), `networkInterfaces` (MachineNetworkInterfaceCollection). The Machine
 * links each as {href: .../machines/<id>/<attribute>}; routes/machine-sub-collections.ts serves the
 * collection and each member at its id, and `$expand` on the Machine inlines them.
 *
 * The table is the one place a sub-collection is declared: a feature that gives machines volumes or
 * network interfaces replaces its entry's `members` (and may add `canAdd`); the links, GET routes,
 * $expand, ResourceMetadata and the conformance walk follow from the table.
 */
import type { Request } from 'express';
import type { BusStore } from '../schema/bus-store.js';
import type { Machine } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import { expandedSubCollection, expands } from './cimi/sub-collection.js';
import { memberUrl, resourceUri } from './cimi/uris.js';
import { machineNicView } from './machine-nic-view.js';
import { machineVolumeView } from './volume-view.js';
import type { FrontendConfig } from './config.js';

export interface SubCollectionContext { store: BusStore; machine: Machine; base: string; who: Principal }

export interface MachineSubCollection {
  /** The Machine attribute, also the path segment under /machines/:id. */
  attribute: 'disks' | 'volumes' | 'networkInterfaces';
  /** The collection's CIMI type. */
  type: string;
  /** Its members' CIMI type. */
  memberType: string;
  /** The member array's name (DSP0263). */
  member: string;
  /** The members' representations, in order; each has an id under the collection's href. */
  members(ctx: SubCollectionContext): Promise<Record<string, unknown>[]>;
  /**
   * Whether the caller may add a member now (the collection then advertises `add` at its own href).
   * Only a feature that also serves POST on the collection sets it (route-roles.ts and
   * routes/machine-sub-collections.ts then declare and mount that POST).
   */
  canAdd?(ctx: SubCollectionContext): boolean;
  /** Served by its feature's own routes (which also take POST and DELETE), not the generic GET routes. */
  ownRoutes?: boolean;
}

export function subCollectionUrl(base: string, machineId: string, attribute: string): string {
  return `${memberUrl(base, 'machines', machineId)}/${attribute}`;
}

/**
 * A machine's disks: the configuration's extra disks, in the order the agent attaches them (the
 * image's boot disk is vda, these vdb, vdc, ...: hypervisor-agent/domain-xml.ts). A disk's id is its
 * position. Skybus adds `format` (qcow2 or raw). No operations: disks are fixed at create.
 */
export function machineDiskViews(m: Machine, base: string): Record<string, unknown>[] {
  const coll = subCollectionUrl(base, m.id, 'disks');
  return m.spec.disks.map((d, i) => {
    const target = `vd${String.fromCharCode('b'.charCodeAt(0) + i)}`;
    return {
      resourceURI: resourceUri('MachineDisk'),
      id: `${coll}/${i}`,
      name: target,
      description: `disk ${i + 1} of machine ${m.name}`,
      created: new Date(m.created).toISOString(),
      updated: new Date(m.updated).toISOString(),
      properties: {},
      capacity: d.capacityKiB,
      initialLocation: target,
      format: d.format, // Skybus extension
      operations: [],
    };
  });
}

export const MACHINE_SUB_COLLECTIONS: readonly MachineSubCollection[] = [
  {
    attribute: 'disks', type: 'MachineDiskCollection', memberType: 'MachineDisk', member: 'disks',
    members: async ({ machine, base }) => machineDiskViews(machine, base),
  },
  {
    // Attached volumes (docs/volumes.md). Its routes (GET, attach, detach) are routes/machine-volumes.ts.
    attribute: 'volumes', type: 'MachineVolumeCollection', memberType: 'MachineVolume', member: 'machineVolumes', ownRoutes: true,
    members: async ({ store, machine, base }) => (await store.volumes.machineVolumes(machine.id)).map((x) => machineVolumeView(x.ref, x.volume, base)),
    canAdd: () => true,
  },
  {
    // The interfaces asked at create, joined with what the agent saw (machine-nic-view.ts, docs/networks.md).
    attribute: 'networkInterfaces', type: 'MachineNetworkInterfaceCollection', memberType: 'MachineNetworkInterface', member: 'networkInterfaces',
    members: async ({ machine, base }) => (machine.spec.networkInterfaces ?? []).map((_, i) => machineNicView(machine, i, base)),
  },
];

/** The Machine's links to its sub-collections: {disks: {href}, volumes: {href}, networkInterfaces: {href}}. */
export function subCollectionRefs(base: string, machineId: string): Record<string, { href: string }> {
  return Object.fromEntries(MACHINE_SUB_COLLECTIONS.map((s) => [s.attribute, { href: subCollectionUrl(base, machineId, s.attribute) }]));
}

/** The sub-collection as a body (inlined, first window). */
export async function inlineSubCollection(s: MachineSubCollection, config: FrontendConfig, ctx: SubCollectionContext): Promise<Record<string, unknown>> {
  const id = subCollectionUrl(ctx.base, ctx.machine.id, s.attribute);
  return expandedSubCollection(config, { type: s.type, id, member: s.member, members: await s.members(ctx), addHref: s.canAdd?.(ctx) ? id : null });
}

/** Replaces the links $expand names (a comma list, or *) in a Machine view by the collections themselves. */
export async function expandMachineView(req: Request, config: FrontendConfig, view: Record<string, unknown>, ctx: SubCollectionContext): Promise<Record<string, unknown>> {
  for (const s of MACHINE_SUB_COLLECTIONS) {
    if (expands(req, s.attribute) && view[s.attribute] !== undefined) view[s.attribute] = await inlineSubCollection(s, config, ctx);
  }
  return view;
}
