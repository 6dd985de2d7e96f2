/**
 * How tests get a store: a fresh embedded file, or a fresh keyspace on the Cassandra named by
 * SKYBUS_CASSANDRA_CONTACT_POINTS (default 127.0.0.1). Raw readers look at what reached storage with
 * the native client, not through the code under test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import type { StoreConfig } from '../../config/store-config.js';
import { BusStore, openStore } from '../../schema/bus-store.js';
import { SqliteDriver } from '../../schema/sqlite-driver.js';
import { CassandraDriver } from '../../schema/cassandra-driver.js';

export type RawRow = Record<string, unknown>;

export interface StoreFixture {
  kind: 'embedded' | 'cassandra';
  config: StoreConfig;
  store: BusStore;
  /** SELECT * FROM table WHERE <where> with ? params, straight from storage, values normalised. */
  raw(table: string, where: string, params: unknown[]): Promise<RawRow[]>;
  /** Make storage forget expired rows where it keeps them until a purge (SQLite); a no-op for Cassandra. */
  purgeExpired(): void;
  /** Another independent connection to the same bus (like another process). */
  reopen(): Promise<BusStore>;
  cleanup(): Promise<void>;
}

export function cassandraContactPoints(): string[] {
  return (process.env.SKYBUS_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1').split(',');
}

function normalise(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (v instanceof cassandra.types.Long) return v.toNumber();
  if (v instanceof cassandra.types.Uuid) return v.toString();
  return v ?? null;
}

export async function embeddedFixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'skybus-store-'));
  const config: StoreConfig = { kind: 'embedded', path: join(dir, 'bus.sqlite') };
  const store = await openStore(config);
  const opened: BusStore[] = [store];
  const driver = store.driver as SqliteDriver;
  return {
    kind: 'embedded',
    config,
    store,
    async raw(table, where, params) {
      return driver.raw(`SELECT * FROM "${table}" WHERE ${where}`, ...params).map((r) => {
        const o: RawRow = {};
        for (const [k, v] of Object.entries(r)) if (k !== '_expires_at') o[k] = v;
        return o;
      });
    },
    purgeExpired() { driver.purgeExpired(); },
    async reopen() { const s = await openStore(config); opened.push(s); return s; },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function cassandraConfig(keyspace: string): StoreConfig {
  return {
    kind: 'cassandra',
    contactPoints: cassandraContactPoints(),
    localDataCenter: process.env.SKYBUS_CASSANDRA_LOCAL_DC ?? 'datacenter1',
    keyspace,
    replication: { class: 'SimpleStrategy', replication_factor: 1 },
    consistency: 'LOCAL_QUORUM',
  };
}

export async function cassandraFixture(): Promise<StoreFixture> {
  const keyspace = `skybus_t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const config = cassandraConfig(keyspace);
  const store = await openStore(config);
  const opened: BusStore[] = [store];
  const client = (store.driver as CassandraDriver).client;
  return {
    kind: 'cassandra',
    config,
    store,
    async raw(table, where, params) {
      const rs = await client.execute(`SELECT * FROM ${table} WHERE ${where} ALLOW FILTERING`, params, { prepare: true });
      return rs.rows.map((r) => {
        const o: RawRow = {};
        for (const k of r.keys()) o[k] = normalise(r.get(k));
        return o;
      });
    },
    purgeExpired() { /* Cassandra hides expired cells on read */ },
    async reopen() { const s = await openStore(config); opened.push(s); return s; },
    async cleanup() {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      for (const s of opened) await s.close().catch(() => undefined);
    },
  };
}

/** Is a Cassandra node answering? */
export async function cassandraReachable(): Promise<boolean> {
  const c = new cassandra.Client({ contactPoints: cassandraContactPoints(), localDataCenter: process.env.SKYBUS_CASSANDRA_LOCAL_DC ?? 'datacenter1', socketOptions: { connectTimeout: 3000 } });
  try { await c.connect(); return true; } catch { return false; } finally { await c.shutdown().catch(() => undefined); }
}

/**
 * Run a suite on both stores with the same test names. The Cassandra half skips when no node answers,
 * except under `npm test` (SKYBUS_REQUIRE_CASSANDRA=1), where a missing node is a failure.
 */
export function onBothStores(suite: (makeFixture: () => Promise<StoreFixture>) => void): void {
  describe('embedded', () => suite(embeddedFixture));
  describe('cassandra', function () {
    requireCassandra();
    suite(cassandraFixture);
  });
}

/** In a describe: skip without a reachable node, unless SKYBUS_REQUIRE_CASSANDRA=1 (then fail). */
export function requireCassandra(): void {
  before(async function () {
    this.timeout(20_000);
    if (await cassandraReachable()) return;
    if (process.env.SKYBUS_REQUIRE_CASSANDRA === '1') throw new Error('Cassandra is not reachable but SKYBUS_REQUIRE_CASSANDRA=1');
    this.skip(); // no Cassandra on this machine and not asked to require one (a bare mocha run)
  });
}
