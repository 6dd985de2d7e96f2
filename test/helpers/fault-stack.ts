/**
 * Skybus on the three-node fault ring for the fault tests: a keyspace (RF=3, QUORUM), a frontend on
 * a port, a placer, agents on libvirt test hosts, a machine template, and an HTTP client as the
 * admin. `domains()` lists what runs on every test host, for "never two copies" checks.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../frontend/app.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { HypervisorAgent } from '../../hypervisor-agent/agent.js';
import { agentConfig } from '../../hypervisor-agent/config.js';
import { LibvirtHost, type DomainSnapshot } from '../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../hypervisor-agent/test-host.js';
import { pino } from 'pino';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import { openStore, type BusStore } from '../../schema/bus-store.js';
import type { CassandraDriver } from '../../schema/cassandra-driver.js';
import { ringAddresses } from './fault-ring.js';
import { until } from './until.js';

const PASSWORD = 'fault stack password';

export interface CallResult { status: number; headers: Headers; ms: number; body: Record<string, unknown> }

export interface FaultStack {
  store: BusStore;
  template: string;
  hosts: LibvirtHost[];
  call(method: string, url: string, body?: unknown): Promise<CallResult>;
  /** Every domain on every test host, with the host's index. */
  domains(): Promise<(DomainSnapshot & { host: number })[]>;
  jobsDone(jobs: string[], timeoutMs?: number): Promise<void>;
  /** The frontend's logged internal errors (a 500's cause), newest last. */
  internalErrors(): string[];
  /** What the frontend's 503s were waiting for: store operation and message, with counts. */
  unavailableCauses(): Record<string, number>;
  cleanup(): Promise<void>;
}

