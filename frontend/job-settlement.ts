/**
 * Settling a Job when it is read (docs/lifecycle.md, "Jobs"): SUCCESS once the agent has observed
 * the job's generation (or a later one), converged and without error — for deletes, once the
 * machine's row is gone (a non-delete job whose machine vanished before the job was read is STOPPED:
 * its outcome can no longer be known); FAILED when the agent reports an error at that generation or later (a later
 * generation supersedes this one, so its error is final for this job); otherwise QUEUED before
 * placement and RUNNING after, with placement's reason as the message. The frontend writes a changed
 * job back (it is the Job's only writer).
 *
 * A capture job targets the new MachineImage instead (docs/capture.md): SUCCESS once the image is
 * AVAILABLE, FAILED when it is in ERROR (the agent's reason, or its machine deleted first), STOPPED
 * when the image itself was deleted first, RUNNING while the copy is still to be done.
 */
import type { BusStore } from '../schema/bus-store.js';
import type { Job, JobState, Machine } from '../schema/types.js';
import { imageCondition, type ImageCondition } from './captured-image.js';
import { placementDeadlineError, tenantPlacementSummary } from './machine-view.js';
import { settleVolume } from './volume-job-settlement.js';
import type { HostConditions } from './host-conditions.js';
import { applyHostCondition } from './machine-host-effect.js';

export interface Settlement { state: JobState; statusMessage: string; progress: number; returnCode: number }

const TERMINAL: readonly JobState[] = ['SUCCESS', 'FAILED', 'STOPPED'];

export function isTerminal(s: JobState): boolean {
  return TERMINAL.includes(s);
}

/** The job's state given its machine now (null: the machine's row is gone). Pure. */
export function settle(job: Job, m: Machine | null): Settlement {
  if (isTerminal(job.state)) return { state: job.state, statusMessage: job.statusMessage, progress: job.progress, returnCode: job.returnCode };
  if (m === null) {
    return job.expectedState === 'DELETED'
      ? { state: 'SUCCESS', statusMessage: 'machine deleted', progress: 100, returnCode: 0 }
      : { state: 'STOPPED', statusMessage: 'the machine was deleted before this job was seen to complete', progress: 100, returnCode: 0 };
  }
  const s = m.status;
  if (s.observedGeneration >= job.targetGeneration) {
    if (s.error) return { state: 'FAILED', statusMessage: s.error, progress: 100, returnCode: 1 };
    if (s.converged && job.expectedState !== 'DELETED') {
      return { state: 'SUCCESS', statusMessage: `machine ${s.state}`, progress: 100, returnCode: 0 };
    }
  }
  if (!m.hostId) {
    // Placement's deadline passed (docs/lifecycle.md, "Deadlines"): the job ends with its reason.
    const late = m.desiredState === 'DELETED' ? null : placementDeadlineError(m);
    if (late) return { state: 'FAILED', statusMessage: late, progress: 100, returnCode: 1 };
    return { state: 'QUEUED', statusMessage: tenantPlacementSummary(m) ?? 'waiting for placement', progress: 0, returnCode: 0 };
  }
  return { state: 'RUNNING', statusMessage: `on host, waiting for generation ${job.targetGeneration} (observed ${s.observedGeneration})`, progress: 50, returnCode: 0 };
}

/** A capture job's state given its image now (null: the image's row is gone). Pure. */
export function settleCapture(job: Job, image: ImageCondition | null): Settlement {
  if (isTerminal(job.state)) return { state: job.state, statusMessage: job.statusMessage, progress: job.progress, returnCode: job.returnCode };
  if (image === null) return { state: 'STOPPED', statusMessage: 'the image was deleted before the capture completed', progress: 100, returnCode: 0 };
  if (image.state === 'AVAILABLE') return { state: 'SUCCESS', statusMessage: 'image AVAILABLE', progress: 100, returnCode: 0 };
  if (image.state === 'ERROR') return { state: 'FAILED', statusMessage: image.error ?? 'capture failed', progress: 100, returnCode: 1 };
  return { state: 'RUNNING', statusMessage: 'waiting for the host to copy the machine\'s disk', progress: 50, returnCode: 0 };
}

/**
 * Why the job cannot be stopped now (null: it can). Pure, on a settled job: only a create still
 * QUEUED (its machine not placed) can be cancelled — the machine is then deleted before placement.
 * Anything on a host already runs in the agent's hands and keeps going.
 */
export function stopRefusal(job: Job): string | null {
  if (job.action !== 'create') return `it is a ${job.action} job (${job.state}); only a create waiting for placement can be stopped`;
  if (job.state !== 'QUEUED') return `it is ${job.state}; only a create waiting for placement (QUEUED) can be stopped`;
  return null;
}

/**
 * Reads the job's machine, settles the job, writes it back when it changed. With host conditions,
 * the machine is judged as its host's health shows it (machine-host-effect.ts): a job on a machine
 * whose host is down and that is not highly available ends FAILED with that reason.
 */
export async function settleJob(store: BusStore, job: Job, now = Date.now(), hosts?: HostConditions): Promise<Job> {
  if (isTerminal(job.state)) return job;
  let s: Settlement;
  if (job.targetType === 'Volume') {
    s = settleVolume(job, await store.volumes.get(job.targetId)); // volumes: docs/volumes.md
  } else if (job.targetType === 'MachineImage') {
    const item = await store.catalog.get('machineImage', job.targetId);
    s = settleCapture(job, item ? await imageCondition(store, item) : null);
  } else {
    let m = job.targetType === 'Machine' ? await store.machines.get(job.targetId) : null;
    if (m?.hostId && hosts) m = applyHostCondition(m, await hosts.of(m.hostId), now).machine;
    s = settle(job, m);
  }
  if (s.state === job.state && s.statusMessage === job.statusMessage && s.progress === job.progress && s.returnCode === job.returnCode) return job;
  // Only a terminal outcome is written back: progress is derived on every read anyway, and a reader
  // working from an older view can then never overwrite a finished job with RUNNING.
  if (isTerminal(s.state)) await store.jobs.update(job.id, s, now);
  return { ...job, ...s, updated: now };
}
