/**
 * End to end through the bus, on both stores: CIMI over HTTP (two frontends) → placement → five
 * hypervisor agents on libvirt test-driver hosts → status back → the API. Then every action, libvirt
 * agreeing with the bus, and an agent killed and restarted mid-work.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../frontend/app.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { HypervisorAgent } from '../../hypervisor-agent/agent.js';
import { agentConfig } from '../../hypervisor-agent/config.js';
import { LibvirtHost } from '../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../hypervisor-agent/test-host.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import type { BusStore } from '../../schema/bus-store.js';
import { until } from '../helpers/until.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const PASSWORD = 'e2e password 123';
const HOSTS = 5;
const MACHINES = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, unknown>;

class Http {
  constructor(readonly base: string, private readonly user: string) {}
  async req(method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Json }> {
    const res = await fetch(url.startsWith('http') ? url : this.base + url, {
      method,
      headers: { authorization: 'Basic ' + Buffer.from(`${this.user}:${PASSWORD}`).toString('base64'), accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) as Json : {} };
  }
}


function systemSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  const servers: Server[] = [];
  const hosts: LibvirtHost[] = [];
  let agents: HypervisorAgent[] = [];
  let placer: Placer;
  let stores: BusStore[] = [];
  let alice: Http[] = [];
  let admin: Http;
  const machineUrls: string[] = [];

  const agentFor = (i: number, store: BusStore) => new HypervisorAgent({
    store,
    config: agentConfig({ hostId: `e2e-host-${i}`, libvirtUri: hosts[i].uri, intervalMs: 150, stopGraceMs: 800, workDir: join(dir, `agent-${i}`), leaseTtlSeconds: 5 }),
    libvirt: hosts[i],
    log: silentLogger(),
  });

  async function jobsSettle(jobUris: string[], timeoutMs = 120_000): Promise<void> {
    const pending = new Set(jobUris);
    await until(`${jobUris.length} jobs to succeed`, timeoutMs, async () => {
      for (const uri of [...pending]) {
        const { body } = await alice[0].req('GET', uri);
        if (body.state === 'SUCCESS') pending.delete(uri);
        else if (body.state === 'FAILED') throw new Error(`job failed: ${JSON.stringify(body)}`);
      }
      return pending.size === 0;
    });
  }

  async function stateOf(url: string): Promise<string> {
    return String((await alice[1].req('GET', url)).body.state);
  }

  async function act(url: string, action: string): Promise<string> {
    const r = await alice[machineUrls.indexOf(url) % 2].req('POST', `${url}/${action}`, { resourceURI: 'http://schemas.dmtf.org/cimi/1/Action', action: `http://schemas.dmtf.org/cimi/1/action/${action}` });
    assert.equal(r.status, 202, `${action}: ${JSON.stringify(r.body)}`);
    return r.headers.get('cimi-job-uri')!;
  }

  async function domains(): Promise<Map<string, { host: number; state: string; id: number | null }>> {
    const out = new Map<string, { host: number; state: string; id: number | null }>();
    for (let i = 0; i < hosts.length; i++) {
      for (const d of await hosts[i].listDomains()) {
        if (!d.name.startsWith('skybus-')) continue;
        assert.ok(!out.has(d.uuid), `domain ${d.uuid} exists on two hosts`);
        out.set(d.uuid, { host: i, state: d.state, id: d.id });
      }
    }
    return out;
  }

  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    dir = mkdtempSync(join(tmpdir(), 'skybus-e2e-'));
    const hash = await hashPassword(PASSWORD);
    await fx.store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: hash, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    await fx.store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    stores = [fx.store, await fx.reopen(), await fx.reopen()];
    for (let f = 0; f < 2; f++) {
      const app = buildApp({ store: stores[f], auth: localBasicAuth(stores[f]), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
      const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
      servers.push(server);
      const addr = server.address() as { port: number };
      alice.push(new Http(`http://127.0.0.1:${addr.port}`, 'alice'));
      if (f === 0) admin = new Http(`http://127.0.0.1:${addr.port}`, 'root');
    }
    for (let i = 0; i < HOSTS; i++) {
      const h = new LibvirtHost(writeTestHost(join(dir, `host-${i}.xml`), { cpus: 8, memoryKiB: 16 * 1024 * 1024 }));
      await h.connect();
      hosts.push(h);
    }
    agents = hosts.map((_, i) => agentFor(i, stores[2]));
    for (const a of agents) await a.start();
    placer = new Placer({ store: stores[2], config: placementConfig({ intervalMs: 100, policy: 'striping' }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
  });

  after(async function () {
    this.timeout(60_000);
    await placer?.stop();
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const h of hosts) await h.close().catch(() => undefined);
    for (const s of servers) await new Promise((r) => s.close(r));
    if (fx) await fx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`creates ${MACHINES} machines over HTTP across ${HOSTS} agents and all reach STARTED`, async function () {
    this.timeout(180_000);
    const cfg = await admin.req('POST', '/api/machineConfigs', { name: 'small', cpu: 1, memory: 262144, cpuArch: 'x86_64', disks: [] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await admin.req('POST', '/api/machineImages', { name: 'tiny', imageLocation: '/var/lib/skybus/images/vmlinuz', format: 'kernel', initrd: '/var/lib/skybus/images/initramfs.gz', kernelCmdline: 'console=ttyS0' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const jobs: string[] = [];
    for (let i = 0; i < MACHINES; i++) {
      const r = await alice[i % 2].req('POST', '/api/machines', {
        resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate', name: `vm-${i}`,
        machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STARTED', userData: Buffer.from(`hello ${i}`).toString('base64') },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      machineUrls.push(r.headers.get('location')!);
      jobs.push(r.headers.get('cimi-job-uri')!);
    }
    await jobsSettle(jobs);
    const list = await alice[1].req('GET', `/api/machines?$filter=${encodeURIComponent("state='STARTED'")}`);
    assert.equal(list.body.count, MACHINES);
    const doms = await domains();
    assert.equal(doms.size, MACHINES);
    for (const d of doms.values()) assert.equal(d.state, 'running');
    const used = new Set([...doms.values()].map((d) => d.host));
    assert.equal(used.size, HOSTS, 'striping spreads machines over every host');
    for (const url of machineUrls) {
      const id = url.split('/').pop()!;
      const m = (await fx.store.machines.get(id))!;
      assert.equal(`e2e-host-${doms.get(id)!.host}`, m.hostId, 'libvirt and the bus agree on the host');
    }
  });

  it('stop, start, pause, suspend, restart and delete each reach their state and their Jobs succeed', async function () {
    this.timeout(240_000);
    const [toStop, toPause, toSuspend, toRestart, toDelete] = [0, 1, 2, 3, 4].map((k) => machineUrls.slice(k * 5, k * 5 + 5));
    const before = await domains();
    const jobs: string[] = [];
    for (const u of toStop) jobs.push(await act(u, 'stop'));
    for (const u of toPause) jobs.push(await act(u, 'pause'));
    for (const u of toSuspend) jobs.push(await act(u, 'suspend'));
    for (const u of toRestart) jobs.push(await act(u, 'restart'));
    for (const u of toDelete) {
      const r = await alice[0].req('DELETE', u);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      jobs.push(r.headers.get('cimi-job-uri')!);
    }
    await jobsSettle(jobs);
    for (const u of toStop) assert.equal(await stateOf(u), 'STOPPED');
    for (const u of toPause) assert.equal(await stateOf(u), 'PAUSED');
    for (const u of toSuspend) assert.equal(await stateOf(u), 'SUSPENDED');
    for (const u of toRestart) assert.equal(await stateOf(u), 'STARTED');
    for (const u of toDelete) assert.equal((await alice[0].req('GET', u)).status, 404);
    // An action that the state does not allow is refused with 409.
    const refused = await alice[0].req('POST', `${toStop[0]}/pause`, { resourceURI: 'http://schemas.dmtf.org/cimi/1/Action', action: 'http://schemas.dmtf.org/cimi/1/action/pause' });
    assert.equal(refused.status, 409);
    // Start again what was stopped, paused and suspended.
    const again: string[] = [];
    for (const u of [...toStop, ...toPause, ...toSuspend]) again.push(await act(u, 'start'));
    await jobsSettle(again);
    for (const u of [...toStop, ...toPause, ...toSuspend]) assert.equal(await stateOf(u), 'STARTED');

    // libvirt agrees with the bus: no extra, no missing domains.
    const after = await domains();
    const alive = machineUrls.filter((u) => !toDelete.includes(u)).map((u) => u.split('/').pop()!);
    assert.deepEqual([...after.keys()].sort(), [...alive].sort());
    for (const d of after.values()) assert.equal(d.state, 'running');
    // The restarted ones really restarted (new domain id on the test driver), the untouched did not.
    for (const u of toRestart) { const id = u.split('/').pop()!; assert.notEqual(after.get(id)!.id, before.get(id)!.id); }
    for (const u of machineUrls.slice(25)) { const id = u.split('/').pop()!; assert.equal(after.get(id)!.id, before.get(id)!.id); }
    // Claims: released exactly once for the deleted machines.
    const hostsNow = await fx.store.hosts.list();
    const usedCpus = hostsNow.filter((h) => h.id.startsWith('e2e-host-')).reduce((a, h) => a + h.usedCpus, 0);
    assert.equal(usedCpus, alive.length);
  });

  it('an agent killed mid-work and restarted converges, with no duplicate domains and running guests untouched', async function () {
    this.timeout(120_000);
    const victim = 0;
    const onVictim = [...(await domains()).entries()].filter(([, d]) => d.host === victim);
    assert.ok(onVictim.length >= 2);
    const [stopId] = onVictim[0];
    const stopUrl = machineUrls.find((u) => u.endsWith(stopId))!;
    const idsBefore = new Map(onVictim.map(([id, d]) => [id, d.id]));
    // Kill the agent (its libvirt host lives on, like libvirtd), then ask for work it must do.
    await agents[victim].stop();
    const job = await act(stopUrl, 'stop');
    await sleep(500);
    assert.equal((await alice[0].req('GET', job)).body.state !== 'SUCCESS', true, 'nothing converges while the agent is down');
    agents[victim] = agentFor(victim, stores[2]);
    await agents[victim].start();
    await jobsSettle([job]);
    assert.equal(await stateOf(stopUrl), 'STOPPED');
    const after = await domains();
    assert.equal([...after.values()].filter((d) => d.host === victim).length, onVictim.length, 'no duplicate or lost domains');
    for (const [id, domId] of idsBefore) {
      if (id === stopId) continue;
      assert.equal(after.get(id)?.state, 'running');
      assert.equal(after.get(id)?.id, domId, `guest ${id} was restarted`);
    }
  });
}

describe('end to end: CIMI → placement → agents → libvirt', () => {
  onBothStores(systemSuite);
});
