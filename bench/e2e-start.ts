/**
 * Time from the last create request to every machine STARTED, for N machines over the CIMI API on
 * M agents (libvirt test-driver hosts, one process), on one store.
 *   node dist/bench/e2e-start.js --store embedded|cassandra [--machines 1000] [--agents 100] [--interval 1000]
 * Cassandra: a fresh keyspace on SKYBUS_CASSANDRA_CONTACT_POINTS (default 127.0.0.1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../frontend/app.js';
import { localBasicAuth } from '../frontend/auth/local-basic.js';
import { hashPassword } from '../frontend/auth/passwords.js';
import { frontendConfig } from '../frontend/config.js';
import { HypervisorAgent } from '../hypervisor-agent/agent.js';
import { agentConfig } from '../hypervisor-agent/config.js';
import { writeTestHost } from '../hypervisor-agent/test-host.js';
import { silentLogger } from '../observability/logger.js';
import { SkybusMetrics } from '../observability/metrics.js';
import { placementConfig } from '../placement/config.js';
import { Placer } from '../placement/placer.js';
import type { Machine } from '../schema/types.js';
import { cassandraFixture, embeddedFixture } from '../test/helpers/stores.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const storeKind = arg('store', 'embedded');
const N = Number(arg('machines', '1000'));
const AGENTS = Number(arg('agents', '100'));
const INTERVAL = Number(arg('interval', '1000'));
const CONCURRENCY = 16;

const fx = storeKind === 'cassandra' ? await cassandraFixture() : await embeddedFixture();
const dir = mkdtempSync(join(tmpdir(), 'skybus-bench-'));
const store = fx.store;
const pw = 'bench password';
await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: await hashPassword(pw), roles: ['admin', 'user'], disabled: false, created: Date.now() });
const app = buildApp({ store, auth: localBasicAuth(store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const auth = 'Basic ' + Buffer.from(`root:${pw}`).toString('base64');
const post = async (path: string, body: unknown) => {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json() as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

const agents: HypervisorAgent[] = [];
for (let i = 0; i < AGENTS; i++) {
  const uri = writeTestHost(join(dir, `h${i}.xml`), { cpus: 32, memoryKiB: 128 * 1024 * 1024 });
  agents.push(new HypervisorAgent({ store, config: agentConfig({ hostId: `bench-${i}`, libvirtUri: uri, intervalMs: INTERVAL, workDir: join(dir, `a${i}`), metricsEveryMs: 60_000 }), log: silentLogger() }));
}
await Promise.all(agents.map((a) => a.start()));
const placer = new Placer({ store, config: placementConfig({ intervalMs: 200 }), log: silentLogger(), metrics: new SkybusMetrics() });
placer.start();

const cfg = await post('/api/machineConfigs', { name: 'b', cpu: 1, memory: 262144 });
const img = await post('/api/machineImages', { name: 'k', imageLocation: '/var/lib/skybus/vmlinuz', format: 'kernel' });
const tCreate0 = Date.now();
let next = 0;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < N) {
    const i = next++;
    await post('/api/machines', { name: `b${i}`, machineTemplate: { machineConfig: { href: cfg.id }, machineImage: { href: img.id }, initialState: 'STARTED' } });
  }
}));
const tLastCreate = Date.now();
let started: Machine[] = [];
for (;;) {
  const all: Machine[] = [];
  let ps: string | null = null;
  do { const p = await store.machines.scan({ limit: 1000, pageState: ps }); all.push(...p.items); ps = p.pageState; } while (ps);
  started = all.filter((m) => m.status.state === 'STARTED' && m.status.converged);
  if (started.length >= N) break;
  if (Date.now() - tLastCreate > 600_000) throw new Error(`only ${started.length} of ${N} STARTED after 10 min`);
  await new Promise((r) => setTimeout(r, 100));
}
const tAll = Date.now();
const lat = started.map((m) => m.status.updatedAt - m.created).sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
await placer.stop();
await Promise.all(agents.map((a) => a.stop()));
await new Promise((r) => server.close(r));
await fx.cleanup();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`| ${storeKind} | ${N} | ${AGENTS} | ${INTERVAL} | ${((tLastCreate - tCreate0) / 1000).toFixed(1)} | ${(N / ((tLastCreate - tCreate0) / 1000)).toFixed(0)} | ${((tAll - tLastCreate) / 1000).toFixed(2)} | ${(pct(0.5) / 1000).toFixed(2)} | ${(pct(0.99) / 1000).toFixed(2)} |\n`);
process.exit(0);
