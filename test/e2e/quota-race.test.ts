/**
 * Quotas under concurrency, on both stores: 20 parallel creates through two frontends (two apps over
 * two connections to the same bus) against a quota of 10 machines -> exactly 10 accepted and 10
 * refused with 403; 3 deleted through the API and purged by a placer (machines deleted before
 * placement: the product's own purge path, which releases the charge) -> exactly 3 more fit.
 */
import assert from 'node:assert/strict';
import type express from 'express';
import request from 'supertest';
import { buildApp } from '../../frontend/app.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import type { BusStore } from '../../schema/bus-store.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const PASSWORD = 'quota race password 1';

function quotaRaceSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  before(async function () { this.timeout(120_000); fx = await makeFixture(); });
  after(async function () { this.timeout(60_000); if (fx) await fx.cleanup(); });

  it('20 parallel creates through two frontends against a quota of 10 machines: exactly 10 succeed; delete 3 -> exactly 3 more fit', async function () {
    this.timeout(300_000);
    const { store } = fx;
    const other = await fx.reopen();
    const hash = await hashPassword(PASSWORD);
    await store.accounts.createUser({ name: 'racer', tenant: 'quota-race', passwordHash: hash, roles: ['user'], disabled: false, created: Date.now() });
    const cfg = await store.catalog.create('machineConfig', 'one', null, { description: '', properties: {}, cpu: 1, memory: 262144, cpuArch: 'x86_64', disks: [] });
    const img = await store.catalog.create('machineImage', 'img', null, { description: '', properties: {}, imageLocation: '/var/lib/skybus/images/x.qcow2', format: 'qcow2', initrd: null, kernelCmdline: null, cpuArch: 'x86_64' });
    const tpl = await store.catalog.create('machineTemplate', 'one-img', null, { description: '', properties: {}, machineConfig: cfg.id, machineImage: img.id, initialState: 'STARTED', userData: null });
    await store.quotas.setLimits('quota-race', { machines: 10 });

    const app = (s: BusStore): express.Express => buildApp({ store: s, auth: localBasicAuth(s), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig({}) });
    const frontends = [app(store), app(other)];
    const create = (i: number) => request(frontends[i % 2]).post('/api/machines').auth('racer', PASSWORD)
      .send({ name: `m${i}`, machineTemplate: { href: `/api/machineTemplates/${tpl.id}` } });

    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => create(i)));
    const statuses = first.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 202).length, 10, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 403).length, 10, `statuses: ${statuses.join(',')}`);
    for (const r of first.filter((x) => x.status === 403)) assert.equal(r.body.message, 'quota exceeded: machines 10 of 10 in use, this machine needs 1');
    // Both frontends accepted some: the race really ran across two of them.
    assert.ok(first.some((r, i) => r.status === 202 && i % 2 === 0) && first.some((r, i) => r.status === 202 && i % 2 === 1));
    const accepted = first.filter((r) => r.status === 202).map((r) => new URL(r.headers.location as string).pathname);
    let q = await store.quotas.get('quota-race', { serial: true });
    assert.equal(q.used.machines, 10);
    assert.equal((await store.machines.listByTenant('quota-race', { limit: 100 })).items.length, 10);

    // Delete 3 through the API (either frontend); a placer purges them (deleted before placement).
    for (const [i, path] of accepted.slice(0, 3).entries()) await request(frontends[i % 2]).delete(path).auth('racer', PASSWORD).expect(202);
    assert.equal((await create(100).expect(403)).body.message, 'quota exceeded: machines 10 of 10 in use, this machine needs 1', 'DELETING machines count until purged');
    const placer = new Placer({ store, config: placementConfig({ instanceId: 'quota-p', intervalMs: 50, backoffBaseMs: 60_000 }), log: silentLogger(), metrics: new SkybusMetrics() });
    const t = Date.now() + 60_000;
    for (let round = 0; round < 3 && (await store.quotas.get('quota-race', { serial: true })).used.machines > 7; round++) await placer.runOnce(t + round);
    await placer.stop();
    q = await store.quotas.get('quota-race', { serial: true });
    assert.equal(q.used.machines, 7);
    for (const path of accepted.slice(0, 3)) assert.equal(await store.machines.get(path.slice(path.lastIndexOf('/') + 1)), null);

    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => create(200 + i)));
    const again = second.map((r) => r.status);
    assert.equal(again.filter((s) => s === 202).length, 3, `statuses: ${again.join(',')}`);
    assert.equal(again.filter((s) => s === 403).length, 7, `statuses: ${again.join(',')}`);
    q = await store.quotas.get('quota-race', { serial: true });
    assert.equal(q.used.machines, 10);
    // The totals are what the machines' own rows add up to (nothing leaked, nothing released twice).
    const counted = await store.quotas.recount('quota-race', { settleMs: 0, dryRun: true, pageSize: 3 });
    assert.deepEqual(counted.counted, q.used);
    assert.equal(counted.releasedPresent, 0);
    assert.equal((await store.machines.listByTenant('quota-race', { limit: 100 })).items.length, 10);
    const raw = (await fx.raw('tenant_quotas', 'tenant = ?', ['quota-race']))[0];
    assert.equal(raw.used_machines, 10);
    assert.equal(raw.used_cpus, 10);
  });
}

describe('end to end: quotas under concurrency', () => {
  onBothStores(quotaRaceSuite);
});
