/** What one reconcile cycle did: returned by HypervisorAgent.runOnce() (tests, benchmarks). */
import type { Action } from './decide.js';

export interface ActionReport { machineId: string; action: Action; ok: boolean; error?: string }

export interface CycleReport {
  /** false: another holder has the host's lease, nothing was done. */
  leaseHeld: boolean;
  machines: number;
  domains: number;
  actions: ActionReport[];
  /** Prefixed domains with no machine row seen this cycle (names). */
  orphans: string[];
  statusWrites: number;
}

export function emptyReport(): CycleReport {
  return { leaseHeld: false, machines: 0, domains: 0, actions: [], orphans: [], statusWrites: 0 };
}
