/**
 * What an API key costs per request against HTTP Basic with a cached credential (the password's
 * scrypt paid once, then remembered: verified-credentials.ts), same process, same run, same route.
 * The frontend is the real one (cli/roles.ts startFrontend: API keys first, then local users with
 * the login throttle), over HTTP on loopback. Rounds alternate Basic / Bearer; the best round of
 * each is kept.
 *   node dist/bench/api-key-overhead.js [--store embedded|cassandra] [--n 4000] [--concurrency 16] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFrontend } from '../cli/roles.js';
import { hashPassword } from '../frontend/auth/passwords.js';
import { frontendConfig } from '../frontend/config.js';
import { silentLogger } from '../observability/logger.js';
import { SkybusMetrics } from '../observability/metrics.js';
import { openStore } from '../schema/bus-store.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const KIND = arg('store', 'embedded') as 'embedded' | 'cassandra';
const N = Number(arg('n', '4000'));
const CONC = Number(arg('concurrency', '16'));
const ROUNDS = Number(arg('rounds', '3'));

const dir = mkdtempSync(join(tmpdir(), 'skybus-keybench-'));
const keyspace = `skybus_keybench_${Date.now().toString(36)}`;
const store = await openStore(KIND === 'embedded'
  ? { kind: 'embedded', path: join(dir, 'bus.sqlite') }
  : { kind: 'cassandra', contactPoints: (process.env.SKYBUS_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1').split(','), localDataCenter: 'datacenter1', keyspace, replication: { class: 'SimpleStrategy', replication_factor: 1 }, consistency: 'LOCAL_QUORUM' });
const pw = 'bench password 1';
await store.accounts.createUser({ name: 'kate', tenant: 'bench', passwordHash: await hashPassword(pw), roles: ['user'], disabled: false, created: Date.now() });
const fe = await startFrontend(store, frontendConfig({ listenPort: 0, listenHost: '127.0.0.1' }), silentLogger(), new SkybusMetrics(), { ldap: null });
const basic = 'Basic ' + Buffer.from(`kate:${pw}`).toString('base64');
const path = '/api/machines';

const created = await fetch(`${fe.url}/api/apiKeys`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
if (created.status !== 201) throw new Error(`key create: ${created.status} ${await created.text()}`);
const bearer = `Bearer ${(await created.json() as { secret: string }).secret}`;

interface Result { rps: number; p50: number; p99: number; cpuUsPerReq: number }

async function round(auth: string): Promise<Result> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < N) {
      next++;
      const s = performance.now();
      const res = await fetch(fe.url + path, { headers: { authorization: auth, accept: 'application/json' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${auth.split(' ')[0]}: ${res.status}`);
      lat.push(performance.now() - s);
    }
  }));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return { rps: (N / wall) * 1000, p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)], cpuUsPerReq: (cpu.user + cpu.system) / N };
}

// Warm both paths (the Basic credential enters the cache here; JIT).
for (const a of [basic, bearer]) for (let i = 0; i < 50; i++) await (await fetch(fe.url + path, { headers: { authorization: a } })).arrayBuffer();

const best: Record<'basic' | 'bearer', Result | null> = { basic: null, bearer: null };
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, a] of [['basic', basic], ['bearer', bearer]] as const) {
    const res = await round(a);
    if (!best[k] || res.rps > best[k]!.rps) best[k] = res;
  }
}
const b = best.basic!;
const k = best.bearer!;
const f = (x: number, d = 2) => x.toFixed(d);
console.log(`store ${KIND}, GET ${path} (empty tenant), ${N} requests per round, ${CONC} in flight, best of ${ROUNDS} rounds`);
console.log('| auth | req/s | p50 ms | p99 ms | process CPU µs/req |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| Basic, cached credential | ${f(b.rps, 0)} | ${f(b.p50)} | ${f(b.p99)} | ${f(b.cpuUsPerReq, 0)} |`);
console.log(`| API key (Bearer) | ${f(k.rps, 0)} | ${f(k.p50)} | ${f(k.p99)} | ${f(k.cpuUsPerReq, 0)} |`);
console.log(`| key / Basic | ${f(k.rps / b.rps)} | ${f(k.p50 / b.p50)} | ${f(k.p99 / b.p99)} | ${f(k.cpuUsPerReq / b.cpuUsPerReq)} |`);

await fe.stop();
if (KIND === 'cassandra') {
  await (store.driver as unknown as { client: { execute(q: string): Promise<unknown> } }).client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
