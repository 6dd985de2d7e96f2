/**
 * Issue 7, items 4, 5, 6 and 13: text the API refuses, text it stores and serves, input that must be
 * a client error (never a 500), and what error responses and headers say.
 */
import assert from 'node:assert/strict';
import express from 'express';
import { XMLValidator } from 'fast-xml-parser';
import request from 'supertest';
import { ValidationError } from '../../../errors/registry.js';
import { errorMiddleware } from '../../../frontend/error-middleware.js';
import { silentLogger } from '../../../observability/logger.js';
import { as, footprint, harness, idOf, spec, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';

/** Characters no stored text may hold (text-rules.ts), as the issue lists them. */
const FORBIDDEN: [string, string][] = [
  ['a newline', '\n'], ['NUL', '\u0000'], ['U+0001', '\u0001'], ['DEL', '\u007f'], ['a lone surrogate', '\ud800'], ['U+FFFE', '\ufffe'],
];

function assertCimiError(res: request.Response, status: number, label = ''): void {
  assert.equal(res.status, status, `${label}: ${res.status} ${res.text.slice(0, 300)}`);
  if (/xml/.test(res.headers['content-type'] ?? '')) {
    assert.equal(XMLValidator.validate(res.text), true, `${label}: error body is not well-formed XML`);
    assert.match(res.text, new RegExp(`<Error xmlns="${CIMI}">`));
    assert.match(res.text, new RegExp(`<status>${status}</status>`));
  } else {
    assert.equal(res.body.resourceURI, `${CIMI}/Error`, label);
    assert.equal(res.body.status, status, label);
    assert.equal(typeof res.body.code, 'string', label);
  }
}

describe('hostile text: control characters are refused naming the field, and nothing is written (issue 7.4)', function () {
  this.timeout(60_000);
  let h: Harness;
  let machine: string;
  let tpl: { href: string };
  before(async () => {
    h = await harness();
    tpl = { href: `/api/machineTemplates/${h.catalog.template}` };
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'clean', machineTemplate: tpl }).expect(202);
    machine = `/api/machines/${idOf(m.headers.location)}`;
  });
  after(async () => { await h.cleanup(); });

  it('MachineCreate name, description, property keys and values, requirements: 400 naming the field', async () => {
    const before = await footprint(h.store, 'acme');
    for (const [what, c] of FORBIDDEN) {
      const cases: [string, Record<string, unknown>][] = [
        ['MachineCreate.name', { name: `web${c}1` }],
        ['MachineCreate.properties key', { properties: { [`k${c}`]: 'v' } }],
        ["MachineCreate.properties['k']", { properties: { k: `v${c}` } }],
        ["MachineCreate.requirements['rack']", { requirements: { rack: `r${c}` } }],
      ];
      if (c !== '\n') cases.push(['MachineCreate.description', { description: `line one\n${c}` }]);
      for (const [field, body] of cases) {
        const res = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl, ...body });
        assertCimiError(res, 400, `${field} with ${what}`);
        assert.ok(res.body.message.startsWith(`${field} contains`), `${field} with ${what}: ${res.body.message}`);
        // The message describes the character, never echoes it raw.
        assert.ok(!res.body.message.includes(c), `${field} with ${what}: raw character echoed`);
      }
    }
    assert.deepEqual(await footprint(h.store, 'acme'), before);
  });

  it('Machine PUT name, description and properties: 400 naming the field, the machine unchanged', async () => {
    const m0 = await h.store.machines.get(idOf(machine));
    const before = await footprint(h.store, 'acme');
    for (const [what, c] of FORBIDDEN) {
      const cases: [string, Record<string, unknown>][] = [
        ['Machine.name', { name: `n${c}` }],
        ['Machine.properties key', { properties: { [`${c}k`]: 'v' } }],
        ["Machine.properties['k']", { properties: { k: `${c}` } }],
      ];
      if (c !== '\n') cases.push(['Machine.description', { description: `d${c}` }]);
      for (const [field, body] of cases) {
        const res = await as(h.app, 'alice', 'put', machine).send(body);
        assertCimiError(res, 400, `${field} with ${what}`);
        assert.ok(res.body.message.startsWith(`${field} contains`), `${field} with ${what}: ${res.body.message}`);
      }
      // The same through XML (a raw control character, where XML 1.0 allows one in a document at all).
      if (c === '\u007f') {
        const res = await as(h.app, 'alice', 'put', machine).set('Content-Type', 'application/xml').send(`<Machine><name>n${c}</name></Machine>`);
        assertCimiError(res, 400, 'XML Machine.name with DEL');
        assert.match(res.body.message, /^Machine\.name contains U\+007F/);
      }
    }
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    assert.deepEqual(await h.store.machines.get(idOf(machine)), m0);
  });

  it('a description may hold tab, LF and CR (a name may not)', async () => {
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'multi', description: 'one\ttwo\r\nthree\n', machineTemplate: tpl }).expect(202);
    assert.equal((await h.store.machines.get(idOf(res.headers.location)))!.description, 'one\ttwo\r\nthree\n');
    await as(h.app, 'alice', 'put', machine).send({ description: 'a\tb\nc\r' }).expect(200);
    for (const c of ['\t', '\r']) {
      const r = await as(h.app, 'alice', 'put', machine).send({ name: `a${c}b` });
      assertCimiError(r, 400, 'name with tab/CR');
      assert.match(r.body.message, /^Machine\.name contains a (tab|carriage return)/);
    }
  });

  it('catalog names, descriptions, properties, image locations and kernel command lines: 400 naming the field', async () => {
    const before = await footprint(h.store, 'ops');
    const cfg = { cpu: 1, memory: 2048 };
    const ref = { machineConfig: { href: h.catalog.config }, machineImage: { href: h.catalog.image } };
    for (const [what, c] of FORBIDDEN) {
      const cases: [string, string, Record<string, unknown>][] = [
        ['machineConfigs', 'MachineConfiguration.name', { ...cfg, name: `c${c}` }],
        ['machineConfigs', 'MachineConfiguration.properties key', { ...cfg, properties: { [`k${c}`]: 'v' } }],
        ['machineImages', 'MachineImage.name', { imageLocation: '/i.qcow2', name: `i${c}` }],
        ['machineImages', 'MachineImage.imageLocation', { imageLocation: `/images/a${c}b.qcow2` }],
        ['machineImages', 'MachineImage.imageLocation', { imageLocation: `http://images.test/a${c}b.qcow2` }],
        ['machineImages', 'MachineImage.initrd', { imageLocation: '/k', format: 'kernel', initrd: `/initrd${c}` }],
        ['machineImages', 'MachineImage.kernelCmdline', { imageLocation: '/k', format: 'kernel', kernelCmdline: `console=ttyS0${c}` }],
        ['machineTemplates', 'MachineTemplate.name', { ...ref, name: `t${c}` }],
        ['machineTemplates', "MachineTemplate.properties['k']", { ...ref, properties: { k: `${c}` } }],
      ];
      if (c !== '\n') cases.push(['machineConfigs', 'MachineConfiguration.description', { ...cfg, description: `${c}` }]);
      for (const [coll, field, body] of cases) {
        const res = await as(h.app, 'root', 'post', `/api/${coll}`).send(body);
        assertCimiError(res, 400, `${field} with ${what}`);
        assert.ok(res.body.message.startsWith(`${field} contains`), `${field} with ${what}: ${res.body.message}`);
      }
    }
    // An administrator's inline image is held to the same rule.
    const inline = await as(h.app, 'root', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: h.catalog.config }, machineImage: { imageLocation: '/x\u0007y.qcow2' } } });
    assertCimiError(inline, 400, 'inline image location');
    assert.match(inline.body.message, /^machineTemplate\.machineImage\.imageLocation contains U\+0007/);
    assert.deepEqual(await footprint(h.store, 'ops'), before);
  });
});

