/** Where the bus lives: validated once at start-up from the environment (and flags), then passed down. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors/registry.js';

export type StoreConfig =
  | { kind: 'embedded'; path: string }
  | {
      kind: 'cassandra';
      contactPoints: string[];
      localDataCenter: string;
      keyspace: string;
      replication: Record<string, string | number>;
      consistency: 'ONE' | 'LOCAL_ONE' | 'QUORUM' | 'LOCAL_QUORUM' | 'ALL';
      username?: string;
      password?: string;
    };

const CONSISTENCIES = ['ONE', 'LOCAL_ONE', 'QUORUM', 'LOCAL_QUORUM', 'ALL'] as const;

/** "SimpleStrategy:1" or "NetworkTopologyStrategy:dc1=3,dc2=3" */
export function parseReplication(s: string): Record<string, string | number> {
  const [cls, rest] = s.split(':', 2);
  if (cls === 'SimpleStrategy') {
    const rf = Number(rest ?? '1');
    if (!Number.isInteger(rf) || rf < 1) throw new ConfigError(`replication factor must be a positive integer: '${s}'`);
    return { class: 'SimpleStrategy', replication_factor: rf };
  }
  if (cls === 'NetworkTopologyStrategy') {
    const out: Record<string, string | number> = { class: 'NetworkTopologyStrategy' };
    for (const part of (rest ?? '').split(',').filter(Boolean)) {
      const [dc, n] = part.split('=');
      const rf = Number(n);
      if (!dc || !/^[A-Za-z0-9_-]+$/.test(dc) || !Number.isInteger(rf) || rf < 1) throw new ConfigError(`bad data centre replication '${part}'`);
      out[dc] = rf;
    }
    if (Object.keys(out).length === 1) throw new ConfigError('NetworkTopologyStrategy needs at least one dc=rf');
    return out;
  }
  throw new ConfigError(`replication must be SimpleStrategy:N or NetworkTopologyStrategy:dc=N,...: '${s}'`);
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SKYBUS_DATA_DIR ?? join(homedir(), '.skybus');
}

export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: { store?: string; dbPath?: string } = {}): StoreConfig {
  const kind = overrides.store ?? env.SKYBUS_STORE ?? (env.SKYBUS_CASSANDRA_CONTACT_POINTS ? 'cassandra' : 'embedded');
  if (kind === 'embedded') {
    return { kind, path: overrides.dbPath ?? env.SKYBUS_DB_PATH ?? join(defaultDataDir(env), 'bus.sqlite') };
  }
  if (kind !== 'cassandra') throw new ConfigError(`store must be 'embedded' or 'cassandra', not '${kind}'`);
  const contactPoints = (env.SKYBUS_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1').split(',').map((s) => s.trim()).filter(Boolean);
  const keyspace = env.SKYBUS_CASSANDRA_KEYSPACE ?? 'skybus';
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(keyspace)) throw new ConfigError(`bad keyspace name '${keyspace}'`);
  const consistency = (env.SKYBUS_CASSANDRA_CONSISTENCY ?? 'LOCAL_QUORUM').toUpperCase();
  if (!(CONSISTENCIES as readonly string[]).includes(consistency)) throw new ConfigError(`consistency must be one of ${CONSISTENCIES.join(', ')}`);
  return {
    kind,
    contactPoints,
    localDataCenter: env.SKYBUS_CASSANDRA_LOCAL_DC ?? 'datacenter1',
    keyspace,
    replication: parseReplication(env.SKYBUS_CASSANDRA_REPLICATION ?? 'SimpleStrategy:1'),
    consistency: consistency as (typeof CONSISTENCIES)[number],
    username: env.SKYBUS_CASSANDRA_USERNAME,
    password: env.SKYBUS_CASSANDRA_PASSWORD,
  };
}
