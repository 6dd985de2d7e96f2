import assert from 'node:assert/strict';
import { as, harness, idOf, spec, type Harness } from './harness.js';

describe('frontend API: listing a 2,000-machine tenant', function () {
  this.timeout(60_000);
  let h: Harness;
  const ids: string[] = [];
  before(async () => {
    h = await harness();
    const t0 = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 2000; i++) {
      const m = await h.store.machines.create({
        tenant: 'acme', name: `vm-${String(i).padStart(4, '0')}`, properties: { tier: i % 2 === 0 ? 'web' : 'db' },
        spec: spec({ cpu: 1 + (i % 8) }), desiredState: i % 4 === 0 ? 'STOPPED' : 'STARTED',
      }, t0 + i * 1000);
      ids.push(m.id);
    }
    await h.store.machines.create({ tenant: 'globex', name: 'other', spec: spec(), desiredState: 'STARTED' });
  });
  after(async () => { await h.cleanup(); });

  it('defaults to the first page of 100, with a bounded count and a next link', async () => {
    // The count stops at the window + countLimit (1000): a lower bound, said so.
    const res = await as(h.app, 'alice', 'get', '/api/machines').expect(200);
    assert.equal(res.body.count, 1100);
    assert.equal(res.body.countCapped, true);
    assert.equal(res.body.machines.length, 100);
    const exact = await harness({ countLimit: 5000 });
    for (let i = 0; i < 3; i++) await exact.store.machines.create({ tenant: 'acme', name: `e${i}`, spec: spec(), desiredState: 'STARTED' });
    const small = await as(exact.app, 'alice', 'get', '/api/machines').expect(200);
    assert.equal(small.body.count, 3);
    assert.equal(small.body.countCapped, undefined);
    await exact.cleanup();
    assert.equal(idOf(res.body.machines[0].id), ids[0]);
    const next = res.body.operations.find((o: { rel: string }) => o.rel === 'next');
    assert.match(next.href, /\$first=101&\$last=200/);
  });

  it('returns exactly the $first..$last window, and caps a window at 1000', async () => {
    const res = await as(h.app, 'alice', 'get', '/api/machines').query({ $first: '1990', $last: '2005' }).expect(200);
    assert.deepEqual(res.body.machines.map((m: { id: string }) => idOf(m.id)), ids.slice(1989, 2000));
    const big = await as(h.app, 'alice', 'get', '/api/machines').query({ $first: '2', $last: '5000' }).expect(200);
    assert.equal(big.body.machines.length, 1000);
    assert.equal(idOf(big.body.machines[0].id), ids[1]);
  });

  it('filters, orders and selects', async () => {
    const res = await as(h.app, 'alice', 'get', '/api/machines')
      .query({ $filter: "property['tier']='db' and cpu >= 7", $orderby: 'cpu:desc,name', $first: '1', $last: '3', $select: 'name,cpu' }).expect(200);
    // odd i with cpu 1+(i%8) >= 7: i%8 == 7 -> cpu 8 (250 of them); i%8 == 6 is even. So 250 match, all cpu 8.
    assert.equal(res.body.count, 250);
    assert.deepEqual(res.body.machines.map((m: { name: string }) => m.name), ['vm-0007', 'vm-0015', 'vm-0023']);
    assert.deepEqual(Object.keys(res.body.machines[0]).sort(), ['cpu', 'id', 'name', 'resourceURI']);
    const stopped = await as(h.app, 'alice', 'get', '/api/machines').query({ $filter: "state='CREATING' and created >= 2024-01-01T00:33:00Z", $orderby: 'created:desc', $last: '2' }).expect(200);
    assert.equal(stopped.body.count, 2000 - 33 * 60);
    assert.deepEqual(stopped.body.machines.map((m: { id: string }) => idOf(m.id)), [ids[1999], ids[1998]]);
    const last = await as(h.app, 'alice', 'get', '/api/machines').query({ $orderby: 'name:desc', $first: '1999', $last: '2000' }).expect(200);
    assert.deepEqual(last.body.machines.map((m: { name: string }) => m.name), ['vm-0001', 'vm-0000']);
  });
});
