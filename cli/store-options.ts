/** The --store / --db-path options every command that opens the bus shares, and the config they make. */
import type { Argv } from 'yargs';
import { storeConfigFromEnv } from '../config/store-config.js';
import { openStore, type BusStore } from '../schema/bus-store.js';

export interface StoreArgs { store?: string; 'db-path'?: string }

export function storeOptions<T>(y: Argv<T>) {
  return y
    .option('store', { type: 'string', choices: ['embedded', 'cassandra'], describe: 'where the bus lives (default: embedded, or cassandra when SKYBUS_CASSANDRA_CONTACT_POINTS is set)' })
    .option('db-path', { type: 'string', describe: 'embedded store file (default $SKYBUS_DATA_DIR/bus.sqlite)' });
}

export function storeConfigOf(a: StoreArgs) {
  return storeConfigFromEnv(process.env, { store: a.store, dbPath: a['db-path'] });
}

/** Open the bus for one command, run it, close the bus whatever happens. */
export async function withStore<R>(a: StoreArgs, fn: (s: BusStore) => Promise<R>): Promise<R> {
  const s = await openStore(storeConfigOf(a));
  try { return await fn(s); } finally { await s.close(); }
}
