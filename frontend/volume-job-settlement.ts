/**
 * Settling a volume's Job when it is read (as job-settlement.ts does for machines): SUCCESS once the
 * agent of the volume's host has observed the job's generation without error (for a delete: once the
 * volume's row is gone), FAILED when it reports an error at that generation or later, RUNNING
 * otherwise. A volume on no host has nothing to wait for: its create, and its delete, are done.
 */
import type { Job, Volume } from '../schema/types.js';
import type { Settlement } from './job-settlement.js';

export function settleVolume(job: Job, v: Volume | null): Settlement {
  if (v === null) {
    return job.expectedState === 'DELETED'
      ? { state: 'SUCCESS', statusMessage: 'volume deleted', progress: 100, returnCode: 0 }
      : { state: 'STOPPED', statusMessage: 'the volume was deleted before this job was seen to complete', progress: 100, returnCode: 0 };
  }
  if (job.expectedState === 'DELETED') {
    if (v.status?.error && v.status.observedGeneration >= job.targetGeneration) return { state: 'FAILED', statusMessage: v.status.error, progress: 100, returnCode: 1 };
    return { state: 'RUNNING', statusMessage: 'waiting for the volume\'s host to remove its file', progress: 50, returnCode: 0 };
  }
  if (!v.hostId) return { state: 'SUCCESS', statusMessage: 'volume recorded; its file is made on the host of the first machine it is attached to', progress: 100, returnCode: 0 };
  const s = v.status;
  if (s && s.hostId === v.hostId && s.observedGeneration >= job.targetGeneration) {
    if (s.error) return { state: 'FAILED', statusMessage: s.error, progress: 100, returnCode: 1 };
    return { state: 'SUCCESS', statusMessage: `volume ${s.state}`, progress: 100, returnCode: 0 };
  }
  return { state: 'RUNNING', statusMessage: `on host, waiting for generation ${job.targetGeneration} (observed ${s?.observedGeneration ?? 0})`, progress: 50, returnCode: 0 };
}
