/**
 * Capture on a real QEMU guest (docs/capture.md): the tiny kernel-boot guest of scripts/qemu writes
 * a marker onto its data disk (user data run as a script), the machine is captured while STARTED
 * (paused around the copy), a new machine is made from the image and its guest reads the marker
 * back from its own disk on its console. Runs with SKYBUS_REAL_QEMU=1 (root + libvirtd), like
 * real-guest.test.ts; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
import { until } from '../helpers/until.js';

const GUEST = process.env.SKYBUS_GUEST_DIR ?? join(homedir(), '.cache', 'skybus', 'guest');
const PASSWORD = 'real guest capture password';
const CAPTURE = 'http://schemas.dmtf.org/cimi/1/action/capture';

/** Waits for the first virtio disk, then runs `body` (busybox sh). */
const script = (body: string) => Buffer.from([
  '#!/bin/sh',
  'i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
  '[ -b /dev/vda ] || { echo "SKYBUS-TEST no /dev/vda"; exit 0; }',
  body,
].join('\n') + '\n').toString('base64');

describe('end to end: capture a real QEMU guest\'s disk and boot a new machine from it', function () {
  this.timeout(360_000);
  let dir: string;
  let store: BusStore;
  let agent: HypervisorAgent;
  let placer: Placer;
  let server: Server;
  let base: string;
  const hostId = `real-cap-${process.pid}`;
  const auth = 'Basic ' + Buffer.from(`root:${PASSWORD}`).toString('base64');
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url.startsWith('http') ? url : base + url, { method, headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const jobSucceeds = (what: string, uri: string, ms: number) => until(what, ms, async () => {
    const j = await call('GET', uri);
    if (j.body.state === 'FAILED' || j.body.state === 'STOPPED') throw new Error(`${what}: job ${String(j.body.state)}: ${String(j.body.statusMessage)}`);
    return j.body.state === 'SUCCESS';
  });
  const consoleOf = (id: string) => machinePaths(join(dir, 'work'), id).consoleLog;
  const consoleShows = (id: string, what: RegExp, ms: number) => until(`console of ${id} to show ${what}`, ms, async () => {
    const log = consoleOf(id);
    const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return what.exec(t) ?? null;
  });

  before(async function () {
    if (process.env.SKYBUS_REAL_QEMU !== '1') this.skip(); // needs root + libvirtd (npm test sets it up)
    assert.ok(existsSync(join(GUEST, 'vmlinuz')) && existsSync(join(GUEST, 'initramfs.gz')), `guest not built in ${GUEST} (scripts/qemu/build-guest.sh)`);
    dir = mkdtempSync(join(tmpdir(), 'skybus-real-cap-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: await hashPassword(PASSWORD), roles: ['admin', 'user'], disabled: false, created: Date.now() });
    const app = buildApp({ store, auth: localBasicAuth(store), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    agent = new HypervisorAgent({ store, config: agentConfig({ hostId, libvirtUri: 'qemu:///system', intervalMs: 300, stopGraceMs: 20_000, workDir: join(dir, 'work'), imageDir: join(dir, 'images'), domainPrefix: 'skybus-' }), log: silentLogger() });
    await agent.start();
    placer = new Placer({ store, config: placementConfig({ intervalMs: 200 }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();
  });

  after(async function () {
    this.timeout(120_000);
    // Delete what is left through the API so no domain outlives the test.
    if (store) {
      for (const m of (await store.machines.listByTenant('ops', { limit: 100 })).items) {
        const del = await call('DELETE', `/api/machines/${m.id}`).catch(() => null);
        const job = del?.headers.get('cimi-job-uri');
        if (job) await jobSucceeds(`delete ${m.id}`, job, 90_000).catch(() => undefined);
      }
    }
    await placer?.stop();
    await agent?.stop();
    if (server) await new Promise((r) => server.close(r));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a marker written to the guest\'s disk survives capture -> new machine from the image -> read back in the new guest', async () => {
    const cfg = await call('POST', '/api/machineConfigs', { name: 'tiny-disk', cpu: 1, memory: 131072, cpuArch: 'x86_64', disks: [{ capacity: 16384, format: 'qcow2' }] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await call('POST', '/api/machineImages', { name: 'tiny-linux', imageLocation: join(GUEST, 'vmlinuz'), format: 'kernel', initrd: join(GUEST, 'initramfs.gz'), kernelCmdline: 'console=ttyS0 quiet' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const marker = `skybus-capture-marker-${process.pid}-${Date.now()}`;
    const writer = await call('POST', '/api/machines', {
      name: 'writer', machineTemplate: {
        machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STARTED',
        userData: script(`printf '${marker}\\n' | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync; echo "SKYBUS-TEST marker-written"`),
      },
    });
    assert.equal(writer.status, 202, JSON.stringify(writer.body));
    const writerUrl = writer.headers.get('location')!;
    const writerId = writerUrl.split('/').pop()!;
    await jobSucceeds('writer STARTED', writer.headers.get('cimi-job-uri')!, 120_000);
    await consoleShows(writerId, /^SKYBUS-TEST marker-written\r?$/m, 120_000);

    // capture while STARTED, the advertised way: POST a MachineImage naming the machine to the op's href
    const shown = await call('GET', writerUrl);
    const op = (shown.body.operations as { rel: string; href: string }[]).find((o) => o.rel === CAPTURE);
    assert.ok(op, `capture advertised: ${JSON.stringify(shown.body.operations)}`);
    const cap = await call('POST', op.href, { name: 'with-marker', imageLocation: { href: writerUrl } });
    assert.equal(cap.status, 202, JSON.stringify(cap.body));
    const t0 = Date.now();
    await jobSucceeds('capture', cap.headers.get('cimi-job-uri')!, 120_000);
    const captureMs = Date.now() - t0;
    const image = (await call('GET', cap.headers.get('location')!)).body;
    assert.equal(image.state, 'AVAILABLE', JSON.stringify(image));
    assert.equal(image.format, 'kernel');
    const disk = String(image.disk);
    // a standalone qcow2: no backing file
    const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', disk], { encoding: 'utf8' })) as Record<string, unknown>;
    assert.equal(info.format, 'qcow2');
    assert.equal(info['backing-filename'], undefined);
    await until('writer STARTED again after the capture', 30_000, async () => (await call('GET', writerUrl)).body.state === 'STARTED');
    // the writer still runs: its heartbeat goes on after the pause
    const before = readFileSync(consoleOf(writerId), 'utf8').length;
    await until('writer heartbeat after capture', 30_000, () => readFileSync(consoleOf(writerId), 'utf8').slice(before).includes('SKYBUS-HEARTBEAT'));

    const reader = await call('POST', '/api/machines', {
      name: 'reader', machineTemplate: {
        machineConfig: { href: cfg.body.id }, machineImage: { href: cap.headers.get('location') }, initialState: 'STARTED',
        userData: script('echo "SKYBUS-TEST disk-says: $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1)"'),
      },
    });
    assert.equal(reader.status, 202, JSON.stringify(reader.body));
    const readerId = reader.headers.get('location')!.split('/').pop()!;
    await jobSucceeds('reader STARTED', reader.headers.get('cimi-job-uri')!, 120_000);
    const said = await consoleShows(readerId, /^SKYBUS-TEST disk-says: ([^\r\n]*)/m, 120_000);
    assert.equal(said[1]!.trim(), marker);
    process.stdout.write(`      capture of a STARTED guest: job SUCCESS after ${captureMs} ms\n`);
  });
});
