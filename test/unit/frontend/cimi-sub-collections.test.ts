/**
 * Issue 9: a Machine's disks, volumes and networkInterfaces are references to sub-collections, read
 * the way a DSP0263 client reads them: follow the href (JSON or XML), page and filter like any
 * collection, read a member at its id, or ask the Machine to inline them with $expand.
 */
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { as, harness, idOf, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (n) => ['MachineDisk', 'Machine', 'operation'].includes(n) });
const pathOf = (u: string) => { const x = new URL(u); return x.pathname + x.search; };
/** Each supertest request listens on its own port, and links carry it: compare without the origin. */
const portless = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://host'));

describe('CIMI sub-collections: a Machine\'s disks, volumes and networkInterfaces', function () {
  this.timeout(30_000);
  let h: Harness;
  let machine: string;
  before(async () => {
    h = await harness();
    // A configuration with two disks (the harness's has one).
    const cfg = await as(h.app, 'root', 'post', '/api/machineConfigs').send({ name: 'two-disks', cpu: 1, memory: 1048576, disks: [{ capacity: 1048576, format: 'raw' }, { capacity: 2097152 }] }).expect(201);
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'm', machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } } }).expect(202);
    machine = new URL(res.headers.location).pathname;
  });
  after(async () => { await h.cleanup(); });

  it('the Machine links each sub-collection by href (JSON {href}, XML <disks href="..."/>), never inline', async () => {
    const m = (await as(h.app, 'alice', 'get', machine).expect(200)).body;
    for (const attr of ['disks', 'volumes', 'networkInterfaces']) {
      assert.deepEqual(Object.keys(m[attr]), ['href'], attr);
      assert.equal(pathOf(m[attr].href), `${machine}/${attr}`);
    }
    const doc = xml.parse((await as(h.app, 'alice', 'get', machine).set('Accept', 'application/xml').expect(200)).text);
    for (const attr of ['disks', 'volumes', 'networkInterfaces']) assert.equal(pathOf(doc.Machine[0][attr]['@_href']), `${machine}/${attr}`);
    assert.equal(doc.Machine[0].disk, undefined);
  });

  it('GET the disks href: a MachineDiskCollection of MachineDisks (capacity KiB, initialLocation, format), each readable at its id', async () => {
    const m = (await as(h.app, 'alice', 'get', machine).expect(200)).body;
    const c = (await as(h.app, 'alice', 'get', pathOf(m.disks.href)).expect(200)).body;
    assert.equal(c.resourceURI, `${CIMI}/MachineDiskCollection`);
    assert.equal(pathOf(c.id), pathOf(m.disks.href));
    assert.equal(c.count, 2);
    assert.deepEqual(c.disks.map((d: Record<string, unknown>) => [d.resourceURI, d.capacity, d.format, d.initialLocation]), [
      [`${CIMI}/MachineDisk`, 1048576, 'raw', 'vdb'], [`${CIMI}/MachineDisk`, 2097152, 'qcow2', 'vdc'],
    ]);
    assert.deepEqual(c.disks[0].operations, []);
    assert.deepEqual(c.operations, []);
    for (const d of c.disks) assert.deepEqual(portless((await as(h.app, 'alice', 'get', pathOf(d.id)).expect(200)).body), portless(d));
    await as(h.app, 'alice', 'get', `${machine}/disks/7`).expect(404);
    await as(h.app, 'alice', 'get', `${machine}/disks/x`).expect(404);
    // XML: <Collection resourceURI=".../MachineDiskCollection"> of <MachineDisk> elements
    const doc = xml.parse((await as(h.app, 'alice', 'get', pathOf(m.disks.href)).set('Accept', 'application/xml').expect(200)).text);
    assert.equal(doc.Collection['@_resourceURI'], `${CIMI}/MachineDiskCollection`);
    assert.equal(doc.Collection['@_xmlns'], CIMI);
    assert.equal(doc.Collection.MachineDisk.length, 2);
    assert.equal(doc.Collection.MachineDisk[1].capacity, 2097152);
    assert.equal(doc.Collection.MachineDisk[1].resourceURI, undefined);
  });

  it('the sub-collections take $filter, $select, $orderby, $first and $last like any collection', async () => {
    const big = (await as(h.app, 'alice', 'get', `${machine}/disks`).query({ $filter: 'capacity > 1048576' }).expect(200)).body;
    assert.equal(big.count, 1);
    assert.equal(big.disks[0].initialLocation, 'vdc');
    const sel = (await as(h.app, 'alice', 'get', `${machine}/disks`).query({ $select: 'capacity', $orderby: 'capacity:desc', $first: '1', $last: '1' }).expect(200)).body;
    assert.equal(sel.count, 2);
    assert.deepEqual(Object.keys(sel.disks[0]).sort(), ['capacity', 'id', 'resourceURI']);
    assert.equal(sel.disks[0].capacity, 2097152);
    assert.ok(sel.operations.some((o: { rel: string }) => o.rel === 'next'));
    await as(h.app, 'alice', 'get', `${machine}/disks`).query({ $filter: 'capacity >' }).expect(400);
  });

  it('volumes and networkInterfaces: empty collections under their DSP0263 member names', async () => {
    const v = (await as(h.app, 'alice', 'get', `${machine}/volumes`).expect(200)).body;
    assert.equal(v.resourceURI, `${CIMI}/MachineVolumeCollection`);
    assert.equal(v.count, 0);
    assert.deepEqual(v.machineVolumes, []);
    const n = (await as(h.app, 'alice', 'get', `${machine}/networkInterfaces`).expect(200)).body;
    assert.equal(n.resourceURI, `${CIMI}/MachineNetworkInterfaceCollection`);
    assert.deepEqual(n.networkInterfaces, []);
    await as(h.app, 'alice', 'get', `${machine}/volumes/0`).expect(404);
  });

  it('$expand inlines them on a Machine read and a collection read: one name, a comma list, or *', async () => {
    const one = (await as(h.app, 'alice', 'get', machine).query({ $expand: 'disks' }).expect(200)).body;
    assert.equal(one.disks.resourceURI, `${CIMI}/MachineDiskCollection`);
    assert.equal(one.disks.count, 2);
    assert.equal(one.disks.disks[1].capacity, 2097152);
    assert.deepEqual(Object.keys(one.volumes), ['href']);
    const two = (await as(h.app, 'alice', 'get', machine).query({ $expand: 'disks, volumes' }).expect(200)).body;
    assert.equal(two.volumes.resourceURI, `${CIMI}/MachineVolumeCollection`);
    assert.deepEqual(Object.keys(two.networkInterfaces), ['href']);
    const all = (await as(h.app, 'alice', 'get', machine).query({ $expand: '*' }).expect(200)).body;
    for (const attr of ['disks', 'volumes', 'networkInterfaces']) assert.equal(typeof all[attr].count, 'number', attr);
    const list = (await as(h.app, 'alice', 'get', '/api/machines').query({ $expand: 'disks' }).expect(200)).body;
    assert.equal(list.machines[0].disks.count, 2);
    const unknown = (await as(h.app, 'alice', 'get', machine).query({ $expand: 'nothing' }).expect(200)).body;
    assert.deepEqual(Object.keys(unknown.disks), ['href']);
    // XML: the inlined collection is the attribute's element, with its href, holding <MachineDisk>s
    const doc = xml.parse((await as(h.app, 'alice', 'get', '/api/machines').query({ $expand: 'disks' }).set('Accept', 'application/xml').expect(200)).text);
    const disks = doc.Collection.Machine[0].disks;
    assert.equal(pathOf(disks['@_href']), `${machine}/disks`);
    assert.equal(disks.MachineDisk.length, 2);
  });

  it('another tenant\'s machine: its sub-collections and their members are 404, like a missing machine\'s', async () => {
    for (const p of [`${machine}/disks`, `${machine}/disks/0`, `${machine}/volumes`, `${machine}/networkInterfaces`]) {
      const theirs = await as(h.app, 'bob', 'get', p).expect(404);
      const missing = await as(h.app, 'bob', 'get', p.replace(idOf(machine), '01a20867-e166-774b-a077-daa86ce705ad')).expect(404);
      assert.equal(theirs.body.message.replace(idOf(machine), 'ID'), missing.body.message.replace('01a20867-e166-774b-a077-daa86ce705ad', 'ID'));
    }
    await as(h.app, 'bob', 'get', machine).query({ $expand: '*' }).expect(404);
  });

  it('sub-collections are read-only for now: other methods are 405', async () => {
    await as(h.app, 'alice', 'post', `${machine}/disks`).set('Content-Type', 'application/json').send({}).expect(405);
    await as(h.app, 'alice', 'delete', `${machine}/disks/0`).expect(405);
  });

  it('an Event is readable at its id (in its machine\'s EventLog), from the day collection too; another tenant\'s is 404', async () => {
    const day = (await as(h.app, 'alice', 'get', '/api/events').expect(200)).body;
    assert.ok(day.events.length > 0);
    for (const e of day.events) {
      assert.match(pathOf(e.id), /^\/api\/machines\/[0-9a-f-]{36}\/eventLog\/events\/[0-9a-f-]{36}$/);
      assert.deepEqual(portless((await as(h.app, 'alice', 'get', pathOf(e.id)).expect(200)).body), portless(e));
      await as(h.app, 'bob', 'get', pathOf(e.id)).expect(404);
    }
    const log = (await as(h.app, 'alice', 'get', `${machine}/eventLog/events`).expect(200)).body;
    assert.equal(pathOf(log.events[0].id).startsWith(`${machine}/eventLog/events/`), true);
    await as(h.app, 'alice', 'get', `${machine}/eventLog/events/01a20867-e166-774b-a077-daa86ce705ad`).expect(404);
    await as(h.app, 'alice', 'get', `${machine}/eventLog/events/nope`).expect(404);
    for (const edge of ['ffffffff-ffff-7fff-bfff-ffffffffffff', '00000000-0000-7000-8000-000000000000']) await as(h.app, 'alice', 'get', `${machine}/eventLog/events/${edge}`).expect(404);
  });
});
