import assert from 'node:assert/strict';
import request from 'supertest';
import { as, harness, type Harness } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('frontend API: the audit trail', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  async function trail(filter?: string): Promise<Record<string, unknown>[]> {
    await sleep(50); // audit rows are written after the response
    const res = await as(h.app, 'root', 'get', '/api/auditEvents').query(filter ? { $filter: filter, $last: '1000' } : { $last: '1000' }).expect(200);
    return res.body.auditEvents as Record<string, unknown>[];
  }

  it('records a state-changing request: who, tenant, action, resource, outcome, address, request id', async () => {
    const res = await as(h.app, 'alice', 'post', '/api/machines').set('X-Request-Id', 'req-audit-1')
      .send({ name: 'audited', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const path = new URL(res.headers.location).pathname;
    await as(h.app, 'alice', 'post', `${path}/pause`).send({ action: 'start' }).expect(400);
    const events = await trail("actor='alice' and action!='login'");
    const created = events.find((e) => e.requestId === 'req-audit-1')!;
    assert.ok(created, JSON.stringify(events));
    assert.equal(created.tenant, 'acme');
    assert.equal(created.action, 'POST /api/machines');
    assert.equal(created.resource, '/api/machines');
    assert.equal(created.outcome, 'success');
    assert.equal(created.status, 202);
    assert.match(created.address as string, /127\.0\.0\.1/);
    const refused = events.find((e) => e.action === 'POST /api/machines/:id/:action')!;
    assert.equal(refused.outcome, 'failure');
    assert.equal(refused.status, 400);
    assert.equal(refused.resource, `${path}/pause`);
    // Reads are not state changes.
    await as(h.app, 'alice', 'get', '/api/machines').expect(200);
    assert.equal((await trail("actor='alice' and action='GET /api/machines'")).length, 0);
  });

  it('records every failed login with the name it gave, and a success at most once a minute', async () => {
    for (let i = 0; i < 3; i++) await request(h.app).get('/api/machines').auth('bob', `wrong-${i}`).expect(401);
    await request(h.app).get('/api/machines').expect(401); // no credentials: not a login attempt
    const failures = await trail("action='login' and outcome='failure' and actor='bob'");
    assert.equal(failures.length, 3);
    for (let i = 0; i < 3; i++) await as(h.app, 'bob', 'get', '/api/machines').expect(200);
    const successes = await trail("action='login' and outcome='success' and actor='bob'");
    assert.equal(successes.length, 1);
    assert.equal(successes[0].tenant, 'globex');
  });

  it('is for admins only, and takes a time range', async () => {
    await as(h.app, 'alice', 'get', '/api/auditEvents').expect(403);
    const future = await as(h.app, 'root', 'get', '/api/auditEvents').query({ since: '2099-01-01T00:00:00Z', until: '2099-01-02T00:00:00Z' }).expect(200);
    assert.equal(future.body.count, 0);
    await as(h.app, 'root', 'get', '/api/auditEvents').query({ since: 'yesterday' }).expect(400);
    await as(h.app, 'root', 'get', '/api/auditEvents').query({ since: '2026-01-01T00:00:00Z', until: '2026-06-01T00:00:00Z' }).expect(400);
    const xml = await as(h.app, 'root', 'get', '/api/auditEvents').set('Accept', 'application/xml').expect(200);
    assert.match(xml.text, /<Collection resourceURI="urn:skybus:cimi-extensions:1\/AuditEventCollection"/);
  });
});
