/**
 * What the benches share: their command-line flags, and a fresh bus of the kind asked for (an
 * embedded file in a temporary directory, or a new keyspace on the local Cassandra node), removed
 * when the bench is done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type BusStore } from '../schema/bus-store.js';
import { cassandraConfig } from '../test/helpers/stores.js';

/** The value after `--name` on the command line, or the default. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}

export async function freshBus(kind: 'embedded' | 'cassandra', label: string): Promise<{ store: BusStore; done(): Promise<void> }> {
  if (kind === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), `skybus-bench-${label}-`));
    const store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    return { store, async done() { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const ks = `skybus_bench_${label}_${Date.now().toString(36)}`;
  const store = await openStore(cassandraConfig(ks));
  return {
    store,
    async done() {
      await (store.driver as unknown as { client: { execute(q: string): Promise<unknown> } }).client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
      await store.close();
    },
  };
}
