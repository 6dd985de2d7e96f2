/**
 * A view of a bus that records every row call (method, table, and the partition or row it named),
 * so a test can say how many writes an operation made and how many partitions a read touched.
 */
import { BusStore } from '../../schema/bus-store.js';
import type { Row, TableDriver } from '../../schema/table-driver.js';

export interface RowCall { method: string; table: string; key: Row | null }

const KEYED = new Set(['put', 'cas', 'get', 'select', 'remove']);

export function countingStore(driver: TableDriver): { store: BusStore; calls: RowCall[] } {
  const calls: RowCall[] = [];
  const view = new Proxy(driver, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'close') return async () => undefined; // the underlying driver belongs to its owner
      const method = String(prop);
      return (...args: unknown[]) => {
        if (KEYED.has(method) || method === 'scan') calls.push({ method, table: args[0] as string, key: KEYED.has(method) ? args[1] as Row : null });
        if (method === 'putAll') for (const w of args[0] as { table: string; row: Row }[]) calls.push({ method, table: w.table, key: w.row });
        return v.apply(target, args);
      };
    },
  });
  return { store: new BusStore(view), calls };
}
