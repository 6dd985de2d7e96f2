/** What every route module gets. */
import type { Logger } from '../../observability/logger.js';
import type { BusStore } from '../../schema/bus-store.js';
import type { FrontendConfig } from '../config.js';

export interface RouteDeps {
  store: BusStore;
  config: FrontendConfig;
  log: Logger;
}
