/** What every route module gets. */
import type { Logger } from '../../observability/logger.js';
import type { BusStore } from '../../schema/bus-store.js';
import type { FrontendConfig } from '../config.js';
import type { FleetGauges } from '../fleet-gauges.js';
import type { HostConditions } from '../host-conditions.js';

export interface RouteDeps {
  store: BusStore;
  config: FrontendConfig;
  log: Logger;
  /** Host health for machine views and job settlement (host-conditions.ts). */
  hostConditions: HostConditions;
  /** The fleet's counts, read from the bus at most once per interval (fleet-gauges.ts): /metrics and GET /fleet. */
  fleet: FleetGauges;
}