describe('hostile text: XML output is always well-formed, XML input is decoded as XML says (issue 7.5)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  it('a machine whose stored name/description/properties hold control characters is served as well-formed XML, member and collection', async () => {
    // A row written before the rules (or by another writer): straight into the bus.
    const bad = await h.store.machines.create({
      tenant: 'globex', name: 'bad\u0001\u0000name\n\ud800', description: 'd\u0007\ufffe\uffff\u0085\udc00',
      properties: { 'k\u0002': 'v\u0003', 'quote"<&\'': 'v<&>"\'' }, spec: spec(), desiredState: 'STARTED',
    });
    await h.store.machines.create({ tenant: 'globex', name: 'good', spec: spec(), desiredState: 'STARTED' });
    await h.store.machines.setPlacement(bad.id, { attempts: 1, reason: 'r\u0001', summary: 'waiting \u0008', lastAttemptAt: Date.now() });
    const member = await as(h.app, 'bob', 'get', `/api/machines/${bad.id}`).set('Accept', 'application/xml').expect(200);
    assert.equal(XMLValidator.validate(member.text), true);
    // NUL and U+0001 become U+FFFD (the embedded store itself already turns a lone surrogate into U+FFFDs).
    assert.match(member.text, /<name>bad\uFFFD\uFFFDname\n\uFFFD+<\/name>/);
    assert.match(member.text, /<property key="k\uFFFD">v\uFFFD<\/property>/);
    assert.match(member.text, /<statusMessage>waiting \uFFFD<\/statusMessage>/);
    assert.match(member.text, /<property key="quote&quot;&lt;&amp;&apos;">v&lt;&amp;&gt;&quot;&apos;<\/property>/);
    const coll = await as(h.app, 'bob', 'get', '/api/machines').set('Accept', 'application/xml').expect(200);
    assert.equal(XMLValidator.validate(coll.text), true);
    assert.equal((coll.text.match(/<Machine>/g) ?? []).length, 2);
    // JSON carries the stored value as it is (JSON escapes every character).
    const j = await as(h.app, 'bob', 'get', `/api/machines/${bad.id}`).expect(200);
    assert.ok(j.body.name.startsWith('bad\u0001\u0000name\n'), JSON.stringify(j.body.name));
    // Jobs and events that quote it, as XML too.
    await h.store.telemetry.appendEvent({ tenant: 'globex', ts: Date.now(), type: 'state', severity: 'low', outcome: 'Failure', resource: bad.id, content: { error: 'libvirt: bad\u0001title', resName: bad.name } });
    const ev = await as(h.app, 'bob', 'get', '/api/events').set('Accept', 'application/xml').expect(200);
    assert.equal(XMLValidator.validate(ev.text), true);
    const jobs = await as(h.app, 'bob', 'get', '/api/jobs').set('Accept', 'application/xml').expect(200);
    assert.equal(XMLValidator.validate(jobs.text), true);
  });

  it('a property or requirement named "true" is served as well-formed XML (never a bare attribute name)', async () => {
    // The XML builder wrote key="true" as <property key>, which broke the machine and the tenant's collection.
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'true', properties: { true: 'true', k: '' }, requirements: { true: '1' }, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    for (const path of [new URL(res.headers.location).pathname, '/api/machines']) {
      const x = await as(h.app, 'alice', 'get', path).set('Accept', 'application/xml').expect(200);
      assert.equal(XMLValidator.validate(x.text), true, path);
      assert.match(x.text, /<property key="true">true<\/property>/);
      assert.match(x.text, /<requirement key="true">1<\/requirement>/);
    }
    // And it reads back the same through XML.
    const again = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml')
      .send(`<MachineCreate><property key="true">true</property><property key="k"/><machineTemplate href="/api/machineTemplates/${h.catalog.template}"/></MachineCreate>`).expect(202);
    assert.deepEqual((await h.store.machines.get(idOf(again.headers.location)))!.properties, { true: 'true', k: '' });
  });

  it('a stored catalog item with control characters is served as well-formed XML', async () => {
    await h.store.catalog.create('machineConfig', 'cfg\u0001\n', null, { description: '\u0000', properties: { '\u0003': '\u0004' }, cpu: 1, memory: 2048, cpuArch: 'x86_64', disks: [] });
    const res = await as(h.app, 'alice', 'get', '/api/machineConfigs').set('Accept', 'application/xml').expect(200);
    assert.equal(XMLValidator.validate(res.text), true);
  });

  it('numeric character references are decoded like any XML parser does; &amp;#60; stays &#60;', async () => {
    const tpl = `/api/machineTemplates/${h.catalog.template}`;
    const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml')
      .send(`<MachineCreate><name>a&#60;b&#x41;</name><description>&amp;#60; &#x1F600;&#128512; &quot;&apos;&gt;&lt;&#9;&#10;</description><property key="k&#x3C;">v&#62;</property><machineTemplate href="${tpl}"/></MachineCreate>`)
      .expect(202);
    const m = (await h.store.machines.get(idOf(res.headers.location)))!;
    assert.equal(m.name, 'a<bA');
    assert.equal(m.description, '&#60; \u{1F600}\u{1F600} "\'><\t\n');
    assert.deepEqual(m.properties, { 'k<': 'v>' });
    const back = await as(h.app, 'alice', 'get', new URL(res.headers.location).pathname).set('Accept', 'application/xml').expect(200);
    assert.match(back.text, /<name>a&lt;bA<\/name>/);
  });

  it('references XML does not allow, or that name characters the API never stores, are a 400 (never silently dropped or kept as text)', async () => {
    const tpl = `/api/machineTemplates/${h.catalog.template}`;
    const before = await footprint(h.store, 'acme');
    // The parser on its own stored 'ab' for a&#1;b and a&#x7F;b, and 'a&#x110000;b' or 'a&nbsp;b' literally, with a 202.
    for (const ref of ['&#0;', '&#1;', '&#x1;', '&#x7F;', '&#133;', '&#xD800;', '&#xDFFF;', '&#xFFFE;', '&#xFFFF;', '&#x110000;', '&#99999999999;', '&#;', '&#x;', '&#X41;', '&#x4G;', '&nbsp;', '&copy;', '&amp', '&#0000000000060;']) {
      for (const body of [`<MachineCreate><name>a${ref}b</name><machineTemplate href="${tpl}"/></MachineCreate>`, `<MachineCreate><property key="a${ref}b">v</property><machineTemplate href="${tpl}"/></MachineCreate>`]) {
        const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send(body);
        assertCimiError(res, 400, ref);
        assert.match(res.body.message, /^malformed XML/, ref);
      }
    }
    assert.deepEqual(await footprint(h.store, 'acme'), before);
  });

  it('XML that is only text-heavy is not mistaken for markup: "=" in text, & in CDATA and comments', async () => {
    const tpl = `/api/machineTemplates/${h.catalog.template}`;
    // Before: every '=' anywhere counted as an attribute, so a description of 1,500 '=' was "more than 1000 attributes".
    const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml')
      .send(`<MachineCreate><name><![CDATA[a&b<c>]]></name><!-- & < = --><description>${'='.repeat(1500)}</description><property key="a=b">c=d</property><machineTemplate href="${tpl}"/></MachineCreate>`)
      .expect(202);
    const m = (await h.store.machines.get(idOf(res.headers.location)))!;
    assert.equal(m.name, 'a&b<c>');
    assert.equal(m.description, '='.repeat(1500));
    assert.deepEqual(m.properties, { 'a=b': 'c=d' });
  });
});

