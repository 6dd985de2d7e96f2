/**
 * Issue 12 end to end on both stores: samples the agent's way on the bus (one host_samples row per
 * interval, the host_latest row), read through the frontend: a machine's latestSample, its metrics
 * range paged across hour partitions (the driver's paging differs per store), tenant isolation, the
 * host's view and range, and the fleet gauges.
 */
import assert from 'node:assert/strict';
import type express from 'express';
import request from 'supertest';
import { buildApp } from '../../frontend/app.js';
import { asLocalUsers } from '../../frontend/auth/authenticator.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { HOUR_MS } from '../../schema/store/monitoring.js';
import type { HostSample, MachineSpec } from '../../schema/types.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const PASSWORD = 'monitoring e2e password';
const INTERVAL = 60_000;
const SPEC: MachineSpec = {
  cpu: 1, memoryKiB: 1048576, cpuArch: 'x86_64', disks: [], userData: null, requirements: {},
  image: { id: '00000000-0000-7000-8000-000000000001', name: 'img', format: 'qcow2', location: '/img.qcow2', initrd: null, cmdline: null, cpuArch: 'x86_64' },
};

function monitoringSuite(makeFixture: () => Promise<StoreFixture>): void {
  let fx: StoreFixture;
  let app: express.Express;
  const as = (user: string, path: string) => request(app).get(path).auth(user, PASSWORD);

  before(async function () {
    this.timeout(60_000);
    fx = await makeFixture();
    const hash = await hashPassword(PASSWORD);
    for (const [name, tenant, roles] of [['root', 'ops', ['admin', 'user']], ['alice', 'acme', ['user']], ['bob', 'globex', ['user']]] as const) {
      await fx.store.accounts.createUser({ name, tenant, passwordHash: hash, roles: [...roles], disabled: false, created: Date.now() });
    }
    app = buildApp({ store: fx.store, auth: asLocalUsers(localBasicAuth(fx.store)), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
  });
  after(async function () { this.timeout(60_000); await fx?.cleanup(); });

  it('latestSample, a range paged across hours, tenant isolation, the host view and range, fleet gauges', async function () {
    this.timeout(60_000);
    const now = Date.now();
    await fx.store.hosts.register({ id: 'mon-h1', name: 'mon-h1', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    assert.ok(await fx.store.hosts.acquireLease('mon-h1', 'agent-mon', 60));
    await fx.store.hosts.heartbeat({ hostId: 'mon-h1', holder: 'agent-mon', renewed: now, fenceAfterMs: 2_000, fencedAt: null });
    const m = await fx.store.machines.create({ tenant: 'acme', name: 'watched', spec: SPEC, desiredState: 'STARTED' });
    assert.ok(await fx.store.machines.assignHost(m.id, 'mon-h1'));
    // Ten samples a minute apart, ending now: they span two hour partitions when the hour turned in the last ten minutes, one otherwise.
    const sample = (ts: number, i: number): HostSample => ({
      hostId: 'mon-h1', ts, intervalMs: INTERVAL, cpus: 8, memoryKiB: 8 * 1048576, guestCpuUsed: i / 10, guestMemoryKiB: 1048576, load1: null,
      domains: { running: 1 }, machines: [{ machineId: m.id, state: 'running', vcpus: 1, cpuUsed: i / 10, memoryKiB: 1048576, maxMemoryKiB: 1048576 }],
    });
    // Cross an hour boundary for sure: five samples before the last full hour, five after.
    const boundary = Math.floor(now / HOUR_MS) * HOUR_MS;
    const times = [...Array(10).keys()].map((i) => boundary - 5 * INTERVAL + i * INTERVAL).filter((t) => t <= now);
    for (const [i, t] of times.entries()) await fx.store.monitoring.putSample(sample(t, i));
    await fx.store.monitoring.putLatest(sample(now, 9));

    const v = (await as('alice', `/api/machines/${m.id}`).expect(200)).body;
    assert.equal(v.latestSample.cpuUsed, 0.9);
    assert.equal(v.latestSample.stale, false);
    const coll = (await as('alice', '/api/machines').expect(200)).body;
    assert.equal(coll.machines[0].latestSample.cpuUsed, 0.9);

    // Paged by 3 across the partitions: every sample exactly once, newest first.
    const seen: string[] = [];
    let path: string | null = `/api/machines/${m.id}/metrics?from=${boundary - HOUR_MS}&to=${now + 1}&limit=3`;
    for (let pages = 0; path && pages < 20; pages++) {
      const page = (await as('alice', path).expect(200)).body as { samples: { timestamp: string }[]; next?: { href: string } };
      seen.push(...page.samples.map((s) => s.timestamp));
      path = page.next ? new URL(page.next.href, 'http://x').pathname + new URL(page.next.href, 'http://x').search : null;
    }
    assert.equal(path, null);
    assert.deepEqual(seen, times.map((t) => new Date(t).toISOString()).reverse());
    await as('bob', `/api/machines/${m.id}/metrics`).expect(404);

    const host = (await as('root', '/api/hosts/mon-h1').expect(200)).body;
    assert.equal(host.leaseHolder, 'agent-mon');
    assert.equal(host.latestSample.cpuUsed, 0.9);
    const range = (await as('root', `/api/hosts/mon-h1/metrics?from=${boundary - HOUR_MS}&to=${now + 1}`).expect(200)).body;
    assert.equal(range.count, times.length);
    await as('alice', '/api/hosts/mon-h1/metrics').expect(403);

    const scrape = (await as('root', '/metrics').expect(200)).text;
    assert.match(scrape, /skybus_fleet_hosts\{health="up",state="ENABLED"\} 1/);
    assert.match(scrape, /skybus_fleet_machines\{state="running"\} 1/);
  });
}

describe('monitoring API on the bus, live', function () {
  onBothStores(monitoringSuite);
});
