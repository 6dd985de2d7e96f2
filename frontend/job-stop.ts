/**
 * The Job `stop` operation (CIMI): cancels a create that is still QUEUED (machine not placed). The
 * machine's desired state becomes DELETED; placement's "deleted before placement" path then purges
 * it (placement/placer.ts), which gives its quota charge back (schema/store/machines.ts purge). The
 * job is written STOPPED at once: the create can no longer complete whatever placement does next
 * (a machine bound in the same instant has desired state DELETED and its agent deletes it).
 * Anything else is refused with 409 naming the job's state (job-settlement.ts stopRefusal).
 */
import { InvalidStateError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import type { Job } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import { settleJob, stopRefusal } from './job-settlement.js';

export const STOPPED_MESSAGE = 'stopped before placement: the machine is deleted';

export async function stopJob(store: BusStore, who: Principal, job: Job, now = Date.now()): Promise<Job> {
  const settled = await settleJob(store, job, now);
  const refusal = stopRefusal(settled);
  if (refusal) throw new InvalidStateError(`cannot stop job ${job.id}: ${refusal}`, { state: settled.state });
  const m = await store.machines.get(job.targetId);
  if (!m || m.hostId) {
    // Placed (or gone) since the job was settled a moment ago.
    const state = m ? 'RUNNING' : 'STOPPED';
    throw new InvalidStateError(`cannot stop job ${job.id}: it is ${state}; only a create waiting for placement (QUEUED) can be stopped`, { state });
  }
  // A machine already being deleted needs no second change: the job just ends.
  if (m.desiredState !== 'DELETED') await store.machines.updateSpec(m.id, m.generation, { desiredState: 'DELETED' }, now);
  await store.telemetry.appendEvent({
    tenant: m.tenant, ts: now, type: 'access', severity: 'low', outcome: 'Success', resource: m.id,
    content: { resource: m.id, resName: m.name, resType: 'Machine', operation: 'stop job', initiator: who.name, state: 'DELETED', previous: 'CREATING', job: job.id },
  });
  const end = { state: 'STOPPED' as const, statusMessage: STOPPED_MESSAGE, progress: 100, returnCode: 0 };
  await store.jobs.update(job.id, end, now);
  return { ...settled, ...end, updated: now };
}
