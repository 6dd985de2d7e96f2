/**
 * The capture life cycle end to end on the libvirt test hypervisor, on both stores: CIMI over HTTP
 * -> spec.capture -> the host's agent (a placeholder file stands in for the disk copy on the test
 * driver, docs/capture.md) -> the image AVAILABLE and its Job SUCCESS -> a new machine from the
 * image reaches STARTED. Another tenant never sees the image.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

const PASSWORD = 'capture e2e password';
const CAPTURE = 'http://schemas.dmtf.org/cimi/1/action/capture';
type Json = Record<string, unknown>;

function captureSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  let server: Server;
  let host: LibvirtHost;
  let agent: HypervisorAgent;
  let placer: Placer;
  let base: string;

  const call = async (user: string, method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Json }> => {
    const res = await fetch(url.startsWith('http') ? url : base + url, {
      method,
      headers: { authorization: 'Basic ' + Buffer.from(`${user}:${PASSWORD}`).toString('base64'), accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) as Json : {} };
  };
  const stateOf = async (url: string) => String((await call('alice', 'GET', url)).body.state);
  const jobEnds = (uri: string) => until(`job ${uri} to end`, 60_000, async () => {
    const { body } = await call('alice', 'GET', uri);
    return ['SUCCESS', 'FAILED', 'STOPPED'].includes(String(body.state)) ? body : null;
  });

  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    dir = mkdtempSync(join(tmpdir(), 'skybus-capture-'));
    const hash = await hashPassword(PASSWORD);
    await fx.store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: hash, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    await fx.store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    await fx.store.accounts.createUser({ name: 'bob', tenant: 'globex', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    const app = buildApp({ store: fx.store, auth: localBasicAuth(fx.store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    host = new LibvirtHost(writeTestHost(join(dir, 'host.xml'), { cpus: 8, memoryKiB: 8 * 1024 * 1024 }));
    await host.connect();
    agent = new HypervisorAgent({
      store: fx.store, libvirt: host, log: silentLogger(),
      config: agentConfig({ hostId: 'cap-host', libvirtUri: host.uri, intervalMs: 150, stopGraceMs: 500, workDir: join(dir, 'work'), imageDir: join(dir, 'images'), leaseTtlSeconds: 5 }),
    });
    await agent.start();
    placer = new Placer({ store: fx.store, config: placementConfig({ intervalMs: 100 }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
  });

  after(async function () {
    this.timeout(60_000);
    await placer?.stop();
    await agent?.stop().catch(() => undefined);
    await host?.close().catch(() => undefined);
    if (server) await new Promise((r) => server.close(r));
    if (fx) await fx.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('STARTED machine -> capture -> image AVAILABLE, job SUCCESS -> a new machine from the image STARTED; STOPPED machines capture too', async function () {
    this.timeout(120_000);
    const cfg = await call('root', 'POST', '/api/machineConfigs', { name: 'small', cpu: 1, memory: 262144, cpuArch: 'x86_64', disks: [{ capacity: 1048576 }] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await call('root', 'POST', '/api/machineImages', { name: 'base', imageLocation: '/var/lib/skybus/images/base.qcow2', format: 'qcow2' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const made = await call('alice', 'POST', '/api/machines', { name: 'src', machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id } } });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    const src = made.headers.get('location')!;
    await until('source STARTED', 30_000, async () => (await stateOf(src)) === 'STARTED');
    const shown = await call('alice', 'GET', src);
    const op = (shown.body.operations as { rel: string; href: string }[]).find((o) => o.rel === CAPTURE);
    assert.ok(op, 'capture advertised on STARTED');

    const cap = await call('alice', 'POST', op.href, { resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineImage', name: 'golden', imageLocation: { href: src } });
    assert.equal(cap.status, 202, JSON.stringify(cap.body));
    assert.equal(cap.body.state, 'CREATING');
    const imageUrl = cap.headers.get('location')!;
    const job = await jobEnds(cap.headers.get('cimi-job-uri')!);
    assert.equal(job.state, 'SUCCESS', JSON.stringify(job));
    const image = (await call('alice', 'GET', imageUrl)).body;
    assert.equal(image.state, 'AVAILABLE');
    const file = String(image.imageLocation);
    assert.equal(file, join(dir, 'images', `${imageUrl.split('/').pop()}.qcow2`));
    assert.match(readFileSync(file, 'utf8'), /skybus test-driver capture placeholder/);
    await until('source back to STARTED', 10_000, async () => (await stateOf(src)) === 'STARTED');
    assert.equal((await host.lookup(src.split('/').pop()!))?.state, 'running', 'the guest runs on after the capture');

    // private to acme
    assert.equal((await call('bob', 'GET', imageUrl)).status, 404);
    assert.ok(!JSON.stringify((await call('bob', 'GET', '/api/machineImages')).body).includes(String(imageUrl.split('/').pop())));

    const clone = await call('alice', 'POST', '/api/machines', { name: 'clone', machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: imageUrl } } });
    assert.equal(clone.status, 202, JSON.stringify(clone.body));
    await until('clone STARTED', 30_000, async () => (await stateOf(clone.headers.get('location')!)) === 'STARTED');
    assert.equal((await call('alice', 'GET', clone.headers.get('location')!)).body.imageLocation, file);

    // a STOPPED machine, by the Action form
    const stop = await call('alice', 'POST', `${src}/stop`, { action: 'http://schemas.dmtf.org/cimi/1/action/stop' });
    assert.equal((await jobEnds(stop.headers.get('cimi-job-uri')!)).state, 'SUCCESS');
    const cap2 = await call('alice', 'POST', `${src}/capture`, { action: CAPTURE, name: 'cold' });
    assert.equal(cap2.status, 202, JSON.stringify(cap2.body));
    assert.equal((await jobEnds(cap2.headers.get('cimi-job-uri')!)).state, 'SUCCESS');
    assert.equal((await call('alice', 'GET', cap2.headers.get('location')!)).body.state, 'AVAILABLE');
    assert.equal(await stateOf(src), 'STOPPED');
    assert.equal((await host.lookup(src.split('/').pop()!))?.state, 'shutoff', 'a stopped machine stays off');

    // deleting the image takes it out of the catalog; the file stays (machines may be backed by it)
    assert.equal((await call('alice', 'DELETE', imageUrl)).status, 200);
    assert.equal((await call('alice', 'GET', imageUrl)).status, 404);
    assert.ok(existsSync(file));
  });
}

describe('end to end: capture on the test hypervisor', () => onBothStores(captureSuite));
