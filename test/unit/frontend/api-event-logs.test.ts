import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { as, harness, idOf, type Harness } from './harness.js';
import { Placer } from '../../../placement/placer.js';
import { placementConfig } from '../../../placement/config.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';

describe('frontend API: a machine\'s EventLog and Job stop', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  async function create(user = 'alice') {
    const res = await as(h.app, user, 'post', '/api/machines').send({ name: 'ev', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    return { id: idOf(res.headers.location), path: new URL(res.headers.location).pathname, job: new URL(res.headers['cimi-job-uri']).pathname };
  }

  it('the machine links its eventLog; the log lists only that machine\'s events, newest first, with paging and $expand', async () => {
    const a = await create();
    const b = await create();
    const m = await as(h.app, 'alice', 'get', a.path).expect(200);
    assert.equal(new URL(m.body.eventLog.href).pathname, `${a.path}/eventLog`);
    const log = await as(h.app, 'alice', 'get', `${a.path}/eventLog`).expect(200);
    assert.equal(log.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/EventLog');
    assert.equal(new URL(log.body.targetResource.href).pathname, a.path);
    assert.equal(new URL(log.body.events.href).pathname, `${a.path}/eventLog/events`);
    // one more event on a and one on b
    await as(h.app, 'alice', 'put', a.path).send({ name: 'renamed' }).expect((r) => assert.ok(r.status < 300, String(r.status)));
    const events = await as(h.app, 'alice', 'get', `${a.path}/eventLog/events`).expect(200);
    assert.equal(events.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/EventCollection');
    assert.ok(events.body.count >= 1);
    for (const e of events.body.events) assert.equal(new URL(e.resource).pathname, a.path);
    const stamps = events.body.events.map((e: { timestamp: string }) => e.timestamp);
    assert.deepEqual([...stamps].sort().reverse(), stamps, 'newest first');
    const first = await as(h.app, 'alice', 'get', `${a.path}/eventLog/events?$first=1&$last=1`).expect(200);
    assert.equal(first.body.events.length, 1);
    const bEvents = await as(h.app, 'alice', 'get', `${b.path}/eventLog/events`).expect(200);
    for (const e of bEvents.body.events) assert.equal(new URL(e.resource).pathname, b.path);
    const expanded = await as(h.app, 'alice', 'get', `${a.path}/eventLog?$expand=events`).expect(200);
    assert.equal(expanded.body.events.count, events.body.count);
    assert.ok(Array.isArray(expanded.body.events.events));
    const xml = await as(h.app, 'alice', 'get', `${a.path}/eventLog`).set('Accept', 'application/xml').expect(200);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml.text);
    assert.ok(doc.EventLog, xml.text);
    assert.match(doc.EventLog.events.href, /\/eventLog\/events$/);
  });

  it('another tenant\'s or an unknown machine\'s log is 404; a filter works', async () => {
    const a = await create();
    await as(h.app, 'bob', 'get', `${a.path}/eventLog`).expect(404);
    await as(h.app, 'bob', 'get', `${a.path}/eventLog/events`).expect(404);
    await as(h.app, 'alice', 'get', '/api/machines/00000000-0000-4000-8000-000000000000/eventLog').expect(404);
    const f = await as(h.app, 'alice', 'get', `${a.path}/eventLog/events?$filter=type='nonexistent'`).expect(200);
    assert.equal(f.body.count, 0);
    await as(h.app, 'alice', 'get', `${a.path}/eventLog/events?$filter=type=`).expect(400);
  });

  it('a queued create offers stop; stopping it ends the job STOPPED, placement purges the machine and returns the quota', async () => {
    await h.store.quotas.setLimits('acme', { machines: 1 });
    const a = await create();
    const job = await as(h.app, 'alice', 'get', a.job).expect(200);
    assert.equal(job.body.state, 'QUEUED');
    const stop = job.body.operations.find((o: { rel: string }) => o.rel.endsWith('/stop'));
    assert.ok(stop, JSON.stringify(job.body.operations));
    await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'x', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(403);
    await as(h.app, 'bob', 'post', new URL(stop.href).pathname).set('Content-Type', 'application/json').expect(404);
    await as(h.app, 'alice', 'post', new URL(stop.href).pathname).send({ action: 'http://schemas.dmtf.org/cimi/1/action/restart' }).expect(400);
    const stopped = await as(h.app, 'alice', 'post', new URL(stop.href).pathname).send({ resourceURI: 'http://schemas.dmtf.org/cimi/1/Action', action: 'http://schemas.dmtf.org/cimi/1/action/stop' }).expect(200);
    assert.equal(stopped.body.state, 'STOPPED');
    assert.deepEqual(stopped.body.operations, []);
    assert.equal((await as(h.app, 'alice', 'get', a.job)).body.state, 'STOPPED');
    assert.equal((await as(h.app, 'alice', 'get', a.path)).body.state, 'DELETING');
    // a second stop is a conflict naming the state
    const again = await as(h.app, 'alice', 'post', new URL(stop.href).pathname).set('Content-Type', 'application/json').expect(409);
    assert.match(JSON.stringify(again.body), /STOPPED/);
    const placer = new Placer({ store: h.store, config: placementConfig({ instanceId: 'p1' }), log: silentLogger(), metrics: new SkybusMetrics() });
    await placer.runOnce();
    assert.equal(await h.store.machines.get(a.id), null, 'purged before placement');
    await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'x', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
  });

  it('a placed create, and any other job, cannot be stopped: 409, and no stop operation is offered', async () => {
    const a = await create();
    await h.store.machines.assignHost(a.id, 'h1');
    const job = await as(h.app, 'alice', 'get', a.job).expect(200);
    assert.equal(job.body.state, 'RUNNING');
    assert.deepEqual(job.body.operations, []);
    const r = await as(h.app, 'alice', 'post', `${a.job}/stop`).set('Content-Type', 'application/json').expect(409);
    assert.match(JSON.stringify(r.body), /RUNNING/);
    assert.notEqual((await h.store.machines.get(a.id))?.desiredState, 'DELETED');
  });
});
