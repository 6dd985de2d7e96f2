import assert from 'node:assert/strict';
import request from 'supertest';
import { XMLParser } from 'fast-xml-parser';
import { as, footprint, harness, idOf, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (n, jpath) => jpath === 'Collection.Machine' || ['operation', 'disk', 'property'].includes(n) });

describe('frontend API: machines', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const fromTemplate = (extra: Record<string, unknown> = {}) => ({
    resourceURI: `${CIMI}/MachineCreate`, name: 'web-1', description: 'front', properties: { env: 'prod' },
    machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` }, ...extra,
  });

  it('serves a public CloudEntryPoint that names every collection', async () => {
    const res = await request(h.app).get('/api/cloudEntryPoint').set('Host', 'cloud.test:8080').expect(200);
    assert.equal(res.body.resourceURI, `${CIMI}/CloudEntryPoint`);
    assert.equal(res.body.machines.href, 'http://cloud.test:8080/api/machines');
    for (const c of ['machineTemplates', 'machineConfigs', 'machineImages', 'jobs', 'events']) assert.ok(res.body[c].href, c);
  });

  it('creates a machine from a template: 202, Location, CIMI-Job-URI, and the spec on the bus', async () => {
    const res = await as(h.app, 'alice', 'post', '/api/machines').send(fromTemplate({ requirements: { rack: 'r1' } })).expect(202);
    assert.match(res.headers.location, /\/api\/machines\/[0-9a-f-]{36}$/);
    assert.match(res.headers['cimi-job-uri'], /\/api\/jobs\/[0-9a-f-]{36}$/);
    assert.equal(res.body.id, res.headers.location);
    assert.equal(res.body.state, 'CREATING');
    // Advertised: what the action route accepts for desired state STARTED (cimi-operations.test.ts).
    assert.deepEqual(res.body.operations.map((o: { rel: string }) => o.rel.split('/').pop()), ['stop', 'restart', 'pause', 'suspend', 'delete', 'edit']);
    const m = await h.store.machines.get(idOf(res.headers.location));
    assert.ok(m);
    assert.equal(m.tenant, 'acme');
    assert.equal(m.desiredState, 'STARTED');
    assert.equal(m.spec.cpu, 2);
    assert.equal(m.spec.memoryKiB, 2097152);
    assert.deepEqual(m.spec.disks, [{ capacityKiB: 10485760, format: 'qcow2' }]);
    assert.equal(m.spec.image?.location, '/var/lib/skybus/images/debian.qcow2');
    assert.deepEqual(m.spec.requirements, { rack: 'r1' });
    assert.deepEqual(m.properties, { env: 'prod' });
    const job = await h.store.jobs.get(idOf(res.headers['cimi-job-uri']));
    assert.equal(job?.action, 'create');
    assert.equal(job?.state, 'QUEUED');
    assert.equal(job?.targetGeneration, 1);
    assert.equal(job?.expectedState, 'STARTED');
    assert.equal((await footprint(h.store, 'acme')).events, 1);
  });

  it('refuses an inline image from a non-administrator (it names a host file) and writes nothing', async () => {
    const before = await footprint(h.store, 'acme');
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({
      name: 'sneaky', machineTemplate: {
        machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` },
        machineImage: { imageLocation: '/var/lib/skybus/agent/h1/machines/other/root.qcow2', format: 'qcow2' },
      },
    }).expect(403);
    assert.match(res.body.message, /only administrators may give an image inline/);
    assert.deepEqual(await footprint(h.store, 'acme'), before);
  });

  it('creates a machine with an inline configuration and kernel image (administrator), STOPPED, with user data', async () => {
    const userData = Buffer.from('#cloud-config\n').toString('base64');
    const res = await as(h.app, 'root', 'post', '/api/machines').send({
      name: 'k', machineTemplate: {
        machineConfig: { cpu: 4, memory: 4194304, cpuArch: 'aarch64', disks: [{ capacity: 1048576, format: 'raw' }] },
        machineImage: { imageLocation: 'https://img.example/vmlinuz', format: 'kernel', initrd: '/boot/initrd', kernelCmdline: 'console=ttyS0', cpuArch: 'aarch64' },
        initialState: 'STOPPED', userData,
      },
    }).expect(202);
    const m = (await h.store.machines.get(idOf(res.headers.location)))!;
    assert.equal(m.desiredState, 'STOPPED');
    assert.equal(m.spec.cpuArch, 'aarch64');
    assert.equal(m.spec.image?.format, 'kernel');
    assert.equal(m.spec.image?.initrd, '/boot/initrd');
    assert.equal(m.spec.image?.cmdline, 'console=ttyS0');
    assert.equal(m.spec.userData, userData);
    assert.equal((await h.store.jobs.get(idOf(res.headers['cimi-job-uri'])))?.expectedState, 'STOPPED');
  });

  it('round-trips XML: MachineCreate in, Machine out with namespace, operations and hrefs', async () => {
    const body = `<?xml version="1.0"?>
<MachineCreate xmlns="${CIMI}">
  <name>x &amp; y</name>
  <property key="env">dev</property>
  <machineTemplate>
    <machineConfig href="/api/machineConfigs/${h.catalog.config}"/>
    <machineImage href="/api/machineImages/${h.catalog.image}"/>
    <initialState>STOPPED</initialState>
  </machineTemplate>
</MachineCreate>`;
    const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').set('Accept', 'application/xml').send(body).expect(202);
    assert.match(res.headers['content-type'], /application\/xml/);
    const doc = xml.parse(res.text);
    assert.equal(doc.Machine['@_xmlns'], CIMI);
    assert.equal(doc.Machine.name, 'x & y');
    assert.equal(doc.Machine.cpu, 2);
    assert.equal(doc.Machine.property[0]['@_key'], 'env');
    assert.ok(doc.Machine.operation.some((o: Record<string, string>) => o['@_rel'] === 'delete' && o['@_href'] === res.headers.location));
    const m = (await h.store.machines.get(idOf(res.headers.location)))!;
    assert.equal(m.name, 'x & y');
    assert.equal(m.desiredState, 'STOPPED');
    // And the collection in XML
    const list = await as(h.app, 'alice', 'get', '/api/machines').set('Accept', 'application/xml').expect(200);
    const coll = xml.parse(list.text).Collection;
    assert.equal(coll['@_resourceURI'], `${CIMI}/MachineCollection`);
    assert.equal(coll.count, 1);
    assert.equal(idOf(coll.Machine[0].id), idOf(res.headers.location));
  });

  it('runs actions per the desired state: 202 + job, 409 naming the state, path and body forms', async () => {
    const created = await as(h.app, 'alice', 'post', '/api/machines').send(fromTemplate()).expect(202);
    const url = new URL(created.headers.location).pathname;
    const id = idOf(url);
    const stop = await as(h.app, 'alice', 'post', `${url}/stop`).send({ resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/stop` }).expect(202);
    assert.match(stop.headers['cimi-job-uri'], /\/api\/jobs\//);
    assert.equal(stop.body.state, 'QUEUED');
    let m = (await h.store.machines.get(id))!;
    assert.equal(m.desiredState, 'STOPPED');
    assert.equal(m.generation, 2);
    assert.equal((await h.store.jobs.get(idOf(stop.headers['cimi-job-uri'])))?.targetGeneration, 2);
    // stop again: 409 naming the state; nothing written
    const before = await footprint(h.store, 'acme');
    const again = await as(h.app, 'alice', 'post', `${url}/stop`).send({ action: 'stop' }).expect(409);
    assert.match(again.body.message, /STOPPED/);
    assert.equal(again.body.code, 'INVALID_STATE');
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    assert.equal((await h.store.machines.get(id))!.generation, 2);
    // misspelt prefix, upper case, posted to the machine itself
    await as(h.app, 'alice', 'post', url).send({ resourceURI: `${CIMI}/Action`, action: 'http://schemas.dmtf.org/cimi/1/actions/START' }).expect(202);
    m = (await h.store.machines.get(id))!;
    assert.equal(m.desiredState, 'STARTED');
    // A bodiless action names its media type (a cross-site form post cannot); without it: 415, nothing changes.
    await as(h.app, 'alice', 'post', `${url}/restart`).expect(415);
    await as(h.app, 'alice', 'post', `${url}/restart`).set('Content-Type', 'application/x-www-form-urlencoded').send('action=restart').expect(415);
    assert.equal((await h.store.machines.get(id))!.restartSeq, 0);
    await as(h.app, 'alice', 'post', `${url}/restart`).set('Content-Type', 'application/json').expect(202);
    m = (await h.store.machines.get(id))!;
    assert.equal(m.restartSeq, 1);
    await as(h.app, 'alice', 'post', `${url}/pause`).send({ action: 'pause' }).expect(202);
    await as(h.app, 'alice', 'post', `${url}/restart`).set('Content-Type', 'application/json').expect(409);
    await as(h.app, 'alice', 'post', `${url}/suspend`).send({ action: 'suspend' }).expect(202);
    assert.equal((await h.store.machines.get(id))!.desiredState, 'SUSPENDED');
    // body action disagreeing with the path, unknown action names
    await as(h.app, 'alice', 'post', `${url}/start`).send({ action: 'stop' }).expect(400);
    await as(h.app, 'alice', 'post', `${url}/explode`).send({ action: 'explode' }).expect(404);
    await as(h.app, 'alice', 'post', url).send({ action: 'explode' }).expect(400);
    // delete: 202 + job with expectedState DELETED; then every action is refused
    const del = await as(h.app, 'alice', 'delete', url).expect(202);
    assert.equal((await h.store.jobs.get(idOf(del.headers['cimi-job-uri'])))?.expectedState, 'DELETED');
    const shown = await as(h.app, 'alice', 'get', url).expect(200);
    assert.equal(shown.body.state, 'DELETING');
    assert.deepEqual(shown.body.operations, []);
    const refused = await as(h.app, 'alice', 'delete', url).expect(409);
    assert.match(refused.body.message, /DELETING/);
  });

  it('edits name, description and properties with PUT (generation + 1), rejecting other fields', async () => {
    const created = await as(h.app, 'alice', 'post', '/api/machines').send(fromTemplate()).expect(202);
    const url = new URL(created.headers.location).pathname;
    const res = await as(h.app, 'alice', 'put', url).send({ name: 'renamed', properties: { a: 'b' } }).expect(200);
    assert.equal(res.body.name, 'renamed');
    assert.ok(res.headers['cimi-job-uri']);
    const m = (await h.store.machines.get(idOf(url)))!;
    assert.equal(m.generation, 2);
    assert.deepEqual(m.properties, { a: 'b' });
    const bad = await as(h.app, 'alice', 'put', url).send({ cpu: 8 }).expect(400);
    assert.match(bad.body.message, /'cpu'/);
    assert.equal((await h.store.machines.get(idOf(url)))!.generation, 2);
  });

  it('isolates tenants: another tenant\'s and malformed ids are 404, lists are per tenant', async () => {
    const created = await as(h.app, 'alice', 'post', '/api/machines').send(fromTemplate()).expect(202);
    const url = new URL(created.headers.location).pathname;
    await as(h.app, 'bob', 'get', url).expect(404);
    await as(h.app, 'bob', 'delete', url).expect(404);
    await as(h.app, 'bob', 'post', `${url}/stop`).send({ action: 'stop' }).expect(404);
    await as(h.app, 'bob', 'put', url).send({ name: 'mine' }).expect(404);
    await as(h.app, 'bob', 'get', `/api/jobs/${idOf(created.headers['cimi-job-uri'])}`).expect(404);
    await as(h.app, 'alice', 'get', '/api/machines/not-a-uuid').expect(404);
    await as(h.app, 'alice', 'get', '/api/jobs/../../etc').expect(404);
    const bobs = await as(h.app, 'bob', 'get', '/api/machines').expect(200);
    assert.equal(bobs.body.count, 0);
    assert.equal((await h.store.machines.get(idOf(url)))!.desiredState, 'STARTED');
  });

  it('hides hostId from users and shows it to admins', async () => {
    const created = await as(h.app, 'root', 'post', '/api/machines').send(fromTemplate()).expect(202);
    const id = idOf(created.headers.location);
    await h.store.machines.assignHost(id, 'host-1');
    const admin = await as(h.app, 'root', 'get', `/api/machines/${id}`).expect(200);
    assert.equal(admin.body.hostId, 'host-1');
    const mine = await as(h.app, 'alice', 'post', '/api/machines').send(fromTemplate()).expect(202);
    await h.store.machines.assignHost(idOf(mine.headers.location), 'host-1');
    const user = await as(h.app, 'alice', 'get', new URL(mine.headers.location).pathname).expect(200);
    assert.equal(user.body.hostId, undefined);
  });
});
