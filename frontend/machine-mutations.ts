/**
 * The frontend's writes to a machine (docs/lifecycle.md): create, actions, delete and edit. Each
 * changes the spec (generation + 1), then records a Job (targetGeneration, expectedState) and an
 * event. Callers validate first: these run only for accepted requests.
 */
import { InvalidStateError, NotFoundError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import type { SpecChange } from '../schema/store/machines.js';
import { isId, newId } from '../schema/ids.js';
import type { DesiredState, Job, Machine } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import type { ResolvedCreate } from './machine-create.js';
import { chargeMachine } from './quota-view.js';
import { ACTION_RULES, actionAllowed, displayState, type MachineAction } from './machine-view.js';

/** The caller's machine, or 404 (unknown, malformed id, or another tenant's). */
export async function loadMachine(store: BusStore, id: string, who: Principal): Promise<Machine> {
  const m = isId(id) ? await store.machines.get(id) : null;
  if (!m || m.tenant !== who.tenant) throw new NotFoundError(`no machine ${id}`);
  return m;
}

async function record(store: BusStore, who: Principal, m: Machine, action: string, expectedState: string, previous: string, now: number): Promise<Job> {
  const job = await store.jobs.create({
    tenant: who.tenant, targetId: m.id, targetType: 'Machine', action, state: 'QUEUED', progress: 0,
    statusMessage: 'accepted', returnCode: 0, targetGeneration: m.generation, expectedState,
  }, now);
  await store.telemetry.appendEvent({
    tenant: who.tenant, ts: now, type: action === 'create' || action === 'edit' ? 'access' : 'state', severity: 'low', outcome: 'Pending',
    resource: m.id,
    content: { resource: m.id, resName: m.name, resType: 'Machine', operation: action, initiator: who.name, state: expectedState, previous, job: job.id },
  });
  return job;
}

/** Charges the tenant's quota first (403 over quota); a machine write that fails gives the charge back. */
export async function createMachine(store: BusStore, who: Principal, r: ResolvedCreate, now = Date.now()): Promise<{ machine: Machine; job: Job }> {
  const id = newId(now);
  const quota = await chargeMachine(store, who.tenant, id, r.spec);
  let machine: Machine;
  try {
    machine = await store.machines.create({
      id, tenant: who.tenant, name: r.name, description: r.description, properties: r.properties, spec: r.spec, desiredState: r.initialState, quota,
    }, now);
  } catch (e) {
    // Gives the charge back and removes whatever part of the machine reached the bus.
    await store.machines.abandonCreate({ id, tenant: who.tenant, spec: r.spec }, quota).catch(() => undefined);
    throw e;
  }
  const job = await record(store, who, machine, 'create', r.initialState, 'NONE', now);
  return { machine, job };
}

/** An action or delete; 409 naming the state when the desired state does not allow it. */
export async function applyAction(store: BusStore, who: Principal, m: Machine, action: MachineAction | 'delete', now = Date.now()): Promise<{ machine: Machine; job: Job }> {
  const shown = displayState(m);
  if (!actionAllowed(m, action)) {
    throw new InvalidStateError(`cannot ${action} machine ${m.id}: it is ${shown} (desired state ${m.desiredState})`, { state: shown, desiredState: m.desiredState });
  }
  const to = ACTION_RULES[action].to;
  const change: SpecChange = to === null ? { restartSeq: m.restartSeq + 1 } : { desiredState: to };
  const after = await store.machines.updateSpec(m.id, m.generation, change, now);
  const expected: DesiredState = to ?? after.desiredState;
  const job = await record(store, who, after, action, expected, shown, now);
  return { machine: after, job };
}

export async function editMachine(store: BusStore, who: Principal, m: Machine, change: Pick<SpecChange, 'name' | 'description' | 'properties'>, now = Date.now()): Promise<{ machine: Machine; job: Job }> {
  if (m.desiredState === 'DELETED') throw new InvalidStateError(`cannot edit machine ${m.id}: it is DELETING`, { state: 'DELETING' });
  const after = await store.machines.updateSpec(m.id, m.generation, change, now);
  const job = await record(store, who, after, 'edit', after.desiredState, displayState(m), now);
  return { machine: after, job };
}
