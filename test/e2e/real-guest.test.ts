/**
 * A real guest through the whole system: libvirtd + QEMU (TCG) boots the tiny Debian-kernel +
 * busybox guest of scripts/qemu, created through the CIMI API with user data; the test reads the
 * guest's own console output, then deletes the machine through the API.
 * `npm test` runs it as root with SKYBUS_REAL_QEMU=1 after starting libvirtd and building the guest;
 * without that variable (no libvirtd: not root, or a laptop) it is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../frontend/app.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { HypervisorAgent } from '../../hypervisor-agent/agent.js';
import { agentConfig } from '../../hypervisor-agent/config.js';
import { machinePaths } from '../../hypervisor-agent/domain-xml.js';
import { LibvirtHost } from '../../hypervisor-agent/libvirt-host.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import { openStore, type BusStore } from '../../schema/bus-store.js';
import { until } from '../helpers/until.js';

const GUEST = process.env.SKYBUS_GUEST_DIR ?? join(homedir(), '.cache', 'skybus', 'guest');
const PASSWORD = 'real guest password';


describe('end to end: a real QEMU guest created and deleted through the API', function () {
  this.timeout(240_000);
  let dir: string;
  let store: BusStore;
  let agent: HypervisorAgent;
  let placer: Placer;
  let server: Server;
  let base: string;
  const hostId = `real-${process.pid}`;
  const auth = 'Basic ' + Buffer.from(`root:${PASSWORD}`).toString('base64');
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url.startsWith('http') ? url : base + url, { method, headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  before(async function () {
    if (process.env.SKYBUS_REAL_QEMU !== '1') this.skip(); // needs root + libvirtd (npm test sets it up)
    assert.ok(existsSync(join(GUEST, 'vmlinuz')) && existsSync(join(GUEST, 'initramfs.gz')), `guest not built in ${GUEST} (scripts/qemu/build-guest.sh)`);
    dir = mkdtempSync(join(tmpdir(), 'skybus-real-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: await hashPassword(PASSWORD), roles: ['admin', 'user'], disabled: false, created: Date.now() });
    const app = buildApp({ store, auth: localBasicAuth(store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    agent = new HypervisorAgent({ store, config: agentConfig({ hostId, libvirtUri: 'qemu:///system', intervalMs: 300, stopGraceMs: 20_000, workDir: join(dir, 'work'), domainPrefix: 'skybus-' }), log: silentLogger() });
    await agent.start();
    placer = new Placer({ store, config: placementConfig({ intervalMs: 200 }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
  });

  after(async () => {
    await placer?.stop();
    await agent?.stop();
    if (server) await new Promise((r) => server.close(r));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('boots, prints its user data on its console, and is gone after DELETE', async () => {
    const cfg = await call('POST', '/api/machineConfigs', { name: 'tiny', cpu: 1, memory: 131072, cpuArch: 'x86_64', disks: [] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await call('POST', '/api/machineImages', { name: 'tiny-linux', imageLocation: join(GUEST, 'vmlinuz'), format: 'kernel', initrd: join(GUEST, 'initramfs.gz'), kernelCmdline: 'console=ttyS0 quiet' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const marker = `hello from skybus ${process.pid}`;
    const created = await call('POST', '/api/machines', {
      resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate', name: 'real-guest',
      machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STARTED', userData: Buffer.from(marker).toString('base64') },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const url = created.headers.get('location')!;
    const id = url.split('/').pop()!;
    const job = created.headers.get('cimi-job-uri')!;
    await until('create job SUCCESS', 120_000, async () => {
      const j = await call('GET', job);
      if (j.body.state === 'FAILED') throw new Error(`create failed: ${String(j.body.statusMessage)}`);
      return j.body.state === 'SUCCESS';
    });
    assert.equal((await call('GET', url)).body.state, 'STARTED');
    const log = machinePaths(join(dir, 'work'), id).consoleLog;
    const text = await until('the guest to print its user data', 90_000, async () => {
      const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return t.includes(`SKYBUS-USERDATA: ${marker}`) ? t : null;
    });
    assert.match(text, new RegExp(`SKYBUS-GUEST-BOOTED .*uuid=${id}`, 'i'));

    const del = await call('DELETE', url);
    assert.equal(del.status, 202);
    await until('delete job SUCCESS', 90_000, async () => (await call('GET', del.headers.get('cimi-job-uri')!)).body.state === 'SUCCESS');
    assert.equal((await call('GET', url)).status, 404);
    const probe = new LibvirtHost('qemu:///system');
    await probe.connect();
    try {
      assert.equal(await probe.lookup(id), null, 'the domain is gone from libvirt');
    } finally {
      await probe.close();
    }
    assert.equal(existsSync(machinePaths(join(dir, 'work'), id).dir), false, 'its files are gone');
  });
});
