/**
 * Networks end to end (docs/networks.md), on both stores: CIMI over HTTP → placement → three agents
 * on libvirt test-driver hosts labelled zone=a, zone=a and zone=b. Machines with an interface on a
 * zone=a network land on zone=a hosts only, their domain XML carries the interface on the group's
 * libvirt network, and the API shows the MAC libvirt gave it; a network no host is in leaves its
 * machine unplaced with a reason naming it; a network in use cannot be deleted.
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
import { domainInterfaces } from '../../hypervisor-agent/domain-xml.js';
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
const ZONES = ['a', 'a', 'b'];
type Json = Record<string, unknown>;

function client(base: string, user: string) {
  return async (method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Json }> => {
    const res = await fetch(url.startsWith('http') ? url : base + url, {
      method,
      headers: { authorization: 'Basic ' + Buffer.from(`${user}:${PASSWORD}`).toString('base64'), accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) as Json : {} };
  };
}

function networksSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  let server: Server;
  const hosts: LibvirtHost[] = [];
  const agents: HypervisorAgent[] = [];
  let placer: Placer;
  let alice: ReturnType<typeof client>;
  let admin: ReturnType<typeof client>;
  let cfgHref: string;
  let imgHref: string;

  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    dir = mkdtempSync(join(tmpdir(), 'skybus-e2e-net-'));
    const hash = await hashPassword(PASSWORD);
    await fx.store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: hash, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    await fx.store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    const agentStore = await fx.reopen();
    const app = buildApp({ store: fx.store, auth: localBasicAuth(fx.store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    alice = client(base, 'alice');
    admin = client(base, 'root');
    for (const [i, zone] of ZONES.entries()) {
      const h = new LibvirtHost(writeTestHost(join(dir, `host-${i}.xml`), { cpus: 8, memoryKiB: 16 * 1024 * 1024 }));
      await h.connect();
      hosts.push(h);
      const a = new HypervisorAgent({
        store: agentStore, libvirt: h, log: silentLogger(),
        config: agentConfig({ hostId: `net-host-${i}`, libvirtUri: h.uri, intervalMs: 150, stopGraceMs: 500, workDir: join(dir, `agent-${i}`), leaseTtlSeconds: 5, labels: { zone } }),
      });
      await a.start();
      agents.push(a);
    }
    placer = new Placer({ store: agentStore, config: placementConfig({ intervalMs: 100, policy: 'striping' }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
    const cfg = await admin('POST', '/api/machineConfigs', { name: 'small', cpu: 1, memory: 262144, cpuArch: 'x86_64', disks: [] });
    const img = await admin('POST', '/api/machineImages', { name: 'tiny', imageLocation: '/var/lib/skybus/images/vmlinuz', format: 'kernel' });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    assert.equal(img.status, 201, JSON.stringify(img.body));
    cfgHref = String(cfg.body.id);
    imgHref = String(img.body.id);
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

  const network = async (name: string, hostLabels: Record<string, string>, libvirtNetwork: string): Promise<string> => {
    const r = await admin('POST', '/api/networks', { resourceURI: `${CIMI}/NetworkCreate`, name, networkTemplate: { hostGroups: [{ hostLabels, libvirtNetwork }] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return String(r.body.id);
  };
  const machineOn = async (name: string, ...networks: string[]) => {
    const r = await alice('POST', '/api/machines', {
      resourceURI: `${CIMI}/MachineCreate`, name,
      machineTemplate: { machineConfig: { href: cfgHref }, machineImage: { href: imgHref }, networkInterfaces: networks.map((href) => ({ network: { href } })) },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return { url: r.headers.get('location')!, job: r.headers.get('cimi-job-uri')! };
  };
  const jobDone = (uri: string) => until(`job ${uri}`, 60_000, async () => {
    const { body } = await alice('GET', uri);
    if (body.state === 'FAILED') throw new Error(`job failed: ${JSON.stringify(body)}`);
    return body.state === 'SUCCESS';
  });

  it('machines on a zone=a network land on zone=a hosts only, with the interface in their domain XML and the MAC in the API', async function () {
    this.timeout(120_000);
    const pub = await network('public', { zone: 'a' }, 'default');
    const back = await network('backend', {}, 'br-back');
    const made = [];
    for (let i = 0; i < 6; i++) made.push(await machineOn(`web-${i}`, pub, back));
    for (const m of made) await jobDone(m.job);
    const onHost = new Map<number, number>();
    for (const m of made) {
      const id = m.url.split('/').pop()!;
      const row = (await fx.store.machines.get(id))!;
      const i = Number(row.hostId!.replace('net-host-', ''));
      assert.equal(ZONES[i], 'a', `${id} is on ${row.hostId}, not a zone=a host`);
      onHost.set(i, (onHost.get(i) ?? 0) + 1);
      const xml = await hosts[i]!.xml(id);
      assert.match(xml, /<interface type='network'>[\s\S]*?<source network='default'\/>[\s\S]*?<model type='virtio'\/>/);
      const ifs = domainInterfaces(xml);
      assert.deepEqual(ifs.map((x) => x.network), ['default', 'br-back']);
      // The API shows what libvirt holds, once the agent has written it.
      await until(`MACs of ${id} in the API`, 20_000, async () => {
        const { body } = await alice('GET', `${m.url}/networkInterfaces`);
        const nics = body.networkInterfaces as Json[];
        return nics.length === 2 && nics.every((n, k) => n.macAddress === ifs[k]!.macAddress && n.state === 'ACTIVE');
      });
      const nic0 = (await alice('GET', `${m.url}/networkInterfaces/0`)).body;
      assert.equal(nic0.network && (nic0.network as Json).href, pub);
      assert.match(String(nic0.macAddress), /^52:54:00(:[0-9a-f]{2}){3}$/);
    }
    assert.deepEqual([...onHost.keys()].sort(), [0, 1], 'striping used both zone=a hosts and never the zone=b one');
    assert.equal((await hosts[2]!.listDomains()).filter((d) => d.name.startsWith('skybus-')).length, 0);

    // In use: 409; once the machines are gone, deleted.
    const busy = await admin('DELETE', pub);
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.match(String(busy.body.message), /used by 6 machines/);
    for (const m of made) {
      const d = await alice('DELETE', m.url);
      assert.equal(d.status, 202);
      await jobDone(d.headers.get('cimi-job-uri')!);
    }
    assert.equal((await admin('DELETE', pub)).status, 200);
    assert.equal((await admin('DELETE', back)).status, 200);
    assert.equal((await alice('GET', pub)).status, 404);
  });

  it('a machine on a network no host is in is not placed, and its reason names the network', async function () {
    this.timeout(60_000);
    const dmz = await network('dmz', { zone: 'z' }, 'default');
    const m = await machineOn('lonely', dmz);
    await until('placement to give up on it for now', 20_000, async () => (await fx.store.machines.get(m.url.split('/').pop()!))?.placement?.reason != null);
    const mine = (await alice('GET', m.url)).body;
    assert.equal(mine.state, 'CREATING');
    assert.equal(mine.statusMessage, "no available host is on network 'dmz'");
    const row = (await fx.store.machines.get(m.url.split('/').pop()!))!;
    assert.match(row.placement!.reason!, /3 not on network 'dmz'/);
    // Deleted before placement: purged by placement, and the network is free again.
    const d = await alice('DELETE', m.url);
    assert.equal(d.status, 202);
    await until('the network to be free', 30_000, async () => (await admin('DELETE', dmz)).status === 200);
  });
}

describe('networks end to end', function () {
  onBothStores(networksSuite);
});