describe('hostile structure: prototype names, deep nesting and bad percent-encoding are 400s with a CIMI error, never 500 (issue 7.6)', function () {
  this.timeout(60_000);
  let h: Harness;
  let machine: string;
  before(async () => {
    h = await harness();
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    machine = `/api/machines/${idOf(m.headers.location)}`;
  });
  after(async () => { await h.cleanup(); });

  it('XML elements named __proto__ or constructor, 50-deep nesting, <property key="__proto__">, JSON properties {"__proto__": "x"}', async () => {
    const tpl = `<machineTemplate href="/api/machineTemplates/${h.catalog.template}"/>`;
    const before = await footprint(h.store, 'acme');
    const xmlBodies = [
      `<MachineCreate><__proto__><name>x</name></__proto__>${tpl}</MachineCreate>`,
      `<MachineCreate><constructor>1</constructor>${tpl}</MachineCreate>`,
      `<MachineCreate><machineTemplate><__proto__ href="x"/></machineTemplate></MachineCreate>`,
      `<MachineCreate><machineTemplate><constructor><prototype>1</prototype></constructor></machineTemplate></MachineCreate>`,
      `<MachineCreate><properties><__proto__>x</__proto__></properties>${tpl}</MachineCreate>`,
      `<MachineCreate>${'<a>'.repeat(50)}${'</a>'.repeat(50)}${tpl}</MachineCreate>`,
      `<MachineCreate><property key="__proto__">x</property>${tpl}</MachineCreate>`,
      `<MachineCreate><property key="__proto__"><polluted>1</polluted></property>${tpl}</MachineCreate>`,
      `<__proto__/>`,
    ];
    for (const body of xmlBodies) {
      for (const accept of ['application/json', 'application/xml']) {
        const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').set('Accept', accept).send(body);
        assertCimiError(res, 400, body.slice(0, 80));
      }
    }
    for (const [path, method] of [[machine, 'put'], [`${machine}`, 'post']] as const) {
      const root = method === 'put' ? 'Machine' : 'Action';
      for (const inner of ['<__proto__>x</__proto__>', '<constructor>x</constructor>', `${'<a>'.repeat(50)}${'</a>'.repeat(50)}`]) {
        assertCimiError(await as(h.app, 'alice', method, path).set('Content-Type', 'application/xml').send(`<${root}>${inner}</${root}>`), 400, `${root} ${inner.slice(0, 20)}`);
      }
    }
    for (const body of ['{"properties":{"__proto__":"x"}}', '{"__proto__":{"name":"x"}}', '{"machineTemplate":{"__proto__":{"href":"x"}}}', '{"constructor":{"prototype":{"x":1}}}', '{"requirements":{"__proto__":"x"}}']) {
      const res = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/json').send(body);
      assertCimiError(res, 400, body);
    }
    assertCimiError(await as(h.app, 'alice', 'put', machine).set('Content-Type', 'application/json').send('{"properties":{"__proto__":"x"}}'), 400, 'PUT __proto__');
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    // An attribute of that name is only an unknown attribute (ignored, like xmlns), and pollutes nothing.
    await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml').send(`<MachineCreate __proto__="x" constructor="y">${tpl}</MachineCreate>`).expect(202);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('paths with bad percent-encoding: /api/machines/%E0%A4%A, /api/jobs/%ZZ and the like are 400', async () => {
    const paths = ['/api/machines/%E0%A4%A', '/api/jobs/%ZZ', '/api/machines/%', '/api/machines/%ED%A0%80', '/api/machineConfigs/%C0%AF', '/api/machineImages/%FF', '/api/machineTemplates/%E0%A4%A'];
    for (const p of paths) {
      for (const accept of ['application/json', 'application/xml']) {
        assertCimiError(await as(h.app, 'alice', 'get', p).set('Accept', accept), 400, p);
      }
    }
    assertCimiError(await as(h.app, 'alice', 'put', '/api/machines/%E0%A4%A').send({ name: 'x' }), 400, 'PUT bad path');
    assertCimiError(await as(h.app, 'alice', 'post', '/api/machines/%ZZ/stop').send({ action: 'stop' }), 400, 'POST bad path');
    assertCimiError(await as(h.app, 'alice', 'delete', '/api/machines/%E0%A4%A'), 400, 'DELETE bad path');
    // Well-encoded but unknown: 404.
    assertCimiError(await as(h.app, 'alice', 'get', '/api/machines/%41%42'), 404, 'unknown id');
  });

  it('$select of an inherited name (constructor, hasOwnProperty) is served as XML, not a 500', async () => {
    await h.store.telemetry.appendEvent({ tenant: 'acme', ts: Date.now(), type: 'state', severity: 'low', outcome: 'Pending', resource: idOf(machine), content: {} });
    for (const coll of ['machines', 'jobs', 'events', 'machineConfigs']) {
      for (const sel of ['constructor', 'hasOwnProperty', '__proto__', 'toString', 'name,constructor']) {
        const res = await as(h.app, 'alice', 'get', `/api/${coll}`).query({ $select: sel }).set('Accept', 'application/xml');
        assert.equal(res.status, 200, `${coll} $select=${sel}: ${res.text.slice(0, 300)}`);
        assert.equal(XMLValidator.validate(res.text), true);
        assert.doesNotMatch(res.text, /<constructor|function/);
      }
    }
  });
});

