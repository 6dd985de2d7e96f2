/**
 * PURE: the agent's transitional deadlines (docs/lifecycle.md, "Deadlines"). A machine whose current
 * generation has not converged on this host within the deadline of the state a client sees for it
 * (STARTING, STOPPING, PAUSING, SUSPENDING, DELETING) gets a status.error that says so, naming the
 * state, the host and what the last action did. The agent keeps acting (with back-off) all the same;
 * converging clears it.
 */
import type { HostMachine } from '../schema/types.js';
import type { Action } from './decide.js';
import type { DomainRunState } from './libvirt-host.js';
import { seconds } from './libvirt-call-guard.js';

export const TRANSITIONAL_STATES = ['STARTING', 'STOPPING', 'PAUSING', 'SUSPENDING', 'DELETING'] as const;
export type TransitionalState = (typeof TRANSITIONAL_STATES)[number];
export type Deadlines = Record<TransitionalState, number>;

/** The transitional state a client sees while the host works towards the machine's desired state (a restart is STARTING). */
export function transitionalStateOf(d: HostMachine): TransitionalState {
  switch (d.desiredState) {
    case 'STARTED': return 'STARTING';
    case 'STOPPED': return 'STOPPING';
    case 'PAUSED': return 'PAUSING';
    case 'SUSPENDED': return 'SUSPENDING';
    case 'DELETED': return 'DELETING';
  }
}

/** Since when the current generation has been waiting to converge here. */
export interface Pending {
  generation: number;
  since: number;
  /** The deadline's event has been recorded for this generation. */
  reported: boolean;
}

/** The pending clock after this cycle's observation (null: converged, nothing pending). */
export function nextPending(prev: Pending | null, generation: number, converged: boolean, now: number): Pending | null {
  if (converged) return null;
  if (prev && prev.generation === generation) return prev;
  return { generation, since: now, reported: false };
}

/** What the agent knows of its last attempt when the deadline is judged. */
export interface LastAttempt {
  /** The last action's failure as status.error shows it ("start failed: ..."; null: it succeeded or none failed). */
  error: string | null;
  /** The last action taken at this generation (null: none yet). */
  action: Action | null;
  /** What libvirt shows now (null: no domain). */
  domain: DomainRunState | null;
}

/**
 * The reason to show when the deadline has passed (null: not passed). E.g. "STOPPING did not finish
 * within 150 s on host h1: last action destroy failed: ..." or "...: the domain is still running
 * after shutdown".
 */
export function deadlineError(state: TransitionalState, limitMs: number, pending: Pending | null, now: number, hostId: string, last: LastAttempt): string | null {
  if (!pending || now - pending.since < limitMs) return null;
  const head = `${state} did not finish within ${seconds(limitMs)} on host ${hostId}`;
  if (last.error) return `${head}: last action ${last.error}`;
  const domain = last.domain === null ? 'the domain is not defined' : `the domain is still ${last.domain}`;
  return `${head}: ${domain}${last.action ? ` after ${last.action}` : ''}`;
}
