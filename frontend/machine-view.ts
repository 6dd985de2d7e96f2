/**
 * What a client sees of a machine: its CIMI state computed from spec + status (docs/lifecycle.md),
 * the operations that state offers, the actions the desired state allows, and the representation.
 */
import type { DesiredState, Machine, MachineState } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { actionUri, collectionUrl, memberUrl, resourceUri } from './cimi/uris.js';
import { subCollectionRefs } from './machine-sub-collections.js';

export const MACHINE_ACTIONS = ['start', 'stop', 'restart', 'pause', 'suspend'] as const;
export type MachineAction = (typeof MACHINE_ACTIONS)[number];

const TRANSITIONAL: Record<Exclude<DesiredState, 'DELETED'>, MachineState> = {
  STARTED: 'STARTING', STOPPED: 'STOPPING', PAUSED: 'PAUSING', SUSPENDED: 'SUSPENDING',
};

/** The CIMI state (docs/lifecycle.md, "The state a client sees"). */
export function displayState(m: Machine): MachineState {
  if (m.desiredState === 'DELETED') return 'DELETING';
  if (!m.hostId) return placementDeadlineError(m) ? 'ERROR' : 'CREATING';
  const s = m.status;
  if (s.error && s.observedGeneration === m.generation) return 'ERROR';
  if (capturePending(m)) return 'CAPTURING';
  if (s.observedGeneration < m.generation || !s.converged) return TRANSITIONAL[m.desiredState];
  return s.state;
}

/** A capture was asked (spec.capture) and the agent has not finished it yet (docs/capture.md). */
export function capturePending(m: Machine): boolean {
  return !!m.spec.capture && m.spec.capture.imageId !== (m.status.lastCapture ?? null);
}

/** The machine has a disk a capture can copy: a disk image's root, or a kernel machine's first data disk. */
export function hasCapturableDisk(m: Machine): boolean {
  return m.spec.image !== null && (m.spec.image.format !== 'kernel' || m.spec.disks.length > 0);
}

/** Which desired states allow each action, and what it changes to (docs/lifecycle.md). */
export const ACTION_RULES: Record<MachineAction | 'delete', { from: readonly DesiredState[]; to: DesiredState | null }> = {
  start: { from: ['STOPPED', 'PAUSED', 'SUSPENDED'], to: 'STARTED' },
  stop: { from: ['STARTED', 'PAUSED', 'SUSPENDED'], to: 'STOPPED' },
  pause: { from: ['STARTED'], to: 'PAUSED' },
  suspend: { from: ['STARTED', 'PAUSED'], to: 'SUSPENDED' },
  restart: { from: ['STARTED'], to: null },
  delete: { from: ['STARTED', 'STOPPED', 'PAUSED', 'SUSPENDED'], to: 'DELETED' },
};

export function actionAllowed(m: Machine, action: MachineAction | 'delete'): boolean {
  return ACTION_RULES[action].from.includes(m.desiredState);
}

/**
 * Operations advertised: exactly what the action routes would accept now (ACTION_RULES on the desired
 * state, the same check applyAction makes; capture as captureRefusal in machine-capture.ts: a STARTED
 * or STOPPED machine with a disk to copy), so a client never follows an operation into a 409 and
 * never lacks one that would work. `edit` is accepted until the machine is being deleted.
 */
export function operationsFor(state: MachineState, m: Machine): (MachineAction | 'capture' | 'delete' | 'edit')[] {
  const ops: (MachineAction | 'capture' | 'delete' | 'edit')[] = MACHINE_ACTIONS.filter((a) => actionAllowed(m, a));
  if ((state === 'STARTED' || state === 'STOPPED') && hasCapturableDisk(m)) ops.push('capture');
  if (actionAllowed(m, 'delete')) ops.push('delete');
  if (m.desiredState !== 'DELETED') ops.push('edit');
  return ops;
}

/** Placement's reason for an unplaced machine past its deadline, in the tenant's terms (null: none). */
export function placementDeadlineError(m: Machine): string | null {
  if (m.hostId || m.desiredState === 'DELETED') return null;
  return m.placement?.deadlineError ?? null;
}

/** What a tenant is told about an unplaced machine: placement's summary (older rows: a generic line). */
export function tenantPlacementSummary(m: Machine): string | null {
  if (m.hostId || !m.placement) return null;
  if (m.placement.summary !== undefined) return m.placement.summary;
  return m.placement.reason ? 'waiting for capacity' : null;
}

/** What the host's health adds to the view (machine-host-effect.ts; apply it to the machine first). */
export interface HostNote {
  hostHealth: string | null;
  note: string | null;
  /** The machine's entry in its host's latest monitoring sample (latest-sample-view.ts); absent: none. */
  latestSample?: Record<string, unknown> | null;
}

export function machineView(m: Machine, base: string, who: Principal, host: HostNote = { hostHealth: null, note: null }): Record<string, unknown> {
  const id = memberUrl(base, 'machines', m.id);
  const state = displayState(m);
  const operations = operationsFor(state, m).map((op) => (op === 'delete' || op === 'edit'
    ? { rel: op, href: id }
    // CIMI: capture's href is the MachineImage collection (POST a MachineImage naming this machine).
    : { rel: actionUri(op), href: op === 'capture' ? collectionUrl(base, 'machineImages') : `${id}/${op}` }));
  const view: Record<string, unknown> = {
    resourceURI: resourceUri('Machine'),
    id,
    name: m.name,
    description: m.description,
    created: new Date(m.created).toISOString(),
    updated: new Date(m.updated).toISOString(),
    properties: m.properties,
    state,
    cpu: m.spec.cpu,
    memory: m.spec.memoryKiB,
    cpuArch: m.spec.cpuArch,
    // DSP0263 sub-collections, by reference (machine-sub-collections.ts; $expand inlines them).
    ...subCollectionRefs(base, m.id),
    eventLog: { href: `${id}/eventLog` },
    // Skybus extensions
    desiredState: m.desiredState,
    generation: m.generation,
    observedGeneration: m.status.observedGeneration,
    requirements: m.spec.requirements,
    highlyAvailable: m.spec.highlyAvailable === true,
  };
  if (host.hostHealth) view.hostHealth = host.hostHealth;
  if (host.latestSample) view.latestSample = host.latestSample;
  view.metrics = { href: `${id}/metrics` };
  if (m.spec.affinity) view.affinity = { ...m.spec.affinity };
  if (m.spec.image) view.imageLocation = m.spec.image.location;
  const error = m.status.error ?? placementDeadlineError(m);
  if (error) view.error = error;
  // Operators see how many hosts each filter removed; tenants only what their machine waits for.
  const reason = m.hostId ? null : (isAdmin(who) ? m.placement?.reason : tenantPlacementSummary(m)) ?? null;
  if (reason) view.placementReason = reason;
  const statusMessage = error ?? host.note ?? reason;
  if (statusMessage) view.statusMessage = statusMessage;
  if (isAdmin(who) && m.hostId) view.hostId = m.hostId;
  view.operations = operations;
  return view;
}
