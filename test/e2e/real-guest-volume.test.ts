/**
 * A volume in a real guest (docs/volumes.md): libvirtd + QEMU (TCG) boot the busybox guest of
 * scripts/qemu with a volume attached through the API; the guest's user data (a #! script) writes a
 * marker onto the raw block device and prints it; the volume is detached, attached to a second,
 * running machine on the same host (it reaches that guest at its next boot: a restart), and that
 * guest reads the marker back. Then the volume is deleted by its
 * agent and its file is gone. Opt-in like real-guest.test.ts: SKYBUS_REAL_QEMU=1 (root, libvirtd up,
 * the guest built with block-device support by scripts/qemu/build-guest.sh; SKYBUS_GUEST_DIR).
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
import { machinePaths, volumePath } from '../../hypervisor-agent/domain-xml.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import { openStore, type BusStore } from '../../schema/bus-store.js';
import { until } from '../helpers/until.js';

const GUEST = process.env.SKYBUS_GUEST_DIR ?? join(homedir(), '.cache', 'skybus', 'guest');
const PASSWORD = 'real guest password';
const CIMI = 'http://schemas.dmtf.org/cimi/1';

describe('end to end: a volume written by one real QEMU guest and read back by another', function () {
  this.timeout(600_000);
  let dir: string;
  let store: BusStore;
  let agent: HypervisorAgent;
  let placer: Placer;
  let server: Server;
  let base: string;
  const hostId = `real-vol-${process.pid}`;
  const auth = 'Basic ' + Buffer.from(`root:${PASSWORD}`).toString('base64');
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url.startsWith('http') ? url : base + url, { method, headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const settled = (what: string, jobUri: string, ms = 120_000) => until(what, ms, async () => {
    const j = await call('GET', jobUri);
    if (j.body.state === 'FAILED') throw new Error(`${what} failed: ${String(j.body.statusMessage)}`);
    return j.body.state === 'SUCCESS';
  });
  const action = async (url: string, a: string) => {
    const r = await call('POST', `${url}/${a}`, { resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/${a}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await settled(`${a} ${url}`, r.headers.get('cimi-job-uri')!, 180_000);
  };
  const consoleOf = (url: string) => machinePaths(join(dir, 'work'), url.split('/').pop()!).consoleLog;
  const printed = (url: string, re: RegExp, what: string) => until(what, 120_000, async () => {
    const t = existsSync(consoleOf(url)) ? readFileSync(consoleOf(url), 'utf8') : '';
    return re.exec(t);
  });

  before(async function () {
    if (process.env.SKYBUS_REAL_QEMU !== '1') this.skip(); // needs root + libvirtd
    assert.ok(existsSync(join(GUEST, 'vmlinuz')) && existsSync(join(GUEST, 'initramfs.gz')), `guest not built in ${GUEST} (scripts/qemu/build-guest.sh)`);
    dir = mkdtempSync(join(tmpdir(), 'skybus-real-vol-'));
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

  after(async function () {
    this.timeout(120_000);
    // Whatever the test left: machines deleted through the API, so the agent removes their domains.
    if (store) {
      for (const m of (await store.machines.listByTenant('ops')).items) {
        if (m.desiredState !== 'DELETED') await call('DELETE', `/api/machines/${m.id}`).catch(() => undefined);
      }
      await until('machines gone', 90_000, async () => (await store.machines.listByTenant('ops')).items.length === 0).catch(() => undefined);
    }
    await placer?.stop();
    await agent?.stop();
    if (server) await new Promise((r) => server.close(r));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the guest finds the volume by its serial; a marker written by one machine is read back by another', async () => {
    const cfg = await call('POST', '/api/machineConfigs', { name: 'tiny', cpu: 1, memory: 131072, cpuArch: 'x86_64', disks: [] });
    const img = await call('POST', '/api/machineImages', { name: 'tiny-linux', imageLocation: join(GUEST, 'vmlinuz'), format: 'kernel', initrd: join(GUEST, 'initramfs.gz'), kernelCmdline: 'console=ttyS0 quiet' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const marker = `skybus-volume-marker-${process.pid}-${Date.now()}`;
    // The guest names its disks in PCI order (vda first), not by libvirt's target dev: a script finds
    // the volume by its serial, the first 20 hex digits of the volume id (docs/volumes.md).
    const find = (serial: string) => `for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "${serial}" ] && DEV=/dev/\${b##*/}; done`;
    const writer = (serial: string) => [
      '#!/bin/sh', find(serial),
      `echo "${marker}" | dd of=$DEV bs=512 count=1 conv=sync,fsync 2>/dev/null`,
      'echo "SKYBUS-VOL-WROTE $DEV $(dd if=$DEV bs=512 count=1 2>/dev/null | tr -d \'\\000\' | head -n1)"',
      '',
    ].join('\n');
    const reader = (serial: string) => ['#!/bin/sh', find(serial), 'echo "SKYBUS-VOL-READ $DEV $(dd if=$DEV bs=512 count=1 2>/dev/null | tr -d \'\\000\' | head -n1)"', ''].join('\n');
    const machine = async (name: string, userData: string) => {
      const r = await call('POST', '/api/machines', {
        resourceURI: `${CIMI}/MachineCreate`, name,
        machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STOPPED', userData: Buffer.from(userData).toString('base64') },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await settled(`create ${name}`, r.headers.get('cimi-job-uri')!);
      return r.headers.get('location')!;
    };
    const v = await call('POST', '/api/volumes', { resourceURI: `${CIMI}/VolumeCreate`, name: 'shared', volumeTemplate: { volumeConfig: { capacity: 16384, format: 'raw' } } });
    assert.equal(v.status, 202, JSON.stringify(v.body));
    const vUrl = v.headers.get('location')!;
    const serial = vUrl.split('/').pop()!.replace(/-/g, '').slice(0, 20);
    const a = await machine('vol-writer', writer(serial));
    const b = await machine('vol-reader', reader(serial));

    const attA = await call('POST', `${a}/volumes`, { volume: { href: vUrl }, initialLocation: 'vdb' });
    assert.equal(attA.status, 202, JSON.stringify(attA.body));
    await settled('attach to the writer', attA.headers.get('cimi-job-uri')!);
    const file = volumePath(join(dir, 'work'), vUrl.split('/').pop()!, 'raw');
    assert.ok(existsSync(file), `qemu-img made ${file}`);

    await action(a, 'start');
    const blockA = await printed(a, /SKYBUS-BLOCK-DEVICE name=(vd[a-z]) serial=(\S*)/, 'the writer to list its block devices');
    assert.equal(blockA[2], serial);
    const wrote = await printed(a, /^SKYBUS-VOL-WROTE (\/dev\/\S+) ([^\s]*)/m, 'the writer to write the marker');
    assert.deepEqual([wrote[1], wrote[2]], [`/dev/${blockA[1]}`, marker]);
    await action(a, 'stop');
    const detA = await call('DELETE', attA.headers.get('location')!);
    assert.equal(detA.status, 202, JSON.stringify(detA.body));
    await settled('detach from the writer', detA.headers.get('cimi-job-uri')!);
    assert.ok(readFileSync(file).subarray(0, 512).toString('latin1').startsWith(marker), 'the marker is in the volume file on the host');

    // The reader runs already: attached while it runs, the volume is in its definition and reaches
    // the guest at its next boot (here a restart), not before.
    await action(b, 'start');
    const before = await printed(b, /^SKYBUS-BLOCK devices=(\S*)/m, 'the reader to boot without volumes');
    assert.equal(before[1], '');
    const attB = await call('POST', `${b}/volumes`, { volume: { href: vUrl } });
    assert.equal(attB.status, 202, JSON.stringify(attB.body));
    await settled('attach to the reader', attB.headers.get('cimi-job-uri')!);
    await action(b, 'restart');
    const read = await printed(b, /^SKYBUS-VOL-READ (\/dev\/\S+) ([^\s]*)/m, 'the reader to read the marker');
    assert.equal(read[2], marker);

    // Stopped and detached, the volume is deleted by its agent: the file goes.
    await action(b, 'stop');
    const detB = await call('DELETE', attB.headers.get('location')!);
    await settled('detach from the reader', detB.headers.get('cimi-job-uri')!);
    const del = await call('DELETE', vUrl);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await settled('volume delete', del.headers.get('cimi-job-uri')!);
    assert.equal(existsSync(file), false, 'the volume file is removed');
    assert.match(readFileSync(consoleOf(b), 'utf8'), new RegExp(`SKYBUS-BLOCK-DEVICE name=vd[a-z] serial=${serial}`));
  });
});
