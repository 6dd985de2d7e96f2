/**
 * Write, lightweight-transaction and read rates through the Skybus store interface next to raw
 * cassandra-driver on the same node, same keyspace, same run (the raw run is the baseline).
 *   node dist/bench/store-vs-driver.js [--n 4000] [--concurrency 64]
 * Needs Cassandra on SKYBUS_CASSANDRA_CONTACT_POINTS (default 127.0.0.1): scripts/cassandra/ctl.sh start
 */
import cassandra from 'cassandra-driver';
import { openStore } from '../schema/bus-store.js';
import { cassandraConfig } from '../test/helpers/stores.js';
import type { CassandraDriver } from '../schema/cassandra-driver.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** Best of two alternating runs, so neither side profits from going second (warm caches, compaction). */
async function pair(n: number, c: number, raw: (i: number, r: number) => Promise<unknown>, sto: (i: number, r: number) => Promise<unknown>): Promise<[number, number]> {
  let bestRaw = 0;
  let bestSto = 0;
  for (let round = 0; round < 2; round++) {
    bestRaw = Math.max(bestRaw, await rate(n, c, (i) => raw(i, round)));
    bestSto = Math.max(bestSto, await rate(n, c, (i) => sto(i, round)));
  }
  return [bestRaw, bestSto];
}

async function rate(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) { const i = next++; await op(i); }
  }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / s;
}

const n = arg('n', 4000);
const conc = arg('concurrency', 64);
const keyspace = `skybus_bench_${Date.now().toString(36)}`;
const store = await openStore(cassandraConfig(keyspace));
const client: cassandra.Client = (store.driver as CassandraDriver).client;
const opts = { prepare: true };
const now = Date.now();
const rows: { what: string; raw: number; store: number }[] = [];
try {
  // warm-up (prepares statements, JIT). The plain write is a usage record: 10 columns, one
  // partition per tenant-day (machine_metrics, the row this measured before 0015, has no writer now).
  const usage = (tenant: string, i: number) => ({ tenant, machineId: `m${i}`, periodStart: now, periodSeconds: 300, hostId: 'h', state: 'STARTED', vcpus: 1, memoryKiB: 1024, cpuSeconds: 1.5, stateSeconds: { STARTED: 300 }, observedSeconds: 300 });
  const day = new Date(now).toISOString().slice(0, 10);
  const rawUsage = 'INSERT INTO usage_records (tenant, day, machine_id, period_start, period_seconds, host_id, state, vcpus, memory_kib, cpu_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const rawParams = (tenant: string, i: number) => [tenant, day, `m${i}`, new Date(now), 300, 'h', 'STARTED', 1, cassandra.types.Long.fromNumber(1024), 1.5];
  await rate(500, conc, (i) => store.telemetry.putUsage(usage(`w${i % 50}`, i)));
  await rate(500, conc, (i) => client.execute(rawUsage, rawParams(`v${i % 50}`, i), opts));

  const [rawW, stoW] = await pair(n, conc, (i, r) => client.execute(rawUsage, rawParams(`r${r}-${i % 50}`, i), opts),
    (i, r) => store.telemetry.putUsage(usage(`s${r}-${i % 50}`, i)));
  rows.push({ what: 'plain writes/s (usage record)', raw: rawW, store: stoW });

  const nl = Math.max(500, Math.floor(n / 4));
  const [rawL, stoL] = await pair(nl, conc,
    (i, r) => client.execute('INSERT INTO users (name, tenant, password_hash, roles, disabled, created) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS', [`raw${r}-${i}`, 't', 'x', '[]', false, new Date(now)], opts),
    (i, r) => store.accounts.createUser({ name: `sto${r}-${i}`, tenant: 't', passwordHash: 'x', roles: [], disabled: false, created: now }));
  rows.push({ what: 'LWT/s (IF NOT EXISTS, user create)', raw: rawL, store: stoL });

  const [rawR, stoR] = await pair(n, conc,
    (i) => client.execute('SELECT * FROM users WHERE name = ?', [`raw0-${i % nl}`], opts),
    (i) => store.accounts.getUser(`sto0-${i % nl}`));
  rows.push({ what: 'single-row reads/s (user by name)', raw: rawR, store: stoR });
} finally {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await store.close();
}
process.stdout.write(`\nn=${n} concurrency=${conc}, one Cassandra node on this machine, client in the same box\n\n`);
process.stdout.write('| operation | raw cassandra-driver | Skybus store | store / raw |\n|---|---:|---:|---:|\n');
for (const r of rows) process.stdout.write(`| ${r.what} | ${r.raw.toFixed(0)} | ${r.store.toFixed(0)} | ${(r.store / r.raw).toFixed(2)} |\n`);
