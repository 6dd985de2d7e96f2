import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildApp } from '../../../frontend/app.js';
import { apiKeyAuth } from '../../../frontend/auth/api-keys.js';
import { anyOf, asLocalUsers } from '../../../frontend/auth/authenticator.js';
import { localBasicAuth } from '../../../frontend/auth/local-basic.js';
import { frontendConfig } from '../../../frontend/config.js';
import { judgeWindow, RateLimiter, type RateLimitConfig } from '../../../frontend/rate-limit.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { as, footprint, harness, type Harness } from './harness.js';

describe('frontend: rate limits on changes, per tenant and per client, across frontends (issue 10)', function () {
  this.timeout(30_000);

  describe('judgeWindow (pure)', () => {
    it('admits while the window holds fewer than the limit; Retry-After is when the oldest counted slot leaves', () => {
      assert.deepEqual(judgeWindow([], 100, 10, 1), { admitted: true, used: 0, retryAfterSeconds: 0 });
      const v = judgeWindow([{ slot: 93, count: 2 }, { slot: 100, count: 3 }, { slot: 90, count: 50 }], 100, 10, 5);
      assert.equal(v.admitted, false);
      assert.equal(v.used, 5, 'slot 90 is outside the window 91..100');
      assert.equal(v.retryAfterSeconds, 3, 'slot 93 leaves at the start of 103');
    });

    it('property: admitted exactly when the in-window sum is under the limit; Retry-After in 1..window', () => {
      fc.assert(fc.property(
        fc.array(fc.record({ slot: fc.integer({ min: 0, max: 200 }), count: fc.integer({ min: 0, max: 20 }) }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 100 }),
        (counts, now, w, limit) => {
          const v = judgeWindow(counts, now, w, limit);
          const sum = counts.filter((c) => c.slot > now - w && c.slot <= now).reduce((a, c) => a + c.count, 0);
          assert.equal(v.used, sum);
          assert.equal(v.admitted, sum < limit);
          if (!v.admitted) assert.ok(v.retryAfterSeconds >= 1 && v.retryAfterSeconds <= w, String(v.retryAfterSeconds));
        }), { seed: 10, numRuns: 500 });
    });
  });

  describe('through the API', () => {
    let h: Harness;
    let now: number;
    beforeEach(async () => { h = await harness(); now = Date.parse('2026-12-02T10:00:00.500Z'); });
    afterEach(async () => { await h.cleanup(); });

    function frontend(id: string, limits: Partial<RateLimitConfig>) {
      const config = frontendConfig({ rateLimit: { windowSeconds: 10, perTenant: 0, perClient: 0, ...limits } });
      const limiter = new RateLimiter(h.store.rateUsage, config.rateLimit, id, () => undefined, () => now);
      const app = buildApp({ store: h.store, auth: anyOf(apiKeyAuth(h.store), asLocalUsers(localBasicAuth(h.store))), log: silentLogger(), metrics: new SkybusMetrics(), config, rateLimiter: limiter });
      return { app, limiter };
    }
    const create = (app: Parameters<typeof as>[0], user: string) => as(app, user, 'post', '/api/machines').send({ name: 'r', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } });

    it('one tenant\'s limit holds over two frontends; the 429 names the limit, has Retry-After and writes nothing; another tenant is not affected', async () => {
      const a = frontend('fe-a', { perTenant: 10 });
      const b = frontend('fe-b', { perTenant: 10 });
      for (let i = 0; i < 6; i++) await create(a.app, 'alice').expect(202);
      await a.limiter.flush();
      now += 1000;
      for (let i = 0; i < 4; i++) await create(b.app, 'alice').expect(202);
      const before = await footprint(h.store, 'acme');
      const refused = await create(b.app, 'alice').expect(429);
      assert.match(refused.body.message, /tenant acme.*at most 10 .* per 10 s/);
      assert.equal(refused.headers['retry-after'], '9');
      assert.deepEqual(await footprint(h.store, 'acme'), before, 'a refused request changes nothing');
      // Reads are not limited; the other tenant still creates.
      await as(b.app, 'alice', 'get', '/api/machines').expect(200);
      await create(b.app, 'bob').expect(202);
      // Frontend a learns b's four within a second (after b's flush), and refuses too.
      await b.limiter.flush();
      now += 1000;
      await create(a.app, 'alice').expect(429);
      // When the window has passed, alice may change things again.
      now += 10_000;
      await create(a.app, 'alice').expect(202);
    });

    it('a client address is limited over all its tenants; DELETE and PUT count, GET does not', async () => {
      const a = frontend('fe-a', { perClient: 3 });
      const m = await create(a.app, 'alice').expect(202);
      const path = new URL(m.headers.location).pathname;
      await as(a.app, 'alice', 'put', path).send({ description: 'x' }).expect((r) => assert.ok(r.status < 300, String(r.status)));
      for (let i = 0; i < 5; i++) await as(a.app, 'alice', 'get', path).expect(200);
      await create(a.app, 'bob').expect(202);
      const r = await as(a.app, 'bob', 'delete', path).expect(429);
      assert.match(r.body.message, /this client address/);
      assert.ok(Number(r.headers['retry-after']) >= 1);
    });

    it('counts reach the bus once a flush ran, one row per frontend, subject and second', async () => {
      const a = frontend('fe-a', { perTenant: 100, perClient: 100 });
      for (let i = 0; i < 3; i++) await create(a.app, 'alice').expect(202);
      assert.deepEqual(await h.store.rateUsage.read('tenant:acme', Math.floor(now / 1000) - 9, Math.floor(now / 1000)), []);
      await a.limiter.flush();
      const rows = await h.store.rateUsage.read('tenant:acme', Math.floor(now / 1000) - 9, Math.floor(now / 1000));
      assert.deepEqual(rows, [{ slot: Math.floor(now / 1000), frontend: 'fe-a', count: 3 }]);
    });

    it('bad limits are configuration errors naming the key', () => {
      assert.throws(() => frontendConfig({ rateLimit: { windowSeconds: 0, perTenant: 1, perClient: 1 } }), /rateLimit.windowSeconds/);
      assert.throws(() => frontendConfig({ rateLimit: { windowSeconds: 10, perTenant: -1, perClient: 1 } }), /rateLimit.perTenant/);
    });
  });
});
