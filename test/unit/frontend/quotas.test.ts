import assert from 'node:assert/strict';
import { as, footprint, harness, idOf, type Harness } from './harness.js';

describe('frontend API: quotas', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const create = (user = 'alice') => as(h.app, user, 'post', '/api/machines').send({ name: 'q', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } });

  it('no quota set: unlimited (null limits) and the tenant sees its own use at /api/quota', async () => {
    await create().expect(202);
    const res = await as(h.app, 'alice', 'get', '/api/quota').expect(200);
    assert.equal(res.body.resourceURI, 'urn:skybus:cimi-extensions:1/Quota');
    assert.equal(res.body.tenant, 'acme');
    assert.deepEqual(res.body.limits, { machines: null, cpu: null, memoryMiB: null });
    assert.deepEqual(res.body.usage, { machines: 1, cpu: 2, memoryMiB: 2048 });
    const other = await as(h.app, 'bob', 'get', '/api/quota').expect(200);
    assert.equal(other.body.tenant, 'globex');
    assert.deepEqual(other.body.usage, { machines: 0, cpu: 0, memoryMiB: 0 });
  });

  it('an admin sets limits with PUT /api/quotas/:tenant (JSON and XML) and reads them back', async () => {
    const put = await as(h.app, 'root', 'put', '/api/quotas/acme').send({ machines: 3, cpu: 4, memoryMiB: 8192 }).expect(200);
    assert.deepEqual(put.body.limits, { machines: 3, cpu: 4, memoryMiB: 8192 });
    const xml = await as(h.app, 'root', 'put', '/api/quotas/acme').set('Content-Type', 'application/xml').set('Accept', 'application/xml')
      .send('<Quota xmlns="http://schemas.dmtf.org/cimi/1"><cpu>6</cpu><memoryMiB>unlimited</memoryMiB></Quota>').expect(200);
    assert.match(xml.text, /<Quota[\s>]/);
    assert.match(xml.text, /<machines>3<\/machines>/);
    assert.match(xml.text, /<cpu>6<\/cpu>/);
    const got = await as(h.app, 'root', 'get', '/api/quotas/acme').expect(200);
    assert.deepEqual(got.body.limits, { machines: 3, cpu: 6, memoryMiB: null });
    const mine = await as(h.app, 'alice', 'get', '/api/quota').set('Accept', 'application/xml').expect(200);
    assert.match(mine.text, /<tenant>acme<\/tenant>/);
    const all = await as(h.app, 'root', 'get', '/api/quotas').expect(200);
    assert.deepEqual(all.body.quotas.map((q: { tenant: string }) => q.tenant), ['acme']);
  });

  it('only admins read other tenants\' quotas or set any', async () => {
    await as(h.app, 'alice', 'put', '/api/quotas/acme').send({ machines: 100 }).expect(403);
    await as(h.app, 'alice', 'get', '/api/quotas/globex').expect(403);
    await as(h.app, 'alice', 'get', '/api/quotas').expect(403);
    assert.deepEqual((await h.store.quotas.get('acme')).limits, { machines: null, cpus: null, memoryKiB: null });
  });

  it('over quota: 403 with a CIMI error naming the quota, its limit and current use; nothing written', async () => {
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ cpu: 4 }).expect(200);
    await create().expect(202);
    await create().expect(202);
    const before = await footprint(h.store, 'acme');
    const res = await create().expect(403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.equal(res.body.status, 403);
    assert.equal(res.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Error');
    assert.equal(res.body.message, 'quota exceeded: vCPUs 4 of 4 in use, this machine needs 2');
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ cpu: null, machines: 2 }).expect(200);
    assert.equal((await create().expect(403)).body.message, 'quota exceeded: machines 2 of 2 in use, this machine needs 1');
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ machines: null, memoryMiB: 5000 }).expect(200);
    const xml = await create().set('Accept', 'application/xml').expect(403);
    assert.match(xml.text, /quota exceeded: memory 4096 MiB of 5000 MiB in use, this machine needs 2048 MiB/);
    await create('bob').expect(202); // another tenant is not limited by acme's quota
  });

  it('deleting a machine frees its share once it is purged', async () => {
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ machines: 1 }).expect(200);
    const first = await create().expect(202);
    await create().expect(403);
    const id = idOf(first.headers.location);
    await as(h.app, 'alice', 'delete', `/api/machines/${id}`).expect(202);
    await create().expect(403); // DELETING still counts until the rows are purged
    const m = (await h.store.machines.get(id))!;
    await h.store.machines.purge(m);
    await h.store.machines.purge(m); // a retried purge releases nothing more
    await create().expect(202);
    assert.deepEqual((await as(h.app, 'alice', 'get', '/api/quota').expect(200)).body.usage, { machines: 1, cpu: 2, memoryMiB: 2048 });
  });

  it('a create whose machine write fails gives its charge back', async () => {
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ machines: 1 }).expect(200);
    const real = h.store.machines.create.bind(h.store.machines);
    h.store.machines.create = async () => { throw new Error('store fell over'); };
    await create().expect(500);
    h.store.machines.create = real;
    const q = await h.store.quotas.get('acme');
    assert.deepEqual(q.used, { machines: 0, cpus: 0, memoryKiB: 0 });
    assert.equal((await h.store.machines.listByTenant('acme')).items.length, 0);
    await create().expect(202);
  });

  it('bad quota input is 400 and writes nothing', async () => {
    const bad: unknown[] = [
      { machines: -1 }, { cpu: 1.5 }, { memoryMiB: '12' }, { machines: 'lots' }, { cpu: 2e9 }, {}, { nonsense: 1 },
      { name: 'x' }, { limits: { machines: 1 } }, { machines: true }, { tenant: 'globex', machines: 1 },
    ];
    for (const b of bad) {
      const res = await as(h.app, 'root', 'put', '/api/quotas/acme').send(b as object);
      assert.equal(res.status, 400, JSON.stringify(b));
      assert.equal(res.body.code, 'VALIDATION');
    }
    await as(h.app, 'root', 'put', '/api/quotas/acme').set('Content-Type', 'application/json').send('{"machines": 1').expect(400);
    await as(h.app, 'root', 'put', '/api/quotas/acme').set('Content-Type', 'application/xml').send('<Quota><machines>-3</machines></Quota>').expect(400);
    await as(h.app, 'root', 'put', '/api/quotas/Not%20A%20Tenant').send({ machines: 1 }).expect(400);
    await as(h.app, 'root', 'put', '/api/quotas/acme').set('Content-Type', 'text/plain').send('machines=1').expect(415);
    assert.deepEqual(await h.store.quotas.list(), []);
  });
});
