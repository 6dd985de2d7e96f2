/**
 * What a client sees of a volume and of a machine's volume attachment (docs/volumes.md): the CIMI
 * Volume state computed from spec + status, and the Volume and MachineVolume representations.
 */
import type { MachineVolumeRef, Volume, VolumeState } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { memberUrl, resourceUri } from './cimi/uris.js';

/** The CIMI Volume state: DELETING, ERROR, CREATING (no file yet on its host), AVAILABLE. */
export function volumeState(v: Volume): VolumeState {
  if (v.desiredState === 'DELETED') return 'DELETING';
  // Not on a host yet: nothing to make until its first attach picks the host.
  if (!v.hostId) return 'AVAILABLE';
  const s = v.status;
  if (!s || s.hostId !== v.hostId) return 'CREATING';
  if (s.error && s.observedGeneration >= v.generation) return 'ERROR';
  // A file once made stays AVAILABLE while an attach or detach is applied.
  return s.path ? 'AVAILABLE' : 'CREATING';
}

/** Whether the agent has applied the volume's current spec (its attachment included). */
export function volumeConverged(v: Volume): boolean {
  if (!v.hostId) return true;
  return v.status !== null && v.status.observedGeneration >= v.generation && !v.status.error;
}

export function volumeStatusMessage(v: Volume): string | null {
  if (v.status?.error) return v.status.error;
  if (!v.hostId && v.desiredState !== 'DELETED') return 'not on a host yet: the file is made on the host of the first machine it is attached to';
  return null;
}

export function machineVolumeUrl(base: string, machineId: string, id: string): string {
  return `${memberUrl(base, 'machines', machineId)}/volumes/${id}`;
}

export function volumeView(v: Volume, base: string, who: Principal): Record<string, unknown> {
  const id = memberUrl(base, 'volumes', v.id);
  const state = volumeState(v);
  const view: Record<string, unknown> = {
    resourceURI: resourceUri('Volume'),
    id,
    name: v.name,
    description: v.description,
    created: new Date(v.created).toISOString(),
    updated: new Date(v.updated).toISOString(),
    properties: v.properties,
    state,
    capacity: v.spec.capacityKiB,
    bootable: false,
    // Skybus extensions
    format: v.spec.format,
    generation: v.generation,
    observedGeneration: v.status?.observedGeneration ?? 0,
  };
  if (v.spec.configId) view.volumeConfig = { href: memberUrl(base, 'volumeConfigs', v.spec.configId) };
  if (v.spec.templateId) view.volumeTemplate = { href: memberUrl(base, 'volumeTemplates', v.spec.templateId) };
  if (v.attachment) {
    view.attachedTo = { href: memberUrl(base, 'machines', v.attachment.machineId) };
    view.machineVolume = { href: machineVolumeUrl(base, v.attachment.machineId, v.attachment.id) };
  }
  const msg = volumeStatusMessage(v);
  if (msg) view.statusMessage = msg;
  if (isAdmin(who) && v.hostId) view.hostId = v.hostId;
  view.operations = state === 'DELETING' || v.attachment ? [] : [{ rel: 'delete', href: id }];
  return view;
}

/**
 * A MachineVolume. `state` is a Skybus extension: ATTACHING until the agent has put the volume into
 * the machine's domain definition (the guest sees it from its next boot, docs/volumes.md), then
 * ATTACHED; ERROR when the agent reports one.
 */
export function machineVolumeView(ref: MachineVolumeRef, v: Volume, base: string): Record<string, unknown> {
  const id = machineVolumeUrl(base, ref.machineId, ref.id);
  const state = v.status?.error && v.status.observedGeneration >= v.generation ? 'ERROR' : volumeConverged(v) ? 'ATTACHED' : 'ATTACHING';
  return {
    resourceURI: resourceUri('MachineVolume'),
    id,
    name: v.name,
    created: new Date(ref.created).toISOString(),
    initialLocation: ref.device,
    volume: { href: memberUrl(base, 'volumes', v.id) },
    state,
    operations: [{ rel: 'delete', href: id }],
  };
}
