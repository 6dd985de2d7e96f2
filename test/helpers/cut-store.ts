/**
 * A second view of a bus whose access can be cut (tests of host loss): every row call fails with
 * UnavailableError while cut, as when a host is partitioned from Cassandra. The process keeps
 * running, and whatever else it holds (its libvirt connection) keeps working.
 */
import { UnavailableError } from '../../errors/registry.js';
import { BusStore } from '../../schema/bus-store.js';
import type { TableDriver } from '../../schema/table-driver.js';

const ROW_CALLS = new Set(['put', 'putAll', 'cas', 'casInsertAll', 'get', 'select', 'scan', 'remove']);

export interface CutStore { store: BusStore; cut(): void; heal(): void; readonly isCut: boolean; failedCalls: number }

export function cuttableStore(driver: TableDriver): CutStore {
  const state = { cut: false, failed: 0 };
  const view = new Proxy(driver, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'close') return async () => undefined; // the underlying driver belongs to its owner
      if (!ROW_CALLS.has(String(prop))) return v.bind(target);
      return (...args: unknown[]) => {
        if (state.cut) { state.failed++; return Promise.reject(new UnavailableError('the bus is unreachable from this host (test cut)')); }
        return v.apply(target, args);
      };
    },
  });
  return {
    store: new BusStore(view),
    cut: () => { state.cut = true; },
    heal: () => { state.cut = false; },
    get isCut() { return state.cut; },
    get failedCalls() { return state.failed; },
  };
}
