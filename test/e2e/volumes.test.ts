/**
 * Volumes end to end through the bus, on both stores (docs/volumes.md): CIMI over HTTP → placement →
 * two hypervisor agents on libvirt test-driver hosts (zones a and b) → status back → the API. A
 * volume takes its first machine's host, is put into the machine's domain definition (the definition
 * libvirt would boot next), is refused on the other host, moves between machines of its host, and is
 * deleted by its agent once detached; a purged machine leaves no attachment behind.
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
import { until } from '../helpers/until.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const PASSWORD = 'e2e password 123';
const CIMI = 'http://schemas.dmtf.org/cimi/1';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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

function volumeSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  let server: Server;
  const hosts: LibvirtHost[] = [];
  let agents: HypervisorAgent[] = [];
  let placer: Placer;
  let alice: Http;
  let admin: Http;

  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    dir = mkdtempSync(join(tmpdir(), 'skybus-e2e-vol-'));
    const hash = await hashPassword(PASSWORD);
    await fx.store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: hash, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    await fx.store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    const app = buildApp({ store: fx.store, auth: localBasicAuth(fx.store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    alice = new Http(base, 'alice');
    admin = new Http(base, 'root');
    const agentStore = await fx.reopen();
    for (const zone of ['a', 'b']) {
      const h = new LibvirtHost(writeTestHost(join(dir, `host-${zone}.xml`), { cpus: 8, memoryKiB: 16 * 1024 * 1024 }));
      await h.connect();
      hosts.push(h);
      agents.push(new HypervisorAgent({
        store: agentStore, libvirt: h, log: silentLogger(),
        config: agentConfig({ hostId: `vol-host-${zone}`, libvirtUri: h.uri, intervalMs: 150, stopGraceMs: 500, workDir: join(dir, `agent-${zone}`), leaseTtlSeconds: 5, labels: { zone } }),
      }));
    }
    for (const a of agents) await a.start();
    placer = new Placer({ store: agentStore, config: placementConfig({ intervalMs: 100 }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
  });

  after(async function () {
    this.timeout(60_000);
    await placer?.stop();
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const h of hosts) await h.close().catch(() => undefined);
    if (server) await new Promise((r) => server.close(r));
    if (fx) await fx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function settled(jobUri: string, timeoutMs = 60_000): Promise<Json> {
    return until(`job ${jobUri}`, timeoutMs, async () => {
      const { body } = await alice.req('GET', jobUri);
      if (body.state === 'FAILED') throw new Error(`job failed: ${JSON.stringify(body)}`);
      return body.state === 'SUCCESS' ? body : null;
    });
  }

  /** What the domain of a machine would boot with next: the volumes of its persistent definition. */
  async function definedDisks(host: number, machineUrl: string): Promise<string> {
    return hosts[host].inactiveXml(machineUrl.slice(machineUrl.lastIndexOf('/') + 1));
  }

  it('a volume\'s life cycle: first attach picks the host, the definition follows attach and detach, other host refused, delete by its agent', async function () {
    this.timeout(180_000);
    const cfg = await admin.req('POST', '/api/machineConfigs', { name: 'small', cpu: 1, memory: 262144, cpuArch: 'x86_64', disks: [] });
    const img = await admin.req('POST', '/api/machineImages', { name: 'tiny', imageLocation: '/var/lib/skybus/images/vmlinuz', format: 'kernel', initrd: '/var/lib/skybus/images/initramfs.gz', kernelCmdline: 'console=ttyS0' });
    const vcfg = await admin.req('POST', '/api/volumeConfigs', { name: '1g', capacity: 1048576, format: 'qcow2' });
    assert.equal(vcfg.status, 201, JSON.stringify(vcfg.body));
    const machine = async (name: string, zone: string) => {
      const r = await alice.req('POST', '/api/machines', {
        resourceURI: `${CIMI}/MachineCreate`, name, requirements: { zone },
        machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STOPPED' },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await settled(r.headers.get('cimi-job-uri')!);
      return r.headers.get('location')!;
    };
    const [m1, m2, m3] = [await machine('m1', 'a'), await machine('m2', 'a'), await machine('m3', 'b')];
    const quotaBefore = (await alice.req('GET', '/api/quota')).body.volumeUsage;

    const v = await alice.req('POST', '/api/volumes', { resourceURI: `${CIMI}/VolumeCreate`, name: 'data', volumeTemplate: { volumeConfig: { href: vcfg.body.id } } });
    assert.equal(v.status, 202, JSON.stringify(v.body));
    const vUrl = v.headers.get('location')!;
    await settled(v.headers.get('cimi-job-uri')!);
    assert.deepEqual((await alice.req('GET', '/api/quota')).body.volumeUsage, { volumes: quotaBefore.volumes + 1, volumeGiB: quotaBefore.volumeGiB + 1 });

    // First attach: the volume takes m1's host (zone a); the agent records its file and redefines m1.
    const att = await alice.req('POST', `${m1}/volumes`, { resourceURI: `${CIMI}/MachineVolume`, volume: { href: vUrl }, initialLocation: 'vdb' });
    assert.equal(att.status, 202, JSON.stringify(att.body));
    await settled(att.headers.get('cimi-job-uri')!);
    const vol = (await admin.req('GET', vUrl.replace('/api/volumes/', '/api/volumes/'))).body;
    assert.equal(vol.state, undefined); // another tenant (the admin's ops) cannot see it
    const seen = (await alice.req('GET', vUrl)).body;
    assert.equal(seen.state, 'AVAILABLE');
    assert.match(await definedDisks(0, m1), /<source file='[^']*agent-a\/volumes\/[0-9a-f-]+\.qcow2'\/>\s*<target dev='vdb' bus='virtio'\/>/);
    assert.equal((await alice.req('GET', att.headers.get('location')!)).body.state, 'ATTACHED');

    // Started, a running machine cannot give it up; stopped, it can.
    const start = await alice.req('POST', `${m1}/start`, { resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/start` });
    await settled(start.headers.get('cimi-job-uri')!);
    const refused = await alice.req('DELETE', att.headers.get('location')!);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const stop = await alice.req('POST', `${m1}/stop`, { resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/stop` });
    await settled(stop.headers.get('cimi-job-uri')!, 90_000);
    const det = await alice.req('DELETE', att.headers.get('location')!);
    assert.equal(det.status, 202, JSON.stringify(det.body));
    await settled(det.headers.get('cimi-job-uri')!);
    assert.doesNotMatch(await definedDisks(0, m1), /volumes\//);

    // Another host: refused with the reason. Same host: moves to m2.
    const cross = await alice.req('POST', `${m3}/volumes`, { volume: { href: vUrl } });
    assert.equal(cross.status, 409);
    assert.match(cross.body.message, /another host .* no shared storage/);
    const att2 = await alice.req('POST', `${m2}/volumes`, { volume: { href: vUrl } });
    assert.equal(att2.status, 202, JSON.stringify(att2.body));
    await settled(att2.headers.get('cimi-job-uri')!);
    assert.match(await definedDisks(0, m2), /agent-a\/volumes\/.*\s*<target dev='vdb'/);
    assert.equal((await alice.req('DELETE', vUrl)).status, 409);
    const det2 = await alice.req('DELETE', att2.headers.get('location')!);
    await settled(det2.headers.get('cimi-job-uri')!);

    // Deleted by its agent once no definition holds it; the quota charge comes back once.
    const del = await alice.req('DELETE', vUrl);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await settled(del.headers.get('cimi-job-uri')!);
    assert.equal((await alice.req('GET', vUrl)).status, 404);
    assert.deepEqual((await alice.req('GET', '/api/quota')).body.volumeUsage, quotaBefore);

    // A machine deleted with a volume attached: the volume stays, free to delete.
    const w = await alice.req('POST', '/api/volumes', { name: 'w', volumeTemplate: { volumeConfig: { capacity: 1048576, format: 'raw' } } });
    const wUrl = w.headers.get('location')!;
    const attW = await alice.req('POST', `${m3}/volumes`, { volume: { href: wUrl } });
    await settled(attW.headers.get('cimi-job-uri')!);
    assert.match(await definedDisks(1, m3), /agent-b\/volumes\/.*\.raw'/);
    const delM = await alice.req('DELETE', m3);
    await settled(delM.headers.get('cimi-job-uri')!);
    const delW = await alice.req('DELETE', wUrl);
    assert.equal(delW.status, 202, JSON.stringify(delW.body));
    await settled(delW.headers.get('cimi-job-uri')!);
    assert.equal((await alice.req('GET', wUrl)).status, 404);
  });
}

describe('e2e: volumes through the bus and the agents (test driver)', () => onBothStores(volumeSuite));
