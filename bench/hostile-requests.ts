/**
 * What one hostile request costs the process: CPU (user + system, the whole process) and wall
 * time per request shape, from issue 7's probe, against a frontend on the embedded store with a
 * tenant holding 5,000 jobs. Run it on two builds to compare (bench/README.md).
 *   node dist/bench/hostile-requests.js [--jobs 5000] [--repeat 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../frontend/app.js';
import { localBasicAuth } from '../frontend/auth/local-basic.js';
import { hashPassword } from '../frontend/auth/passwords.js';
import { frontendConfig } from '../frontend/config.js';
import { silentLogger } from '../observability/logger.js';
import { SkybusMetrics } from '../observability/metrics.js';
import { openStore } from '../schema/bus-store.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const JOBS = Number(arg('jobs', '5000'));
const REPEAT = Number(arg('repeat', '3'));

const dir = mkdtempSync(join(tmpdir(), 'skybus-hostile-'));
const store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
const pw = 'bench password';
await store.accounts.createUser({ name: 'eve', tenant: 'evil', passwordHash: await hashPassword(pw), roles: ['user'], disabled: false, created: Date.now() });
const spec = {
  cpu: 1, memoryKiB: 262144, cpuArch: 'x86_64', disks: [], userData: null, requirements: {},
  image: { id: '00000000-0000-7000-8000-000000000001', name: 'img', format: 'qcow2' as const, location: '/img.qcow2', initrd: null, cmdline: null, cpuArch: 'x86_64' },
};
const m = await store.machines.create({ tenant: 'evil', name: 'target', spec, desiredState: 'STARTED' });
for (let i = 0; i < JOBS; i++) {
  await store.jobs.create({
    tenant: 'evil', targetId: m.id, targetType: 'Machine', action: 'edit', state: 'SUCCESS', progress: 100,
    statusMessage: 'done', returnCode: 0, targetGeneration: 1, expectedState: 'STARTED',
  }, Date.now() - i);
}
const app = buildApp({ store, auth: localBasicAuth(store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const auth = 'Basic ' + Buffer.from(`eve:${pw}`).toString('base64');
await fetch(`${base}/api/machines`, { headers: { authorization: auth } }); // warm the credential cache

interface Shape { name: string; method: string; path: string; body?: string; type?: string; parallel?: number }
const slashes = (n: number) => JSON.stringify({ action: '/'.repeat(n) + 'x' });
const tinyXml = (bytes: number) => `<MachineCreate xmlns="http://schemas.dmtf.org/cimi/1">${'<p>x</p>'.repeat(Math.floor(bytes / 8))}</MachineCreate>`;
const shapes: Shape[] = [
  { name: 'Action with 80,000 "/" + "x"', method: 'POST', path: `/api/machines/${m.id}/stop`, body: slashes(80_000), type: 'application/json' },
  { name: 'Action with 250,000 "/" + "x" (at the body limit)', method: 'POST', path: `/api/machines/${m.id}`, body: slashes(250_000), type: 'application/json' },
  { name: '$orderby "a" + 15,000 "+"', method: 'GET', path: `/api/machines?$orderby=a${'+'.repeat(15_000)}` },
  { name: `GET /api/jobs?$last=1 (${JOBS} jobs)`, method: 'GET', path: '/api/jobs?$last=1' },
  { name: `20 parallel GET /api/jobs?$last=1 (wall for all)`, method: 'GET', path: '/api/jobs?$last=1', parallel: 20 },
  { name: '240 KB XML body of tiny elements', method: 'POST', path: '/api/machines', body: tinyXml(240_000), type: 'application/xml' },
  { name: '30 parallel 240 KB XML bodies (wall for all)', method: 'POST', path: '/api/machines', body: tinyXml(240_000), type: 'application/xml', parallel: 30 },
];

async function once(s: Shape): Promise<{ cpuMs: number; wallMs: number; status: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const send = () => fetch(base + s.path, { method: s.method, headers: { authorization: auth, accept: 'application/json', ...(s.type ? { 'content-type': s.type } : {}) }, body: s.body });
  const all = await Promise.all(Array.from({ length: s.parallel ?? 1 }, send));
  await Promise.all(all.map((r) => r.text()));
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000 / (s.parallel ?? 1), wallMs: Number(process.hrtime.bigint() - t0) / 1e6, status: all[0].status };
}

const rows: string[] = [];
for (const s of shapes) {
  let worst = { cpuMs: 0, wallMs: 0, status: 0 };
  for (let i = 0; i < REPEAT; i++) {
    const r = await once(s);
    if (r.wallMs > worst.wallMs) worst = r;
  }
  rows.push(`| ${s.name} | ${worst.status} | ${worst.cpuMs.toFixed(1)} | ${worst.wallMs.toFixed(1)} |`);
}
process.stdout.write('| request | status | CPU ms per request (worst of ' + REPEAT + ') | wall ms |\n|---|---:|---:|---:|\n' + rows.join('\n') + '\n');
server.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