describe('hostile leaks: error messages speak in API terms; every response is no-store and nosniff (issue 7.13)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await harness({ bodyLimitBytes: 4096 }); });
  after(async () => { await h.cleanup(); });

  it('a value the API accepts but the store\'s column check refuses is a 400 that names no table or column', async () => {
    // No request the API accepts reaches a column limit (every field is bounded well below 256 KB),
    // so a store that is stricter than the API is simulated: the real row codec refuses the row.
    const machines = h.store.machines;
    const create = machines.create.bind(machines);
    machines.create = (m, now) => create({ ...m, properties: { k: 'x'.repeat(300 * 1024) } }, now);
    try {
      const before = await footprint(h.store, 'acme');
      for (const accept of ['application/json', 'application/xml']) {
        const res = await as(h.app, 'alice', 'post', '/api/machines').set('Accept', accept).send({ name: 'ok', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } });
        assertCimiError(res, 400, 'store column');
        assert.doesNotMatch(res.text, /machines\.|properties is larger|262144|column|table/i);
        assert.match(res.text, /a value in the request is too large or not valid/);
      }
      assert.deepEqual(await footprint(h.store, 'acme'), before);
    } finally { delete (machines as Partial<typeof machines>).create; }
  });

  it('the error middleware maps any ValidationError with details.storeColumn to a message without it', async () => {
    const app = express();
    app.get('/x', () => { throw new ValidationError('jobs.status_message is larger than 262144 bytes', { storeColumn: 'jobs.status_message' }); });
    app.get('/y', () => { throw new ValidationError('MachineCreate.name is longer than 255 characters', { field: 'MachineCreate.name' }); });
    app.use(errorMiddleware(silentLogger(), () => []));
    const x = await request(app).get('/x').expect(400);
    assert.equal(x.body.code, 'VALIDATION');
    assert.doesNotMatch(x.text, /jobs|status_message|262144/);
    const y = await request(app).get('/y').expect(400);
    assert.equal(y.body.message, 'MachineCreate.name is longer than 255 characters');
  });

  it('Cache-Control: no-store and X-Content-Type-Options: nosniff on 2xx, 4xx, 404 outside /api, /healthz and /metrics', async () => {
    const tpl = { href: `/api/machineTemplates/${h.catalog.template}` };
    const created = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl }).expect(202);
    const path = new URL(created.headers.location).pathname;
    const cases: [string, () => request.Test, number][] = [
      ['GET entry point', () => request(h.app).get('/api/cloudEntryPoint'), 200],
      ['GET collection', () => as(h.app, 'alice', 'get', '/api/machines'), 200],
      ['GET collection as XML', () => as(h.app, 'alice', 'get', '/api/machines').set('Accept', 'application/xml'), 200],
      ['GET member', () => as(h.app, 'alice', 'get', path), 200],
      ['POST create', () => as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: tpl }), 202],
      ['PUT edit', () => as(h.app, 'alice', 'put', path).send({ name: 'renamed' }), 200],
      ['POST action', () => as(h.app, 'alice', 'post', `${path}/stop`).send({ action: 'stop' }), 202],
      ['DELETE', () => as(h.app, 'root', 'delete', `/api/machineTemplates/${h.catalog.template}`), 200],
      ['400', () => as(h.app, 'alice', 'post', '/api/machines').send({ name: 'a\nb' }), 400],
      ['401', () => request(h.app).get('/api/machines'), 401],
      ['403', () => as(h.app, 'alice', 'post', '/api/machineConfigs').send({ cpu: 1, memory: 2048 }), 403],
      ['404 in /api', () => as(h.app, 'alice', 'get', '/api/nothing'), 404],
      ['404 outside /api', () => request(h.app).get('/nothing/here'), 404],
      ['404 at /', () => request(h.app).get('/'), 404],
      ['405', () => as(h.app, 'alice', 'delete', '/api/machines'), 405],
      ['406', () => as(h.app, 'alice', 'get', '/api/machines').set('Accept', 'image/png'), 406],
      ['409', () => as(h.app, 'alice', 'post', `${path}/stop`).send({ action: 'stop' }), 409],
      ['413', () => as(h.app, 'alice', 'post', '/api/machines').send({ name: 'x'.repeat(5000) }), 413],
      ['415', () => as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'text/plain').send('x'), 415],
      ['healthz', () => request(h.app).get('/healthz'), 200],
      ['metrics 401', () => request(h.app).get('/metrics'), 401],
      ['metrics 200', () => as(h.app, 'root', 'get', '/metrics'), 200],
    ];
    for (const [what, send, status] of cases) {
      const res = await send();
      assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.headers['cache-control'], 'no-store', what);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
      if (status >= 400) assertCimiError(res, status, what);
    }
  });
});
