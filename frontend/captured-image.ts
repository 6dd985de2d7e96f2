/**
 * A captured MachineImage's state (docs/capture.md), computed when it is read: the agent's outcome
 * when there is one (AVAILABLE or ERROR), otherwise CREATING while its machine still waits for the
 * capture, or ERROR when the machine can no longer be captured (deleted meanwhile). Admin-published
 * images are always AVAILABLE.
 */
import type { BusStore } from '../schema/bus-store.js';
import type { CatalogItem, Machine } from '../schema/types.js';

export type ImageState = 'CREATING' | 'AVAILABLE' | 'ERROR';

/** What a captured image's body records of its source (catalog body field `captured`). */
export interface CaptureSource { machine: string; machineName: string }

export interface ImageCondition { state: ImageState; error: string | null }

export function captureSource(item: CatalogItem): CaptureSource | null {
  const c = item.body.captured;
  return typeof c === 'object' && c !== null && typeof (c as CaptureSource).machine === 'string' ? c as CaptureSource : null;
}

/** Pure: the image's state given its source machine now (null: the machine's row is gone). */
export function capturedCondition(item: CatalogItem, m: Machine | null): ImageCondition {
  const src = captureSource(item);
  if (!src) return { state: 'AVAILABLE', error: null };
  if (item.status) return { state: item.status.state, error: item.status.error };
  if (!m || m.desiredState === 'DELETED') return { state: 'ERROR', error: `machine ${src.machine} was deleted before it was captured` };
  if (m.spec.capture?.imageId !== item.id) return { state: 'ERROR', error: `machine ${src.machine} no longer waits for this capture` };
  if (m.status.lastCapture === item.id) return { state: 'ERROR', error: 'the capture ended without an outcome' };
  return { state: 'CREATING', error: null };
}

/** Reads the source machine when the outcome is not known yet. */
export async function imageCondition(store: BusStore, item: CatalogItem): Promise<ImageCondition> {
  const src = captureSource(item);
  if (!src || item.status) return capturedCondition(item, null);
  return capturedCondition(item, await store.machines.get(src.machine));
}
