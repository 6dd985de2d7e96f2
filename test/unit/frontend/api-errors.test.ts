import assert from 'node:assert/strict';
import request from 'supertest';
import { as, footprint, harness, PASSWORD, type Harness } from './harness.js';

describe('frontend API: authentication, authorisation and bad input', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => { h = await harness({ bodyLimitBytes: 4096 }); });
  after(async () => { await h.cleanup(); });

  it('401 with Bearer and Basic challenges and a CIMI error for missing, wrong, unknown and disabled credentials', async () => {
    const cases = [
      request(h.app).get('/api/machines'),
      request(h.app).get('/api/machines').auth('alice', 'wrong'),
      request(h.app).get('/api/machines').auth('nobody', PASSWORD),
      request(h.app).get('/api/machines').auth('Not A Name!', PASSWORD),
      request(h.app).get('/api/machines').auth('carol', PASSWORD),
      request(h.app).get('/api/machines').set('Authorization', 'Basic !!!'),
    ];
    for (const c of cases) {
      const res = await c.expect(401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="skybus", Basic realm="skybus"');
      assert.equal(res.body.status, 401);
      assert.equal(res.body.code, 'UNAUTHENTICATED');
      assert.equal(res.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Error');
    }
    const xml = await request(h.app).get('/api/machines').set('Accept', 'application/xml').expect(401);
    assert.match(xml.text, /<Error xmlns="http:\/\/schemas.dmtf.org\/cimi\/1">/);
  });

  it('catalog writes are admin-only (403), reads are for everyone', async () => {
    const before = await footprint(h.store, 'acme');
    const res = await as(h.app, 'alice', 'post', '/api/machineConfigs').send({ name: 'x', cpu: 1, memory: 1048576 }).expect(403);
    assert.equal(res.body.code, 'FORBIDDEN');
    await as(h.app, 'alice', 'delete', `/api/machineConfigs/${h.catalog.config}`).expect(403);
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    const list = await as(h.app, 'alice', 'get', '/api/machineConfigs').expect(200);
    assert.equal(list.body.count, 1);
    assert.deepEqual(list.body.operations, []);
    assert.equal(list.body.machineConfigurations[0].cpu, 2);
    await as(h.app, 'bob', 'get', `/api/machineImages/${h.catalog.image}`).expect(200);
  });

  it('every class of bad input is the right 4xx and writes nothing', async () => {
    const tpl = { href: `/api/machineTemplates/${h.catalog.template}` };
    const cases: [string, () => request.Test, number, RegExp][] = [
      ['malformed JSON', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/json').send('{"name":'), 400, /malformed JSON/],
      ['malformed XML', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send('<MachineCreate><name>x</MachineCreate>'), 400, /malformed XML/],
      ['XML with a DTD', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send('<!DOCTYPE x [<!ENTITY a "b">]><MachineCreate/>'), 400, /DTD/],
      ['wrong XML root', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send('<VolumeCreate><name>x</name></VolumeCreate>'), 400, /<MachineCreate>/], // <Machine> is accepted (docs/cimi-conformance.md)
      ['JSON array', () => as(h.app, 'alice', 'post', '/api/machines').send([1]), 400, /JSON object/],
      ['wrong resourceURI', () => as(h.app, 'alice', 'post', '/api/machines').send({ resourceURI: 'http://schemas.dmtf.org/cimi/1/Volume', machineTemplate: tpl }), 400, /resourceURI/],
      ['unknown top-level field', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, flavour: 'big' }), 400, /'flavour'/],
      ['unknown template field', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, keyPair: { href: 'x' } } }), 400, /'keyPair'/],
      ['credential href elsewhere', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, credential: { href: 'x' } } }), 400, /^machineTemplate\.credential\.href must reference \/api\/credentials\/<id>/],
      ['wrong type: name', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, name: 5 }), 400, /name must be a string/],
      ['wrong type: properties value', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, properties: { a: 1 } }), 400, /properties\['a'\]/],
      ['missing template', () => as(h.app, 'alice', 'post', '/api/machines').send({ name: 'x' }), 400, /machineTemplate is required/],
      ['unknown template href', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: '/api/machineTemplates/01a20867-e166-774b-a077-daa86ce705ad' } }), 400, /no such MachineTemplate/],
      ['href into the wrong collection', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineImages/${h.catalog.image}` }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } } }), 400, /machineConfig\.href/],
      ['inline config: cpu 0', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { cpu: 0, memory: 1048576 }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } } }), 400, /cpu must be between/],
      ['inline config: memory string', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { cpu: 1, memory: '1G' }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } } }), 400, /memory must be an integer/],
      ['inline config: unknown field', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { cpu: 1, memory: 1048576, gpu: 1 }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } } }), 400, /'gpu'/],
      ['inline image: relative location', () => as(h.app, 'root', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { imageLocation: 'debian.qcow2' } } }), 400, /imageLocation/],
      ['inline image: initrd on qcow2', () => as(h.app, 'root', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { imageLocation: '/a.qcow2', initrd: '/i' } } }), 400, /only for format 'kernel'/],
      ['arch mismatch', () => as(h.app, 'root', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { imageLocation: '/a.qcow2', cpuArch: 'aarch64' } } }), 400, /aarch64/],
      ['bad initialState', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, initialState: 'PAUSED' } }), 400, /initialState/],
      ['userData not base64', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, userData: 'not base64!' } }), 400, /userData must be base64/],
      ['requirements not a map', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, requirements: ['a'] }), 400, /requirements must be an object/],
      ['body over the limit', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, description: 'x'.repeat(5000) }), 413, /too large/],
      ['unsupported Content-Type', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'text/plain').send('hello'), 415, /text\/plain/],
      ['no body', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/json'), 400, /required/],
      ['no body, no Content-Type', () => as(h.app, 'alice', 'post', '/api/machines'), 415, /Content-Type is required/],
      ['bad $filter', () => as(h.app, 'alice', 'get', '/api/machines').query({ $filter: "state='STARTED' and and" }), 400, /position 21/],
      ['bad $orderby', () => as(h.app, 'alice', 'get', '/api/machines').query({ $orderby: 'name:sideways' }), 400, /\$orderby/],
      ['bad $first', () => as(h.app, 'alice', 'get', '/api/machines').query({ $first: '0' }), 400, /\$first/],
      ['$last before $first', () => as(h.app, 'alice', 'get', '/api/machines').query({ $first: '5', $last: '2' }), 400, /\$last/],
      ['bad $select', () => as(h.app, 'alice', 'get', '/api/machines').query({ $select: 'name,1x' }), 400, /\$select/],
      ['unknown route', () => as(h.app, 'alice', 'get', '/api/systems'), 404, /no resource/],
      ['unknown route outside /api', () => request(h.app).get('/nope'), 404, /no resource/],
      ['wrong method', () => as(h.app, 'alice', 'put', '/api/machines'), 405, /allowed: GET, HEAD, POST/],
      ['wrong method on a job', () => as(h.app, 'alice', 'delete', '/api/jobs/01a20867-e166-774b-a077-daa86ce705ad'), 405, /GET/],
      ['not acceptable', () => as(h.app, 'alice', 'get', '/api/machines').set('Accept', 'text/html'), 406, /json/],
      ['bad event day', () => as(h.app, 'alice', 'get', '/api/events').query({ day: '2024-1-1' }), 400, /YYYY-MM-DD/],
      ['admin: config missing cpu', () => as(h.app, 'root', 'post', '/api/machineConfigs').send({ memory: 1048576 }), 400, /cpu is required/],
      ['admin: image unknown field', () => as(h.app, 'root', 'post', '/api/machineImages').send({ imageLocation: '/x', checksum: 'y' }), 400, /'checksum'/],
      ['admin: image bad format', () => as(h.app, 'root', 'post', '/api/machineImages').send({ imageLocation: '/x', format: 'vmdk' }), 400, /format must be one of/],
      ['admin: template to a missing config', () => as(h.app, 'root', 'post', '/api/machineTemplates').send({ machineConfig: { href: '/api/machineConfigs/01a20867-e166-774b-a077-daa86ce705ad' }, machineImage: { href: `/api/machineImages/${h.catalog.image}` } }), 400, /no such MachineConfiguration/],
    ];
    const acme = await footprint(h.store, 'acme');
    const ops = await footprint(h.store, 'ops');
    for (const [what, send, status, message] of cases) {
      const res = await send();
      assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
      assert.equal(res.body.status, status, what);
      assert.match(res.body.message, message, what);
    }
    assert.deepEqual(await footprint(h.store, 'acme'), acme);
    assert.deepEqual(await footprint(h.store, 'ops'), ops);
  });

  it('user data over 64 KiB is refused within the default body limit', async () => {
    const big = await harness();
    const tpl = { href: `/api/machineTemplates/${big.catalog.template}` };
    const res = await as(big.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, userData: Buffer.alloc(64 * 1024 + 3).toString('base64') } }).expect(400);
    assert.match(res.body.message, /userData is larger than 65536 bytes/);
    await as(big.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { ...tpl, userData: Buffer.alloc(64 * 1024).toString('base64') } }).expect(202);
    assert.equal((await footprint(big.store, 'acme')).machines, 1);
    await big.cleanup();
  });

  it('500 hides the cause', async () => {
    const broken = await harness();
    await broken.store.close();
    const res = await as(broken.app, 'alice', 'get', '/api/machines');
    assert.equal(res.status, 500);
    assert.equal(res.body.message, 'internal server error');
    assert.doesNotMatch(res.text, /at |Error:|sqlite/i);
    await broken.cleanup().catch(() => undefined);
  });

  it('serves /metrics with route templates to admins only, and /healthz without credentials', async () => {
    await as(h.app, 'alice', 'get', '/api/machines/01a20867-e166-774b-a077-daa86ce705ad').expect(404);
    const anon = await request(h.app).get('/metrics').expect(401);
    assert.equal(anon.body.code, 'UNAUTHENTICATED');
    assert.doesNotMatch(anon.text, /nodejs|skybus_/);
    await as(h.app, 'alice', 'get', '/metrics').expect(403);
    const res = await as(h.app, 'root', 'get', '/metrics').expect(200);
    assert.match(res.text, /skybus_http_requests_total\{method="GET",route="\/api\/machines\/:id",status="404"\} 1/);
    assert.doesNotMatch(res.text, /01a20867/);
    const hz = await request(h.app).get('/healthz').expect(200);
    assert.equal(hz.body.status, 'ok');
    const open = await harness({ metricsAccess: 'public' });
    await request(open.app).get('/metrics').expect(200);
    await open.cleanup();
  });
});
