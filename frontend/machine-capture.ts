/**
 * The `capture` operation (docs/capture.md): a STARTED or STOPPED machine's disk becomes a new
 * MachineImage, private to the capturing tenant. The frontend only writes the request: a catalog
 * row for the image (state CREATING), spec.capture on the machine (generation + 1, mirrored to its
 * host) and a Job targeting the image. The agent of the machine's host copies the disk and writes
 * the image's status; the Job and the image follow it (job-settlement.ts, captured-image.ts).
 */
import { InvalidStateError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import type { CatalogItem, Job, Machine, MachineSpec } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import type { CaptureSource } from './captured-image.js';
import { displayState, hasCapturableDisk } from './machine-view.js';

export interface CaptureFields { name: string; description: string; properties: Record<string, string> }

/** The states a capture may start from (the operation is advertised exactly there). */
export const CAPTURABLE = ['STARTED', 'STOPPED'] as const;

/** What the machine's disk is, for the image document; null: nothing to capture. */
function imageDocFor(m: Machine): Record<string, unknown> | null {
  if (!hasCapturableDisk(m)) return null;
  const img = m.spec.image;
  const source: CaptureSource = { machine: m.id, machineName: m.name };
  if (img && img.format === 'kernel') {
    // Direct kernel boot: the root file system is in the initrd; the disk worth keeping is the first data disk.
    return { format: 'kernel', imageLocation: img.location, initrd: img.initrd, kernelCmdline: img.cmdline, cpuArch: img.cpuArch, captured: source };
  }
  if (!img) return null;
  return { format: 'qcow2', imageLocation: null, initrd: null, kernelCmdline: null, cpuArch: img.cpuArch, captured: source };
}

/** Why the machine cannot be captured now (null: it can). Pure. */
export function captureRefusal(m: Machine): string | null {
  const shown = displayState(m);
  if (!(CAPTURABLE as readonly string[]).includes(shown)) return `it is ${shown}; capture needs a STARTED or STOPPED machine`;
  if (!hasCapturableDisk(m)) return 'it has no disk to capture (it boots a kernel image and has no data disk)';
  return null;
}

export async function captureMachine(store: BusStore, who: Principal, m: Machine, f: CaptureFields, now = Date.now()): Promise<{ image: CatalogItem; job: Job; machine: Machine }> {
  const refusal = captureRefusal(m);
  if (refusal) throw new InvalidStateError(`cannot capture machine ${m.id}: ${refusal}`, { state: displayState(m) });
  const doc = imageDocFor(m)!;
  const name = f.name || `capture of ${m.name || m.id}`;
  const image = await store.catalog.create('machineImage', name, who.tenant, { description: f.description, properties: f.properties, ...doc }, now);
  let after: Machine;
  try {
    const spec: MachineSpec = { ...m.spec, capture: { imageId: image.id, requestedAt: now } };
    after = await store.machines.updateSpec(m.id, m.generation, { spec }, now);
  } catch (e) {
    await store.catalog.remove('machineImage', image.id).catch(() => undefined);
    throw e;
  }
  const job = await store.jobs.create({
    tenant: who.tenant, targetId: image.id, targetType: 'MachineImage', action: 'capture', state: 'QUEUED', progress: 0,
    statusMessage: 'accepted', returnCode: 0, targetGeneration: after.generation, expectedState: 'AVAILABLE',
  }, now);
  await store.telemetry.appendEvent({
    tenant: who.tenant, ts: now, type: 'access', severity: 'low', outcome: 'Pending', resource: m.id,
    content: { resource: m.id, resName: m.name, resType: 'Machine', operation: 'capture', initiator: who.name, state: 'CAPTURING', previous: displayState(m), job: job.id, image: image.id },
  });
  return { image, job, machine: after };
}
