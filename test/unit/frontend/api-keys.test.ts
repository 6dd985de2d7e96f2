/**
 * API keys through the API: created by their owner (secret shown once), used as Bearer tokens with
 * the owner's tenant and roles at the time of use, revoked (refused at once on another frontend over
 * the same bus), expired, owner disabled; another user's key is a 404; bad bodies are 400s that write
 * nothing; a malformed Bearer header is a 401, never a 5xx.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type express from 'express';
import request from 'supertest';
import { buildApp } from '../../../frontend/app.js';
import { apiKeyAuth, hashKeyToken, parseBearer, verifyKeyToken } from '../../../frontend/auth/api-keys.js';
import { anyOf, asLocalUsers, setPrincipal, type Authenticator } from '../../../frontend/auth/authenticator.js';
import { localBasicAuth } from '../../../frontend/auth/local-basic.js';
import { frontendConfig } from '../../../frontend/config.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { as, harness, idOf, spec, type Harness } from './harness.js';

const KEY = /^sbk_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/;

describe('frontend API: API keys', function () {
  this.timeout(30_000);
  let h: Harness;
  let otherStore: BusStore;
  let other: express.Express;

  before(async () => {
    h = await harness();
    // A second frontend over the same bus file, through its own connection (like another process).
    otherStore = await openStore({ kind: 'embedded', path: join(h.dir, 'bus.sqlite') });
    other = buildApp({ store: otherStore, auth: anyOf(apiKeyAuth(otherStore), asLocalUsers(localBasicAuth(otherStore))), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    await h.store.machines.create({ tenant: 'acme', name: 'acme-vm', spec: spec(), desiredState: 'STARTED' });
    await h.store.machines.create({ tenant: 'globex', name: 'globex-vm', spec: spec(), desiredState: 'STARTED' });
  });
  after(async () => { await otherStore.close(); await h.cleanup(); });

  const create = async (user: string, body: Record<string, unknown> = {}) => {
    const res = await as(h.app, user, 'post', '/api/apiKeys').send(body).expect(201);
    return { res, token: res.body.secret as string, id: idOf(res.body.id as string) };
  };
  const bearer = (app: express.Express, token: string, path = '/api/machines') => request(app).get(path).set('Authorization', `Bearer ${token}`);

  it('creates a key: 201, Location, the secret once; GET and the list never show it', async () => {
    const { res, token, id } = await create('alice', { name: 'ci', description: 'the nightly job', expiresInDays: 30 });
    assert.match(token, KEY);
    assert.ok(token.startsWith(`sbk_${id}_`), 'the key id is in the token');
    assert.equal(res.headers.location, res.body.id);
    assert.equal(res.body.resourceURI, 'urn:skybus:cimi-extensions:1/ApiKey');
    assert.equal(res.body.name, 'ci');
    assert.equal(res.body.state, 'ACTIVE');
    assert.equal(res.body.prefix, `sbk_${id}_`);
    const expires = Date.parse(res.body.expires as string);
    assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 60_000);
    const secretPart = token.slice(token.lastIndexOf('_') + 1);
    const shown = await as(h.app, 'alice', 'get', `/api/apiKeys/${id}`).expect(200);
    const listed = await as(h.app, 'alice', 'get', '/api/apiKeys').expect(200);
    for (const r of [shown, listed]) {
      assert.equal(r.text.includes(secretPart), false, 'no secret after creation');
      assert.equal(/secret/i.test(r.text), false);
    }
    assert.ok((listed.body.apiKeys as { id: string }[]).some((k) => idOf(k.id) === id));
    assert.deepEqual(listed.body.operations, [{ rel: 'add', href: listed.body.id }]);
    // Stored hashed (a fast keyed hash), never as the token.
    const stored = await h.store.accounts.getApiKey(id);
    assert.match(stored!.secretHash, /^hs256\$/);
    assert.equal(stored!.secretHash.includes(secretPart), false);
    const entry = await request(h.app).get('/api/cloudEntryPoint').expect(200);
    assert.match(entry.body.apiKeys.href as string, /\/api\/apiKeys$/);
  });

  it("a key acts as its owner: the owner's tenant, on every frontend, with Bearer in any case", async () => {
    const { token } = await create('alice', { name: 'use' });
    for (const app of [h.app, other]) {
      const res = await bearer(app, token).expect(200);
      assert.deepEqual((res.body.machines as { name: string }[]).map((m) => m.name), ['acme-vm']);
    }
    await request(h.app).get('/api/machines').set('Authorization', `bearer ${token}`).expect(200);
    // Basic still works next to it.
    await as(h.app, 'bob', 'get', '/api/machines').expect(200);
  });

  it('revoke: 200, then 401 at once on a second frontend that just accepted the key', async () => {
    const { token, id } = await create('alice', { name: 'to-revoke' });
    await bearer(other, token).expect(200);
    await bearer(h.app, token).expect(200);
    await as(h.app, 'alice', 'delete', `/api/apiKeys/${id}`).expect(200);
    for (const app of [other, h.app]) {
      const res = await bearer(app, token).expect(401);
      assert.equal(res.body.code, 'UNAUTHENTICATED');
      assert.match(String(res.headers['www-authenticate']), /Bearer realm="skybus"/);
    }
    const shown = await as(other, 'alice', 'get', `/api/apiKeys/${id}`).expect(200);
    assert.equal(shown.body.state, 'REVOKED');
    assert.ok(shown.body.revoked);
    assert.deepEqual(shown.body.operations, []);
    await as(h.app, 'alice', 'delete', `/api/apiKeys/${id}`).expect(200); // revoking twice is harmless
    await bearer(h.app, token).expect(401);
  });

  it('an expired key is refused (401) and shown EXPIRED', async () => {
    const { token, id } = await create('alice', { name: 'short', expires: new Date(Date.now() + 400).toISOString() });
    await bearer(h.app, token).expect(200);
    await new Promise((r) => setTimeout(r, 600));
    await bearer(h.app, token).expect(401);
    await bearer(other, token).expect(401);
    assert.equal((await as(h.app, 'alice', 'get', `/api/apiKeys/${id}`).expect(200)).body.state, 'EXPIRED');
  });

  it("the owner disabled → the key is refused at once; enabled again → it works (owner's state at the time of use)", async () => {
    await h.store.accounts.createUser({ name: 'dave', tenant: 'acme', passwordHash: (await h.store.accounts.getUser('alice'))!.passwordHash, roles: ['user'], disabled: false, created: Date.now() });
    const { token } = await create('dave', { name: 'daves' });
    await bearer(other, token).expect(200);
    await h.store.accounts.setUserDisabled('dave', true);
    await bearer(other, token).expect(401);
    await bearer(h.app, token).expect(401);
    await h.store.accounts.setUserDisabled('dave', false);
    await bearer(other, token).expect(200);
  });

  it("the owner's roles apply: an admin's key sees host ids' routes as admin, a user's key may not write the catalog", async () => {
    const admin = await create('root', { name: 'admin-key' });
    const user = await create('alice', { name: 'user-key' });
    const body = { resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineConfiguration', name: 'k-cfg', cpu: 1, memory: 1048576 };
    await request(h.app).post('/api/machineConfigs').set('Authorization', `Bearer ${user.token}`).send(body).expect(403);
    await request(h.app).post('/api/machineConfigs').set('Authorization', `Bearer ${admin.token}`).send(body).expect(201);
  });

  it("another user's key id is a 404 on GET and DELETE, exactly like a missing one, and the key keeps working", async () => {
    const { token, id } = await create('alice', { name: 'private' });
    const missing = '01890000-0000-7000-8000-000000000000';
    for (const method of ['get', 'delete'] as const) {
      const theirs = await as(h.app, 'bob', method, `/api/apiKeys/${id}`).expect(404);
      const none = await as(h.app, 'bob', method, `/api/apiKeys/${missing}`).expect(404);
      assert.equal(theirs.body.code, none.body.code);
      assert.equal(theirs.body.message.replace(id, 'X'), none.body.message.replace(missing, 'X'));
      await as(h.app, 'bob', method, '/api/apiKeys/not-an-id').expect(404);
    }
    const bobs = await as(h.app, 'bob', 'get', '/api/apiKeys').expect(200);
    assert.equal((bobs.body.apiKeys as { id: string }[]).some((k) => k.id.endsWith(id)), false);
    const roots = await as(h.app, 'root', 'get', '/api/apiKeys').expect(200);
    assert.equal((roots.body.apiKeys as { id: string }[]).some((k) => k.id.endsWith(id)), false, 'admins list their own keys only');
    await bearer(h.app, token).expect(200);
  });

  it('bad bodies are 400 CIMI errors and write nothing', async () => {
    const before = (await h.store.accounts.listApiKeys('bob')).length;
    const cases: unknown[] = [
      { bogus: 1 },
      { name: 42 },
      { name: 'x'.repeat(256) },
      { name: 'bell\u0007' },
      { properties: { a: 'b' } },
      { expiresInDays: 0 },
      { expiresInDays: 3651 },
      { expiresInDays: 1.5 },
      { expiresInDays: '7' },
      { expires: '2020-01-01T00:00:00Z' },
      { expires: 'tomorrow' },
      { expires: '2030-01-01' },
      { expires: 1893456000000 },
      { expires: '2999-01-01T00:00:00Z' },
      { expires: '2030-02-30T00:00:00Z' },
      { expires: new Date(Date.now() + 86_400_000).toISOString(), expiresInDays: 1 },
      { resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate' },
      [],
    ];
    for (const body of cases) {
      const res = await as(h.app, 'bob', 'post', '/api/apiKeys').send(body as object);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${res.text}`);
      assert.equal(res.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Error');
    }
    await as(h.app, 'bob', 'post', '/api/apiKeys').set('Content-Type', 'application/json').send('{"name":').expect(400);
    await as(h.app, 'bob', 'post', '/api/apiKeys').set('Content-Type', 'application/xml').send('<MachineCreate/>').expect(400);
    await as(h.app, 'bob', 'post', '/api/apiKeys').set('Content-Type', 'text/plain').send('name=x').expect(415);
    assert.equal((await h.store.accounts.listApiKeys('bob')).length, before);
  });

  it('XML both ways: ApiKeyCreate in, ApiKey and ApiKeyCollection out', async () => {
    const res = await as(h.app, 'bob', 'post', '/api/apiKeys').set('Content-Type', 'application/xml').set('Accept', 'application/xml')
      .send('<ApiKeyCreate xmlns="http://schemas.dmtf.org/cimi/1"><name>xml-key</name><expiresInDays>7</expiresInDays></ApiKeyCreate>').expect(201);
    assert.match(res.text, /<ApiKey xmlns="urn:skybus:cimi-extensions:1">/);
    const token = /<secret>(sbk_[^<]+)<\/secret>/.exec(res.text)?.[1];
    assert.ok(token && KEY.test(token));
    await bearer(h.app, token).expect(200);
    const list = await as(h.app, 'bob', 'get', '/api/apiKeys').set('Accept', 'application/xml').expect(200);
    assert.match(list.text, /<Collection resourceURI="urn:skybus:cimi-extensions:1\/ApiKeyCollection"[^>]*>[\s\S]*<ApiKey>[\s\S]*<name>xml-key<\/name>/);
  });

  it('a key cannot create keys (403) but may list and revoke them, itself included', async () => {
    const { token, id } = await create('bob', { name: 'self' });
    const refused = await request(h.app).post('/api/apiKeys').set('Authorization', `Bearer ${token}`).send({ name: 'child' }).expect(403);
    assert.match(refused.body.message, /password/);
    const list = await bearer(h.app, token, '/api/apiKeys').expect(200);
    assert.deepEqual(list.body.operations, [], 'no add operation for a key');
    await request(h.app).delete(`/api/apiKeys/${id}`).set('Authorization', `Bearer ${token}`).expect(200);
    await bearer(h.app, token, '/api/apiKeys').expect(401);
  });

  it('directory (non-local) users cannot own keys: 403', async () => {
    const ldapLike: Authenticator = {
      challenges: () => ['Basic realm="skybus"'],
      middleware: () => (_req, res, next) => { setPrincipal(res, { name: 'alice', tenant: 'acme', roles: ['user'] }); next(); },
    };
    const app = buildApp({ store: h.store, auth: ldapLike, log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    const res = await request(app).post('/api/apiKeys').send({ name: 'x' }).expect(403);
    assert.match(res.body.message, /local users/);
    await request(app).get('/api/apiKeys').expect(403);
  });

  it('malformed or wrong Bearer tokens are 401s, never 5xx', async () => {
    const { token, id } = await create('alice', { name: 'real' });
    const flip = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const headers = [
      'Bearer', 'Bearer ', 'Bearer x', 'Bearer sbk_', `Bearer sbk_${id}_`, `Bearer ${flip}`, `Bearer ${token}x`, `Bearer ${token} extra`,
      `Bearer sbk_${id.toUpperCase()}_${token.slice(-43)}`, `Bearer sbk_01890000-0000-7000-8000-000000000000_${token.slice(-43)}`,
      `Bearer sbk_../../etc_${token.slice(-43)}`, `Bearer ${'A'.repeat(10_000)}`, 'Bearer \u00e9\u00e9', `Bearer ${token.replace('sbk_', 'SBK_')}`,
      `Basic ${token}`, `Token ${token}`, `Bearer\t${token}`,
    ];
    for (const hd of headers) {
      const res = await request(h.app).get('/api/machines').set('Authorization', hd);
      assert.equal(res.status, 401, `${hd.slice(0, 80)} → ${res.status}`);
      assert.equal(res.body.code, 'UNAUTHENTICATED');
    }
    await bearer(h.app, token).expect(200);
  });

  it('hashes: a fast keyed hash with a per-key salt, checked in constant time; unreadable stored values never match', () => {
    const t = 'sbk_01890000-0000-7000-8000-000000000000_' + 'a'.repeat(43);
    const a = hashKeyToken(t);
    const b = hashKeyToken(t);
    assert.notEqual(a, b, 'per-key salt');
    assert.ok(verifyKeyToken(t, a) && verifyKeyToken(t, b));
    assert.equal(verifyKeyToken(t + 'x', a), false);
    for (const bad of ['', 'hs256$', 'hs256$$', 'scrypt$a$b', `${a}$x`, a.slice(0, -2)]) assert.equal(verifyKeyToken(t, bad), false);
    assert.deepEqual(parseBearer(undefined), { kind: 'absent' });
    assert.deepEqual(parseBearer('Basic abc'), { kind: 'absent' });
    assert.equal(parseBearer(`Bearer ${t}`).kind, 'key');
  });
});
