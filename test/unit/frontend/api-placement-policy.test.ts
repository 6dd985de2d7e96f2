/** Issue 11: the placement policy through the API (admins): read, store over a version, refuse bad ones, explain. */
import assert from 'node:assert/strict';
import { as, harness, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';

describe('frontend API: placement policy and explain', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const put = (body: Record<string, unknown>) => as(h.app, 'root', 'put', '/api/placementPolicy').send(body);

  it('GET shows the built-in policy (version 0) to admins only; PUT stores a version over the one read, 409 when it moved on', async () => {
    const first = (await as(h.app, 'root', 'get', '/api/placementPolicy').expect(200)).body;
    assert.equal(first.version, 0);
    assert.equal(first.weigher, 'packing');
    await as(h.app, 'alice', 'get', '/api/placementPolicy').expect(403);
    await as(h.app, 'alice', 'put', '/api/placementPolicy').send({ version: 0, weigher: 'striping' }).expect(403);
    const stored = (await put({ version: 0, weigher: 'striping', hostGroups: [{ name: 'big', labels: { tier: 'big' }, cpuAllocationRatio: 8 }] }).expect(200)).body;
    assert.equal(stored.version, 1);
    assert.equal(stored.weigher, 'striping');
    assert.equal(stored.updatedBy, 'root');
    assert.deepEqual(stored.hostGroups, [{ name: 'big', labels: { tier: 'big' }, cpuAllocationRatio: 8, ramAllocationRatio: null }]);
    const stale = await put({ version: 0, weigher: 'packing' }).expect(409);
    assert.match(stale.body.message, /changed meanwhile \(now version 1, you edited version 0\)/);
    // A client may PUT back what it read, changed.
    const again = (await put({ ...stored, weigher: 'packing' }).expect(200)).body;
    assert.equal(again.version, 2);
    assert.equal(again.weigher, 'packing');
  });

  it('a bad policy is a 400 naming the field, and the one in force stays', async () => {
    await put({ version: 0, weigher: 'striping' }).expect(200);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ weigher: 'random' }, /PlacementPolicy\.weigher must be one of packing, striping, load-aware, rank/],
      [{ weigher: 'rank' }, /PlacementPolicy\.rank is required with weigher 'rank'/],
      [{ cpuAllocationRatio: 0 }, /PlacementPolicy\.cpuAllocationRatio must be a number > 0/],
      [{ hostGroups: [{ name: 'a', labels: {} }] }, /hostGroups\[0\]\.labels must name at least one label/],
      [{ hostGroups: [{ name: 'a', labels: { x: '1' } }, { name: 'a', labels: { y: '1' } }] }, /hostGroups\[1\]\.name repeats the group 'a'/],
      [{ limits: { perHost: -1 } }, /limits\.perHost must be an integer/],
      [{ colour: 'blue' }, /PlacementPolicy\.colour is not a policy field/],
    ];
    for (const [body, msg] of cases) {
      const r = await put({ version: 1, ...body }).expect(400);
      assert.match(r.body.message, msg, JSON.stringify(body));
    }
    await put({ weigher: 'packing' }).expect(400, /version is required/);
    const now = (await as(h.app, 'root', 'get', '/api/placementPolicy').expect(200)).body;
    assert.equal(now.version, 1);
    assert.equal(now.weigher, 'striping');
  });

  it('explain: every host with the filter that rejected it or its score, under the stored policy or a proposed one', async () => {
    for (const [id, cpus, labels] of [['a', 8, {}], ['b', 8, {}], ['c', 2, {}], ['d', 8, { zone: 'z' }]] as const) {
      await h.store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus, memoryKiB: 16 * 1048576, labels });
      if (id !== 'd') await h.store.hosts.acquireLease(id, `agent-${id}`, 60);
    }
    // b already carries a machine: packing prefers it, striping avoids it.
    const b = (await h.store.hosts.get('b'))!;
    assert.ok((await h.store.hosts.claim(b, '00000000-0000-7000-8000-0000000000bb', { cpus: 4, memoryKiB: 1048576 })).ok);
    const explain = (body: Record<string, unknown>) => as(h.app, 'root', 'post', '/api/placementPolicy/explain').send(body).expect(200);
    const tpl = { machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }; // 2 vCPUs, 2 GiB
    const packed = (await explain(tpl)).body;
    assert.equal(packed.chosen, 'b');
    assert.equal(packed.policyVersion, 0);
    const byId = Object.fromEntries(packed.hosts.map((v: { hostId: string }) => [v.hostId, v]));
    assert.equal(byId.d.filter, 'alive');
    assert.equal(byId.c.filter, null, 'c has 2 CPUs x 4 = 8 schedulable');
    assert.ok(byId.b.score > byId.a.score);
    const striped = (await explain({ ...tpl, policy: { weigher: 'striping', cpuAllocationRatio: 0.5 } })).body;
    assert.equal(striped.policy, 'proposed');
    assert.equal(striped.chosen, 'a');
    const s = Object.fromEntries(striped.hosts.map((v: { hostId: string }) => [v.hostId, v]));
    assert.equal(s.c.filter, 'cpu', 'at ratio 0.5, c schedules 1 vCPU');
    assert.equal(s.b.filter, 'cpu', 'at ratio 0.5, b is full with its 4');
    // Nothing was stored by the proposal.
    assert.equal((await as(h.app, 'root', 'get', '/api/placementPolicy').expect(200)).body.version, 0);
    // A machine by href: the same verdicts for its spec.
    const created = await as(h.app, 'alice', 'post', '/api/machines').send({ resourceURI: `${CIMI}/MachineCreate`, name: 'x', ...tpl }).expect(202);
    const forMachine = (await explain({ machine: { href: created.headers.location } })).body;
    assert.equal(forMachine.chosen, 'b');
    await as(h.app, 'root', 'post', '/api/placementPolicy/explain').send({ machine: { href: '/api/machines/00000000-0000-7000-8000-00000000dead' } }).expect(400);
    await as(h.app, 'root', 'post', '/api/placementPolicy/explain').send({}).expect(400, /needs machine/);
    await as(h.app, 'alice', 'post', '/api/placementPolicy/explain').send(tpl).expect(403);
  });

  it('requirement and rank expressions: stored when valid, a 400 with the column when not, and explain applies them', async () => {
    for (const [id, zone] of [['a', 'a'], ['b', 'b'], ['c', 'b']] as const) {
      await h.store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: id === 'c' ? 16 : 8, memoryKiB: 16 * 1048576, labels: { zone } });
      await h.store.hosts.acquireLease(id, `agent-${id}`, 60);
    }
    const bad = await put({ version: 0, requirements: 'labels.zone = "b" & free.cpu >=' }).expect(400);
    assert.match(bad.body.message, /PlacementPolicy\.requirements: at column \d+: expected a value after '>='/);
    const badRank = await put({ version: 0, weigher: 'rank', rank: 'labels.zone * 2' }).expect(400);
    assert.match(badRank.body.message, /PlacementPolicy\.rank/);
    const ok = (await put({ version: 0, weigher: 'rank', rank: 'free.cpu', requirements: 'labels.zone = "b" & free.cpu >= 4' }).expect(200)).body;
    assert.equal(ok.version, 1);
    const e = (await as(h.app, 'root', 'post', '/api/placementPolicy/explain').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(200)).body;
    const v = Object.fromEntries(e.hosts.map((x: { hostId: string }) => [x.hostId, x]));
    assert.equal(v.a.filter, 'policy');
    assert.equal(e.chosen, 'c', 'the rank (free CPUs) puts the 16-CPU host first');
    assert.ok(v.c.score > v.b.score);
  });
});
