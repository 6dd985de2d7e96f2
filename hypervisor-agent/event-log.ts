/** The agent's events on the bus (telemetry.appendEvent). An event that cannot be written is logged, never fatal. */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { EventRecord, MachineState } from '../schema/types.js';
import type { Action } from './decide.js';
import { errorText } from './error-text.js';

export class AgentEvents {
  constructor(
    private readonly store: BusStore,
    private readonly hostId: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  async append(e: Omit<EventRecord, 'id'>): Promise<void> {
    await this.store.telemetry.appendEvent(e).catch((err) => this.log.warn({ err: errorText(err) }, 'event not recorded'));
  }

  /** A machine's state change or action outcome. */
  async machineState(tenant: string, machineId: string, to: MachineState, from: MachineState | null, action: Action, ok: boolean, generation: number, error: string | null = null): Promise<void> {
    await this.append({
      tenant, ts: this.now(), type: 'state', severity: ok ? 'low' : 'high', outcome: ok ? 'Success' : 'Failure', resource: machineId,
      content: { hostId: this.hostId, action, from, to, generation, ...(error ? { error } : {}) },
    });
  }

  /** A machine's transitional deadline passed on this host (recorded once per generation). */
  async machineDeadline(tenant: string, machineId: string, state: string, limitMs: number, generation: number, error: string): Promise<void> {
    await this.append({
      tenant, ts: this.now(), type: 'state', severity: 'high', outcome: 'Failure', resource: machineId,
      content: { hostId: this.hostId, deadline: state, limitMs, generation, error },
    });
  }
}
