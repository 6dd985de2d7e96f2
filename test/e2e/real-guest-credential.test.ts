/**
 * A Credential reaches a real QEMU guest: a tenant stores an RSA 4096 SSH key (the longest common
 * key, on the kernel command line with the tenant's own user data as a MIME multipart NoCloud
 * document, docs/guest-data.md), creates a machine with it, and the busybox guest of scripts/qemu
 * prints the key it found (SKYBUS-SSH-KEY) and the tenant's own user data on its console.
 * Gated on SKYBUS_REAL_QEMU=1 like real-guest.test.ts (root + libvirtd + the built guest).
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
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import { openStore, type BusStore } from '../../schema/bus-store.js';
import { rsaPublicKey } from '../helpers/ssh-keys.js';
import { until } from '../helpers/until.js';

const GUEST = process.env.SKYBUS_GUEST_DIR ?? join(homedir(), '.cache', 'skybus', 'guest');
const PASSWORD = 'real guest password';

describe('end to end: a Credential\'s SSH key reaches a real QEMU guest', function () {
  this.timeout(240_000);
  let dir: string;
  let store: BusStore;
  let agent: HypervisorAgent;
  let placer: Placer;
  let server: Server;
  let base: string;
  const hostId = `real-cred-${process.pid}`;
  const call = async (user: string, method: string, url: string, body?: unknown) => {
    const auth = 'Basic ' + Buffer.from(`${user}:${PASSWORD}`).toString('base64');
    const res = await fetch(url.startsWith('http') ? url : base + url, { method, headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  before(async function () {
    if (process.env.SKYBUS_REAL_QEMU !== '1') this.skip(); // needs root + libvirtd (npm test sets it up)
    assert.ok(existsSync(join(GUEST, 'vmlinuz')) && existsSync(join(GUEST, 'initramfs.gz')), `guest not built in ${GUEST} (scripts/qemu/build-guest.sh)`);
    dir = mkdtempSync(join(tmpdir(), 'skybus-real-cred-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    const h = await hashPassword(PASSWORD);
    await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: h, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    await store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: h, roles: ['user'], disabled: false, created: Date.now() });
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

  it('prints the credential\'s key (SKYBUS-SSH-KEY) and the tenant\'s own user data on its console', async () => {
    const cfg = await call('root', 'POST', '/api/machineConfigs', { name: 'tiny', cpu: 1, memory: 131072, cpuArch: 'x86_64', disks: [] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await call('root', 'POST', '/api/machineImages', { name: 'tiny-linux', imageLocation: join(GUEST, 'vmlinuz'), format: 'kernel', initrd: join(GUEST, 'initramfs.gz'), kernelCmdline: 'console=ttyS0 quiet' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const key = rsaPublicKey(4096, `alice@skybus-${process.pid}`);
    const cred = await call('alice', 'POST', '/api/credentials', { resourceURI: 'http://schemas.dmtf.org/cimi/1/CredentialCreate', name: 'alice-rsa', credentialTemplate: { publicKey: key } });
    assert.equal(cred.status, 201, JSON.stringify(cred.body));
    const marker = `own user data ${process.pid}`;
    const created = await call('alice', 'POST', '/api/machines', {
      resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate', name: 'keyed-guest',
      machineTemplate: {
        machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STARTED',
        credential: { href: cred.body.id }, userData: Buffer.from(`#!/bin/sh\necho "${marker}"\n`).toString('base64'),
      },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const url = created.headers.get('location')!;
    const id = url.split('/').pop()!;
    await until('create job SUCCESS', 120_000, async () => {
      const j = await call('alice', 'GET', created.headers.get('cimi-job-uri')!);
      if (j.body.state === 'FAILED') throw new Error(`create failed: ${String(j.body.statusMessage)}`);
      return j.body.state === 'SUCCESS';
    });
    const log = machinePaths(join(dir, 'work'), id).consoleLog;
    const text = await until('the guest to print its SSH keys', 90_000, async () => {
      const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return /SKYBUS-SSH-KEYS count=\d+/.test(t) ? t : null;
    });
    const keys = [...text.matchAll(/^SKYBUS-SSH-KEY: (.*?)\r?$/gm)].map((m) => m[1]);
    assert.deepEqual(keys, [key], 'exactly the credential\'s key, byte for byte');
    assert.match(text, /SKYBUS-SSH-KEYS count=1/);
    assert.match(text, /SKYBUS-USERDATA: Content-Type: multipart\/mixed; boundary="skybus-[0-9a-f]{24}"/);
    assert.ok(text.includes(`SKYBUS-USERDATA: echo "${marker}"`), 'the tenant\'s own part is there too');

    const del = await call('alice', 'DELETE', url);
    assert.equal(del.status, 202);
    await until('delete job SUCCESS', 90_000, async () => (await call('alice', 'GET', del.headers.get('cimi-job-uri')!)).body.state === 'SUCCESS');
  });
});
