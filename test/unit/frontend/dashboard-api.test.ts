/**
 * What the web dashboard needs from the frontend (frontend/dashboard.ts, routes/fleet.ts,
 * routes/whoami.ts, the one-host view's allocations): the static files with a strict CSP, 401s
 * without a Basic challenge for the dashboard only, who the credentials are, the fleet counts (cached
 * like the gauges), and the machines placed on a host with their sampled state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { dashboardRoutes } from '../../../frontend/dashboard.js';
import { errorMiddleware } from '../../../frontend/error-middleware.js';
import { silentLogger } from '../../../observability/logger.js';
import { as, harness, PASSWORD, spec, type Harness } from './harness.js';

describe('frontend: what the dashboard reads', function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => { h = await harness({ fleetGaugesMinIntervalMs: 60_000 }); });
  after(async () => { await h.cleanup(); });

  it('serves /ui/ (redirecting /ui) with a CSP that allows only this origin; a missing build is a clear 404', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skybus-ui-'));
    try {
      const app = express();
      app.use(dashboardRoutes(dir));
      app.use(errorMiddleware(silentLogger(), () => []));
      const missing = await request(app).get('/ui/').expect(404);
      assert.match(missing.body.message, /not built/);
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      writeFileSync(join(dir, 'app.js'), 'export {};');
      await request(app).get('/ui').expect(301).expect('Location', '/ui/');
      const page = await request(app).get('/ui/').expect(200).expect('Content-Type', /text\/html/);
      const csp = page.headers['content-security-policy'] as string;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      await request(app).get('/ui/app.js').expect(200).expect('Content-Type', /javascript/);
      await request(app).get('/ui/nothing.js').expect(404);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('a 401 names the Basic scheme, except for the dashboard (no browser password dialog)', async () => {
    const plain = await request(h.app).get('/api/machines').auth('alice', 'wrong').expect(401);
    assert.match(plain.headers['www-authenticate'] as string, /(^|, )Basic realm=/);
    const ui = await request(h.app).get('/api/machines').set('X-Skybus-Client', 'ui').auth('alice', 'wrong').expect(401);
    const challenge = ui.headers['www-authenticate'] as string;
    assert.ok(challenge.length > 0, 'a 401 still carries a challenge');
    assert.doesNotMatch(challenge, /(^|, )Basic /);
    assert.equal(ui.body.code, 'UNAUTHENTICATED');
  });

  it('whoami: the name, tenant and roles the credentials carry', async () => {
    const res = await as(h.app, 'alice', 'get', '/api/whoami').expect(200);
    assert.deepEqual([res.body.name, res.body.tenant, res.body.roles], ['alice', 'acme', ['user']]);
    assert.deepEqual((await as(h.app, 'root', 'get', '/api/whoami').expect(200)).body.roles, ['admin', 'user']);
    await request(h.app).get('/api/whoami').auth('alice', `${PASSWORD}x`).expect(401);
  });

  it('fleet: hosts by health and state, machines by sampled state, read once per interval; admins only', async () => {
    const now = Date.now();
    for (const id of ['dash-h1', 'dash-h2']) await h.store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    assert.ok(await h.store.hosts.acquireLease('dash-h1', 'agent-1', 60));
    await h.store.hosts.heartbeat({ hostId: 'dash-h1', holder: 'agent-1', renewed: now, fenceAfterMs: 2_000, fencedAt: null });
    await h.store.hosts.setState('dash-h2', 'DISABLED');
    const m = await h.store.machines.create({ tenant: 'acme', name: 'charted', spec: spec(), desiredState: 'STARTED' });
    const seen = (await h.store.hosts.get('dash-h1'))!;
    assert.ok((await h.store.hosts.claim(seen, m.id, { cpus: 2, memoryKiB: 1048576 })).ok);
    assert.ok(await h.store.machines.assignHost(m.id, 'dash-h1'));
    await h.store.monitoring.putLatest({
      hostId: 'dash-h1', ts: now, intervalMs: 10_000, cpus: 8, memoryKiB: 8 * 1048576, guestCpuUsed: 0.5, guestMemoryKiB: 1048576, load1: null,
      domains: { running: 1 }, machines: [{ machineId: m.id, state: 'running', vcpus: 2, cpuUsed: 0.5, memoryKiB: 1048576, maxMemoryKiB: 1048576 }],
    });
    await as(h.app, 'alice', 'get', '/api/fleet').expect(403);
    const f = (await as(h.app, 'root', 'get', '/api/fleet').expect(200)).body;
    assert.equal(f.hosts.count, 2);
    assert.equal(f.hosts.byHealth.up, 1);
    assert.deepEqual(f.hosts.byState, { DISABLED: 1, ENABLED: 1 });
    assert.deepEqual(f.machines, { count: 1, byState: { running: 1 } });
    // Inside the interval the same read answers: a new host is not seen yet, and readAt is unchanged.
    await h.store.hosts.register({ id: 'dash-h3', name: 'dash-h3', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    const again = (await as(h.app, 'root', 'get', '/api/fleet').expect(200)).body;
    assert.deepEqual([again.hosts.count, again.readAt], [2, f.readAt]);

    // The one-host view lists what is placed on it, with the sampled state; the list view does not.
    const host = (await as(h.app, 'root', 'get', '/api/hosts/dash-h1').expect(200)).body;
    assert.deepEqual(host.allocations.map((a: { machineId: string; cpu: number; sampledState?: string; cpuUsed?: number }) => [a.machineId, a.cpu, a.sampledState, a.cpuUsed]), [[m.id, 2, 'running', 0.5]]);
    assert.match(host.allocations[0].machine.href, new RegExp(`/api/machines/${m.id}$`));
    const list = (await as(h.app, 'root', 'get', '/api/hosts').expect(200)).body;
    assert.equal(list.hosts.find((x: { name: string }) => x.name === 'dash-h1').allocations, undefined);
  });
});
