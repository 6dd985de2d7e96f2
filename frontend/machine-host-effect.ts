/**
 * What the machine's host's health does to what a client sees (docs/lifecycle.md, "Host loss,
 * fencing and HA restart"), PURE: the machine as the frontend then presents it, with the status the
 * agent can no longer write.
 *   - the status was written by another host than the one the machine is bound to (an HA restart
 *     moved it): nothing observed yet on the new host, so not converged (STARTING, …);
 *   - host unreachable: the state the agent last wrote, plus a note (the guest may well still run);
 *   - host down or removed, highly available: not converged, with when it restarts elsewhere;
 *   - host down or removed, not highly available: ERROR with the reason (its Job fails with it).
 * A deleting machine is left alone (the delete finishes when the host returns, or `host remove`).
 */
import type { HostCondition } from '../schema/host-health.js';
import type { Machine } from '../schema/types.js';

export interface HostEffect { machine: Machine; hostHealth: HostCondition['health'] | null; note: string | null }

function ago(now: number, t: number | null): string {
  return t === null ? 'no heartbeat ever' : `last heartbeat ${Math.max(0, Math.round((now - t) / 1000))} s ago`;
}

export function applyHostCondition(m: Machine, c: HostCondition | null, now: number): HostEffect {
  if (!m.hostId) return { machine: m, hostHealth: null, note: null };
  let machine = m;
  if (m.status.hostId !== null && m.status.hostId !== m.hostId) {
    machine = { ...m, status: { ...m.status, converged: false, error: null } };
  }
  if (!c || c.health === 'up' || m.desiredState === 'DELETED') return { machine, hostHealth: c?.health ?? null, note: null };
  if (c.health === 'unreachable') {
    return { machine, hostHealth: c.health, note: `host ${m.hostId} is unreachable (${ago(now, c.lastSeen)}): the state shown is the last it reported` };
  }
  const what = c.health === 'removed' ? `host ${m.hostId} was removed by an admin` : `host ${m.hostId} is down (${ago(now, c.lastSeen)})`;
  if (m.spec.highlyAvailable) {
    const when = c.haRestartAt === null ? 'it cannot be restarted elsewhere: the host never sent a heartbeat with its fencing window'
      : c.haRestartAt > now ? `restarting it on another host once its fencing window has passed, in ${Math.ceil((c.haRestartAt - now) / 1000)} s`
        : 'restarting it on another host';
    return { machine: { ...machine, status: { ...machine.status, converged: false, error: null } }, hostHealth: c.health, note: `${what}: ${when}` };
  }
  const error = `${what}; the machine is not highly available, so it waits for its host${c.health === 'removed' ? ' (which will not come back: delete it)' : ''}`;
  return { machine: { ...machine, status: { ...machine.status, error, observedGeneration: Math.max(machine.status.observedGeneration, m.generation) } }, hostHealth: c.health, note: error };
}
