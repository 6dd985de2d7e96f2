/**
 * Issue 10, host loss as a client sees it: the highlyAvailable flag on creates and templates, and a
 * machine's state, hostHealth and Job when its host is unreachable, down or removed.
 */
import assert from 'node:assert/strict';
import { hostLivenessPolicy } from '../../../schema/host-health.js';
import { as, harness, idOf, spec, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const liveness = hostLivenessPolicy({ downAfterMs: 5_000, fenceBudgetMs: 1_000, clockSkewMs: 500 });

describe('frontend API: host health and highly available machines', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness({ hostLiveness: liveness }); });
  afterEach(async () => { await h.cleanup(); });

  const create = (tpl: Record<string, unknown>) => as(h.app, 'alice', 'post', '/api/machines')
    .send({ resourceURI: `${CIMI}/MachineCreate`, name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, ...tpl } });

  it('highlyAvailable: off by default, on from the create or the template, the create overriding; a bad value is a 400 naming it', async () => {
    const plain = await create({}).expect(202);
    assert.equal(plain.body.highlyAvailable, false);
    assert.equal((await h.store.machines.get(idOf(plain.headers.location)))!.spec.highlyAvailable, undefined);
    const ha = await create({ highlyAvailable: true }).expect(202);
    assert.equal(ha.body.highlyAvailable, true);
    assert.equal((await h.store.machines.get(idOf(ha.headers.location)))!.spec.highlyAvailable, true);
    const bad = await create({ highlyAvailable: 'maybe' }).expect(400);
    assert.match(bad.body.message, /machineTemplate\.highlyAvailable must be true or false/);

    const tpl = await as(h.app, 'root', 'post', '/api/machineTemplates').send({
      resourceURI: `${CIMI}/MachineTemplateCreate`, name: 'ha-debian', highlyAvailable: true,
      machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: `/api/machineImages/${h.catalog.image}` },
    }).expect(201);
    const fromTpl = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 't', machineTemplate: { href: tpl.headers.location } }).expect(202);
    assert.equal(fromTpl.body.highlyAvailable, true);
    const overridden = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'o', machineTemplate: { href: tpl.headers.location, highlyAvailable: false } }).expect(202);
    assert.equal(overridden.body.highlyAvailable, false);
    // XML bodies carry it as text.
    const x = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml')
      .send(`<MachineCreate xmlns="${CIMI}"><name>x</name><machineTemplate href="/api/machineTemplates/${h.catalog.template}"><highlyAvailable>true</highlyAvailable></machineTemplate></MachineCreate>`).expect(202);
    assert.equal((await h.store.machines.get(idOf(x.headers.location)))!.spec.highlyAvailable, true);
  });

  /** A STARTED, converged machine on host h1, with h1's lease and heartbeat as given. */
  async function onHost(opts: { ha?: boolean; lease: boolean; heartbeatAgoMs: number }) {
    const now = Date.now();
    await h.store.hosts.register({ id: 'h1', name: 'h1', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    const m = await h.store.machines.create({ tenant: 'acme', name: 'on-h1', spec: spec(opts.ha ? { highlyAvailable: true } : {}), desiredState: 'STARTED' });
    const host = (await h.store.hosts.get('h1'))!;
    assert.ok((await h.store.hosts.claim(host, m.id, { cpus: 1, memoryKiB: 1048576 })).ok);
    assert.ok(await h.store.machines.assignHost(m.id, 'h1'));
    await h.store.machines.setStatus(m.id, { state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h1', updatedAt: now });
    if (opts.lease) assert.ok(await h.store.hosts.acquireLease('h1', 'agent-1', 30));
    await h.store.hosts.heartbeat({ hostId: 'h1', holder: 'agent-1', renewed: now - opts.heartbeatAgoMs, fenceAfterMs: 2_000, fencedAt: null });
    return m;
  }
  const view = async (id: string) => (await as(h.app, 'alice', 'get', `/api/machines/${id}`).expect(200)).body;

  it('host up: the state the agent wrote; unreachable: the same state with a note; down: ERROR naming the host, and a stop Job FAILS with it', async () => {
    const up = await onHost({ lease: true, heartbeatAgoMs: 100 });
    let v = await view(up.id);
    assert.equal(v.state, 'STARTED');
    assert.equal(v.hostHealth, 'up');
    await h.store.hosts.releaseLease('h1', 'agent-1');
    await new Promise((r) => setTimeout(r, 2_100)); // the frontend keeps a host's condition 2 s
    v = await view(up.id);
    assert.equal(v.state, 'STARTED', 'unreachable: the guest may well still run');
    assert.equal(v.hostHealth, 'unreachable');
    assert.match(v.statusMessage, /host h1 is unreachable/);
    await h.store.hosts.heartbeat({ hostId: 'h1', holder: 'agent-1', renewed: Date.now() - 60_000, fenceAfterMs: 2_000, fencedAt: null });
    await new Promise((r) => setTimeout(r, 2_100));
    v = await view(up.id);
    assert.equal(v.state, 'ERROR');
    assert.equal(v.hostHealth, 'down');
    assert.match(v.error, /host h1 is down \(last heartbeat 6\d s ago\); the machine is not highly available/);
    const stop = await as(h.app, 'alice', 'post', `/api/machines/${up.id}/stop`).set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/stop` }).expect(202);
    const job = (await as(h.app, 'alice', 'get', new URL(stop.headers['cimi-job-uri'], 'http://x').pathname).expect(200)).body;
    assert.equal(job.state, 'FAILED');
    assert.match(job.statusMessage, /host h1 is down/);
  });

  it('an HA machine: while its host is unreachable the last state with a note; once down STARTING with when it restarts elsewhere, not ERROR', async () => {
    const m = await onHost({ ha: true, lease: false, heartbeatAgoMs: 3_000 });
    const v = await view(m.id);
    assert.equal(v.state, 'STARTED', 'unreachable: the last state its host reported, with a note');
    assert.equal(v.hostHealth, 'unreachable');
    assert.match(v.statusMessage, /unreachable/);
    await h.store.hosts.heartbeat({ hostId: 'h1', holder: 'agent-1', renewed: Date.now() - 5_500, fenceAfterMs: 2_000, fencedAt: null });
    await new Promise((r) => setTimeout(r, 2_100));
    const down = await view(m.id);
    assert.equal(down.state, 'STARTING');
    assert.equal(down.hostHealth, 'down');
    assert.match(down.statusMessage, /host h1 is down .*: restarting it on another host/);
  });

  it('a machine whose host was removed: ERROR, and a delete finishes at once with its claim released', async () => {
    const m = await onHost({ lease: false, heartbeatAgoMs: 60_000 });
    await h.store.hosts.setState('h1', 'REMOVED');
    const v = await view(m.id);
    assert.equal(v.state, 'ERROR');
    assert.equal(v.hostHealth, 'removed');
    const del = await as(h.app, 'alice', 'delete', `/api/machines/${m.id}`).expect(202);
    assert.equal(await h.store.machines.get(m.id), null, 'purged without an agent');
    assert.deepEqual((await h.store.hosts.get('h1'))!.allocations, {});
    assert.equal((await h.store.hosts.get('h1'))!.usedCpus, 0);
    const job = (await as(h.app, 'alice', 'get', new URL(del.body.id, 'http://x').pathname).expect(200)).body;
    assert.equal(job.state, 'SUCCESS');
    await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).expect(404);
  });

  it('GET /api/hosts (admins): health, last heartbeat and HA restart time per host, filterable; users get 403', async () => {
    await onHost({ lease: false, heartbeatAgoMs: 60_000 });
    await h.store.hosts.register({ id: 'h2', name: 'h2', uri: 'test:///default', arch: 'x86_64', cpus: 4, memoryKiB: 1048576, labels: {} });
    await h.store.hosts.acquireLease('h2', 'agent-2', 30);
    const all = (await as(h.app, 'root', 'get', '/api/hosts').expect(200)).body;
    assert.equal(all.count, 2);
    const [h1, h2] = all.hosts;
    assert.equal(h1.health, 'down');
    assert.equal(h1.usedCpu, 1);
    assert.equal(h1.machines, 1);
    assert.ok(Date.now() - Date.parse(h1.lastSeen) >= 60_000);
    assert.equal(Date.parse(h1.haRestartAt), Date.parse(h1.lastSeen) + 5_000, 'max(down after 5 s, fence 2 s + budget 1 s + skew 0.5 s)');
    assert.equal(h2.health, 'up');
    const down = (await as(h.app, 'root', 'get', '/api/hosts').query({ $filter: "health='down'" }).expect(200)).body;
    assert.deepEqual(down.hosts.map((x: { name: string }) => x.name), ['h1']);
    assert.equal((await as(h.app, 'root', 'get', '/api/hosts/h2').expect(200)).body.health, 'up');
    await as(h.app, 'root', 'get', '/api/hosts/nope').expect(404);
    await as(h.app, 'root', 'get', '/api/hosts/bad%20id').expect(404);
    await as(h.app, 'alice', 'get', '/api/hosts').expect(403);
  });
});
