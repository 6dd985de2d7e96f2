/**
 * Issue 7, items 7, 8 and 9: strict HTTP Basic parsing, a JSON/XML media type on every
 * state-changing request, and what a tenant learns (events without host identities, /metrics for
 * admins only).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { parseBasic } from '../../../frontend/auth/basic-credentials.js';
import { hashPassword, passwordProblem } from '../../../frontend/auth/passwords.js';
import { as, footprint, harness, idOf, PASSWORD, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('hostile auth: HTTP Basic is parsed strictly (issue 7.7)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.store.accounts.createUser({ name: 'dave', tenant: 'acme', passwordHash: await hashPassword('pa:ss:word 1'), roles: ['user'], disabled: false, created: Date.now() });
    await h.store.accounts.createUser({ name: 'erin', tenant: 'acme', passwordHash: await hashPassword(':leading colon'), roles: ['user'], disabled: false, created: Date.now() });
  });
  after(async () => { await h.cleanup(); });

  const get = (authorization: string) => request(h.app).get('/api/machines').set('Authorization', authorization);

  it('a password containing colons logs in (split at the first colon only)', async () => {
    const res = await get(`Basic ${b64('dave:pa:ss:word 1')}`).expect(200);
    assert.equal(res.body.resourceURI, `${CIMI}/MachineCollection`);
    await get(`Basic ${b64('erin::leading colon')}`).expect(200);
    await get(`Basic ${b64('dave:pa')}`).expect(401);
    await get(`Basic ${b64('dave:pa:ss')}`).expect(401);
  });

  it('alice:PASSWORD:junk does not log in as alice', async () => {
    const res = await get(`Basic ${b64(`alice:${PASSWORD}:junk`)}`).expect(401);
    assert.equal(res.body.code, 'UNAUTHENTICATED');
    assert.match(res.headers['www-authenticate'], /Basic realm="skybus"/);
    await get(`Basic ${b64(`alice:${PASSWORD}:`)}`).expect(401);
    await get(`Basic ${b64(`alice:${PASSWORD}`)}`).expect(200);
  });

  it('the scheme is matched as a whole token, case-insensitively; nothing may follow the credentials', async () => {
    const token = b64(`alice:${PASSWORD}`);
    for (const bad of [`xBASICx ${token}`, `BasicX ${token}`, `XBasic ${token}`, `Basic ${token} extra`, `Basic ${token} ${token}`, `Basic ${token},x`,
      `Basic\t${token}`, `Basic`, `Basic `, `Basic ${token.replace(/=+$/, '')}`, `Basic ${token}==`, `Basic =${token}`, `Bearer ${token}`, token,
      `Basic ${b64('alice')}`, `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`]) {
      const res = await get(bad);
      assert.equal(res.status, 401, `${JSON.stringify(bad)} -> ${res.status}`);
      assert.equal(res.body.resourceURI, `${CIMI}/Error`);
    }
    for (const good of [`basic ${token}`, `BASIC ${token}`, `bAsIc ${token}`, `Basic  ${token}`]) {
      await get(good).expect(200);
    }
  });

  it('parseBasic never throws, and any user-id without a colon and any password round-trip (fast-check)', () => {
    const header = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.tuple(fc.constantFrom('Basic', 'basic', 'BASIC', 'xBASICx', 'Basic:', ''), fc.constantFrom(' ', '  ', '\t', ''), fc.string({ unit: 'binary-ascii', maxLength: 200 }), fc.constantFrom('', ' ', ' x', '=', '==', ':'))
        .map(([s, sp, t, tail]) => `${s}${sp}${t}${tail}`),
      fc.tuple(fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('', ' x', ' ', '=')).map(([t, tail]) => `Basic ${b64(t)}${tail}`),
    );
    fc.assert(fc.property(fc.option(header, { nil: undefined }), (hd) => {
      const r = parseBasic(hd);
      assert.ok(['absent', 'malformed', 'basic'].includes(r.kind));
      if (r.kind === 'basic') assert.ok(!r.name.includes(':'));
    }), { seed: 7007, numRuns: 3000 });
    const name = fc.string({ unit: 'binary', maxLength: 100 }).filter((s) => !s.includes(':'));
    const password = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(fc.property(name, password, fc.constantFrom('Basic', 'basic', 'BASIC', 'BaSiC'), fc.constantFrom(' ', '   '), (n, pw, scheme, sp) => {
      assert.deepEqual(parseBasic(`${scheme}${sp}${b64(`${n}:${pw}`)}`), { kind: 'basic', name: n, password: pw });
    }), { seed: 7008, numRuns: 3000 });
    // Every password the CLI may create (passwordProblem null) is one the API can accept.
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 8, maxLength: 200 }).filter((pw) => passwordProblem(pw) === null), (pw) => {
      assert.deepEqual(parseBasic(`Basic ${b64(`alice:${pw}`)}`), { kind: 'basic', name: 'alice', password: pw });
    }), { seed: 7009, numRuns: 1000 });
    assert.equal(passwordProblem('pa:ss:word 1'), null);
    assert.deepEqual(parseBasic('Basic ' + 'A'.repeat(9000)), { kind: 'malformed', why: 'the Authorization header is too long' });
  });
});

describe('hostile forms: every POST and PUT needs a JSON or XML media type, even with an empty body (issue 7.8)', function () {
  this.timeout(60_000);
  let h: Harness;
  let machine: string;
  before(async () => {
    h = await harness();
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    machine = `/api/machines/${idOf(m.headers.location)}`;
  });
  after(async () => { await h.cleanup(); });

  it('text/plain, multipart/form-data, application/x-www-form-urlencoded or no Content-Type: 415, nothing changes', async () => {
    const routes: ['post' | 'put', string, string][] = [
      ...['start', 'stop', 'restart', 'pause', 'suspend'].map((a) => ['post', `${machine}/${a}`, 'alice'] as ['post', string, string]),
      ['post', machine, 'alice'], ['put', machine, 'alice'], ['post', '/api/machines', 'alice'],
      ['post', '/api/machineConfigs', 'root'], ['post', '/api/machineImages', 'root'], ['post', '/api/machineTemplates', 'root'],
    ];
    const types = [null, 'text/plain', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=----x', 'application/x-www-form-urlencoded', 'TEXT/PLAIN', 'application/octet-stream'];
    const m0 = await h.store.machines.get(idOf(machine));
    const before = { acme: await footprint(h.store, 'acme'), ops: await footprint(h.store, 'ops') };
    for (const [method, path, user] of routes) {
      for (const t of types) {
        for (const body of [undefined, 'action=stop', '{"action":"stop"}']) {
          let req = request(h.app)[method](path).auth(user, PASSWORD);
          if (t !== null) req = req.set('Content-Type', t);
          const res = await (body === undefined ? req : req.send(body));
          assert.equal(res.status, 415, `${method.toUpperCase()} ${path} Content-Type ${t} body ${body}: ${res.status} ${res.text.slice(0, 200)}`);
          assert.equal(res.body.resourceURI, `${CIMI}/Error`);
          assert.equal(res.body.code, 'UNSUPPORTED_MEDIA_TYPE');
        }
      }
    }
    assert.deepEqual(await h.store.machines.get(idOf(machine)), m0);
    assert.deepEqual({ acme: await footprint(h.store, 'acme'), ops: await footprint(h.store, 'ops') }, before);
    // A bodiless action that names its type is still fine.
    await as(h.app, 'alice', 'post', `${machine}/restart`).set('Content-Type', 'application/json').expect(202);
    assert.equal((await h.store.machines.get(idOf(machine)))!.restartSeq, m0!.restartSeq + 1);
  });
});

describe('hostile curiosity: a tenant learns nothing about hosts (issue 7.9)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  it('events a tenant reads carry no hostId, host, domain or holder; an admin sees them', async () => {
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const id = idOf(m.headers.location);
    const agentLike = { hostId: 'kvm-rack7-03', domain: 'skybus-' + id, host: 'kvm-rack7-03', holder: 'agent@kvm-rack7-03', action: 'start', from: 'STOPPED', to: 'STARTED', generation: 2 };
    await h.store.telemetry.appendEvent({ tenant: 'acme', ts: Date.now(), type: 'state', severity: 'low', outcome: 'Success', resource: id, content: agentLike });
    await h.store.telemetry.appendEvent({ tenant: 'ops', ts: Date.now(), type: 'state', severity: 'low', outcome: 'Success', resource: id, content: agentLike });
    for (const accept of ['application/json', 'application/xml']) {
      const res = await as(h.app, 'alice', 'get', '/api/events').set('Accept', accept).expect(200);
      assert.doesNotMatch(res.text, /kvm-rack7-03|hostId|holder|<domain>|"domain"/, accept);
    }
    const json = await as(h.app, 'alice', 'get', '/api/events').expect(200);
    const agent = json.body.events.find((e: { content: { action?: string } }) => e.content.action === 'start');
    assert.deepEqual(agent.content, { action: 'start', from: 'STOPPED', to: 'STARTED', generation: 2 });
    const admin = await as(h.app, 'root', 'get', '/api/events').expect(200);
    assert.equal(admin.body.events[0].content.hostId, 'kvm-rack7-03');
    assert.equal(admin.body.events[0].content.domain, `skybus-${id}`);
  });

  it('/metrics: 401 without credentials, 403 for a tenant user, 200 for an admin', async () => {
    await as(h.app, 'alice', 'get', '/api/machines').expect(200);
    const anon = await request(h.app).get('/metrics').expect(401);
    assert.equal(anon.body.resourceURI, `${CIMI}/Error`);
    assert.match(anon.headers['www-authenticate'], /Basic realm="skybus"/);
    assert.doesNotMatch(anon.text, /skybus_|nodejs|process_/);
    const user = await as(h.app, 'alice', 'get', '/metrics').expect(403);
    assert.equal(user.body.code, 'FORBIDDEN');
    assert.doesNotMatch(user.text, /skybus_|nodejs/);
    await request(h.app).get('/metrics').auth('root', 'wrong password').expect(401);
    await request(h.app).get('/metrics').set('Authorization', `xBASICx ${b64(`root:${PASSWORD}`)}`).expect(401);
    const root = await as(h.app, 'root', 'get', '/metrics').expect(200);
    assert.match(root.text, /skybus_http_requests_total/);
  });
});
