/**
 * Issue 9: CIMI XML as DSP0263 renders it, and the variants clients send. Out: a collection is
 * <Collection resourceURI=".../XCollection"> with type-named members; a resource's root is its type,
 * with no <resourceURI> child. In: the type's root element, with a resourceURI child, a resourceURI
 * attribute, or none; one that names another type is a 400.
 */
import assert from 'node:assert/strict';
import { as, harness, idOf, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';

describe('CIMI XML: collections, resources, and the request variants accepted', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  const create = (resourceUri: string, attr: string) => `<?xml version="1.0"?>
<MachineCreate xmlns="${CIMI}"${attr}>${resourceUri}
  <name>x</name>
  <machineTemplate href="/api/machineTemplates/TPL"/>
</MachineCreate>`;

  it('MachineCreate with a resourceURI child, a resourceURI attribute, or neither: all accepted', async () => {
    for (const [child, attr] of [[`<resourceURI>${CIMI}/MachineCreate</resourceURI>`, ''], ['', ` resourceURI="${CIMI}/MachineCreate"`], ['', '']]) {
      const body = create(child, attr).replace('TPL', h.catalog.template);
      const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').set('Accept', 'application/xml').send(body);
      assert.equal(res.status, 202, `${child}${attr}: ${res.text}`);
      assert.match(res.text, new RegExp(`<Machine xmlns="${CIMI}">`));
      assert.doesNotMatch(res.text, /<resourceURI>/);
    }
  });

  it('a resourceURI naming another type is a 400, child or attribute, nothing created', async () => {
    for (const [child, attr] of [[`<resourceURI>${CIMI}/MachineImage</resourceURI>`, ''], ['', ` resourceURI="${CIMI}/VolumeCreate"`]]) {
      const before = (await as(h.app, 'alice', 'get', '/api/machines').expect(200)).body.count;
      const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send(create(child, attr).replace('TPL', h.catalog.template)).expect(400);
      assert.match(res.body.message, /resourceURI must be http:\/\/schemas.dmtf.org\/cimi\/1\/MachineCreate/);
      assert.equal((await as(h.app, 'alice', 'get', '/api/machines').expect(200)).body.count, before);
    }
  });

  it('an Action with a resourceURI attribute', async () => {
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    await as(h.app, 'alice', 'post', new URL(m.headers.location).pathname).set('Content-Type', 'application/xml')
      .send(`<Action xmlns="${CIMI}" resourceURI="${CIMI}/Action"><action>${CIMI}/action/stop</action></Action>`).expect(202);
  });

  it('every collection is <Collection resourceURI=...> with members named after their type; MachineConfigurations in JSON too', async () => {
    await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    for (const [coll, type, member] of [['machines', 'MachineCollection', 'Machine'], ['machineConfigs', 'MachineConfigurationCollection', 'MachineConfiguration'], ['machineImages', 'MachineImageCollection', 'MachineImage'], ['machineTemplates', 'MachineTemplateCollection', 'MachineTemplate'], ['jobs', 'JobCollection', 'Job'], ['events', 'EventCollection', 'Event']]) {
      const res = await as(h.app, 'alice', 'get', `/api/${coll}`).set('Accept', 'application/xml').expect(200);
      assert.match(res.text, new RegExp(`<Collection resourceURI="${CIMI}/${type}" xmlns="${CIMI}">`), coll);
      assert.match(res.text, new RegExp(`\\n  <${member}>`), coll);
      assert.doesNotMatch(res.text, /<resourceURI>/, coll);
    }
    const cfgs = (await as(h.app, 'alice', 'get', '/api/machineConfigs').expect(200)).body;
    assert.equal(cfgs.machineConfigurations.length, 1);
    assert.equal(cfgs.machineConfigs, undefined);
    assert.equal(cfgs.resourceURI, `${CIMI}/MachineConfigurationCollection`, 'JSON keeps resourceURI');
  });

  it('edit: a client may PUT back the whole Machine it read (JSON or XML), changed where it means to; changing what edit cannot change is a 400', async () => {
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'before', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const url = new URL(m.headers.location).pathname;
    const read = (await as(h.app, 'alice', 'get', url).expect(200)).body;
    const put = await as(h.app, 'alice', 'put', url).send({ ...read, name: 'after', properties: { k: 'v' } }).expect(200);
    assert.equal(put.body.name, 'after');
    assert.deepEqual(put.body.properties, { k: 'v' });
    const x = (await as(h.app, 'alice', 'get', url).set('Accept', 'application/xml').expect(200)).text;
    await as(h.app, 'alice', 'put', url).set('Content-Type', 'application/xml').send(x.replace('<name>after</name>', '<name>after-xml</name>')).expect(200);
    assert.equal((await h.store.machines.get(idOf(url)))!.name, 'after-xml');
    const now = (await as(h.app, 'alice', 'get', url).expect(200)).body;
    for (const [k, v] of [['cpu', 64], ['desiredState', 'STOPPED'], ['requirements', { rack: 'r9' }]] as const) {
      const bad = await as(h.app, 'alice', 'put', url).send({ ...now, [k]: v }).expect(400);
      assert.match(bad.body.message, new RegExp(`'${k}' cannot be changed`));
    }
    await as(h.app, 'alice', 'put', url).send({ ...now, id: '/api/machines/01a20867-e166-774b-a077-daa86ce705ad' }).expect(400);
    assert.equal((await h.store.machines.get(idOf(url)))!.name, 'after-xml');
  });

  it('the variants the CIMI test plans send: <Machine> to create, no namespace, <MachineTemplateCreate>, <property name=...>; another type is a 400', async () => {
    const m = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').set('Accept', 'application/json')
      .send(`<Machine><name>plan</name><machineTemplate><initialState>STOPPED</initialState><machineConfig href="/api/machineConfigs/${h.catalog.config}"/><machineImage href="/api/machineImages/${h.catalog.image}"/></machineTemplate></Machine>`).expect(202);
    assert.equal(m.body.id, m.headers.location);
    assert.equal((await h.store.machines.get(idOf(m.headers.location)))!.desiredState, 'STOPPED');
    await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/json')
      .send({ resourceURI: `${CIMI}/Machine`, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const t = await as(h.app, 'root', 'post', '/api/machineTemplates').set('Content-Type', 'application/xml')
      .send(`<MachineTemplateCreate><name>t1</name><property name="foo">bar</property><machineConfig href="/api/machineConfigs/${h.catalog.config}"/><machineImage href="/api/machineImages/${h.catalog.image}"/></MachineTemplateCreate>`).expect(201);
    assert.deepEqual(t.body.properties, { foo: 'bar' });
    await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send(`<Volume><name>v</name></Volume>`).expect(400);
    await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/Volume`, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(400);
  });
});