export async function faultStack(name: string, opts: { agents?: number } = {}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), `skybus-${name}-`));
  const keyspace = `skybus_${name}_${Date.now().toString(36)}`;
  const store = await openStore({
    kind: 'cassandra', contactPoints: ringAddresses(), localDataCenter: 'datacenter1', keyspace,
    replication: { class: 'SimpleStrategy', replication_factor: 3 }, consistency: 'QUORUM',
  });
  await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: await hashPassword(PASSWORD), roles: ['admin', 'user'], disabled: false, created: Date.now() });
  // Warnings and errors to a file, so a failing fault test can say what a 5xx was.
  const logFile = join(dir, 'frontend.log');
  const log = pino({ level: 'warn' }, pino.destination({ dest: logFile, sync: true }));
  const app = buildApp({ store, auth: localBasicAuth(store), log, metrics: new SkybusMetrics(), config: frontendConfig() });
  const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const auth = 'Basic ' + Buffer.from(`root:${PASSWORD}`).toString('base64');
  const call = async (method: string, url: string, body?: unknown): Promise<CallResult> => {
    const t0 = Date.now();
    const res = await fetch(url.startsWith('http') ? url : base + url, { method, headers: { authorization: auth, accept: 'application/json', 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, ms: Date.now() - t0, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const hosts: LibvirtHost[] = [];
  const agents: HypervisorAgent[] = [];
  for (let i = 0; i < (opts.agents ?? 2); i++) {
    const h = new LibvirtHost(writeTestHost(join(dir, `h${i}.xml`), { cpus: 64, memoryKiB: 128 * 1024 * 1024 }));
    await h.connect();
    hosts.push(h);
    const a = new HypervisorAgent({ store, config: agentConfig({ hostId: `${name}-${i}`, libvirtUri: h.uri, intervalMs: 300, workDir: join(dir, `a${i}`), leaseTtlSeconds: 15 }), libvirt: h, log: silentLogger() });
    await a.start();
    agents.push(a);
  }
  const placer = new Placer({ store, config: placementConfig({ intervalMs: 200, policy: 'striping', fullResyncMs: 2000 }), log: silentLogger(), metrics: new SkybusMetrics() });
  placer.start();
  const cfg = String((await call('POST', '/api/machineConfigs', { name: 'f', cpu: 1, memory: 262144 })).body.id);
  const img = String((await call('POST', '/api/machineImages', { name: 'k', imageLocation: '/var/lib/skybus/vmlinuz', format: 'kernel' })).body.id);
  const template = String((await call('POST', '/api/machineTemplates', { name: 't', machineConfig: { href: cfg }, machineImage: { href: img } })).body.id);
  return {
    store, template, hosts, call,
    async domains() { return (await Promise.all(hosts.map(async (h, i) => (await h.listDomains()).map((d) => ({ ...d, host: i }))))).flat(); },
    async jobsDone(jobs, timeoutMs = 240_000) {
      await until(`${jobs.length} jobs`, timeoutMs, async () => {
        for (const j of jobs) {
          const r = await call('GET', j);
          if (r.status !== 200) return false;
          if (r.body.state === 'FAILED') throw new Error(`job failed: ${j} ${JSON.stringify(r.body)}`);
          if (r.body.state !== 'SUCCESS') return false;
        }
        return true;
      }, 500);
    },
    internalErrors() {
      try {
        return readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('internal error')).map((l) => l.slice(0, 1500));
      } catch { return []; }
    },
    unavailableCauses() {
      const out: Record<string, number> = {};
      let text = '';
      try { text = readFileSync(logFile, 'utf8'); } catch { return out; }
      for (const line of text.split('\n')) {
        if (!line.includes('request failed')) continue;
        try {
          const err = (JSON.parse(line) as { err?: { details?: { storeOperation?: string }; message?: string } }).err;
          const k = `${err?.details?.storeOperation ?? '?'}: ${(err?.message ?? '').slice(0, 60)}`;
          out[k] = (out[k] ?? 0) + 1;
        } catch { /* not JSON */ }
      }
      return out;
    },
    async cleanup() {
      await placer.stop();
      for (const a of agents) await a.stop().catch(() => undefined);
      for (const h of hosts) await h.close().catch(() => undefined);
      await new Promise((r) => server.close(r));
      await (store.driver as CassandraDriver).client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rows whole: every machine has its tenant index row, and the hosts' claims equal the placed machines. */
export async function rowsWhole(store: BusStore, tenant: string): Promise<string | null> {
  const machines: { id: string; hostId: string | null; cpu: number }[] = [];
  let ps: string | null = null;
  do { const p = await store.machines.scan({ limit: 500, pageState: ps }); machines.push(...p.items.map((m) => ({ id: m.id, hostId: m.hostId, cpu: m.spec.cpu }))); ps = p.pageState; } while (ps);
  const indexed = new Set<string>();
  ps = null;
  do { const p = await store.machines.listByTenant(tenant, { limit: 500, pageState: ps }); for (const m of p.items) indexed.add(m.id); ps = p.pageState; } while (ps);
  const orphan = machines.find((m) => !indexed.has(m.id));
  if (orphan) return `machine ${orphan.id} without its tenant index row`;
  const placedCpu = machines.filter((m) => m.hostId && !m.hostId.startsWith('(')).reduce((a, m) => a + m.cpu, 0);
  const used = (await store.hosts.list()).reduce((a, h) => a + h.usedCpus, 0);
  return used === placedCpu ? null : `hosts claim ${used} CPUs, placed machines hold ${placedCpu}`;
}

/** A machine id defined on two hosts at once, or null. */
export function twoCopies(domains: (DomainSnapshot & { host: number })[]): string | null {
  const seen = new Map<string, number>();
  for (const d of domains) {
    if (d.state !== 'running') continue;
    const h = seen.get(d.uuid);
    if (h !== undefined && h !== d.host) return d.uuid;
    seen.set(d.uuid, d.host);
  }
  return null;
}

/** Runs `probe` every `everyMs` until `stop()`, which waits for the last run (the fault tests' samplers). */
export function sampleEvery(everyMs: number, probe: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await probe();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { async stop() { running = false; await loop; } };
}
